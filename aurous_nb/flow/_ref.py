"""The pieces of a flow that subscribers see: one reference image (RefUpload) and an event.

Exported by :mod:`aurous_nb.flow`; import them from there.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .._text import error_line

if TYPE_CHECKING:  # pragma: no cover
    from ..images import CheckedImage
    from ..models import Classification, UploadTicket
    from ._flow import CharacterFlow

RefState = Literal[
    "queued", "checked", "minted", "uploading", "uploaded", "classified", "consumed", "failed"
]
EventKind = Literal["ref", "flow", "character"]

# Progress events are throttled: at most one per 64 KiB sent and per 50 ms (plus the last).
PROGRESS_BYTES = 64 * 1024
PROGRESS_SECONDS = 0.05


class RefUpload:
    """One reference image of a flow and how far it got.

    The flow owns and mutates it (from worker threads); read it, don't write it.
    What is done is kept in ``ticket`` / ``uploaded`` / ``classification``, so a re-run
    picks up from there; ``state`` is the latest step, ``"failed"`` with ``error`` set
    when the last attempt failed.
    """

    def __init__(self, index: int, name: str, source: object, *, classify: bool = True) -> None:
        self.index = index
        """Position of the ref; the character's refs keep this order."""
        self.name = name
        """Display filename."""
        self.source = source
        """What the user passed (a path, bytes, a file object or a PIL image)."""
        self.image: CheckedImage | None = None
        """The local check's result, or None before the check or after it failed."""
        self.where: str | None = None
        """The file a path source names, symlinks resolved (found by its check), else None."""
        self.state: RefState = "queued"
        self.ticket: UploadTicket | None = None
        """The current upload ticket (URL 15 min, ticket 24 h), or None."""
        self.uploaded = False
        """Whether the bytes reached the current ticket's URL."""
        self.reused = False
        """Whether the ticket is one an earlier run uploaded these bytes to (the journal's)."""
        self.bytes_sent = 0
        self.total_bytes = 0
        self.classification: Classification | None = None
        self.error: Exception | None = None
        """Why the last attempt failed, or None."""
        self.notice: str | None = None
        """Something worth showing that is not an error (a re-mint, a re-upload, a downscale)."""
        self._classify = classify
        self._lock = threading.Lock()  # one worker at a time per ref, across runs
        self._progress_at = (0.0, 0)  # (monotonic time, bytes) of the last progress event

    @property
    def pose(self) -> str | None:
        """Detected pose, or None before classification."""
        return self.classification.pose if self.classification else None

    @property
    def confidence(self) -> float | None:
        """Classifier confidence (0–1), or None before classification."""
        return self.classification.confidence if self.classification else None

    @property
    def error_message(self) -> str | None:
        """The error as one line, or None."""
        return None if self.error is None else error_line(self.error)

    @property
    def done(self) -> bool:
        """Ready for create: classified (or uploaded, when the flow does not classify)."""
        if self.state == "consumed":
            return True
        if self.ticket is None or not self.uploaded:
            return False
        return self.classification is not None or not self._classify

    def resting_state(self) -> RefState:
        """The state that describes what is done, ignoring a failure or work in flight."""
        if self.state == "consumed":
            return "consumed"
        if self.classification is not None:
            return "classified"
        if self.uploaded:
            return "uploaded"
        if self.ticket is not None:
            return "minted"
        return "checked" if self.image is not None else "queued"

    def note(self, what: str) -> None:
        """Show ``what`` (a re-mint, a re-upload) after what the local check said about the image
        ("location removed", "converted from HEIC"), which stays true."""
        base = self.image.notice if self.image is not None else None
        self.notice = "; ".join(filter(None, [base, what]))

    def forget_ticket(self) -> None:
        """Drop the ticket and everything tied to it (after expiry or rejection)."""
        self.ticket = None
        self.uploaded = False
        self.reused = False
        self.classification = None
        self.bytes_sent = 0

    def _progress_due(self, sent: int, total: int) -> bool:
        now = time.monotonic()
        last_t, last_b = self._progress_at
        if sent < total and (now - last_t < PROGRESS_SECONDS or sent - last_b < PROGRESS_BYTES):
            return False
        self._progress_at = (now, sent)
        return True

    def __repr__(self) -> str:
        extra = f", pose={self.pose!r}, confidence={self.confidence:.2f}" if self.pose else ""
        err = f", error={self.error_message!r}" if self.error else ""
        return f"RefUpload({self.index}, {self.name!r}, state={self.state!r}{extra}{err})"


@dataclass(frozen=True)
class FlowEvent:
    """A state change, delivered to subscribers from a worker thread.

    ``kind`` is ``"ref"`` (``ref`` set; ``state`` is the ref's state, repeated as
    ``"uploading"`` for progress), ``"flow"`` (``state`` is the flow's state, or
    ``"creating"``) or ``"character"`` (``flow.character`` is set; ``state`` is its status).
    """

    kind: EventKind
    flow: CharacterFlow
    ref: RefUpload | None
    state: str
    message: str | None = None
