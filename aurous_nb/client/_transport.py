"""The one place requests go out: auth, version pin, rate limiting, retries, error mapping.

Also the unauthenticated PUT to the upload host (exactly the ticket's headers, known length).
"""

from __future__ import annotations

import json as jsonlib
import logging
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import urlsplit

import requests

from .._version import __version__
from ..errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    get_header,
    make_status_error,
    parse_retry_after,
)
from .ratelimit import RateLimiter, bucket_for

log = logging.getLogger("aurous_nb")

USER_AGENT = f"aurous_nb/{__version__} python-requests/{requests.__version__}"
_QUERY = re.compile(r"\?[^\s'\")]*")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry (API.md §3.4).

    Attributes:
        max_retries: retries after the first attempt (0 disables retrying).
        base_delay: first backoff for 5xx, 408, connection errors and timeouts (1→2→4→8 s).
        max_delay: cap of that backoff.
        conflict_base_delay: first backoff for 409 ``idempotency_key_in_use`` (0.5 s doubling).
        conflict_max_delay: cap of that backoff.
        max_server_delay: cap on a wait the server asks for (``Retry-After``/``Reset``).
        jitter: fraction of each backoff randomly taken off (spreads out parallel retries).
    """

    max_retries: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0
    conflict_base_delay: float = 0.5
    conflict_max_delay: float = 8.0
    max_server_delay: float = 120.0
    jitter: float = 0.25


def should_retry(status: int, code: str | None) -> bool:
    """Whether a response with this status/code is worth retrying (same request, same key)."""
    # 408: the server gave up waiting for our request; it was not processed.
    if status == 408:
        return True
    # 409 idempotency_key_in_use: the original attempt with this key is still running (a
    # retry that overtook it); the same key will replay its result once it is done. Other
    # 409s (a reused key with another body, upload_consumed) will not change.
    if status == 409:
        return code == "idempotency_key_in_use"
    # 429: our team's bucket is empty; it refills.
    if status == 429:
        return True
    # 5xx: trouble on the server or a proxy; safe because writes carry an Idempotency-Key
    # and faulted requests are not processed.
    return status >= 500


def retry_delay(
    policy: RetryPolicy,
    retries_taken: int,
    *,
    status: int | None = None,
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
    wall_now: float | None = None,
) -> float:
    """Seconds to wait before retry number ``retries_taken + 1``."""
    # The server knows best when a token will be back: Retry-After, else X-RateLimit-Reset.
    if headers and status in (429, 503):
        after = parse_retry_after(headers)
        if after is None and status == 429:
            reset = get_header(headers, "X-RateLimit-Reset")
            try:
                if reset is not None:
                    after = float(reset) - (time.time() if wall_now is None else wall_now)
            except ValueError:
                after = None
        if after is not None and after >= 0:
            return min(after, policy.max_server_delay)
    if status == 409 and code == "idempotency_key_in_use":
        base, cap = policy.conflict_base_delay, policy.conflict_max_delay
    else:
        base, cap = policy.base_delay, policy.max_delay
    delay = min(base * 2.0**retries_taken, cap)
    return delay * (1.0 - policy.jitter * random.random())


def safe_url(url: str) -> str:
    """A URL without its query (upload URLs carry their signature there)."""
    return _QUERY.sub("", url)


class _ProgressBody:
    """A body of known length that reports progress as it is read.

    ``__len__`` makes requests send ``Content-Length`` (never chunked); ``__iter__`` is what
    urllib3 reads from.
    """

    CHUNK = 64 * 1024

    def __init__(
        self,
        source: bytes | IO[bytes],
        size: int,
        on_progress: Callable[[int, int], None] | None,
    ) -> None:
        self._source = source
        self._size = size
        self._on_progress = on_progress

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[bytes]:
        sent = 0
        view = memoryview(self._source) if isinstance(self._source, bytes) else None
        while sent < self._size:
            n = min(self.CHUNK, self._size - sent)
            chunk = bytes(view[sent : sent + n]) if view is not None else self._read(n)
            if not chunk:
                raise ValueError(f"the upload stream ended after {sent} of {self._size} bytes")
            sent += len(chunk)
            if self._on_progress is not None:
                self._on_progress(sent, self._size)
            yield chunk

    def _read(self, n: int) -> bytes:
        assert not isinstance(self._source, bytes)
        return self._source.read(n)


class Transport:
    """Sends API requests with auth, version pin, rate limiting, retries and error mapping.

    The API key is added to each request's headers and never to ``session.headers``, so
    nothing that reuses the session (or a redirect) can carry it elsewhere.
    """

    def __init__(
        self,
        *,
        api_key: str,
        masked_key: str,
        base_url: str,
        version: str | None,
        timeout: float,
        policy: RetryPolicy,
        limiter: RateLimiter | None,
        session: requests.Session | None,
    ) -> None:
        self._api_key = api_key
        self._masked_key = masked_key
        self.base_url = base_url
        self.version = version
        self.timeout = timeout
        self.policy = policy
        self.limiter = limiter
        self._owns_session = session is None
        if session is None:
            session = requests.Session()
            adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=16)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        self.session = session
        self.sleep: Callable[[float], None] = time.sleep

    def close(self) -> None:
        """Close the session if we created it."""
        if self._owns_session:
            self.session.close()

    # -- helpers -------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, self._masked_key) if self._api_key else text

    def _connection_error(
        self, exc: requests.RequestException, method: str, url: str
    ) -> APIConnectionError:
        # requests exceptions keep the prepared request, whose headers hold the key.
        exc.request = None
        if exc.response is not None:
            exc.response.request = None  # type: ignore[assignment]
        url = safe_url(url)  # an upload URL's query is its signature
        where = f"{method} {url}"
        detail = self._scrub(safe_url(str(exc)))[:300]
        if isinstance(exc, requests.Timeout):
            return APITimeoutError(
                f"{where} timed out after {self.timeout:g} s: {detail}", method=method, url=url
            )
        return APIConnectionError(
            f"{where} failed: {type(exc).__name__}: {detail}", method=method, url=url
        )

    def _status_error(self, resp: requests.Response, method: str, url: str) -> APIStatusError:
        body = resp.content
        key = self._api_key.encode()
        if key and key in body:
            body = body.replace(key, self._masked_key.encode())
        return make_status_error(
            resp.status_code, body, resp.headers, reason=resp.reason, method=method, url=url
        )

    def _delay_for(self, error: APIError, attempt: int) -> float:
        if isinstance(error, APIStatusError):
            return retry_delay(
                self.policy, attempt, status=error.status, code=error.code, headers=error.headers
            )
        return retry_delay(self.policy, attempt)

    def _log_retry(
        self, method: str, url: str, attempt: int, delay: float, error: APIError
    ) -> None:
        if isinstance(error, APIStatusError):
            why = f"{error.status} {error.code or ''}".rstrip()
            if error.request_id:
                why += f" (request_id={error.request_id})"
        else:
            why = f"{type(error).__name__}: {error.message[:160]}"
        log.debug(
            "retrying %s %s (attempt %d of %d) in %.2f s after %s",
            method,
            urlsplit(url).path,
            attempt,
            self.policy.max_retries + 1,
            delay,
            why,
        )

    # -- the chokepoint ------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """Send one API call (retrying as the policy allows) and return its decoded JSON.

        Raises:
            APIStatusError: a non-2xx response (the subclass for its status/code).
            APIConnectionError: no response (or an undecodable one) after all retries.
        """
        url = self.base_url + path
        headers = {
            "X-Api-Key": self._api_key,
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        if self.version is not None:
            headers["Aurous-Version"] = self.version
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        data = None
        if json is not None:
            headers["Content-Type"] = "application/json"
            data = jsonlib.dumps(json, separators=(",", ":")).encode()
        query = {k: v for k, v in (params or {}).items() if v is not None}
        bucket = bucket_for(method, path, json) if self.limiter is not None else None

        attempt = 0
        while True:
            if self.limiter is not None:
                self.limiter.acquire(bucket)
            started = time.monotonic()
            cause: Exception | None = None
            try:
                resp = self.session.request(
                    method,
                    url,
                    params=query or None,
                    data=data,
                    headers=headers,
                    timeout=self.timeout,
                    allow_redirects=False,  # a redirect must not carry X-Api-Key anywhere
                )
            except requests.RequestException as exc:
                if self.limiter is not None:
                    self.limiter.observe(bucket, None)
                cause = exc
                error: APIError = self._connection_error(exc, method, url)
                retryable = True
            else:
                status = resp.status_code
                if self.limiter is not None:
                    retry_after = parse_retry_after(resp.headers) if status == 429 else None
                    self.limiter.observe(
                        bucket, resp.headers, status=status, retry_after=retry_after
                    )
                log.debug(
                    "%s %s -> %d in %.0f ms (request_id=%s)",
                    method,
                    path,
                    status,
                    (time.monotonic() - started) * 1000,
                    resp.headers.get("Aurous-Request-Id"),
                )
                if 200 <= status < 300:
                    return self._decode(resp, method, url)
                error = self._status_error(resp, method, url)
                assert isinstance(error, APIStatusError)
                retryable = should_retry(status, error.code)
            if not retryable or attempt >= self.policy.max_retries:
                raise error from cause
            delay = self._delay_for(error, attempt)
            self._log_retry(method, url, attempt + 2, delay, error)
            self.sleep(delay)
            attempt += 1

    def _decode(self, resp: requests.Response, method: str, url: str) -> Any:
        if not resp.content:
            return {}
        try:
            return resp.json()
        except ValueError as exc:
            snippet = " ".join(resp.text.split())[:120]
            raise APIConnectionError(
                f"{method} {safe_url(url)} -> {resp.status_code} with a body that is not JSON: "
                f"{self._scrub(snippet)}",
                method=method,
                url=url,
            ) from exc

    # -- the upload host -----------------------------------------------------------------

    def put(
        self,
        url: str,
        source: bytes | IO[bytes],
        size: int,
        headers: Mapping[str, str],
        *,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> requests.Response:
        """PUT bytes to a signed URL with exactly ``headers`` (no key, no session headers).

        Retries connection errors, timeouts, 408, 429 and 5xx when the body can be re-read
        (bytes, or a seekable stream). Returns the 2xx response.
        """
        start = None
        if not isinstance(source, bytes):
            try:
                start = source.tell() if source.seekable() else None
            except (AttributeError, OSError, ValueError):
                start = None
        rereadable = isinstance(source, bytes) or start is not None
        settings = self.session.merge_environment_settings(url, {}, None, None, None)
        attempt = 0
        while True:
            if start is not None and not isinstance(source, bytes):
                source.seek(start)
            body: Any = _ProgressBody(source, size, on_progress) if size else b""
            # A bare Request: session headers, session auth and netrc do not apply.
            prepared = requests.Request("PUT", url, data=body, headers=dict(headers)).prepare()
            started = time.monotonic()
            cause: Exception | None = None
            try:
                resp = self.session.send(
                    prepared, timeout=self.timeout, allow_redirects=False, **settings
                )
            except requests.RequestException as exc:
                cause = exc
                error: APIError = self._connection_error(exc, "PUT", url)
                retryable = True
            else:
                log.debug(
                    "PUT %s (%d bytes) -> %d in %.0f ms",
                    urlsplit(url).path,
                    size,
                    resp.status_code,
                    (time.monotonic() - started) * 1000,
                )
                if 200 <= resp.status_code < 300:
                    return resp
                error = self._status_error(resp, "PUT", safe_url(url))
                assert isinstance(error, APIStatusError)
                retryable = should_retry(resp.status_code, error.code)
            if not (retryable and rereadable) or attempt >= self.policy.max_retries:
                raise error from cause
            delay = self._delay_for(error, attempt)
            self._log_retry("PUT", url, attempt + 2, delay, error)
            self.sleep(delay)
            attempt += 1
