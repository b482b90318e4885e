"""A small HTTP/1.1 server on 127.0.0.1 that misbehaves on purpose (imported, not collected).

Each case is a route: the first path segment names it (``/trickle/v1/team``), so a client
whose ``base_url`` ends in ``/trickle`` meets that case on every endpoint. A request with an
absolute URI or a ``CONNECT`` (what a client sends to a proxy) goes to the ``proxy`` route.
Every request is logged with its arrival time and how many response bytes reached the
socket, so a test can tell a call that was cut off from one that was served.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

REQUEST_ID = "req_01HXMQ7Z3K8Y2NABCDEFGHJKMR"
"""The ``Aurous-Request-Id`` every JSON answer of the server carries."""


@dataclass
class Seen:
    """One request the server received."""

    method: str
    target: str  # the request target as sent (a path, or an absolute URI via a proxy)
    path: str  # the path after the case segment (``/v1/team``)
    headers: dict[str, str]
    body: bytes
    arrived: float  # time.time()
    sent: int = 0  # response bytes written to the socket before it was done or broke


Route = Callable[["Reply", int], None]
"""A case: ``route(reply, hit)`` answers the ``hit``-th request (0-based) of its case."""


class Reply:
    """What a route uses to answer (or not quite answer) one request."""

    def __init__(self, handler: BaseHTTPRequestHandler, seen: Seen) -> None:
        self._handler = handler
        self.seen = seen

    def head(self, status: int, headers: dict[str, str]) -> None:
        """The status line and headers (add ``Content-Length`` yourself for raw bodies)."""
        self._handler.send_response_only(status)
        for name, value in headers.items():
            self._handler.send_header(name, value)
        self._handler.end_headers()
        self._handler.wfile.flush()

    def write(self, data: bytes) -> None:
        """Body bytes, flushed at once (a trickle is visible byte by byte)."""
        self._handler.wfile.write(data)
        self._handler.wfile.flush()
        self.seen.sent += len(data)

    def send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        """A complete response with this body."""
        head = {"Content-Length": str(len(body)), **(headers or {})}
        self.head(status, head)
        self.write(body)

    def json(self, status: int, value: Any, headers: dict[str, str] | None = None) -> None:
        """A complete JSON response with the request id header."""
        body = json.dumps(value).encode()
        self.send(
            status,
            body,
            {
                "Content-Type": "application/json",
                "Aurous-Request-Id": REQUEST_ID,
                **(headers or {}),
            },
        )

    def hang_up(self) -> None:
        """Close the connection now (what is written so far is all the client gets)."""
        self._handler.close_connection = True
        self._handler.wfile.flush()
        self._handler.connection.shutdown(2)


@dataclass
class HostileServer:
    """A threaded server with a route per case; :attr:`log` keeps every request."""

    routes: dict[str, Route] = field(default_factory=dict)
    log: list[Seen] = field(default_factory=list)
    url: str = ""
    _hits: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def route(self, name: str) -> Callable[[Route], Route]:
        """Register a case under ``/name/...`` (decorator)."""

        def register(fn: Route) -> Route:
            self.routes[name] = fn
            return fn

        return register

    def seen(self, case: str) -> list[Seen]:
        """The requests of one case, in order (``proxy`` for absolute-URI requests)."""
        prefix = f"/{case}/"
        with self._lock:
            return [
                s
                for s in self.log
                if s.target.startswith(prefix)
                or (case == "proxy" and ("://" in s.target or s.method == "CONNECT"))
            ]

    def start(self) -> HostileServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                target = self.path
                if self.command == "CONNECT":  # an https tunnel asked of us as a proxy
                    case, rest = "proxy", ""
                elif "://" in target:  # sent to us as a proxy
                    case, rest = "proxy", urlsplit(target).path
                else:
                    _, case, rest = (target.split("?", 1)[0].split("/", 2) + ["", ""])[:3]
                    rest = "/" + rest
                seen = Seen(
                    self.command, target, rest, dict(self.headers.items()), body, time.time()
                )
                with server._lock:
                    server.log.append(seen)
                    hit = server._hits.get(case, 0)
                    server._hits[case] = hit + 1
                route = server.routes.get(case)
                reply = Reply(self, seen)
                try:
                    if route is None:
                        reply.json(404, {"error": {"code": "no_such_case", "message": case}})
                    else:
                        route(reply, hit)
                except (BrokenPipeError, ConnectionResetError, OSError):
                    self.close_connection = True  # the client hung up first: the point

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_CONNECT = _serve

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
