"""The uploader's cards: per-file bookkeeping and the metadata dicts synced to the browser."""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ..flow._flow import RefUpload

log = logging.getLogger("aurous_nb")

COVERAGE = ("portrait", "front", "side", "back")

_LABELS = {
    "receiving": "sending to the kernel",
    "queued": "checking",
    "checked": "checked",
    "minted": "upload URL minted",
    "uploading": "uploading",
    "uploaded": "classifying",
    "classified": "classified",
    "consumed": "used by the character",
    "failed": "failed",
}
# where the progress bar stands at each state (receiving and uploading fill in between)
_PROGRESS = {
    "queued": 0.25,
    "checked": 0.3,
    "minted": 0.35,
    "uploading": 0.35,
    "uploaded": 0.9,
    "classified": 1.0,
    "consumed": 1.0,
}


@dataclass
class Card:
    """One chosen file, from its first chunk to its classified ref."""

    id: str
    name: str
    size: int
    state: str = "receiving"  # before a RefUpload exists: receiving | queued | failed
    received: int = 0
    path: Path | None = None
    ref: RefUpload | None = None
    error: str = ""
    retry_check: bool = False  # failed before the flow took it, worth another try
    thumb: str = ""


def state_of(card: Card) -> str:
    return card.ref.state if card.ref is not None else card.state


def is_done(card: Card) -> bool:
    return card.ref is not None and bool(card.ref.done)


def readiness(cards: list[Card], status: str, name: str) -> tuple[bool, str]:
    """Whether Create may run, and the hint next to the button saying why (not)."""
    states = [state_of(c) for c in cards]
    failed = states.count("failed")
    busy = sum(1 for c, s in zip(cards, states, strict=True) if s != "failed" and not is_done(c))
    if status == "creating":
        return False, "Creating the character…"
    if status == "created":
        return False, "Created."
    if not cards:
        return False, "Add 1–6 reference images."
    if failed:
        return False, f"Remove or retry the failed image{'s' if failed > 1 else ''}."
    if busy:
        return False, f"Waiting for {busy} image{'s' if busy > 1 else ''}…"
    if not name.strip():
        return False, "Enter a name."
    n = len(cards)
    return True, f"{n} reference image{'s' if n > 1 else ''} ready."


def card_state(card: Card) -> dict[str, Any]:
    """The synced dict for one card: metadata only, no image bytes."""
    state = state_of(card)
    out: dict[str, Any] = {
        "id": card.id,
        "name": card.name,
        "size": card.size,
        "state": state,
        "label": _LABELS.get(state, state),
        "progress": _PROGRESS.get(state, 0.0),
        "pose": None,
        "confidence": None,
        "expires_label": "",
        "expires_at": 0,
        "notice": "",
        "error": card.error,
        "retryable": card.retry_check,
        "removable": True,
    }
    ref = card.ref
    if ref is None:
        if state == "receiving" and card.size:
            out["progress"] = 0.25 * card.received / card.size
            out["label"] = f"sending to the kernel {100 * card.received // card.size}%"
        return out
    if state == "uploading" and ref.total_bytes:
        part = ref.bytes_sent / ref.total_bytes
        out["progress"] = 0.35 + 0.55 * part
        out["label"] = f"uploading {int(100 * part)}%"
    if ref.classification is not None:
        out["pose"] = ref.classification.pose
        out["confidence"] = round(float(ref.classification.confidence), 3)
    ticket = ref.ticket
    if ticket is not None and state in ("minted", "uploading"):
        out["expires_label"], out["expires_at"] = "upload URL", _ms(ticket.expires_at)
    elif ticket is not None and state in ("uploaded", "classified"):
        out["expires_label"], out["expires_at"] = "ticket", _ms(ticket.ticket_deadline)
    if ref.notice:
        out["notice"] = ref.notice
    if state == "failed":
        out["error"] = ref.error_message or "failed"
        out["retryable"] = not _is_check_error(ref.error)
        out["progress"] = 0.0
    return out


def _ms(when: Any) -> int:
    return int(when.timestamp() * 1000)


def _is_check_error(exc: BaseException | None) -> bool:
    from ..errors import ImageCheckError

    return isinstance(exc, ImageCheckError)


def type_problem(name: str, head: bytes) -> str:
    """A one-line refusal when the first bytes are not JPEG/PNG/WebP, else ``""``."""
    from ..images._check import ACCEPTED, sniff

    kind = sniff(head)
    if kind in ("jpeg", "png", "webp"):
        return ""
    if kind == "text":
        what = "a text file, not an image"
    elif kind is None:
        what = "not a recognised image type"
    else:
        what = f"{kind.upper()} is not accepted"
    return f"{name}: {what} — {ACCEPTED}"


def coverage_html(cards: list[Card]) -> str:
    refs = [c.ref for c in cards if c.ref is not None]
    poses = {r.classification.pose for r in refs if r.classification is not None}
    chips = "".join(
        f'<span class="aurous-chip{" aurous-have" if p in poses else ""}">{p}</span>'
        for p in COVERAGE
    )
    hints: list[str] = []
    if refs:
        try:
            from ..display._render import coverage_hints

            hints = list(coverage_hints(refs))
        except Exception as exc:  # a hint is never worth breaking the widget
            log.debug("coverage hints failed: %s", exc)
    hint = f'<span class="aurous-hint">{html.escape("; ".join(hints))}</span>' if hints else ""
    return (
        f'<div class="aurous-coverage"><span class="aurous-hint">coverage</span>{chips}{hint}</div>'
    )


def hint_html(text: str) -> str:
    return f'<span class="aurous-hint">{html.escape(text)}</span>'


def format_attributes(attributes: Mapping[str, Any] | None) -> str:
    return "\n".join(f"{k}: {v}" for k, v in (attributes or {}).items())


def parse_attributes(text: str) -> dict[str, Any] | None:
    """``key: value`` lines -> dict (integers become ints); ``None`` when empty.

    Raises:
        ValueError: a line without a colon, one line naming it.
    """
    out: dict[str, Any] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep or not key.strip():
            raise ValueError(
                f"attributes line {lineno}: {line[:60]!r} is not 'key: value' — fix or delete it"
            )
        value = value.strip()
        out[key.strip()] = int(value) if value.isdigit() else value
    return out or None
