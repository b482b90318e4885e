"""The requests of a flow: one ref's init -> PUT -> classify, and the final create.

A mixin of :class:`aurous_nb.flow.CharacterFlow`, kept apart so each module stays small.
"""

from __future__ import annotations

import concurrent.futures as cf
import re
import threading
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ..errors import (
    FlowCancelled,
    FlowError,
    ImageCheckError,
    UploadInvalidError,
    UploadURLExpiredError,
)
from ._ref import EventKind, RefState, RefUpload

if TYPE_CHECKING:  # pragma: no cover
    from ..client._client import AurousClient
    from ..models import Character

URL_MARGIN = 30.0
"""Seconds: a URL with less time left than this is re-minted before the PUT."""
TICKET_MARGIN = 300.0
"""Seconds: a ticket with less time left than this is uploaded again before create."""
SIBLING_WINDOW = timedelta(minutes=10)
"""When create rejects one expired ticket, tickets minted up to this long after it go too."""

_IDS_PARAM = re.compile(r"upload_ids\[(\d+)\]")


class _Stop(Exception):
    """Internal: the run was cancelled; stop before the next request."""


class _Run:
    """One background run (prepare or start); cancel() sets ``cancelled`` and wakes it."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()
        self.wake = threading.Event()


class FlowSteps:
    """The request-making half of CharacterFlow (see there for the attributes)."""

    client: AurousClient
    name: str
    classify: bool
    attributes: dict[str, Any] | None
    client_reference_id: str | None
    idempotency_key: str | None
    _key_ids: tuple[str, ...]

    # provided by CharacterFlow
    def _emit(
        self, kind: EventKind, ref: RefUpload | None, state: str, message: str | None = None
    ) -> None:
        raise NotImplementedError  # pragma: no cover

    def _set_ref(self, ref: RefUpload, state: RefState, message: str | None = None) -> None:
        raise NotImplementedError  # pragma: no cover

    def _prepare(self, run: _Run, targets: list[RefUpload]) -> None:
        raise NotImplementedError  # pragma: no cover

    def _wait(self, run: _Run, futures: list[cf.Future[Any]]) -> None:
        raise NotImplementedError  # pragma: no cover

    def _finish(self, character: Character) -> None:
        raise NotImplementedError  # pragma: no cover

    # ---- one ref: init -> PUT -> classify --------------------------------------------------------

    def _work(self, run: _Run, ref: RefUpload) -> None:
        while not ref._lock.acquire(timeout=0.05):  # a cancelled run may still hold it
            if run.cancelled.is_set():
                return
        try:
            ref.error = None
            self._advance(run, ref)
        except _Stop:
            self._set_ref(ref, ref.resting_state(), "cancelled")
        except Exception as exc:
            if isinstance(exc, ImageCheckError):
                ref.image = None  # the file changed: check it again next time
            ref.error = exc
            self._set_ref(ref, "failed", ref.error_message)
        finally:
            ref._lock.release()

    def _advance(self, run: _Run, ref: RefUpload) -> None:
        reuploaded = False
        while True:
            ticket = ref.ticket
            if ticket is not None and ticket.ticket_seconds_left() < TICKET_MARGIN:
                ref.forget_ticket()
                ref.notice = "ticket expired; uploading again"
            if ref.ticket is None:
                self._mint(run, ref)
            if not ref.uploaded:
                self._put(run, ref)
            if not self.classify or ref.classification is not None:
                return
            self._stop_if_cancelled(run)
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
            self._set_ref(ref, "classified", f"{pose.pose} {pose.confidence:.0%}")
            return

    def _mint(self, run: _Run, ref: RefUpload) -> None:
        self._stop_if_cancelled(run)
        image = ref.image
        assert image is not None
        ticket = self.client.init_upload(
            _api_filename(image.upload_filename), image.extension, image.mime
        )
        ref.forget_ticket()
        ref.ticket = ticket
        self._set_ref(ref, "minted", f"URL valid until {ticket.expires_at:%H:%M:%S} UTC")

    def _put(self, run: _Run, ref: RefUpload) -> None:
        assert ref.ticket is not None and ref.image is not None
        if ref.ticket.url_seconds_left() < URL_MARGIN:
            self._mint(run, ref)
        for attempt in (1, 2):
            self._stop_if_cancelled(run)
            ticket, image = ref.ticket, ref.image
            assert ticket is not None

            def progress(sent: int, total: int) -> None:
                ref.bytes_sent, ref.total_bytes = sent, total or ref.total_bytes
                if ref._progress_due(sent, total):
                    self._emit("ref", ref, "uploading")

            ref.bytes_sent = 0
            self._set_ref(ref, "uploading")
            try:
                with image.open() as stream:
                    self.client.put_upload(ticket, stream, size=image.size, on_progress=progress)
            except UploadURLExpiredError:
                if attempt == 2:
                    raise
                ref.notice = "upload URL expired; minted a new one"
                self._mint(run, ref)
                continue
            ref.uploaded, ref.bytes_sent = True, image.size
            self._set_ref(ref, "uploaded")
            return

    @staticmethod
    def _stop_if_cancelled(run: _Run) -> None:
        if run.cancelled.is_set():
            raise _Stop

    # ---- create -------------------------------------------------------------------------------

    def _create(self, run: _Run, refs: list[RefUpload]) -> Character:
        for _attempt in range(len(refs) + 2):
            if run.cancelled.is_set():
                raise FlowCancelled("flow cancelled before create; run it again to resume")
            ids = tuple(r.ticket.upload_id for r in refs if r.ticket is not None)
            if ids != self._key_ids or self.idempotency_key is None:
                # a new body needs a new key; the same body keeps it across re-runs
                self.idempotency_key, self._key_ids = str(uuid.uuid4()), ids
            self._emit("flow", None, "creating")
            try:
                return self._post_create(run, list(ids), self.idempotency_key)
            except UploadInvalidError as exc:
                stale = _rejected(refs, exc)
                if not stale:
                    raise
                for ref in stale:
                    ref.forget_ticket()
                    ref.notice = "ticket rejected at create; uploading again"
                    self._set_ref(ref, "checked", ref.notice)
                self._prepare(run, stale)
        raise FlowError("create kept rejecting freshly uploaded refs; giving up")

    def _post_create(self, run: _Run, ids: list[str], key: str) -> Character:
        """POST create on a worker thread, so cancel() need not wait for the response."""

        def call() -> Character:
            character = self.client.create_character(
                self.name,
                upload_ids=ids,
                attributes=self.attributes,
                client_reference_id=self.client_reference_id,
                idempotency_key=key,
            )
            self._finish(character)  # even if the run was cancelled meanwhile
            return character

        pool = cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="aurous-create")
        try:
            future = pool.submit(call)
            self._wait(run, [future])
        finally:
            pool.shutdown(wait=False)
        return future.result()


def _api_filename(name: str) -> str:
    """The API takes 1–120 characters; keep the extension when shortening."""
    if len(name) <= 120:
        return name
    stem, _, ext = name.rpartition(".")
    return stem[: 119 - len(ext)] + "." + ext


def _rejected(refs: list[RefUpload], exc: UploadInvalidError) -> list[RefUpload]:
    """Refs to upload again after create rejected ``upload_ids[i]``.

    Tickets expire in mint order, so the ones minted shortly after it go too.
    """
    m = _IDS_PARAM.fullmatch(exc.param or "")
    if m is None or int(m.group(1)) >= len(refs):
        return []
    bad = refs[int(m.group(1))]
    if bad.ticket is None:
        return [bad]
    cutoff = bad.ticket.minted_at + SIBLING_WINDOW
    return [r for r in refs if r is bad or (r.ticket and r.ticket.minted_at <= cutoff)]
