"""``AurousClient``: configuration, and one method per endpoint of the characters surface.

Every request goes through :class:`aurous_nb._transport.Transport` (auth, version pin, rate
limiting, retries, error mapping).
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests

from ..errors import ConfigurationError, WaitTimeoutError
from ..models import (
    Balance,
    Character,
    DeletedCharacter,
    Page,
    Pose,
    Team,
)
from ._config import (
    DEFAULT_BASE_URL,
    DEFAULT_VERSION,
    check_version,
    mask_key,
    resolve_api_key,
    resolve_base_url,
)
from ._transport import RetryPolicy, Transport
from ._uploads import UploadMethods
from .ratelimit import RateLimiter

if TYPE_CHECKING:  # pragma: no cover
    from ..flow._flow import CharacterFlow

__all__ = ["AurousClient", "RetryPolicy", "mask_key", "DEFAULT_BASE_URL", "DEFAULT_VERSION"]

log = logging.getLogger("aurous_nb")

_UNFINISHED = ("synthesizing",)


def _quote_id(value: str) -> str:
    return quote(str(value), safe="")


class AurousClient(UploadMethods):
    """A client for the Aurous Labs characters API (or the local sandbox).

    Args:
        api_key: team API key; default ``$AUROUS_API_KEY``.
        base_url: API root; default ``$AUROUS_BASE_URL``, then ``https://api.aurous-labs.com``.
        version: ``Aurous-Version`` pin sent on every request; None sends no header (the
            team's default version applies).
        timeout: seconds for connecting and for each read.
        max_retries: retries per call after the first attempt (0 disables retrying).
        rate_limit: True for the documented client-side buckets, False for none, or a
            :class:`~aurous_nb.ratelimit.RateLimiter` (share one between clients of a team).
        session: a ``requests.Session`` to use (not closed by :meth:`close`).
        retry_policy: backoff details; ``max_retries`` overrides its ``max_retries``.

    Raises:
        ConfigurationError: no key, a malformed key, a bad base URL or version.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        version: str | None = DEFAULT_VERSION,
        timeout: float = 30.0,
        max_retries: int = 4,
        rate_limit: bool | RateLimiter = True,
        session: requests.Session | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        key = resolve_api_key(api_key)
        self._masked = mask_key(key)
        self.base_url = resolve_base_url(base_url)
        self.version = check_version(version)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ConfigurationError(f"timeout={timeout!r} must be a positive number of seconds.")
        if not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigurationError(f"max_retries={max_retries!r} must be an integer >= 0.")
        policy = retry_policy or RetryPolicy()
        if policy.max_retries != max_retries:
            policy = dataclasses.replace(policy, max_retries=max_retries)
        if isinstance(rate_limit, RateLimiter):
            limiter: RateLimiter | None = rate_limit
        else:
            limiter = RateLimiter() if rate_limit else None
        self._transport = Transport(
            api_key=key,
            masked_key=self._masked,
            base_url=self.base_url,
            version=version,
            timeout=float(timeout),
            policy=policy,
            limiter=limiter,
            session=session,
        )

    # -- plumbing ------------------------------------------------------------------------

    @property
    def masked_key(self) -> str:
        """The API key masked as the dashboard shows it (``al_live_8jKpQ4…``)."""
        return self._masked

    @property
    def timeout(self) -> float:
        """Seconds for connecting and for each read."""
        return self._transport.timeout

    @property
    def max_retries(self) -> int:
        """Retries per call after the first attempt."""
        return self._transport.policy.max_retries

    @property
    def rate_limiter(self) -> RateLimiter | None:
        """The client-side rate limiter, or None when rate limiting is off."""
        return self._transport.limiter

    @property
    def session(self) -> requests.Session:
        """The ``requests.Session`` in use (the key is never stored in its headers)."""
        return self._transport.session

    def __repr__(self) -> str:
        return f"AurousClient(base_url={self.base_url!r}, api_key={self._masked!r})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("AurousClient holds an API key and cannot be pickled")

    def close(self) -> None:
        """Release connections (a session passed in by the caller is left open)."""
        self._transport.close()

    def __enter__(self) -> AurousClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- characters ----------------------------------------------------------------------

    def create_character(
        self,
        name: str,
        *,
        upload_ids: Iterable[str] | None = None,
        generate: bool = False,
        attributes: Mapping[str, Any] | None = None,
        client_reference_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Character:
        """Create a character from 1–6 uploads, or synthesize one (``generate=True``).

        An ``Idempotency-Key`` (a fresh UUID4 unless given) is sent and reused on every
        retry of this call, so a retried create never makes two characters.
        """
        body: dict[str, Any] = {"name": name, "generate": bool(generate)}
        if upload_ids is not None:
            body["upload_ids"] = list(upload_ids)
        if attributes is not None:
            body["attributes"] = dict(attributes)
        if client_reference_id is not None:
            body["client_reference_id"] = client_reference_id
        data = self._request(
            "POST", "/v1/characters", json=body, idempotency_key=idempotency_key or _new_key()
        )
        return Character.from_dict(data)

    def get_character(self, character_id: str) -> Character:
        """Retrieve one character (404 once deleted)."""
        return Character.from_dict(
            self._request("GET", f"/v1/characters/{_quote_id(character_id)}")
        )

    def list_characters(
        self, *, limit: int = 20, starting_after: str | None = None
    ) -> Page[Character]:
        """One page of the team's characters, newest first."""
        data = self._request(
            "GET", "/v1/characters", params={"limit": limit, "starting_after": starting_after}
        )
        return Page.from_dict(data, Character.from_dict)

    def iter_characters(self, *, limit: int = 100) -> Iterator[Character]:
        """Every character of the team, fetching pages of ``limit`` as needed."""
        cursor: str | None = None
        while True:
            page = self.list_characters(limit=limit, starting_after=cursor)
            yield from page.data
            if not page.has_more or page.next_cursor in (None, cursor):
                return
            cursor = page.next_cursor

    def update_character(
        self,
        character_id: str,
        *,
        name: str | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> Character:
        """Rename and/or replace the attributes (wholesale, not merged)."""
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if attributes is not None:
            body["attributes"] = dict(attributes)
        data = self._request("PATCH", f"/v1/characters/{_quote_id(character_id)}", json=body)
        return Character.from_dict(data)

    def save_character(self, character_id: str) -> Character:
        """Accept a synthesized character: ``reviewing`` → ``ready`` (idempotent)."""
        data = self._request("POST", f"/v1/characters/{_quote_id(character_id)}/save")
        return Character.from_dict(data)

    def resynthesize_character(
        self, character_id: str, *, force_all: bool = False, idempotency_key: str | None = None
    ) -> Character:
        """Re-run all four poses (costs 4 generations); the character goes ``synthesizing``."""
        data = self._request(
            "POST",
            f"/v1/characters/{_quote_id(character_id)}/resynthesize",
            json={"force_all": bool(force_all)},
            idempotency_key=idempotency_key or _new_key(),
        )
        return Character.from_dict(data)

    def regenerate_ref(
        self,
        character_id: str,
        pose: Pose,
        *,
        prompt_override: str | None = None,
        idempotency_key: str | None = None,
    ) -> Character:
        """Re-run one pose (costs 1 generation); the character goes ``synthesizing``."""
        body: dict[str, Any] = {"pose": pose}
        if prompt_override is not None:
            body["prompt_override"] = prompt_override
        data = self._request(
            "POST",
            f"/v1/characters/{_quote_id(character_id)}/refs/regenerate",
            json=body,
            idempotency_key=idempotency_key or _new_key(),
        )
        return Character.from_dict(data)

    def delete_character(self, character_id: str) -> DeletedCharacter:
        """Delete a character (hard delete while ``reviewing``, soft delete otherwise)."""
        data = self._request("DELETE", f"/v1/characters/{_quote_id(character_id)}")
        return DeletedCharacter.from_dict(data)

    # -- account -------------------------------------------------------------------------

    def team(self) -> Team:
        """The team the key belongs to."""
        return Team.from_dict(self._request("GET", "/v1/team"))

    def balance(self) -> Balance:
        """The team's credits."""
        return Balance.from_dict(self._request("GET", "/v1/balance"))

    # -- conveniences --------------------------------------------------------------------

    def wait_for_character(
        self,
        character_id: str,
        *,
        timeout: float = 600.0,
        poll: float = 1.0,
        max_poll: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Character:
        """Poll until the character is no longer ``synthesizing``; return it.

        Args:
            character_id: the character to watch.
            timeout: give up after this many seconds (raises :class:`WaitTimeoutError`).
            poll: first delay between polls; it grows by half each time up to ``max_poll``.
            max_poll: longest delay between polls.
            sleep: how to wait (injectable for tests).
        """
        deadline = time.monotonic() + timeout
        delay = poll
        while True:
            character = self.get_character(character_id)
            if character.status not in _UNFINISHED:
                return character
            left = deadline - time.monotonic()
            if left <= 0:
                raise WaitTimeoutError(
                    f"{character_id} is still {character.status} after {timeout:g} s; "
                    "call wait_for_character again to keep waiting"
                )
            sleep(min(delay, left))
            delay = min(delay * 1.5, max_poll)

    def synthesize_character(
        self,
        name: str,
        attributes: Mapping[str, Any],
        *,
        wait: bool = True,
        save: bool = False,
        timeout: float = 600.0,
        client_reference_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Character:
        """Create a character from attributes alone (4 generations).

        Args:
            name: display name.
            attributes: identity fields (API.md §10.2).
            wait: poll until synthesis ends (``reviewing``, ``ready`` or ``failed``).
            save: then save a ``reviewing`` character so it becomes ``ready`` (implies wait).
            timeout: longest wait, in seconds.
        """
        character = self.create_character(
            name,
            generate=True,
            attributes=attributes,
            client_reference_id=client_reference_id,
            idempotency_key=idempotency_key,
        )
        if wait or save:
            character = self.wait_for_character(character.id, timeout=timeout)
        if save and character.status == "reviewing":
            character = self.save_character(character.id)
        return character

    def create_character_from_files(
        self,
        name: str,
        sources: Iterable[Any],
        *,
        classify: bool = True,
        attributes: Mapping[str, Any] | None = None,
        **flow_options: Any,
    ) -> Character:
        """Run the whole upload flow (check, mint, PUT, classify, create) for 1–6 images.

        A thin wrapper over ``CharacterFlow(self, name, sources, ...).run_sync()``; extra
        keyword arguments (``downscale``, ``max_workers``, ``client_reference_id``) go to
        the flow.
        """
        from ..flow._flow import CharacterFlow

        flow: CharacterFlow = CharacterFlow(
            self,
            name,
            list(sources),
            classify=classify,
            attributes=dict(attributes) if attributes is not None else None,
            **flow_options,
        )
        return flow.run_sync()


def _new_key() -> str:
    return str(uuid.uuid4())
