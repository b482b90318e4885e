"""The sandbox's WSGI application: routing, auth, rate limits, idempotency, faults, envelope.

Three hosts share one server: the API under ``/v1/...``, the upload host under
``/_upload/<upload_id>`` (signed URL, no API key, no rate-limit headers) and ref storage
under ``/storage/<character_id>/<ref_id>.<ext>`` (token URL). Handlers live in
``uploads.py`` and ``characters.py``; this module is only the HTTP glue.
"""

from __future__ import annotations

import re
import socket
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from . import characters, hosts, uploads
from .apierror import ApiError
from .buckets import Verdict
from .clock import iso, ulid
from .faults import FAULT_CODES, FaultRule, Faults
from .hosts import json_response
from .idempotency import KEY_HEADERS, Cached, fingerprint, validate_key
from .reqlog import HeaderDict, RecordedRequest, RequestLog
from .state import CURRENT_VERSION, KNOWN_VERSIONS, SandboxState

MAX_JSON_BODY = 1024 * 1024
_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
KNOWN = sorted(KNOWN_VERSIONS)
_WRITE_METHODS = frozenset({"POST", "PATCH", "DELETE"})

URL_MAP = Map(
    [
        Rule("/v1/characters/uploads/init", endpoint="init", methods=["POST"]),
        Rule("/v1/characters/uploads/classify", endpoint="classify", methods=["POST"]),
        Rule("/v1/characters", endpoint="create", methods=["POST"]),
        Rule("/v1/characters", endpoint="list", methods=["GET"]),
        Rule("/v1/characters/<char_id>", endpoint="get", methods=["GET"]),
        Rule("/v1/characters/<char_id>", endpoint="patch", methods=["PATCH"]),
        Rule("/v1/characters/<char_id>", endpoint="delete", methods=["DELETE"]),
        Rule("/v1/characters/<char_id>/save", endpoint="save", methods=["POST"]),
        Rule("/v1/characters/<char_id>/resynthesize", endpoint="resynthesize", methods=["POST"]),
        Rule("/v1/characters/<char_id>/refs/regenerate", endpoint="regenerate", methods=["POST"]),
        Rule("/v1/team", endpoint="team", methods=["GET"]),
        Rule("/v1/balance", endpoint="balance", methods=["GET"]),
        Rule("/_upload/<upload_id>", endpoint="upload", methods=["PUT"]),
        Rule("/storage/<char_id>/<filename>", endpoint="storage", methods=["GET"]),
    ],
    strict_slashes=False,
    merge_slashes=False,
)

#: route -> rate bucket (create is decided per request, §14 row 15)
BUCKETS = {
    "init": "characters_post",
    "classify": "characters_post",
    "create": "characters_post",
    "patch": "characters_post",
    "save": "characters_post",
    "delete": "characters_post",
    "get": "characters_get",
    "list": "characters_get",
    "resynthesize": "characters_synthesize",
    "regenerate": "characters_synthesize",
    "team": "default_get",
    "balance": "default_get",
}


class DroppedConnection(ConnectionAbortedError):
    """Raised after the socket was shut down; werkzeug treats it as a dropped client."""


@dataclass
class Ctx:
    """What a handler gets: the team, the raw body and the URL pieces."""

    team_id: str
    raw: bytes
    args: Mapping[str, Any]
    query: dict[str, str]
    base_url: str
    version: str


Handler = Callable[[SandboxState, Ctx], "tuple[int, dict[str, Any]]"]

