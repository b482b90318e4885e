"""The one place requests go out, to the API and to the upload host: one loop with auth, the
version pin, rate limiting, retries and the mapping of failures to :mod:`aurous_nb.errors`.

The retry policy is :func:`should_retry` (a rule per status) and :func:`retry_delay`.
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

from .._text import one_line
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


@dataclass(frozen=True)
class _Call:
    """One request as the loop sends it (again, on a retry).

    ``api`` requests carry the key and session settings and are rate limited; upload-host
    requests are bare (exactly ``headers``) and are retried only when ``body`` can be re-read.
    """

    method: str
    url: str
    headers: Mapping[str, str]
    api: bool
    params: Mapping[str, Any] | None = None
    data: bytes | None = None
    stream: IO[bytes] | None = None
    size: int = 0
    on_progress: Callable[[int, int], None] | None = None
    bucket: str | None = None


class Transport:
    """Sends every request of a client: :meth:`request` (API) and :meth:`put` (upload host).

    The API key is added to each API request's headers and never to ``session.headers``, so
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

    # -- the two kinds of request --------------------------------------------------------

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
        call = _Call(
            method,
            self.base_url + path,
            headers,
            api=True,
            params={k: v for k, v in (params or {}).items() if v is not None} or None,
            data=data,
            bucket=bucket_for(method, path, json) if self.limiter is not None else None,
        )
        return self._decode(self._send(call), method, call.url)

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

        Retried like an API call when the body can be re-read (bytes, or a seekable stream).
        Returns the 2xx response.
        """
        call = _Call(
            "PUT",
            url,
            dict(headers),
            api=False,
            data=source if isinstance(source, bytes) else None,
            stream=None if isinstance(source, bytes) else source,
            size=size,
            on_progress=on_progress,
        )
        return self._send(call)

    def get(self, url: str) -> requests.Response:
        """GET a signed URL (a ref image in storage) as a bare request, never with the key.

        Retried like an API call. Returns the 2xx response.
        """
        return self._send(_Call("GET", url, {"User-Agent": USER_AGENT}, api=False))

    # -- the loop ------------------------------------------------------------------------

    def _send(self, call: _Call) -> requests.Response:
        """Send ``call`` until it succeeds, fails for good, or the retries run out."""
        rewind = _rewinder(call.stream)
        rereadable = call.stream is None or rewind is not None
        settings = self.session.merge_environment_settings(call.url, {}, None, None, None)
        attempt = 0
        while True:
            if rewind is not None and attempt:
                rewind()
            if call.bucket is not None:
                assert self.limiter is not None
                self.limiter.acquire(call.bucket)
            started = time.monotonic()
            cause: Exception | None = None
            try:
                resp = self.session.send(
                    self._prepare(call),
                    timeout=self.timeout,
                    allow_redirects=False,  # a redirect must not carry X-Api-Key anywhere
                    **settings,
                )
            except requests.RequestException as exc:
                self._observe(call, None)
                cause = exc
                error: APIError = self._connection_error(exc, call.method, call.url)
                retryable = True
            else:
                self._observe(call, resp)
                log.debug(
                    "%s %s -> %d in %.0f ms (request_id=%s)",
                    call.method,
                    urlsplit(call.url).path,
                    resp.status_code,
                    (time.monotonic() - started) * 1000,
                    resp.headers.get("Aurous-Request-Id"),
                )
                if 200 <= resp.status_code < 300:
                    return resp
                error = self._status_error(resp, call.method, safe_url(call.url))
                assert isinstance(error, APIStatusError)
                retryable = should_retry(resp.status_code, error.code)
            if not (retryable and rereadable) or attempt >= self.policy.max_retries:
                raise error from cause
            delay = self._delay_for(error, attempt)
            self._log_retry(call, attempt + 2, delay, error)
            self.sleep(delay)
            attempt += 1

    def _prepare(self, call: _Call) -> requests.PreparedRequest:
        body: Any = call.data
        if call.stream is not None:
            body = _ProgressBody(call.stream, call.size, call.on_progress) if call.size else b""
        elif call.on_progress is not None and call.data:
            body = _ProgressBody(call.data, len(call.data), call.on_progress)
        request = requests.Request(
            call.method, call.url, params=call.params, data=body, headers=dict(call.headers)
        )
        # API calls take the session's settings (headers, auth, cookies) a caller may rely on;
        # the upload host gets a bare request: exactly the ticket's headers, nothing else.
        return self.session.prepare_request(request) if call.api else request.prepare()

    def _observe(self, call: _Call, resp: requests.Response | None) -> None:
        if call.bucket is None or self.limiter is None:
            return
        if resp is None:
            self.limiter.observe(call.bucket, None)
            return
        status = resp.status_code
        retry_after = parse_retry_after(resp.headers) if status == 429 else None
        self.limiter.observe(call.bucket, resp.headers, status=status, retry_after=retry_after)

    # -- failures ------------------------------------------------------------------------

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

    def _log_retry(self, call: _Call, attempt: int, delay: float, error: APIError) -> None:
        if isinstance(error, APIStatusError):
            why = f"{error.status} {error.code or ''}".rstrip()
            if error.request_id:
                why += f" (request_id={error.request_id})"
        else:
            why = f"{type(error).__name__}: {error.message[:160]}"
        log.debug(
            "retrying %s %s (attempt %d of %d) in %.2f s after %s",
            call.method,
            urlsplit(call.url).path,
            attempt,
            self.policy.max_retries + 1,
            delay,
            why,
        )

    def _decode(self, resp: requests.Response, method: str, url: str) -> Any:
        if not resp.content:
            return {}
        try:
            return resp.json()
        except ValueError as exc:
            snippet = one_line(resp.text)[:120]
            raise APIConnectionError(
                f"{method} {safe_url(url)} -> {resp.status_code} with a body that is not JSON: "
                f"{self._scrub(snippet)}",
                method=method,
                url=url,
            ) from exc


def _rewinder(stream: IO[bytes] | None) -> Callable[[], None] | None:
    """A function that puts ``stream`` back where it is now, or None if it cannot seek."""
    if stream is None:
        return None
    try:
        start = stream.tell() if stream.seekable() else None
    except (AttributeError, OSError, ValueError):
        start = None
    if start is None:
        return None

    def rewind() -> None:
        assert stream is not None
        stream.seek(start)

    return rewind
