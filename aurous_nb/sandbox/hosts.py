"""The two non-API hosts: the upload host (signed ``PUT``) and ref storage (token ``GET``).

Neither needs an API key or carries ``X-RateLimit-*`` headers (§14 rows 1–7, 25).
"""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Request, Response

from . import uploads
from .clock import ulid
from .errors import SandboxError
from .render import render_ref
from .signing import signed_query
from .state import SandboxState


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON response (an empty body when ``body`` is ``None``)."""
    data = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    response = Response(data, status=status, mimetype="application/json" if data else None)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def upload(state: SandboxState, request: Request, upload_id: str) -> tuple[Response, int]:
    """``PUT /_upload/<id>``: §14 rows 1–7. Reads at most the size limit into memory."""
    size = 0
    try:
        ticket = uploads.check_put(
            state,
            upload_id,
            {k: request.args.getlist(k) for k in request.args},
            request.headers.get("Content-Type"),
            request.content_length,
        )
        limit = state.options.max_upload_bytes
        chunks: list[bytes] = []
        while True:
            chunk = request.stream.read(min(1 << 16, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise uploads.too_large(state)
        etag = uploads.store_put(state, ticket, b"".join(chunks))
        response = Response(b"", status=200)
        del response.headers["Content-Type"]
        response.headers["ETag"] = etag
    except SandboxError as err:
        response = json_response(err.status, err.body(doc_url=False), err.headers)
    return response, size


def storage(state: SandboxState, request: Request, char_id: str, filename: str) -> Response:
    """``GET /storage/<char>/<ref>.<ext>?expires=&token=``: the ref bytes."""
    ref_id = filename.rsplit(".", 1)[0]
    rid = "req_" + ulid(state.now())
    try:
        signed = signed_query({k: request.args.getlist(k) for k in request.args}, "token")
        if signed is None:
            raise SandboxError(403, "signature_invalid", "The storage URL token is invalid.")
        expires, token = signed
        if not state.signer.verify("storage", f"{char_id}/{ref_id}", expires, token):
            raise SandboxError(403, "signature_invalid", "The storage URL token is invalid.")
        if state.now() > expires:
            raise SandboxError(
                410, "output_expired", "The ref URL expired; fetch the character again."
            )
        with state.lock:
            char = state.characters.get(char_id)
            ref = None
            if char is not None and char.status != "deleted":
                ref = next((r for r in char.refs if r.id == ref_id), None)
            if char is None or ref is None:
                raise SandboxError(404, "resource_not_found", f"No such ref: {filename!r}.")
            data, name, attrs = ref.data, char.name, char.attributes
            pose, variant, content_type = ref.pose, ref.variant, ref.content_type
        if data is None:
            data = render_ref(name, attrs, pose, variant)
            with state.lock:
                if ref.id == ref_id and ref.data is None:
                    ref.data = data
        response = Response(data, status=200, mimetype=content_type)
        response.headers["Aurous-Request-Id"] = rid
        response.headers["Cache-Control"] = "private, max-age=3600"
    except SandboxError as err:
        response = json_response(err.status, err.body(rid), {"Aurous-Request-Id": rid})
    return response