HANDLERS: dict[str, Handler] = {
    "init": lambda s, c: (200, uploads.init_upload(s, c.team_id, c.raw, c.base_url)),
    "classify": lambda s, c: (200, uploads.classify_upload(s, c.team_id, c.raw)),
    "create": lambda s, c: (201, characters.create(s, c.team_id, c.raw, c.base_url, c.version)),
    "get": lambda s, c: (200, characters.get(s, c.team_id, c.args["char_id"], c.base_url)),
    "list": lambda s, c: (200, characters.list_page(s, c.team_id, c.query, c.base_url)),
    "patch": lambda s, c: (
        200,
        characters.patch(s, c.team_id, c.args["char_id"], c.raw, c.base_url),
    ),
    "save": lambda s, c: (200, characters.save(s, c.team_id, c.args["char_id"], c.base_url)),
    "resynthesize": lambda s, c: (
        200,
        characters.resynthesize(s, c.team_id, c.args["char_id"], c.raw, c.base_url),
    ),
    "regenerate": lambda s, c: (
        200,
        characters.regenerate(s, c.team_id, c.args["char_id"], c.raw, c.base_url),
    ),
    "delete": lambda s, c: (200, characters.delete(s, c.team_id, c.args["char_id"])),
    "team": lambda s, c: (200, _team(s, c.team_id)),
    "balance": lambda s, c: (200, _balance(s, c.team_id)),
}


def _team(state: SandboxState, team_id: str) -> dict[str, Any]:
    with state.lock:
        team = state.teams[team_id]
        return {
            "id": team.id,
            "name": team.name,
            "credits": team.credits,
            "created_at": iso(team.created_at),
            "billing_email": team.billing_email,
        }


