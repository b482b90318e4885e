"""The one place requests go out, to the API and to the upload host: one loop with auth, the
version pin, rate limiting, retries, the call's deadline, proxies, and the mapping of failures
(and of 2xx bodies that are not what was expected) to :mod:`aurous_nb.errors`.

The retry policy is :func:`should_retry` (a rule per status) and :func:`retry_delay`.
"""

from __future__ import annotations

import ipaddress
import json as jsonlib
import logging
import math
import random
import re
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any, TypeVar
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from .._text import body_text
from .._version import __version__
from ..errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    get_header,
    make_status_error,
    parse_retry_after,
)
from ..models import ShapeError
from .ratelimit import RateLimiter, bucket_for

T = TypeVar("T")

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


def is_loopback(url: str) -> bool:
    """Whether ``url`` points at this machine (``localhost``, 127.0.0.0/8, ``::1``, 0.0.0.0).

    Such requests never go through a proxy: a proxy cannot reach the caller's loopback, so
    ``HTTP_PROXY`` without ``NO_PROXY`` would otherwise break a local sandbox.
    """
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):  # RFC 6761: always loopback
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


class _Deadline:
    """How long one call may still take, retries and backoff included (None: no limit).

    It starts with the first attempt -- waiting for a client-side rate-limit token first is
    pacing, not the server holding the call -- and pauses while a request body streams to
    the upload host: a large photo on a slow uplink is progress, and each send still has
    the per-operation timeout.
    """

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self._at: float | None = None

    def start(self) -> None:
        if self._at is None and self.seconds is not None:
            self._at = time.monotonic() + self.seconds

    def left(self) -> float:
        return math.inf if self._at is None else self._at - time.monotonic()

    def extend(self, seconds: float) -> None:
        if self._at is not None:
            self._at += seconds


class _DeadlinePassed(Exception):
    """The call's deadline passed while waiting for (more of) a response."""


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
        self.sending = 0.0
        """Seconds spent handing the body to the socket (the call's deadline skips them)."""

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[bytes]:
        sent = 0
        view = memoryview(self._source) if isinstance(self._source, bytes) else None
        began = time.monotonic()
        if isinstance(self._source, bytes) and self._on_progress is None:
            yield self._source  # nobody watches the progress: one piece, one sendall
            self.sending = time.monotonic() - began
            return
        while sent < self._size:
            n = min(self.CHUNK, self._size - sent)
            chunk = bytes(view[sent : sent + n]) if view is not None else self._read(n)
            if not chunk:
                raise ValueError(f"the upload stream ended after {sent} of {self._size} bytes")
            sent += len(chunk)
            if self._on_progress is not None:
                self._on_progress(sent, self._size)
            yield chunk
            self.sending = time.monotonic() - began

    def _read(self, n: int) -> bytes:
        assert not isinstance(self._source, bytes)
        return self._source.read(n)


