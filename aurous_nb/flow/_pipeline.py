"""One ref's requests, init -> PUT -> classify, resumable from whatever is already done.

The flow owns one :class:`RefPipeline` and runs it for each ref on a worker thread; the
pipeline reports every step back through the callbacks it was given.

The pixel decode (the thumbnail, which reads the whole entropy-coded stream and so is the deep
check of the pixel data) overlaps the network: with ``thumbnails`` it starts beside the init
and the PUT, and classify waits for it, so a file damaged inside costs an init and a PUT,
never a classify or a character. A ref's work ends only once its thumbnail is made, a ref
reused from the journal's too, so a live view's last redraw has every thumbnail. Without
``thumbnails`` nothing is decoded unless the API refuses the bytes at classify: then a local
decode says, in the flow's own words, what is wrong.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, cast

from ..errors import ImageCheckError, UploadInvalidError
from ..limits import TICKET_TTL
from ..models import Classification, Pose, UploadTicket
from ._checks import check_workers
from ._journal import FlowJournal, ref_key
from ._ref import RefState, RefUpload
from ._run import Run, Stop, stop_if_cancelled

if TYPE_CHECKING:  # pragma: no cover
    from ..client import AurousClient

TICKET_MARGIN = 300.0
"""Seconds: a ticket with less time left than this is uploaded again before create."""

Notify = Callable[[RefUpload, RefState, "str | None"], None]


class RefPipeline:
    """The requests of one ref, run by the flow on worker threads.

    Args:
        client: the API client.
        notify: ``notify(ref, state, message)`` sets the ref's state and tells subscribers.
        progress: ``progress(ref)`` after bytes were sent (throttled by the ref).
        touched: ``touched(ref)`` when something shown changed without a state change (its
            thumbnail is made).
        thumbnails: decode each ref's thumbnail beside its upload (see the module docstring).
    """

    def __init__(
        self,
        client: AurousClient,
        notify: Notify,
        progress: Callable[[RefUpload], None],
        touched: Callable[[RefUpload], None] | None = None,
        *,
        thumbnails: bool = False,
    ) -> None:
        self.client = client
        self.thumbnails = thumbnails
        self._notify = notify
        self._progress = progress
        self._touched = touched or progress
        self._decoders: cf.ThreadPoolExecutor | None = None
        self.journal: FlowJournal | None = None
        """Where finished uploads are looked up and recorded (None: nowhere)."""

    def close(self) -> None:
        """Let the decoder threads go once their work is done (a new run starts new ones)."""
        decoders, self._decoders = self._decoders, None
        if decoders is not None:
            decoders.shutdown(wait=False)

    def _decode_later(self, ref: RefUpload) -> cf.Future[bytes] | None:
        """Start ``ref``'s thumbnail on a decoder thread (at most one per core)."""
        image = ref.image
        if not self.thumbnails or image is None or image.thumbnail_ready:
            return None
        if self._decoders is None:
            self._decoders = cf.ThreadPoolExecutor(
                check_workers(6), thread_name_prefix="aurous-decode"
            )
        future = self._decoders.submit(image.make_thumbnail)
        future.add_done_callback(
            lambda f: None if f.cancelled() or f.exception() else self._touched(ref)
        )
        return future

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
            self._advance(run, ref, self._decode_later(ref))
        except Stop:
            self._notify(ref, ref.resting_state(), "cancelled")
        except Exception as exc:
            if isinstance(exc, ImageCheckError):
                ref.image = None  # the file changed: check it again next time
            ref.error = exc
            self._notify(ref, "failed", ref.error_message)
        finally:
            ref._lock.release()

    def _advance(self, run: Run, ref: RefUpload, decoding: cf.Future[bytes] | None) -> None:
        reuploaded = False
        while True:
            ticket = ref.ticket
            if ticket is not None and ticket.ticket_seconds_left() < TICKET_MARGIN:
                self.forget(ref)
                ref.note("ticket expired; uploading again")
            if not ref.uploaded and ref.ticket is None and not reuploaded:
                self._reuse(ref)
            if not ref.uploaded:
                self._upload(run, ref)
            if decoding is not None:  # the deep check (a damaged file goes no further) and
                decoding.result()  # the thumbnail, which even a reused ref is done with
            if not ref._classify or ref.classification is not None:
                return
            stop_if_cancelled(run)
            assert ref.ticket is not None
            try:
                ref.classification = self.client.classify_upload(ref.ticket.upload_id)
            except UploadInvalidError:
                if ref.image is not None and decoding is None:
                    ref.image.make_thumbnail()  # the API refused the bytes: say why, locally
                if reuploaded:  # a fresh upload was refused too: not an expiry, give up
                    raise
                reuploaded = True
                earlier = ref.reused
                self.forget(ref)
                ref.note(
                    "uploaded earlier, but the server no longer has it; uploading again"
                    if earlier
                    else "ticket no longer valid; uploading again"
                )
                continue
            pose = ref.classification
            if self.journal is not None and ref.image is not None:
                self.journal.classified(
                    ref_key(ref.image), pose.upload_id, pose.pose, pose.confidence
                )
            self._notify(ref, "classified", f"{pose.pose} {pose.confidence:.0%}")
            return

    def look_up(self, refs: Sequence[RefUpload]) -> None:
        """Ask the journal once which of ``refs`` an earlier run uploaded."""
        journal = self.journal
        if journal is not None and journal.enabled:
            journal.look_up([ref_key(r.image) for r in refs if r.image is not None], TICKET_MARGIN)

    def _reuse(self, ref: RefUpload) -> None:
        """Take the ticket an earlier run (another kernel, a script) uploaded these bytes to."""
        journal, image = self.journal, ref.image
        if journal is None or not journal.enabled or image is None:
            return
        found = journal.reusable(ref_key(image), TICKET_MARGIN)
        if found is None:
            return
        deadline = datetime.fromtimestamp(found.deadline, timezone.utc)
        minted = deadline - TICKET_TTL
        # no URL: an earlier run's signed URL is never kept, and none is needed any more
        ref.ticket = UploadTicket(found.upload_id, "", {}, expires_at=minted, minted_at=minted)
        ref.uploaded, ref.reused, ref.bytes_sent = True, True, image.size
        if found.pose is not None and found.confidence is not None:
            pose = cast(Pose, found.pose)
            ref.classification = Classification(found.upload_id, pose, found.confidence)
        ref.note("uploaded earlier, reused")
        self._notify(ref, "classified" if ref.classification else "uploaded", ref.notice)

    def forget(self, ref: RefUpload) -> None:
        """Drop the ref's ticket, here and in the journal."""
        if self.journal is not None and ref.ticket is not None:
            self.journal.forget([ref.ticket.upload_id])
        ref.forget_ticket()

    def _upload(self, run: Run, ref: RefUpload) -> None:
        """Mint (unless a ticket is held) and PUT; the client re-mints an expiring URL."""
        stop_if_cancelled(run)
        image = ref.image
        assert image is not None

        def minted(ticket: UploadTicket, reason: str | None) -> None:
            ref.forget_ticket()
            ref.ticket = ticket
            if reason:
                ref.note(reason)
            self._notify(ref, "minted", f"URL valid until {ticket.expires_at:%H:%M:%S} UTC")
            stop_if_cancelled(run)
            if self.journal is not None:
                self.journal.start()  # the team id, asked for beside this ticket's PUT
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
                filename=image.upload_filename,
                content_type=image.mime,
                size=image.size,
                ticket=ref.ticket,
                on_ticket=minted,
                on_progress=progress,
            )
        ref.uploaded, ref.bytes_sent = True, image.size
        if self.journal is not None:
            ticket = ref.ticket
            self.journal.uploaded(
                ref_key(image), ticket.upload_id, ticket.ticket_deadline.timestamp()
            )
        self._notify(ref, "uploaded", None)
