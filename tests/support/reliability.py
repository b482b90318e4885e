"""Helpers shared by the reliability and security tests (imported, not collected).

Small reference images, a client with short retry delays, request-log counting, one-line
error checks, a throwaway HTTP server for URL refs, and a real kernel driven over its
channels (what a notebook frontend does).
"""

from __future__ import annotations

import io
import json
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.support.environ import child_env
from tests.support.sandbox import FAST, make_client, routes  # noqa: F401  (re-exported)

KEY_RE = re.compile(r"al_live_[0-9a-fA-F]{64}")
"""Any full live key; a masked key (14 characters and an ellipsis) never matches."""

#: filename word -> the pose the sandbox classifies it as (sandbox/classify.py)
POSE_WORDS = {
    "front": "front",
    "side": "side",
    "back": "back",
    "portrait": "portrait",
    "closeup": "portrait",
    "profile": "side",
}


def jpeg_bytes(
    width: int = 48, height: int = 64, color: tuple[int, int, int] = (90, 40, 160)
) -> bytes:
    """A small real JPEG."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "JPEG", quality=70)
    return out.getvalue()


def png_bytes(
    width: int = 48, height: int = 64, color: tuple[int, int, int] = (40, 160, 90)
) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def write_refs(directory: Path, words: list[str], *, prefix: str = "ref") -> list[Path]:
    """One small JPEG per pose word (``<prefix>_<i>_<word>.jpg``), each with its own pixels."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, word in enumerate(words):
        path = directory / f"{prefix}_{i}_{word}.jpg"
        path.write_bytes(jpeg_bytes(40 + i, 56, (20 * i % 255, 80, (7 * len(prefix)) % 255)))
        paths.append(path)
    return paths


def one_line(text: str) -> str:
    """``text`` itself, after checking it is a single non-empty line."""
    assert text and text.strip(), "empty error text"
    assert "\n" not in text and "\r" not in text, f"error is not one line: {text!r}"
    return text


def aurous_threads() -> list[str]:
    """Names of the live threads aurous_nb started for a flow (workers and coordinators)."""
    return [
        t.name
        for t in threading.enumerate()
        if t.name.startswith(("aurous-ref", "aurous-create", "aurous-flow"))
    ]


# ---- a throwaway HTTP server for URL refs ---------------------------------------------------

Reply = tuple[int, bytes, Mapping[str, str]]


@contextmanager
def http_files(replies: Mapping[str, Reply | Callable[[], Reply]]) -> Iterator[str]:
    """Serve ``{path: (status, body, headers)}`` on 127.0.0.1; yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            found = replies.get(self.path.split("?", 1)[0])
            if found is None:
                found = (404, b"not found", {"Content-Type": "text/plain"})
            status, body, headers = found() if callable(found) else found
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if not any(k.lower() == "content-length" for k in headers):
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading at its size limit

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# ---- a real kernel ----------------------------------------------------------------------------


def kernel_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The test's environment without Aurous settings, with a private IPYTHONDIR."""
    env = child_env()
    env["IPYTHONDIR"] = str(tmp_path / "ipython")
    env.update(extra)
    return env


class Kernel:
    """An ipykernel started with jupyter_client and driven over its channels."""

    def __init__(self, tmp_path: Path, **env: str) -> None:
        from jupyter_client.manager import start_new_kernel

        self.tmp_path = tmp_path
        self.km, self.kc = start_new_kernel(kernel_name="python3", env=kernel_env(tmp_path, **env))

    def send(self, code: str) -> str:
        return self.kc.execute(code, allow_stdin=False)

    def reply(self, msg_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """The execute reply of ``msg_id`` (waits on the shell channel only)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no execute reply within {timeout:g} s")
            try:
                msg = self.kc.get_shell_msg(timeout=left)
            except queue.Empty:
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg["content"]

    def output(self, msg_id: str, timeout: float = 10.0) -> str:
        """Everything the cell showed on iopub, as JSON text (until the kernel goes idle)."""
        shown = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = self.kc.get_iopub_msg(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
            shown.append(msg["content"])
        return json.dumps(shown, ensure_ascii=False)

    def run(self, code: str, timeout: float = 30.0) -> tuple[dict[str, Any], str]:
        msg_id = self.send(code)
        reply = self.reply(msg_id, timeout)
        return reply, self.output(msg_id)

    def value(self, expr: str, timeout: float = 30.0) -> Any:
        """``expr`` evaluated in the kernel and sent back as JSON."""
        reply, shown = self.run(f"import json as _j; print(_j.dumps({expr}))", timeout)
        assert reply["status"] == "ok", reply
        texts = [m["text"] for m in json.loads(shown) if m.get("name") == "stdout"]
        return json.loads("".join(texts))

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)
