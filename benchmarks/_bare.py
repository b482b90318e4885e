"""The bare werkzeug server the sandbox is compared with: werkzeug serving, a canned answer.

Run as ``python -m benchmarks._bare stock|keep-alive '<json {path suffix: body}>'``: binds
127.0.0.1 on a free port, prints it, and serves until killed. The app reads the request
body and answers the canned JSON for the path (``…/init`` or ``…/classify``), with its
``Content-Length``. ``stock`` is ``werkzeug.serving.make_server(threaded=True)`` as werkzeug
ships it (its handler closes the connection after every response); ``keep-alive`` uses the
sandbox's own request handler (``aurous_nb/sandbox/handler.py``), so the difference to the
sandbox is the sandbox's application work alone.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterable
from typing import Any


def app_for(bodies: dict[str, bytes]) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        path = environ["PATH_INFO"]
        body = next(b for suffix, b in bodies.items() if path.endswith(suffix))
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return [body]

    return app


def main(kind: str, bodies: dict[str, str]) -> None:
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    app = app_for({k: v.encode() for k, v in bodies.items()})
    if kind == "keep-alive":
        from aurous_nb.sandbox.handler import KeepAliveHandler

        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=KeepAliveHandler)
    else:
        server = make_server("127.0.0.1", 0, app, threaded=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]))
