"""The words people see for states and deadlines, stated once (the widgets send them to the
browser code as a trait)."""

from __future__ import annotations

from .._text import format_duration

__all__ = [
    "EXPIRY_PHRASES",
    "NO_STATUS",
    "STATE_LABELS",
    "expiry_text",
    "state_label",
    "status_word",
]

STATE_LABELS = {
    "waiting": "waiting for the kernel",
    "receiving": "sending to the kernel",
    "queued": "checking",
    "checked": "checked",
    "minted": "upload URL minted",
    "uploading": "uploading",
    "uploaded": "classifying",
    "classified": "classified",
    "consumed": "in the character",
    "failed": "failed",
}
"""What a ref's state reads as on a card (``waiting`` and ``receiving`` are the browser's)."""

EXPIRY_PHRASES = {
    "url": ("upload URL expires in {}", "upload URL expired"),
    "ticket": ("upload usable for {}", "upload expired"),
}
"""Per deadline: (phrase while time is left, with ``{}`` for the duration; phrase after)."""


NO_STATUS = "no status"
"""What a character whose response carried no status shows (it is never shown as ready)."""


def status_word(status: str | None) -> str:
    """A character's status as shown: as the server sent it, or :data:`NO_STATUS`."""
    return status or NO_STATUS


def state_label(state: str, *, classify: bool = True) -> str:
    """The words for a ref's state (an uploaded ref is "classifying" only if it will be)."""
    if state == "uploaded" and not classify:
        return "uploaded"
    return STATE_LABELS.get(state, state)


def expiry_text(kind: str, seconds_left: float) -> str:
    """``"upload URL expires in 14 min 32 s"``, ``"upload usable for 23 h 0 min"``, ..."""
    left, over = EXPIRY_PHRASES[kind]
    return left.format(format_duration(seconds_left)) if seconds_left > 0 else over
