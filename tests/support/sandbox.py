"""Talking to the sandbox in tests: plain ``requests`` calls (:class:`SandboxAPI`), a client
with test-sized retry delays (:func:`make_client`), and reading its request log."""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

import requests

from aurous_nb.client import AurousClient, RetryPolicy
from aurous_nb.sandbox import RecordedRequest, Sandbox

FAST = RetryPolicy(
    base_delay=0.005,
    max_delay=0.05,
    conflict_base_delay=0.05,
    conflict_max_delay=0.4,
    max_server_delay=0.05,
    jitter=0.5,
)
"""Backoff of the documented shape (doubling, capped, jittered) at a test's time scale."""


def make_client(sandbox: Sandbox, **kw: Any) -> AurousClient:
    """A client of ``sandbox`` with test-sized retry delays; ``kw`` go to AurousClient."""
    kw.setdefault("api_key", sandbox.api_key)
    kw.setdefault("base_url", sandbox.url)
    kw.setdefault("retry_policy", FAST)
    kw.setdefault("timeout", 10.0)
    return AurousClient(**kw)


def route_log(sandbox: Sandbox) -> list[str]:
    """The route (else the path) of every request the sandbox received, in order."""
    return [r.route or r.path for r in sandbox.requests]


def requests_to(sandbox: Sandbox, route: str) -> list[RecordedRequest]:
    """The requests the sandbox received on ``route`` (``"create"``, ``"upload"``, ...)."""
    return [r for r in sandbox.requests if r.route == route]


def routes(sandbox: Sandbox) -> Counter[str]:
    """Requests per route the sandbox received (API, upload host, storage)."""
    return Counter(r.route or r.path for r in sandbox.requests)


def puts_per_upload(sandbox: Sandbox, *, status: int | None = 200) -> Counter[str]:
    """``PUT /_upload/<id>`` requests per upload id (only those answered ``status``)."""
    return Counter(
        r.path.rsplit("/", 1)[-1]
        for r in sandbox.requests
        if r.route == "upload" and (status is None or r.status == status)
    )


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
