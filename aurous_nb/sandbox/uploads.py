"""Upload tickets: ``uploads/init``, the signed ``PUT`` on the upload host, ``uploads/classify``.

API.md §9.1–9.3 and §14 rows 1–10. The PUT side never looks at API keys and never
inspects the bytes; classify and create do (see ``classify.py``).
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

from .classify import check_image, classify, image_facts
from .clock import iso, ulid
from .errors import SandboxError, bad
from .signing import signed_query
from .state import SandboxState, Ticket
from .validate import json_object, string

EXTENSIONS = {"jpeg": "image/jpeg", "jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
CONTENT_TYPES = ("image/jpeg", "image/png", "image/webp")


def init_upload(state: SandboxState, team_id: str, raw: bytes, base_url: str) -> dict[str, Any]:
    """``POST /v1/characters/uploads/init``: mint a ticket and its signed PUT URL."""
    body = json_object(raw)
    for name in ("filename", "extension", "content_type"):
        if body.get(name) is None:
            raise bad("missing_field", f"Missing required field {name!r}.", name)
    filename = string(body, "filename", lo=1, hi=120)
    extension, content_type = body["extension"], body["content_type"]
    if extension not in EXTENSIONS:
        raise bad(
            "invalid_format",
            f"extension {extension!r} is not one of {', '.join(EXTENSIONS)}.",
            "extension",
        )
    if content_type not in CONTENT_TYPES:
        raise bad(
            "invalid_format",
            f"content_type {content_type!r} is not one of {', '.join(CONTENT_TYPES)}.",
            "content_type",
        )
    if EXTENSIONS[extension] != content_type:
        raise bad(
            "parameter_invalid_combination",
            f"extension {extension!r} does not match content_type {content_type!r} "
            f"(expected {EXTENSIONS[extension]}).",
            "content_type",
        )
    assert filename is not None
    with state.lock:
        now = state.now()
        ticket = Ticket(
            id="upl_" + ulid(now),
            team_id=team_id,
            filename=filename,
            extension=extension,
            content_type=content_type,
            minted_at=now,
            # Rounded up: the URL lives at least the documented TTL, never a second less.
            url_expires=math.ceil(now + state.options.url_ttl),
            ticket_expires=now + state.options.ticket_ttl,
        )
        state.tickets[ticket.id] = ticket
        signature = state.signer.sign("upload", ticket.id, ticket.url_expires)
    return {
        "upload_id": ticket.id,
        "upload_url": (
            f"{base_url}/_upload/{ticket.id}?expires={ticket.url_expires}&signature={signature}"
        ),
        "upload_headers": {"Content-Type": content_type},
        "expires_at": iso(ticket.url_expires),
    }


def check_put(
    state: SandboxState,
    upload_id: str,
    query: dict[str, list[str]],
    content_type: str | None,
    content_length: int | None,
) -> Ticket:
    """Every PUT check that needs no body (§14 rows 2–7). Returns the ticket."""
    signed = signed_query(query, "signature")
    if signed is None:
        raise SandboxError(
            403, "signature_invalid", "The upload URL signature is missing or invalid."
        )
    expires, signature = signed
    if not state.signer.verify("upload", upload_id, expires, signature):
        raise SandboxError(403, "signature_invalid", "The upload URL signature is invalid.")
    with state.lock:
        if state.now() > expires:
            raise SandboxError(
                403,
                "upload_url_expired",
                f"The upload URL expired at {iso(expires)}; mint a new one with uploads/init.",
            )
        ticket = state.tickets.get(upload_id)
        if ticket is None:
            raise SandboxError(404, "resource_not_found", f"No such upload: {upload_id!r}.")
        if ticket.consumed:
            raise SandboxError(
                409, "upload_consumed", f"Upload {upload_id} was already used by a character."
            )
    if content_type is not None:
        sent = content_type.split(";")[0].strip().lower()
        if sent != ticket.content_type:
            raise SandboxError(
                400,
                "content_type_mismatch",
                f"Content-Type {sent!r} does not match the ticket's {ticket.content_type!r}.",
                "Content-Type",
            )
    if content_length is not None and content_length > state.options.max_upload_bytes:
        raise too_large(state)
    if content_length == 0:
        raise empty_body()
    return ticket


def too_large(state: SandboxState) -> SandboxError:
    limit = state.options.max_upload_bytes
    return SandboxError(413, "payload_too_large", f"The image is larger than {limit} bytes.")


def empty_body() -> SandboxError:
    return SandboxError(400, "empty_body", "The PUT body is empty; send the image bytes.")


def store_put(state: SandboxState, ticket: Ticket, data: bytes) -> str:
    """Keep the bytes (overwriting an earlier PUT) and return the ETag value (quoted md5)."""
    if not data:
        raise empty_body()
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    digest = hashlib.sha256(data).hexdigest()
    with state.lock:
        if ticket.consumed:
            raise SandboxError(
                409, "upload_consumed", f"Upload {ticket.id} was already used by a character."
            )
        ticket.data, ticket.digest, ticket.classification = data, digest, None
    return f'"{md5}"'


def usable_ticket(state: SandboxState, team_id: str, upload_id: str, param: str) -> Ticket:
    """A ticket that classify/create may read, else the §14 error (call under the lock)."""
    ticket = state.tickets.get(upload_id)
    if ticket is None:
        raise bad("upload_invalid", f"Unknown upload_id {upload_id!r}.", param)
    if ticket.team_id != team_id:
        raise SandboxError(404, "resource_not_found", f"No such upload: {upload_id!r}.")
    if state.now() > ticket.ticket_expires:
        raise bad(
            "upload_invalid",
            f"Upload {upload_id} expired at {iso(ticket.ticket_expires)} (tickets live 24 h); "
            "upload the image again.",
            param,
        )
    if ticket.consumed:
        raise bad("upload_invalid", f"Upload {upload_id} was already used by a character.", param)
    if ticket.data is None:
        raise bad(
            "upload_invalid",
            f"No bytes have been uploaded for {upload_id} yet; PUT the image to its upload_url.",
            param,
        )
    return ticket


def check_ticket_image(state: SandboxState, ticket: Ticket, param: str) -> tuple[str, float]:
    """Decode-check the ticket's bytes; returns the pose classification (§14 row 9)."""
    assert ticket.data is not None and ticket.digest is not None
    facts = image_facts(ticket.data, ticket.digest)
    problem = check_image(facts, ticket.content_type, state.options.max_side)
    if problem is not None:
        raise bad("upload_invalid", f"Upload {ticket.id} is not usable: {problem}.", param)
    return classify(ticket.filename, facts)


def classify_upload(state: SandboxState, team_id: str, raw: bytes) -> dict[str, Any]:
    """``POST /v1/characters/uploads/classify``: detect and remember the pose."""
    body = json_object(raw)
    upload_id = string(body, "upload_id", lo=1, hi=200)
    assert upload_id is not None
    with state.lock:
        ticket = usable_ticket(state, team_id, upload_id, "upload_id")
        data, digest = ticket.data, ticket.digest
    assert data is not None and digest is not None
    image_facts(data, digest)  # warm the cache outside the lock (decoding is the slow part)
    with state.lock:
        ticket = usable_ticket(state, team_id, upload_id, "upload_id")
        pose, confidence = check_ticket_image(state, ticket, "upload_id")
        ticket.classification = (pose, confidence)
    return {"upload_id": upload_id, "pose": pose, "confidence": confidence}