@dataclass(frozen=True)
class _Call:
    """One request as the loop sends it (again, on a retry).

    ``api`` requests carry the key and session settings and are rate limited; upload-host
    requests are bare (exactly ``headers``) and are retried only when ``body`` can be re-read.
    ``path`` is what messages show (the URL without scheme, host and query).
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

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


class Transport:
    """Sends every request of a client: :meth:`request` (API) and :meth:`put` (upload host).

    The API key is added to each API request's headers and never to ``session.headers``, so
    nothing that reuses the session can carry it elsewhere; redirects are never followed.
    Requests to this machine never use a proxy; others honour the environment
    (``HTTPS_PROXY``, ``NO_PROXY``, ...) as ``requests`` does.
    """

    def __init__(
        self,
        *,
        api_key: str,
        masked_key: str,
        base_url: str,
        version: str | None,
        timeout: float,
        deadline: float | None,
        policy: RetryPolicy,
        limiter: RateLimiter | None,
        session: requests.Session | None,
    ) -> None:
        self._api_key = api_key
        self._masked_key = masked_key
        self.base_url = base_url
        self.version = version
        self.timeout = timeout
        self.deadline = deadline
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
        parse: Callable[[Any], T],
        *,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        empty_ok: bool = False,
    ) -> T:
        """Send one API call (retrying as the policy allows) and return ``parse(body)``.

        Args:
            method: HTTP method.
            path: path under the base URL (``/v1/...``).
            parse: builds the result from the decoded JSON body; raises
                :class:`~aurous_nb.models.ShapeError` when the body is not what it expects.
            json: request body.
            params: query parameters (None values are left out).
            idempotency_key: sent as ``Idempotency-Key`` on every attempt.
            empty_ok: an empty 2xx body is ``{}`` (else it is an invalid response).

        Raises:
            APIStatusError: a non-2xx response (the subclass for its status/code).
            APIResponseValidationError: a 2xx whose body is not JSON, not what ``parse``
                expects, or a field of the wrong type.
            APIConnectionError: no complete response after all retries (APITimeoutError when
                it timed out, or the call's deadline passed).
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
        return self._parse(self._send(call), call, parse, empty_ok)

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
        """Send ``call`` until it succeeds, fails for good, the retries run out or the
        deadline passes. Returns the 2xx response with its body read."""
        rewind = _rewinder(call.stream)
        rereadable = call.stream is None or rewind is not None
        settings = self._settings(call.url)
        deadline = _Deadline(self.deadline)
        attempt = 0
        while True:
            if rewind is not None and attempt:
                rewind()
            if call.bucket is not None:
                assert self.limiter is not None
                self.limiter.acquire(call.bucket)
            deadline.start()
            started = time.monotonic()
            cause: BaseException | None = None
            error: APIError
            try:
                resp = self._exchange(call, settings, deadline)
            except _Undecodable as bad:
                self._observe(call, bad.resp)
                encoding = bad.resp.headers.get("Content-Encoding")
                problem = f"the body does not decode as Content-Encoding {encoding}: {bad}"
                if 200 <= bad.resp.status_code < 300:
                    raise self._invalid(bad.resp, call, None, problem) from None
                error = self._status_error(bad.resp, call, note=problem)
                assert isinstance(error, APIStatusError)
                retryable = should_retry(error.status, error.code)
            except _DeadlinePassed as exc:
                self._observe(call, None)
                raise self._deadline_error(call) from exc.__cause__
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                self._observe(call, None)
                if deadline.left() <= 0:
                    raise self._deadline_error(call) from _strip(exc)
                cause = exc
                error = self._connection_error(exc, call)
                retryable = True
            else:
                self._observe(call, resp)
                log.debug(
                    "%s %s -> %d in %.0f ms (request_id=%s)",
                    call.method,
                    call.path,
                    resp.status_code,
                    (time.monotonic() - started) * 1000,
                    resp.headers.get("Aurous-Request-Id"),
                )
                if 200 <= resp.status_code < 300:
                    return resp
                error = self._status_error(resp, call)
                assert isinstance(error, APIStatusError)
                retryable = should_retry(resp.status_code, error.code)
            if not (retryable and rereadable) or attempt >= self.policy.max_retries:
                raise error from cause
            delay = self._delay_for(error, attempt)
            if delay >= deadline.left():
                log.debug(
                    "not retrying %s %s: the %.2f s wait would end after the call's %g s deadline",
                    call.method,
                    call.path,
                    delay,
                    self.deadline,
                )
                raise error from cause
            self._log_retry(call, attempt + 2, delay, error)
            self.sleep(delay)
            attempt += 1

    def _settings(self, url: str) -> dict[str, Any]:
        """``requests``' per-request settings: the environment's proxies and CA bundle, the
        session's own; never a proxy for this machine."""
        settings = dict(self.session.merge_environment_settings(url, {}, None, None, None))
        if is_loopback(url):
            settings["proxies"] = {}  # an empty mapping: requests then goes direct
        settings["stream"] = True  # the body is read by _read_body, under the deadline
        return settings

    def _exchange(
        self, call: _Call, settings: Mapping[str, Any], deadline: _Deadline
    ) -> requests.Response:
        """One attempt: send, wait for the head, read the body -- each wait bounded by the
        timeout and by what is left of the deadline."""
        left = deadline.left()
        if left <= 0:
            raise _DeadlinePassed
        wait = min(self.timeout, left)
        prepared, body = self._prepare(call)
        try:
            resp = self.session.send(
                prepared,
                timeout=wait,
                allow_redirects=False,  # a redirect must not carry X-Api-Key anywhere
                **settings,
            )
        finally:
            if body is not None:
                deadline.extend(body.sending)
        if resp._content is not False:  # a session response hook read it already
            return resp
        try:
            resp._content = self._read_body(resp, deadline)  # what requests' .content fills
        except urllib3.exceptions.DecodeError as exc:
            resp.close()
            resp._content = b""
            raise _Undecodable(resp, exc) from exc
        except BaseException:
            resp.close()  # unread bytes: the connection cannot be reused
            raise
        resp.raw.release_conn()
        return resp

    def _read_body(self, resp: requests.Response, deadline: _Deadline) -> bytes:
        """The whole (decoded) body, read as it arrives, so a body that trickles in stops at
        the deadline rather than after one timeout per read.

        Raises:
            _DeadlinePassed: the deadline passed before the body was complete.
            urllib3.exceptions.HTTPError: the body was cut short, undecodable, or a read
                timed out.
        """
        raw = resp.raw
        conn = getattr(raw, "connection", None) or getattr(raw, "_connection", None)
        sock = getattr(conn, "sock", None)
        read = getattr(raw, "read1", None) or raw.read  # read1: what has arrived (urllib3 2)
        chunks: list[bytes] = []
        while True:
            left = deadline.left()
            if left <= 0:
                raise _DeadlinePassed
            if isinstance(sock, socket.socket):
                sock.settimeout(min(self.timeout, left))
            try:
                chunk = read(_READ_CHUNK, decode_content=True)
            except urllib3.exceptions.ReadTimeoutError as exc:
                if deadline.left() <= 0:
                    raise _DeadlinePassed from exc
                raise
            if not chunk:
                if isinstance(sock, socket.socket):
                    sock.settimeout(self.timeout)  # the pool's next user expects its own
                return b"".join(chunks)
            chunks.append(chunk)

    def _prepare(self, call: _Call) -> tuple[requests.PreparedRequest, _ProgressBody | None]:
        body: Any = call.data
        progress = None
        if call.stream is not None:
            body = _ProgressBody(call.stream, call.size, call.on_progress) if call.size else b""
        elif call.data and (call.on_progress is not None or not call.api):
            body = _ProgressBody(call.data, len(call.data), call.on_progress)
        if isinstance(body, _ProgressBody):
            progress = body
        request = requests.Request(
            call.method, call.url, params=call.params, data=body, headers=dict(call.headers)
        )
        # API calls take the session's settings (headers, auth, cookies) a caller may rely on;
        # the upload host gets a bare request: exactly the ticket's headers, nothing else.
        prepared = self.session.prepare_request(request) if call.api else request.prepare()
        return prepared, progress

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

    def _connection_error(self, exc: BaseException, call: _Call) -> APIConnectionError:
        url = safe_url(call.url)  # an upload URL's query is its signature
        where = f"{call.method} {url}"
        detail = self._scrub(safe_url(str(_strip(exc))))[:300]
        if isinstance(exc, (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)):
            return APITimeoutError(
                f"{where} timed out after {self.timeout:g} s: {detail}",
                method=call.method,
                url=url,
            )
        if isinstance(
            exc, (urllib3.exceptions.ProtocolError, requests.exceptions.ChunkedEncodingError)
        ):
            what = "the response was cut short"
        else:
            what = f"failed: {type(exc).__name__}"
        return APIConnectionError(f"{where} {what}: {detail}", method=call.method, url=url)

    def _deadline_error(self, call: _Call) -> APITimeoutError:
        url = safe_url(call.url)
        return APITimeoutError(
            f"{call.method} {url} did not finish within the call's deadline of "
            f"{self.deadline:g} s (retries included; timeout={self.timeout:g} s per read) "
            "— raise AurousClient(deadline=...) if the server is just slow",
            method=call.method,
            url=url,
        )

    def _mask(self, body: bytes) -> bytes:
        """``body`` with the API key (should a server echo it) masked, before any of it is
        quoted: a snippet cut from the middle of a key would escape :meth:`_scrub`."""
        key = self._api_key.encode()
        return body.replace(key, self._masked_key.encode()) if key and key in body else body

    def _status_error(
        self, resp: requests.Response, call: _Call, *, note: str | None = None
    ) -> APIStatusError:
        body = b"" if note else self._mask(resp.content)
        url = safe_url(call.url)
        if 300 <= resp.status_code < 400:
            location = resp.headers.get("Location")
            target = self._scrub(safe_url(urljoin(call.url, location))) if location else "nowhere"
            return APIStatusError(
                f"{call.method} {url} was redirected (HTTP {resp.status_code}) to {target}; "
                "aurous_nb never follows redirects, so the API key cannot travel with one — "
                "check base_url",
                status=resp.status_code,
                request_id=resp.headers.get("Aurous-Request-Id"),
                headers=resp.headers,
                method=call.method,
                url=url,
            )
        return make_status_error(
            resp.status_code,
            body,
            resp.headers,
            reason=resp.reason,
            method=call.method,
            url=url,
            detail=note,
        )

    def _invalid(
        self, resp: requests.Response, call: _Call, field: str | None, problem: str
    ) -> APIResponseValidationError:
        url = safe_url(call.url)
        return APIResponseValidationError(
            self._scrub(f"{call.method} {url} -> {resp.status_code}: {problem}"),
            status=resp.status_code,
            request_id=resp.headers.get("Aurous-Request-Id"),
            field=field,
            headers=resp.headers,
            method=call.method,
            url=url,
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
            call.path,
            attempt,
            self.policy.max_retries + 1,
            delay,
            why,
        )

    # -- 2xx bodies ----------------------------------------------------------------------

    def _parse(
        self, resp: requests.Response, call: _Call, parse: Callable[[Any], T], empty_ok: bool
    ) -> T:
        """``parse`` of the JSON body, or the one error that says what is wrong with it."""
        content = self._mask(resp.content)
        if not content.strip():
            if not empty_ok:
                raise self._invalid(resp, call, None, "the body is empty, expected a JSON object")
            data: Any = {}
        else:
            try:
                data = jsonlib.loads(content)
            except ValueError as exc:
                kind = resp.headers.get("Content-Type") or "no Content-Type"
                snippet = body_text(content.decode("utf-8", "replace"))
                raise self._invalid(
                    resp,
                    call,
                    None,
                    f"the body is not JSON ({kind}): {snippet}"
                    if not snippet.startswith("HTML page: ")
                    else f"the body is an {snippet} ({kind}), not JSON",
                ) from exc
        try:
            return parse(data)
        except ShapeError as exc:
            raise self._invalid(resp, call, exc.field, str(exc)) from None


_READ_CHUNK = 64 * 1024


class _Undecodable(Exception):
    """A response whose body does not decode as its ``Content-Encoding`` says."""

    def __init__(self, resp: requests.Response, cause: Exception) -> None:
        super().__init__(str(cause))
        self.resp = resp


def _strip(exc: BaseException) -> BaseException:
    """``exc`` without the prepared request (whose headers hold the key) requests attaches."""
    if isinstance(exc, requests.RequestException):
        exc.request = None
        if exc.response is not None:
            exc.response.request = None  # type: ignore[assignment]
    return exc


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
