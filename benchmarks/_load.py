"""A load generator cheap enough not to be the bottleneck: raw HTTP/1.1 over a few sockets.

Run as ``python -m benchmarks._load '<json>'`` with ``host``, ``port``, ``requests`` (raw
request texts, sent round-robin), ``seconds`` and ``connections``; prints one JSON line
``{"requests": n, "seconds": s, "errors": e}``. One thread drives every connection with
``selectors``, one request in flight per connection; a response that says
``Connection: close`` (werkzeug's own handler says so on every response) is followed by a
new connection, as any HTTP client does.
"""

from __future__ import annotations

import json
import selectors
import socket
import sys
import time
from typing import Any


def _connect(host: str, port: int) -> socket.socket:
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setblocking(False)
    return sock


def _response(buf: bytes) -> tuple[int, bool, int] | None:
    """(status, connection close, bytes used) of the first complete response in ``buf``."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buf[:end].decode("latin-1").split("\r\n")
    length, close = 0, False
    for line in head[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection":
            close = value.strip().lower() == "close"
    if len(buf) < end + 4 + length:
        return None
    return int(head[0].split(" ", 2)[1]), close, end + 4 + length


def load(host: str, port: int, requests: list[bytes], seconds: float, connections: int) -> dict:
    """Send ``requests`` round-robin for ``seconds``; count complete responses."""
    selector = selectors.DefaultSelector()
    state: dict[socket.socket, dict[str, Any]] = {}

    def start(n: int) -> None:
        sock = _connect(host, port)
        state[sock] = {"buf": b"", "n": n}
        selector.register(sock, selectors.EVENT_READ)
        sock.sendall(requests[n % len(requests)])

    for n in range(connections):
        start(n)
    done = errors = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        for key, _ in selector.select(timeout=0.5):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            mine = state[sock]
            data = sock.recv(1 << 16)
            if not data:
                raise RuntimeError("the server closed a connection without a response")
            mine["buf"] += data
            parsed = _response(mine["buf"])
            if parsed is None:
                continue
            status, close, used = parsed
            mine["buf"] = mine["buf"][used:]
            done += 1
            errors += status != 200
            mine["n"] += connections
            if close:
                selector.unregister(sock)
                sock.close()
                del state[sock]
                start(mine["n"])
            else:
                sock.sendall(requests[mine["n"] % len(requests)])
    elapsed = time.perf_counter() - started
    for sock in state:
        sock.close()
    return {"requests": done, "seconds": elapsed, "errors": errors}


if __name__ == "__main__":
    args = json.loads(sys.argv[1])
    raw = [text.encode("latin-1") for text in args["requests"]]
    print(json.dumps(load(args["host"], args["port"], raw, args["seconds"], args["connections"])))
