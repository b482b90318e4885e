"""Shared test helpers. The ``aurous_sandbox`` fixture itself comes from the package's
pytest plugin (entry point ``pytest11``); these fixtures only make sandbox calls short."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
import requests

from aurous_nb.sandbox import Sandbox

_DEFAULT: Any = object()


def image_bytes(
    width: int = 24, height: int = 32, fmt: str = "PNG", color: tuple[int, int, int] = (200, 40, 40)
) -> bytes:
    """A tiny real image made with Pillow."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format=fmt)
    return out.getvalue()


class SandboxAPI:
    """Plain ``requests`` calls against a running sandbox (a new connection per call)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def call(
        self,
        method: str,
        path: str,
        *,
        key: str | None = _DEFAULT,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        sent: dict[str, str] = {}
        key = self.sandbox.api_key if key is _DEFAULT else key
        if key is not None:
            sent["X-Api-Key"] = key
        sent.update(headers or {})
        url = path if path.startswith("http") else self.sandbox.url + path
        return requests.request(method, url, headers=sent, timeout=10, **kwargs)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.call("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.call("POST", path, **kw)

    def patch(self, path: str, **kw: Any) -> requests.Response:
        return self.call("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.call("DELETE", path, **kw)

    def init(
        self, filename: str = "front.png", content_type: str = "image/png", **kw: Any
    ) -> dict[str, Any]:
        ext = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}[content_type]
        body = {"filename": filename, "extension": ext, "content_type": content_type}
        r = self.post("/v1/characters/uploads/init", json=body, **kw)
        assert r.status_code == 200, r.text
        return r.json()

    def put(self, ticket: dict[str, Any], data: bytes, **kw: Any) -> requests.Response:
        headers = kw.pop("headers", ticket["upload_headers"])
        return requests.put(ticket["upload_url"], data=data, headers=headers, timeout=10, **kw)

    def upload(
        self,
        data: bytes | None = None,
        filename: str = "front.png",
        content_type: str = "image/png",
        *,
        classify: bool = False,
        key: str | None = _DEFAULT,
    ) -> str:
        """init + PUT (+ classify); returns the upload id."""
        ticket = self.init(filename, content_type, key=key)
        fmt = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}[content_type]
        r = self.put(ticket, image_bytes(fmt=fmt) if data is None else data)
        assert r.status_code == 200, r.text
        if classify:
            r = self.post(
                "/v1/characters/uploads/classify", json={"upload_id": ticket["upload_id"]}, key=key
            )
            assert r.status_code == 200, r.text
        return ticket["upload_id"]

    def create(self, name: str = "Ada", n: int = 1, **kw: Any) -> dict[str, Any]:
        """An upload-flow character with ``n`` refs."""
        ids = [self.upload(filename=f"ref{i}.png", key=kw.get("key", _DEFAULT)) for i in range(n)]
        r = self.post("/v1/characters", json={"name": name, "upload_ids": ids}, **kw)
        assert r.status_code == 201, r.text
        return r.json()

    def synthesize(self, name: str = "Bea", attributes: dict | None = None, **kw: Any) -> dict:
        """A synthesize-flow character (status ``synthesizing``)."""
        body = {"name": name, "generate": True, "attributes": attributes or {"hair_color": "red"}}
        r = self.post("/v1/characters", json=body, **kw)
        assert r.status_code == 201, r.text
        return r.json()


@pytest.fixture
def sandbox_api(aurous_sandbox: Sandbox) -> SandboxAPI:
    """A :class:`SandboxAPI` bound to the (reset) session sandbox."""
    return SandboxAPI(aurous_sandbox)


@pytest.fixture
def make_image() -> Callable[..., bytes]:
    """``make_image(width=24, height=32, fmt="PNG")`` -> bytes of a tiny real image."""
    return image_bytes


@pytest.fixture(autouse=True, scope="session")
def _ctrl_c_reaches_python() -> None:
    """A shell that starts pytest as a background job (``cmd &``) ignores SIGINT in it, so
    ``_thread.interrupt_main()`` and real Ctrl-C would do nothing; the interrupt tests need
    Python's default handler."""
    import signal
    import threading

    if (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    ):
        signal.signal(signal.SIGINT, signal.default_int_handler)
