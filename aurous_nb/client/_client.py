"""``AurousClient``: configuration, and one method per endpoint of the characters surface.

Every request, to the API and to the upload host, goes through
:class:`~aurous_nb.client._transport.Transport` (auth, version pin, rate limiting, retries,
error mapping).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import IO, Any, TypeVar
from urllib.parse import quote

import requests

from ..errors import ConfigurationError, UploadURLExpiredError, WaitTimeoutError
from ..limits import INIT_EXTENSIONS
from ..models import (
    SETTLED,
    Balance,
    Character,
    Classification,
    DeletedCharacter,
    Page,
    Pose,
    Team,
    UploadTicket,
)
from ._config import (
    DEFAULT_BASE_URL,
    DEFAULT_VERSION,
    check_version,
    mask_key,
    resolve_api_key,
    resolve_base_url,
    resolve_deadline,
)
from ._transport import RetryPolicy, Transport
from .ratelimit import RateLimiter

__all__ = ["AurousClient", "RetryPolicy", "mask_key", "DEFAULT_BASE_URL", "DEFAULT_VERSION"]

log = logging.getLogger("aurous_nb")
T = TypeVar("T")

URL_MARGIN = 30.0
"""Seconds: an upload URL with less time left than this is re-minted before the PUT."""
_MIME_EXTENSION = {mime: ext for ext, mime in reversed(INIT_EXTENSIONS.items())}


def _quote_id(value: str) -> str:
    return quote(str(value), safe="")


class AurousClient:
    """A client for the Aurous Labs characters API (or the local sandbox).

    Args:
        api_key: team API key; default ``$AUROUS_API_KEY``.
        base_url: API root; default ``$AUROUS_BASE_URL``, then ``https://api.aurous-labs.com``.
        version: ``Aurous-Version`` pin sent on every request; None sends no header (the
            team's default version applies).
        timeout: seconds for connecting and for each read.
        deadline: seconds one call may take in all -- its attempts and the waits between
            retries -- so a server or proxy that trickles its answer cannot hold a cell.
            Default ``4 × timeout`` (120 s); ``math.inf`` for none. Waiting for a rate-limit
            token before the first attempt, and the time a photo takes to stream to the
            upload host, do not count.
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
        deadline: float | None = None,
        max_retries: int = 4,
        rate_limit: bool | RateLimiter = True,
        session: requests.Session | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        key = resolve_api_key(api_key)
        self._masked = mask_key(key)
        self._team_id: str | None = None
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
            deadline=resolve_deadline(deadline, float(timeout)),
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
    def deadline(self) -> float | None:
        """Seconds one call may take in all, retries included (None: no deadline)."""
        return self._transport.deadline

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

    def _request(
        self,
        method: str,
        path: str,
        parse: Callable[[Any], T],
        *,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        empty_ok: bool = False,
    ) -> T:
        """One API call; ``parse`` builds the result from the body (see ``Transport.request``
        for what is raised when the body is not what ``parse`` expects)."""
        return self._transport.request(
            method,
            path,
            parse,
            json=json,
            params=params,
            idempotency_key=idempotency_key,
            empty_ok=empty_ok,
        )

    # -- uploads -------------------------------------------------------------------------

    def init_upload(self, filename: str, extension: str, content_type: str) -> UploadTicket:
        """Mint a signed PUT URL (15 min) and an upload ticket (24 h).

        Args:
            filename: display name, 1–120 characters.
            extension: ``jpg``, ``jpeg``, ``png`` or ``webp``; must agree with content_type.
            content_type: ``image/jpeg``, ``image/png`` or ``image/webp``.
        """
        minted = datetime.now(timezone.utc)
        return self._request(
            "POST",
            "/v1/characters/uploads/init",
            lambda d: UploadTicket.from_dict(d, minted_at=minted),
            json={"filename": filename, "extension": extension, "content_type": content_type},
        )

    def put_upload(
        self,
        ticket: UploadTicket,
        data: bytes | IO[bytes],
        *,
        size: int | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> str:
        """PUT the image bytes to the ticket's signed URL.

        Sends exactly ``ticket.upload_headers`` — never the API key — with a
        ``Content-Length`` (no chunked encoding).

        Args:
            ticket: from :meth:`init_upload`.
            data: the bytes, or a binary file object read from its current position.
            size: bytes to send from a file object (default: up to its end).
            on_progress: called as ``on_progress(bytes_sent, total)`` while sending.

        Returns:
            The ETag the upload host returned (quotes removed), or ``""``.

        Raises:
            UploadURLExpiredError: the URL is past ``expires_at``; mint a new ticket.
        """
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        total = len(data) if isinstance(data, bytes) else _stream_size(data, size)
        if size is not None and isinstance(data, bytes) and size != total:
            raise ValueError(f"size={size} but the data has {total} bytes")
        resp = self._transport.put(
            ticket.upload_url, data, total, ticket.upload_headers, on_progress=on_progress
        )
        return resp.headers.get("ETag", "").strip('"')

    def upload(
        self,
        data_or_path: bytes | bytearray | str | os.PathLike[str] | IO[bytes],
        *,
        filename: str | None = None,
        content_type: str | None = None,
        size: int | None = None,
        ticket: UploadTicket | None = None,
        on_ticket: Callable[[UploadTicket, str | None], None] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> UploadTicket:
        """Mint a ticket and PUT the bytes; mint a new URL when the old one runs out first.

        The one place an upload URL is re-minted: before the PUT when ``ticket``'s URL has
        less than :data:`URL_MARGIN` seconds left, and once after the upload host refused
        the PUT as expired (the body is sent again, so a stream must be seekable).

        Args:
            data_or_path: bytes, a path, or a binary file object (seekable for a re-mint).
            filename: display name (default: the path's name, else ``"image.<ext>"``).
            content_type: ``image/jpeg|png|webp`` (default: from the file name's extension).
            size: bytes to send from a file object (default: up to its end).
            ticket: an already minted ticket to PUT to (default: mint one).
            on_ticket: called as ``on_ticket(ticket, reason)`` for each ticket minted here;
                ``reason`` is None for the first and says why for a re-mint. It may raise to
                stop before the PUT.
            on_progress: called as ``on_progress(bytes_sent, total)``.

        Returns:
            The ticket the bytes went to.
        """
        if isinstance(data_or_path, (bytearray, memoryview)):
            data_or_path = bytes(data_or_path)
        if isinstance(data_or_path, (str, os.PathLike)):
            path = Path(data_or_path)
            with path.open("rb") as fh:
                return self.upload(
                    fh,
                    filename=filename or path.name,
                    content_type=content_type,
                    size=size,
                    ticket=ticket,
                    on_ticket=on_ticket,
                    on_progress=on_progress,
                )
        filename, extension, content_type = _ticket_fields(filename, content_type)
        data = data_or_path
        start = None
        if not isinstance(data, bytes) and getattr(data, "seekable", lambda: False)():
            start = data.tell()

        def mint(reason: str | None) -> UploadTicket:
            fresh = self.init_upload(filename, extension, content_type)
            if on_ticket is not None:
                on_ticket(fresh, reason)
            return fresh

        if ticket is None:
            ticket = mint(None)
        elif ticket.url_seconds_left() < URL_MARGIN:
            ticket = mint("upload URL about to expire; minted a new one")
        try:
            self.put_upload(ticket, data, size=size, on_progress=on_progress)
        except UploadURLExpiredError:
            if start is None and not isinstance(data, bytes):
                raise
            log.debug(
                "upload URL of %s expired before the PUT; minting a new one", ticket.upload_id
            )
            if not isinstance(data, bytes) and start is not None:
                data.seek(start)
            ticket = mint("upload URL expired; minted a new one")
            self.put_upload(ticket, data, size=size, on_progress=on_progress)
        return ticket

    def classify_upload(self, upload_id: str) -> Classification:
        """Detect the pose of an uploaded image (idempotent, free)."""
        return self._request(
            "POST",
            "/v1/characters/uploads/classify",
            lambda d: Classification.from_dict(d, upload_id=upload_id),
            json={"upload_id": upload_id},
        )

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
        return self._request(
            "POST",
            "/v1/characters",
            Character.from_dict,
            json=body,
            idempotency_key=idempotency_key or _new_key(),
        )

    def get_character(self, character_id: str) -> Character:
        """Retrieve one character (404 once deleted)."""
        return self._request(
            "GET", f"/v1/characters/{_quote_id(character_id)}", Character.from_dict
        )

    def list_characters(
        self, *, limit: int = 20, starting_after: str | None = None
    ) -> Page[Character]:
        """One page of the team's characters, newest first."""
        return self._request(
            "GET",
            "/v1/characters",
            lambda d: Page.from_dict(d, Character.from_dict),
            params={"limit": limit, "starting_after": starting_after},
        )

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
        return self._request(
            "PATCH", f"/v1/characters/{_quote_id(character_id)}", Character.from_dict, json=body
        )

    def save_character(self, character_id: str) -> Character:
        """Accept a synthesized character: ``reviewing`` → ``ready`` (idempotent)."""
        return self._request(
            "POST", f"/v1/characters/{_quote_id(character_id)}/save", Character.from_dict
        )

    def resynthesize_character(
        self, character_id: str, *, force_all: bool = False, idempotency_key: str | None = None
    ) -> Character:
        """Re-run all four poses (costs 4 generations); the character goes ``synthesizing``."""
        return self._request(
            "POST",
            f"/v1/characters/{_quote_id(character_id)}/resynthesize",
            Character.from_dict,
            json={"force_all": bool(force_all)},
            idempotency_key=idempotency_key or _new_key(),
        )

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
        return self._request(
            "POST",
            f"/v1/characters/{_quote_id(character_id)}/refs/regenerate",
            Character.from_dict,
            json=body,
            idempotency_key=idempotency_key or _new_key(),
        )

    def delete_character(self, character_id: str) -> DeletedCharacter:
        """Delete a character (hard delete while ``reviewing``, soft delete otherwise)."""
        return self._request(
            "DELETE",
            f"/v1/characters/{_quote_id(character_id)}",
            lambda d: DeletedCharacter.from_dict(d, character_id=character_id),
            empty_ok=True,  # a 204 without a body says as much
        )

    def download_ref(self, url: str) -> bytes:
        """The image behind a ref's signed storage URL (``Character.refs[i].url``).

        The URL carries its own token; the API key is not sent with it.
        """
        return self._transport.get(url).content

    # -- account -------------------------------------------------------------------------

    def team(self) -> Team:
        """The team the key belongs to."""
        team: Team = self._request("GET", "/v1/team", Team.from_dict)
        self._team_id = team.id
        return team

    def team_id(self) -> str:
        """The id of the key's team, asked for once per client (it never changes)."""
        return self._team_id or self.team().id

    def balance(self) -> Balance:
        """The team's credits and billing mode."""
        return self._request("GET", "/v1/balance", Balance.from_dict)

    # -- conveniences --------------------------------------------------------------------

    def wait_for_character(
        self,
        character_id: str,
        *,
        timeout: float = 600.0,
        poll: float = 1.0,
        max_poll: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        on_poll: Callable[[Character], None] | None = None,
    ) -> Character:
        """Poll until the character settles; return it.

        The terminal statuses are ``ready``, ``reviewing``, ``failed`` and ``deleted``
        (:data:`~aurous_nb.models.SETTLED`). Any other status -- ``synthesizing``, one this
        client does not know yet, or none at all (a response without ``status``) -- is
        taken to be still changing, so polling goes on until ``timeout``; nothing is ever
        taken to be ``ready`` unless the server says so.

        Args:
            character_id: the character to watch.
            timeout: give up after this many seconds (raises :class:`WaitTimeoutError`).
            poll: first delay between polls; it grows by half each time up to ``max_poll``.
            max_poll: longest delay between polls.
            sleep: how to wait (injectable; it may raise to stop waiting).
            on_poll: called with the character after every read, the last one included.
        """
        deadline = time.monotonic() + timeout
        delay = poll
        while True:
            character = self.get_character(character_id)
            if on_poll is not None:
                on_poll(character)
            if character.status in SETTLED:
                return character
            left = deadline - time.monotonic()
            if left <= 0:
                now = (
                    "has no status yet"
                    if character.status is None
                    else (f"is still {character.status}")
                )
                raise WaitTimeoutError(
                    f"{character_id} {now} after {timeout:g} s; "
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
        from ..flow import CharacterFlow

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


def _stream_size(stream: IO[bytes], size: int | None) -> int:
    """Bytes left in a binary stream from its position, or ``size`` if given."""
    if size is not None:
        if size < 0:
            raise ValueError(f"size={size} must be >= 0")
        return size
    try:
        here = stream.tell()
        try:
            return os.fstat(stream.fileno()).st_size - here
        except (AttributeError, OSError, ValueError):
            end = stream.seek(0, os.SEEK_END)
            stream.seek(here)
            return end - here
    except (AttributeError, OSError, ValueError) as exc:
        raise ValueError(
            "cannot tell how many bytes this stream holds; pass size=... "
            "(uploads need a known length)"
        ) from exc


def _ticket_fields(filename: str | None, content_type: str | None) -> tuple[str, str, str]:
    """(filename, extension, content_type) for init, from either of the first two."""
    if filename is None and content_type is None:
        raise ValueError("upload() needs a filename or a content_type for non-path data")
    suffix = Path(filename or "").suffix.lower().lstrip(".")
    if content_type is None:
        content_type = INIT_EXTENSIONS.get(suffix)
        if content_type is None:
            raise ValueError(
                f"cannot tell the image type of {filename!r}: pass content_type="
                "'image/jpeg', 'image/png' or 'image/webp'"
            )
    if INIT_EXTENSIONS.get(suffix) == content_type:
        extension = suffix
    else:
        extension = _MIME_EXTENSION.get(content_type, suffix)
    return filename or f"image.{extension}", extension, content_type