def _balance(state: SandboxState, team_id: str) -> dict[str, Any]:
    with state.lock:
        credits = state.teams[team_id].credits
    return {
        "credits": credits,
        "held_credits": 0,
        "available_credits": credits,
        "currency": "credit",
    }


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
        adapter = URL_MAP.bind_to_environ(environ)
        route: str | None
        try:
            route, args = adapter.match()
        except (NotFound, MethodNotAllowed) as exc:
            route, args = None, {"_status": exc.code}
        decision = self.faults.decide(route) if route else None
        latency = self.state.options.latency_ms / 1000.0 + (decision.latency_s if decision else 0)
        body_size = 0
        fault: str | None = None
        response: Response | None = None

        def record() -> None:
            self.log.append(
                RecordedRequest(
                    method=request.method,
                    path=request.path,
                    query=dict(request.args.items()),
                    headers=HeaderDict(request.headers.items()),
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
        finally:
            if fault != "drop":
                record()
        return response(environ, start_response)

    # -- API -----------------------------------------------------------------------------

    def _api_headers(self, rid: str, version: str, verdict: Verdict) -> dict[str, str]:
        return {"Aurous-Request-Id": rid, "Aurous-Version": version, **verdict.headers()}

    def _api(
        self, request: Request, route: str | None, args: Mapping[str, Any], latency: float
    ) -> tuple[Response, int]:
        state = self.state
        rid = "req_" + ulid(state.now())
        version = CURRENT_VERSION
        bucket = BUCKETS.get(route or "", "default_get")
        team_id: str | None = None
        verdict: Verdict | None = None
        raw = b""
        idem_scope: tuple[str, str, str] | None = None
        slept = False
        try:
            if route is None:
                status = args["_status"]
                code = "resource_not_found" if status == 404 else "method_not_allowed"
                raise ApiError(status, code, f"No route for {request.method} {request.path}.")
            raw = _read_json_body(request)
            key = state.authenticate(
                request.headers.get("X-Api-Key"), request.headers.get("Authorization")
            )
            team_id = key.team_id
            version = state.teams[team_id].default_version
            if route == "create" and characters.is_synthesize(raw):
                bucket = "characters_synthesize"
            with state.lock:
                verdict = state.buckets.take(team_id, bucket, state.now())
            if not verdict.allowed:
                raise ApiError(
                    429,
                    "too_many_requests",
                    f"Rate limit exceeded for {bucket}. Retry after {verdict.retry_after}s.",
                )
            requested = request.headers.get("Aurous-Version")
            if requested is not None:
                if not _VERSION_RE.match(requested):
                    raise ApiError(
                        400,
                        "invalid_format",
                        f"Aurous-Version must look like YYYY-MM-DD, got {requested!r}.",
                        "Aurous-Version",
                    )
                if requested not in KNOWN_VERSIONS:
                    raise ApiError(
                        400,
                        "unknown_version",
                        f"Unknown Aurous-Version {requested!r}; known: {', '.join(KNOWN)}.",
                        "Aurous-Version",
                    )
                version = requested
            if request.method in _WRITE_METHODS and key.scope == "read":
                raise ApiError(
                    403, "missing_scope", "This API key has the read scope; this call needs write."
                )
            idem_key = next((request.headers[h] for h in KEY_HEADERS if h in request.headers), None)
            if idem_key is not None and request.method == "POST":
                validate_key(idem_key)
                scope = (team_id, f"{request.method} {request.path}", idem_key)
                cached = state.idempotency.claim(scope, fingerprint(raw), state.now())
                if cached is None:
                    idem_scope = scope  # this request owns the key until it finishes
                else:
                    _sleep(latency)
                    headers = self._api_headers(rid, version, verdict)
                    headers["Aurous-Idempotent-Replayed"] = "true"
                    response = Response(cached.body, cached.status, mimetype="application/json")
                    response.headers.update(headers)
                    return response, len(raw)
            _sleep(latency)
            slept = True
            ctx = Ctx(team_id, raw, args, dict(request.args.items()), _base_url(request), version)
            status, body = HANDLERS[route](state, ctx)
            response = json_response(status, body, self._api_headers(rid, version, verdict))
        except ApiError as err:
            if not slept:
                _sleep(latency)
            if verdict is None:
                with state.lock:
                    verdict = state.buckets.peek(team_id, bucket, state.now())
            headers = self._api_headers(rid, version, verdict)
            headers.update(err.headers)
            if err.status == 429:
                headers["Retry-After"] = str(verdict.retry_after)
                headers["X-RateLimit-Remaining"] = "0"
            response = json_response(err.status, err.body(rid), headers)
        except Exception:  # a sandbox bug: answer 500 and keep the traceback for the test
            self.handler_errors.append(traceback.format_exc())
            if verdict is None:
                with state.lock:
                    verdict = state.buckets.peek(team_id, bucket, state.now())
            bug = ApiError(500, "internal_error", "Sandbox bug; see Sandbox.handler_errors.")
            response = json_response(500, bug.body(rid), self._api_headers(rid, version, verdict))
        finally:
            if idem_scope is not None:
                result = None
                if "response" in locals() and 200 <= response.status_code < 300:
                    result = Cached(response.status_code, response.get_data())
                state.idempotency.finish(idem_scope, result)
        return response, len(raw)

    def _fault_response(self, route: str, request: Request, rule: FaultRule) -> Response:
        """The canned answer of an injected status; nothing is processed or spent."""
        status = rule.status or 500
        code = FAULT_CODES.get(status, "injected_fault")
        retry_after = None if rule.retry_after is None else max(0, round(rule.retry_after))
        extra: dict[str, str] = {}
        if status == 429 or retry_after is not None:
            extra["Retry-After"] = str(1 if retry_after is None else retry_after)
        if route in ("upload", "storage"):
            err = ApiError(status, code, f"Injected fault on {route}.", headers=extra)
            return json_response(status, err.body(doc_url=False), err.headers)
        state = self.state
        bucket = BUCKETS.get(route, "default_get")
        team_id = None
        try:
            team_id = state.authenticate(
                request.headers.get("X-Api-Key"), request.headers.get("Authorization")
            ).team_id
        except ApiError:
            pass
        with state.lock:
            verdict = state.buckets.peek(team_id, bucket, state.now())
        rid = "req_" + ulid(state.now())
        headers = self._api_headers(rid, CURRENT_VERSION, verdict)
        message = f"Injected fault on {route} (HTTP {status})."
        if status == 429:
            headers["X-RateLimit-Remaining"] = "0"
            message = f"Rate limit exceeded for {bucket}. Retry after {extra['Retry-After']}s."
        headers.update(extra)
        return json_response(status, ApiError(status, code, message).body(rid), headers)

    # -- upload host and storage --------------------------------------------------------


def _base_url(request: Request) -> str:
    return request.host_url.rstrip("/")


def _read_json_body(request: Request) -> bytes:
    try:
        request.max_content_length = MAX_JSON_BODY
        return request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise ApiError(
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
