"""The sandbox's WSGI application: routing, auth, rate limits, idempotency, faults, envelope.

Three hosts share one server: the API under ``/v1/...``, the upload host under
``/_upload/<upload_id>`` (signed URL, no API key, no rate-limit headers) and ref storage
under ``/storage/<character_id>/<ref_id>.<ext>`` (token URL). The route table is
``routes.py``, handlers are in ``uploads.py``, ``characters.py`` and ``hosts.py``; this
module is the HTTP glue: checks in §14 order, faults, the envelope, the request log.
"""

from __future__ import annotations

import json
import re
import socket
import time
import traceback
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Request, Response

from . import characters, hosts
from .buckets import Verdict
from .clock import ulid
from .errors import SandboxError
from .faults import FAULT_CODES, FaultRule, Faults
from .hosts import json_response
from .idempotency import KEY_HEADERS, Cached, fingerprint, validate_key
from .reqlog import HeaderDict, RecordedRequest, RequestLog
from .routes import BUCKETS, HANDLERS, STATIC_ROUTES, URL_MAP, Ctx
from .state import CURRENT_VERSION, KNOWN_VERSIONS, SandboxState

MAX_JSON_BODY = 1024 * 1024
_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
KNOWN = sorted(KNOWN_VERSIONS)
_WRITE_METHODS = frozenset({"POST", "PATCH", "DELETE"})


class DroppedConnection(ConnectionAbortedError):
    """Raised after the socket was shut down; werkzeug treats it as a dropped client."""


class JsonReply:
    """A finished JSON response of the API: status, headers, bytes (a WSGI app itself).

    What every API request answers with; building a werkzeug ``Response`` (and its
    ``Headers``) for each was a fifth of the sandbox's work per request.
    """

    __slots__ = ("_body", "headers", "status_code")

    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        self.status_code = status
        if isinstance(body, bytes):
            self._body = body
        else:
            self._body = json.dumps(body, separators=(",", ":")).encode()
        self.headers: dict[str, str] = dict(headers or {})

    def get_data(self) -> bytes:
        return self._body

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        reason = HTTP_STATUS_CODES.get(self.status_code, "UNKNOWN")
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(self._body)))]
        headers += self.headers.items()
        start_response(f"{self.status_code} {reason.upper()}", headers)
        return [self._body]


