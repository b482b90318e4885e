"""The uploader's cards: per-file bookkeeping and the metadata dicts synced to the browser."""

from __future__ import annotations

import html
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..display import STATE_LABELS, without_name

if TYPE_CHECKING:  # pragma: no cover
    from ..client import RateLimiter
    from ..flow import RefUpload

log = logging.getLogger("aurous_nb")

COVERAGE = ("portrait", "front", "side", "back")

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


class CardTable:
    """The cards of one uploader by id, in the order they were added, behind one lock.

    ``lock`` is re-entrant and also guards the uploader's own state; it is never held while
    calling into the flow or rendering.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._cards: dict[str, Card] = {}

    def add(self, card: Card) -> Card:
        """Add ``card`` unless its id is taken; return the card under that id."""
        with self.lock:
            return self._cards.setdefault(card.id, card)

    def get(self, card_id: str) -> Card | None:
        return self._cards.get(card_id)

    def pop(self, card_id: str) -> Card | None:
        with self.lock:
            return self._cards.pop(card_id, None)

    def clear(self) -> None:
        with self.lock:
            self._cards.clear()

    def values(self) -> list[Card]:
        """A snapshot of the cards, in order."""
        with self.lock:
            return list(self._cards.values())

    def of(self, ref: RefUpload) -> Card | None:
        """The card whose flow ref is ``ref``."""
        return next((c for c in self.values() if c.ref is ref), None)

    def __contains__(self, card_id: object) -> bool:
        return card_id in self._cards

    def __len__(self) -> int:
        return len(self._cards)

    def __iter__(self) -> Iterator[Card]:
        return iter(self.values())


def state_of(card: Card) -> str:
    return card.ref.state if card.ref is not None else card.state


def is_done(card: Card) -> bool:
    return card.ref is not None and bool(card.ref.done)


def readiness(cards: list[Card], status: str, name: str) -> tuple[bool, str]:
    """Whether Create may run, and the hint next to the button saying why (not)."""
    states = [state_of(c) for c in cards]
    failed = [c for c, s in zip(cards, states, strict=True) if s == "failed"]
    busy = sum(1 for c, s in zip(cards, states, strict=True) if s != "failed" and not is_done(c))
    if status == "creating":
        return False, "Creating the character…"
    if status == "created":
        return False, "Created."
    if not cards:
        return False, "Add 1–6 reference images."
    if failed:
        retryable = sum(1 for c in failed if card_state(c)["retryable"])
        what = "image" if len(failed) == 1 else "images"
        if not retryable:
            return False, f"Remove the failed {what}."
        if retryable == len(failed):
            return False, f"Retry or remove the failed {what}."
        return False, f"Remove or retry the failed {what}."
    if busy:
        return False, f"Waiting for {busy} image{'s' if busy > 1 else ''}…"
    if not name.strip():
        return False, "Enter a name."
    n = len(cards)
    return True, f"{n} reference image{'s' if n > 1 else ''} ready."


_WAITING_FOR_TOKENS = ("checked", "uploaded")  # about to call init / classify: the bucket's turn
_LIMITED_BUCKET = "characters_post"  # init, classify and the upload-flow create


def rate_waits(cards: list[Card], limiter: RateLimiter | None) -> dict[int, float]:
    """Ref index -> epoch seconds until which it waits for the rate limit, for the refs about
    to call the API while the bucket is empty (the k-th in line waits for k tokens)."""
    waiting = sorted(
        c.ref.index for c in cards if c.ref is not None and state_of(c) in _WAITING_FOR_TOKENS
    )
    if limiter is None or not waiting:
        return {}
    now = time.time()
    out = {}
    for k, index in enumerate(waiting, 1):
        seconds = limiter.seconds_until(_LIMITED_BUCKET, tokens=k)
        if seconds >= 1.0:  # a shorter wait is over before anyone reads it
            out[index] = now + seconds
    return out


def card_state(card: Card, waits: Mapping[int, float] | None = None) -> dict[str, Any]:
    """The synced dict for one card: metadata only, no image bytes.

    Args:
        card: the card.
        waits: ref index -> epoch seconds until which that ref waits for the rate limit.
    """
    state = state_of(card)
    out: dict[str, Any] = {
        "id": card.id,
        "name": card.name,
        "size": card.size,
        "state": state,
        "label": STATE_LABELS.get(state, state),
        "progress": _PROGRESS.get(state, 0.0),
        "pose": None,
        "confidence": None,
        "expires_kind": "",
        "expires_at": 0,
        "wait_until": 0,
        "notice": "",
        "pixels": "",
        "error": without_name(card.error, card.name),
        "retryable": card.retry_check,
        "removable": True,
    }
    ref = card.ref
    if ref is None:
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
        out["expires_kind"], out["expires_at"] = "url", _ms(ticket.expires_at)
    elif ticket is not None and state in ("uploaded", "classified"):
        out["expires_kind"], out["expires_at"] = "ticket", _ms(ticket.ticket_deadline)
    if waits and ref.index in waits:
        out["wait_until"] = int(waits[ref.index] * 1000)
    if ref.notice:
        out["notice"] = ref.notice
    if ref.image is not None:  # as seen: "3024×4032, stored rotated"
        out["pixels"] = ref.image.size_text
    if state == "failed":
        out["error"] = without_name(ref.error_message or "failed", card.name)
        out["retryable"] = not _is_check_error(ref.error)
        out["progress"] = 0.0
    return out


def _ms(when: Any) -> int:
    return int(when.timestamp() * 1000)


def _is_check_error(exc: BaseException | None) -> bool:
    from ..errors import ImageCheckError

    return isinstance(exc, ImageCheckError)


def type_problem(name: str, head: bytes) -> str:
    """A one-line refusal when the first bytes are not an accepted image type, else ``""``."""
    from ..images import accepted_kind, kind_problem, sniff

    kind = sniff(head)
    if accepted_kind(kind):  # HEIC and AVIF are converted once received
        return ""
    problem, fix = kind_problem(kind, head)
    return f"{name}: {problem} — {fix}"


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
            from ..display import coverage_hints

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
