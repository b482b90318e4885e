"""A keep-alive request handler for werkzeug's threaded dev server.

werkzeug's own handler closes every connection after one response, so each request
pays for a TCP handshake and a new thread. The sandbox's responses always have a known
length, so this handler keeps HTTP/1.1 connections open: it gives the app a
length-limited body stream, drains whatever the app left unread (so the next request
line is intact), and writes one response with ``Content-Length``. Chunked request bodies
close the connection afterwards. Imported only by :meth:`Sandbox.start` (it imports
werkzeug).
"""

from __future__ import annotations

import socket
import traceback
from typing import Any

from werkzeug.serving import WSGIRequestHandler
from werkzeug.wsgi import LimitedStream

#: Unread request bytes above this are not drained; the connection is closed instead.
MAX_DRAIN = 64 * 1024 * 1024


class KeepAliveHandler(WSGIRequestHandler):
    """HTTP/1.1 persistent connections; quiet request logging."""

    protocol_version = "HTTP/1.1"
    timeout = 30  # an idle keep-alive connection is closed after this many seconds

    def setup(self) -> None:
        super().setup()
        # A 100 Continue, or a long body, goes out in more than one write; without NODELAY,
        # Nagle's algorithm plus the client's delayed ACK would add ~40 ms to a response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Quiet: the sandbox keeps its own request log."""

    def log_error(self, format: str, *args: Any) -> None:
        """Quiet for idle keep-alive connections timing out (routine, and in a notebook the
        line would land in whatever cell runs next); anything else is still reported."""
        if args and isinstance(args[0], TimeoutError):
            return
        super().log_error(format, *args)

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        environ = self.environ = self.make_environ()
        body_stream: LimitedStream | None = None
        if environ.get("wsgi.input_terminated"):  # chunked: werkzeug de-chunks it
            self.close_connection = True
        else:
            try:
                length = max(0, int(environ.get("CONTENT_LENGTH") or 0))
            except ValueError:
                length = 0
                self.close_connection = True
            body_stream = LimitedStream(self.rfile, length)  # type: ignore[arg-type]
            environ["wsgi.input"] = body_stream
            environ["wsgi.input_terminated"] = True

        started: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            started[:] = [status, headers]
            return lambda data: None  # the legacy write() callable is never used

        try:
            app_iter = self.server.app(environ, start_response)
            try:
                body = b"".join(app_iter)
            finally:
                close = getattr(app_iter, "close", None)
                if close is not None:
                    close()
        except (TimeoutError, ConnectionError):  # an injected drop, or the client left
            self.close_connection = True
            return
        except Exception:  # noqa: BLE001 - a bug in the app; answer 500 and keep serving
            self.server.log("error", "Error on request:\n%s", traceback.format_exc())
            started[:] = ["500 INTERNAL SERVER ERROR", [("Content-Type", "text/plain")]]
            body = b"internal sandbox error"
            self.close_connection = True

        if body_stream is not None and not body_stream.is_exhausted:
            if body_stream.limit - body_stream.tell() > MAX_DRAIN:
                self.close_connection = True
            else:
                body_stream.exhaust()

        status, headers = started
        code, _, reason = status.partition(" ")
        self.send_response(int(code), reason)
        names = set()
        for name, value in headers:
            if name.lower() != "connection":
                self.send_header(name, value)
                names.add(name.lower())
        if "content-length" not in names:
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        # Headers and body in one write: one syscall (and one wait for the GIL after it)
        # instead of two, which under load is a quarter of the handler's time.
        self._headers_buffer.append(b"\r\n")
        if environ["REQUEST_METHOD"] != "HEAD" and body:
            self._headers_buffer.append(body)
        self.flush_headers()
