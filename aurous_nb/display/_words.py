"""The words people see for states and deadlines, stated once (the widgets send them to the
browser code as a trait)."""

from __future__ import annotations

from .._text import format_duration

__all__ = [
    "EXPIRY_HELP",
    "EXPIRY_PHRASES",
    "NO_STATUS",
    "PHRASES",
    "STATE_LABELS",
    "expiry_text",
    "state_label",
    "status_word",
    "without_name",
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

EXPIRY_HELP = {
    "url": "The upload URL is the signed address the image is sent to; it works for 15 minutes "
    "after it was minted, and a new one is minted if it runs out before the upload.",
    "ticket": "An uploaded image can go into a character for 24 hours after its upload URL was "
    "minted; after that it has to be uploaded again (a re-run does that by itself).",
}
"""Per deadline: what it means, for a title (tooltip) on the countdown."""

PHRASES = {
    "rate_wait": "waiting for the rate limit ({})",
    "offline": "The kernel restarted or this notebook was reopened — run this cell again.",
    "sent": "{} sent",
    "creating": "Creating the character…",
    "created": "Created",
    "saved_result": "Saved result of {} — run the cell again for a live one.",
    "live_only": "{} (a live widget: it needs a running kernel; its results are in the next "
    "output)",
}
"""Other words the widgets show (``{}``: a duration, a size, a widget's name)."""


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


def without_name(message: str, name: str) -> str:
    """``message`` without a leading ``"name: "``, for a card that already shows the name."""
    prefix = f"{name}: "
    return message[len(prefix) :] if name and message.startswith(prefix) else message
