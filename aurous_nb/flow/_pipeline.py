"""One ref's requests, init -> PUT -> classify, resumable from whatever is already done.

The flow owns one :class:`RefPipeline` and runs it for each ref on a worker thread; the
pipeline reports every step back through the callbacks it was given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import ImageCheckError, UploadInvalidError
from ..limits import MAX_FILENAME
from ._ref import RefState, RefUpload
from ._run import Run, Stop, stop_if_cancelled

if TYPE_CHECKING:  # pragma: no cover
    from ..client import AurousClient
    from ..models import UploadTicket

TICKET_MARGIN = 300.0
"""Seconds: a ticket with less time left than this is uploaded again before create."""

Notify = Callable[[RefUpload, RefState, "str | None"], None]


class RefPipeline:
    """The requests of one ref, run by the flow on worker threads.

    Args:
        client: the API client.
        notify: ``notify(ref, state, message)`` sets the ref's state and tells subscribers.
        progress: ``progress(ref)`` after bytes were sent (throttled by the ref).
    """

    def __init__(
        self, client: AurousClient, notify: Notify, progress: Callable[[RefUpload], None]
    ) -> None:
        self.client = client
        self._notify = notify
        self._progress = progress

    def needs_work(self, ref: RefUpload) -> bool:
        """Whether ``ref`` is not ready for create (or its ticket is about to expire)."""
        if ref.state == "consumed":
            return False
        ticket = ref.ticket
        return not ref.done or (ticket is not None and ticket.ticket_seconds_left() < TICKET_MARGIN)

    def work(self, run: Run, ref: RefUpload) -> None:
        """Do what ``ref`` still needs; a failure is recorded on the ref, not raised."""
        while not ref._lock.acquire(timeout=0.05):  # a cancelled run may still hold it
            if run.cancelled.is_set():
                return
        try:
            ref.error = None
            self._advance(run, ref)
        except Stop:
            self._notify(ref, ref.resting_state(), "cancelled")
        except Exception as exc:
            if isinstance(exc, ImageCheckError):
                ref.image = None  # the file changed: check it again next time
            ref.error = exc
            self._notify(ref, "failed", ref.error_message)
        finally:
            ref._lock.release()

    def _advance(self, run: Run, ref: RefUpload) -> None:
        reuploaded = False
        while True:
            ticket = ref.ticket
            if ticket is not None and ticket.ticket_seconds_left() < TICKET_MARGIN:
                ref.forget_ticket()
                ref.notice = "ticket expired; uploading again"
            if not ref.uploaded:
                self._upload(run, ref)
            if not ref._classify or ref.classification is not None:
                return
            stop_if_cancelled(run)
            assert ref.ticket is not None
            try:
                ref.classification = self.client.classify_upload(ref.ticket.upload_id)
            except UploadInvalidError:
                if reuploaded:  # a fresh upload was refused too: not an expiry, give up
                    raise
                reuploaded = True
                ref.forget_ticket()
                ref.notice = "ticket no longer valid; uploading again"
                continue
            pose = ref.classification
            self._notify(ref, "classified", f"{pose.pose} {pose.confidence:.0%}")
            return

    def _upload(self, run: Run, ref: RefUpload) -> None:
        """Mint (unless a ticket is held) and PUT; the client re-mints an expiring URL."""
        stop_if_cancelled(run)
        image = ref.image
        assert image is not None

        def minted(ticket: UploadTicket, reason: str | None) -> None:
            ref.forget_ticket()
            ref.ticket = ticket
            if reason:
                ref.notice = reason
            self._notify(ref, "minted", f"URL valid until {ticket.expires_at:%H:%M:%S} UTC")
            stop_if_cancelled(run)
            self._notify(ref, "uploading", None)

        def progress(sent: int, total: int) -> None:
            ref.bytes_sent, ref.total_bytes = sent, total or ref.total_bytes
            if ref._progress_due(sent, total):
                self._progress(ref)

        ref.bytes_sent = 0
        if ref.ticket is not None:
            self._notify(ref, "uploading", None)
        with image.open() as stream:
            ref.ticket = self.client.upload(
                stream,
                filename=api_filename(image.upload_filename),
                content_type=image.mime,
                size=image.size,
                ticket=ref.ticket,
                on_ticket=minted,
                on_progress=progress,
            )
        ref.uploaded, ref.bytes_sent = True, image.size
        self._notify(ref, "uploaded", None)


def api_filename(name: str) -> str:
    """The API takes 1–120 characters; keep the extension when shortening."""
    if len(name) <= MAX_FILENAME:
        return name
    stem, _, ext = name.rpartition(".")
    return stem[: MAX_FILENAME - 1 - len(ext)] + "." + ext