def _request_headers(environ: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """The request's headers as werkzeug spells them, read straight from the environ."""
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            if key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                yield key[5:].replace("_", "-").title(), value
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            yield key.replace("_", "-").title(), value


@dataclass
class _Call:
    """What one API request has established so far (for its response headers)."""

    rid: str
    bucket: str
    team_id: str | None = None
    version: str = CURRENT_VERSION
    verdict: Verdict | None = None
    raw: bytes = b""
    slept: bool = False


def _requested_version(request: Request) -> str | None:
    """The ``Aurous-Version`` asked for, validated (§14 row 24); ``None`` if absent."""
    requested = request.headers.get("Aurous-Version")
    if requested is None:
        return None
    if not _VERSION_RE.match(requested):
        raise SandboxError(
            400,
            "invalid_format",
            f"Aurous-Version must look like YYYY-MM-DD, got {requested!r}.",
            "Aurous-Version",
        )
    if requested not in KNOWN_VERSIONS:
        raise SandboxError(
            400,
            "unknown_version",
            f"Unknown Aurous-Version {requested!r}; known: {', '.join(KNOWN)}.",
            "Aurous-Version",
        )
    return requested


class SandboxApp:
    """The WSGI callable. Unexpected handler exceptions become 500s and are kept in
    :attr:`handler_errors` so the test that caused them can fail loudly."""

    def __init__(self, state: SandboxState, faults: Faults, log: RequestLog) -> None:
        self.state = state
        self.faults = faults
        self.log = log
        self.handler_errors: list[str] = []

    # -- entry point ---------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        request.max_content_length = None
        arrived = self.state.now()
        route: str | None = STATIC_ROUTES.get((request.method, request.path))
        args: Mapping[str, Any] = {}
        if route is None:
            adapter = URL_MAP.bind("sandbox")  # cheaper than bind_to_environ; host not routed
            try:
                route, args = adapter.match(request.path, request.method)
            except (NotFound, MethodNotAllowed) as exc:
                route, args = None, {"_status": exc.code}
        decision = self.faults.decide(route) if route else None
        latency = self.state.options.latency_ms / 1000.0 + (decision.latency_s if decision else 0)
        body_size = 0
        fault: str | None = None
        response: Response | JsonReply | None = None

        def record() -> None:
            self.log.append(
                RecordedRequest(
                    method=request.method,
                    path=request.path,
                    query=dict(request.args.items()) if environ.get("QUERY_STRING") else {},
                    headers=HeaderDict(_request_headers(environ)),
                    route=route,
                    status=None if response is None else response.status_code,
                    time=arrived,
                    body_size=body_size,
                    request_id=None
                    if response is None
                    else response.headers.get("Aurous-Request-Id"),
                    fault=fault,
                )
            )

        try:
            if decision is not None and decision.rule is not None:
                fault = "drop" if decision.rule.drop else "status"
                _sleep(latency)
                if decision.rule.drop:
                    record()  # before the client can notice the drop
                    _drop(request)
                response = self._fault_response(route or "", request, decision.rule)
            elif route == "upload":
                _sleep(latency)
                response, body_size = hosts.upload(self.state, request, args["upload_id"])
            elif route == "storage":
                _sleep(latency)
                response = hosts.storage(self.state, request, args["char_id"], args["filename"])
            else:
                response, body_size = self._api(request, route, args, latency)
        except DroppedConnection:
            raise
        except Exception:  # a bug on the upload host or storage: 500, traceback kept
            self.handler_errors.append(traceback.format_exc())
            bug = SandboxError(500, "internal_error", "Sandbox bug; see Sandbox.handler_errors.")
            response = json_response(500, bug.body(doc_url=False))
        finally:
            if fault != "drop":
                record()
        return response(environ, start_response)

    # -- API -----------------------------------------------------------------------------

    def _api_headers(self, call: _Call) -> dict[str, str]:
        """Request id, applied version and the bucket's ``X-RateLimit-*`` (peeked if unspent)."""
        verdict = call.verdict
        if verdict is None:
            with self.state.lock:
                verdict = self.state.buckets.peek(call.team_id, call.bucket, self.state.now())
        return {
            "Aurous-Request-Id": call.rid,
            "Aurous-Version": call.version,
            **verdict.headers(),
        }

    def _api(
        self, request: Request, route: str | None, args: Mapping[str, Any], latency: float
    ) -> tuple[JsonReply, int]:
        """One API request: every check, then the handler; any error becomes the envelope."""
        call = _Call(
            rid="req_" + ulid(self.state.now()), bucket=BUCKETS.get(route or "", "default_get")
        )
        try:
            response = self._process(request, route, args, latency, call)
        except SandboxError as err:
            if not call.slept:
                _sleep(latency)
            headers = self._api_headers(call)
            headers.update(err.headers)
            if err.status == 429:
                headers["Retry-After"] = headers.get("Retry-After", "1")
                headers["X-RateLimit-Remaining"] = "0"
            response = JsonReply(err.status, err.body(call.rid), headers)
        except Exception:  # a sandbox bug: answer 500 and keep the traceback for the test
            self.handler_errors.append(traceback.format_exc())
            bug = SandboxError(500, "internal_error", "Sandbox bug; see Sandbox.handler_errors.")
            response = JsonReply(500, bug.body(call.rid), self._api_headers(call))
        return response, len(call.raw)

    def _process(
        self,
        request: Request,
        route: str | None,
        args: Mapping[str, Any],
        latency: float,
        call: _Call,
    ) -> JsonReply:
        """Checks in this order: route (404/405), body size (413), key (401), rate bucket
        (429, spends a token), ``Aurous-Version`` (400), scope (403), ``Idempotency-Key``
        (400/409 or replay), then the injected latency, then the handler."""
        state = self.state
        if route is None:
            status = args["_status"]
            code = "resource_not_found" if status == 404 else "method_not_allowed"
            raise SandboxError(status, code, f"No route for {request.method} {request.path}.")
        call.raw = _read_json_body(request)
        key = state.authenticate(
            request.headers.get("X-Api-Key"), request.headers.get("Authorization")
        )
        call.team_id = key.team_id
        call.version = state.teams[key.team_id].default_version
        if route == "create" and characters.is_synthesize(call.raw):
            call.bucket = "characters_synthesize"  # §14 row 15
        with state.lock:
            call.verdict = state.buckets.take(key.team_id, call.bucket, state.now())
        if not call.verdict.allowed:
            raise SandboxError(
                429,
                "too_many_requests",
                f"Rate limit exceeded for {call.bucket}. Retry after {call.verdict.retry_after}s.",
                headers={"Retry-After": str(call.verdict.retry_after)},
            )
        call.version = _requested_version(request) or call.version
        if request.method in _WRITE_METHODS and key.scope == "read":
            raise SandboxError(
                403, "missing_scope", "This API key has the read scope; this call needs write."
            )
        scope = None
        # .get(): `in` on werkzeug's environ headers walks every header (~13 µs each time)
        idem_key = next((v for h in KEY_HEADERS if (v := request.headers.get(h)) is not None), None)
        if idem_key is not None and request.method == "POST":
            scope = (key.team_id, validate_key(idem_key))
            cached = state.idempotency.claim(
                scope, f"{request.method} {request.path}", fingerprint(call.raw), state.now()
            )
            if cached is not None:
                _sleep(latency)
                call.slept = True
                headers = self._api_headers(call)
                headers["Aurous-Idempotent-Replayed"] = "true"
                return JsonReply(cached.status, cached.body, headers)
        # From here on this request owns the idempotency key (if any) until it finishes.
        kept: Cached | None = None
        try:
            _sleep(latency)
            call.slept = True
            ctx = Ctx(
                key.team_id,
                call.raw,
                args,
                dict(request.args.items()),
                _base_url(request),
                call.version,
            )
            status, body = HANDLERS[route](state, ctx)
            response = JsonReply(status, body, self._api_headers(call))
            if 200 <= status < 300:
                kept = Cached(status, response.get_data())
            return response
        finally:
            if scope is not None:
                state.idempotency.finish(scope, kept)  # only 2xx are kept for replay

    def _fault_response(
        self, route: str, request: Request, rule: FaultRule
    ) -> Response | JsonReply:
        """The canned answer of an injected status; nothing is processed or spent."""
        status = rule.status or 500
        code = FAULT_CODES.get(status, "injected_fault")
        retry_after = None if rule.retry_after is None else max(0, round(rule.retry_after))
        extra: dict[str, str] = {}
        if status == 429 or retry_after is not None:
            extra["Retry-After"] = str(1 if retry_after is None else retry_after)
        if route in ("upload", "storage"):
            err = SandboxError(status, code, f"Injected fault on {route}.", headers=extra)
            return json_response(status, err.body(doc_url=False), err.headers)
        call = _Call(rid="req_" + ulid(self.state.now()), bucket=BUCKETS.get(route, "default_get"))
        try:  # only to show the team's bucket in the headers; nothing is spent
            call.team_id = self.state.authenticate(
                request.headers.get("X-Api-Key"), request.headers.get("Authorization")
            ).team_id
        except SandboxError:
            pass
        headers = self._api_headers(call)
        message = f"Injected fault on {route} (HTTP {status})."
        if status == 429:
            headers["X-RateLimit-Remaining"] = "0"
            message = f"Rate limit exceeded for {call.bucket}. Retry after {extra['Retry-After']}s."
        headers.update(extra)
        return JsonReply(status, SandboxError(status, code, message).body(call.rid), headers)

    # -- upload host and storage --------------------------------------------------------


def _base_url(request: Request) -> str:
    """Scheme and host the client used, so minted URLs work from wherever it connected."""
    return f"{request.scheme}://{request.host}"


def _read_json_body(request: Request) -> bytes:
    try:
        request.max_content_length = MAX_JSON_BODY
        return request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise SandboxError(
            413, "payload_too_large", f"JSON bodies are limited to {MAX_JSON_BODY} bytes."
        ) from None


def _sleep(seconds: float) -> None:
    if seconds > 0:
        time.sleep(seconds)


def _drop(request: Request) -> None:
    """Close the connection without sending a byte, then unwind the handler.

    The body is read first: werkzeug would otherwise parse leftover body bytes as the
    next request on this (keep-alive) connection.
    """
    while request.stream.read(1 << 16):
        pass
    sock = request.environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    raise DroppedConnection("connection dropped by an injected fault")
