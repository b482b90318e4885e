"""CharacterFlow: the state machine that turns 1–6 reference images into one character.

Per ref (in parallel): local check -> init -> PUT -> classify; then one create. Resumable,
cancellable, observable through events. The flow owns its refs, a :class:`RefPipeline` for
their requests and the runs in flight; the local checks and the one-line failure summary are
functions it calls. Imports neither IPython nor ipywidgets.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import logging
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from .._text import error_line
from ..errors import FlowCancelled, FlowError, NotFoundError, UploadInvalidError
from ..images import CheckedImage, FixStyle
from ..limits import MAX_REFS
from ..validate import check_character
from ._checks import check_all, decode_all, repeats
from ._failures import raise_for
from ._journal import CreateKey, FlowJournal, Journal, ref_key
from ._pipeline import RefPipeline
from ._ref import EventKind, FlowEvent, RefState, RefUpload
from ._run import Run, block_on, wait_all

if TYPE_CHECKING:  # pragma: no cover
    from ..client import AurousClient
    from ..models import Character

__all__ = ["CharacterFlow", "FlowEvent", "FlowState", "RefState", "RefUpload"]

logger = logging.getLogger("aurous_nb.flow")

FlowState = Literal["idle", "running", "done", "failed", "cancelled"]
SIBLING_WINDOW = timedelta(minutes=10)
"""When create rejects one expired ticket, tickets minted up to this long after it go too."""
_IDS_PARAM = re.compile(r"upload_ids\[(\d+)\]")


class CharacterFlow:
    """Create one character from 1–6 reference images, in parallel, resumably.

    Args:
        client: an :class:`~aurous_nb.client.AurousClient`.
        name: the character's name.
        sources: paths, bytes, binary file objects or PIL images (checked locally here).
        classify: detect each ref's pose (otherwise refs get pose ``other``).
        attributes: optional attributes stored on the character.
        downscale: shrink oversize images instead of refusing them.
        keep_metadata: upload each photo's GPS position too (by default it is removed, in
            place, without re-encoding; the ref's notice says "location removed").
        thumbnails: make each ref's thumbnail (a reduced-scale decode of the whole file, the
            deep check of its pixels) beside its upload, and hold classify for it, so a file
            damaged inside costs an init and a PUT, never a character. The magic and the
            uploader turn it on; without it nothing is decoded locally unless the API refuses
            the bytes at classify (a local decode then says what is wrong).
        fix_style: how refusals name options: ``"python"`` (``downscale=True``) or
            ``"magic"`` (``--downscale``).
        max_workers: refs worked on at the same time.
        client_reference_id: your own id, echoed on the character.
        journal: where finished uploads and creates are kept for a later run (a new kernel,
            another notebook, a script): True for the user's journal (see
            :class:`~aurous_nb.flow.Journal`), False for none, or a ``Journal``. A re-run
            then reuses tickets still usable instead of uploading again, sends a create that
            was in flight with its journaled ``Idempotency-Key`` (the server replays it rather
            than making a second character), and returns a character already created for the
            same name, refs and attributes.
        new: make another character even if the journal holds one for the same request.

    Raises:
        FlowError: more than 6 sources.
    """

    def __init__(
        self,
        client: AurousClient,
        name: str,
        sources: Iterable[object] = (),
        *,
        classify: bool = True,
        attributes: dict[str, Any] | None = None,
        downscale: bool = False,
        keep_metadata: bool = False,
        thumbnails: bool = False,
        fix_style: FixStyle = "python",
        max_workers: int = 6,
        client_reference_id: str | None = None,
        journal: Journal | bool = True,
        new: bool = False,
    ) -> None:
        self.client = client
        self.name = name
        self.classify = classify
        self.attributes = attributes
        self.downscale = downscale
        self.keep_metadata = keep_metadata
        self.fix_style: FixStyle = fix_style
        self.max_workers = max(1, max_workers)
        self.client_reference_id = client_reference_id
        self.new = new
        """Make another character even if the journal holds one for the same request."""
        self.refs: list[RefUpload] = []
        self.character: Character | None = None
        self.state: FlowState = "idle"
        self.error: BaseException | None = None
        """Why the last run failed, or None."""
        self.idempotency_key: str | None = None
        """The create call's key, kept across re-runs while the upload ids stay the same."""
        self._key_ids: tuple[str, ...] = ()
        self._lock = threading.RLock()
        self._subscribers: list[Callable[[FlowEvent], None]] = []
        self._runs: set[Run] = set()
        self._pipeline = RefPipeline(
            client,
            notify=self._set_ref,
            progress=lambda ref: self._emit("ref", ref, "uploading"),
            touched=lambda ref: self._emit("ref", ref, ref.state),
            thumbnails=thumbnails,
        )
        if journal is True:
            journal = Journal.default()
        if isinstance(journal, Journal) and journal.path is not None and client is not None:
            self._pipeline.journal = FlowJournal(journal, client)
        self._started: cf.Future[Character] | None = None
        self._creating = False
        if isinstance(sources, (str, bytes, os.PathLike)):
            sources = [sources]
        sources = list(sources)
        if len(sources) > MAX_REFS:
            raise FlowError(_too_many(len(sources)))
        self._check_refs([self._new_ref(source) for source in sources])  # all at once

    @property
    def thumbnails(self) -> bool:
        """Whether each ref's thumbnail is decoded beside its upload (see the class docs)."""
        return self._pipeline.thumbnails

    @thumbnails.setter
    def thumbnails(self, value: bool) -> None:
        self._pipeline.thumbnails = bool(value)

    # ---- observing ---------------------------------------------------------------------------

    def subscribe(self, fn: Callable[[FlowEvent], None]) -> Callable[[], None]:
        """Call ``fn(event)`` on every state change (from worker threads); returns unsubscribe."""
        with self._lock:
            self._subscribers.append(fn)

        def unsubscribe() -> None:
            with self._lock:
                if fn in self._subscribers:
                    self._subscribers.remove(fn)

        return unsubscribe

    def _emit(
        self, kind: EventKind, ref: RefUpload | None, state: str, message: str | None = None
    ) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        event = FlowEvent(kind, self, ref, state, message)
        for fn in subscribers:
            try:
                fn(event)
            except Exception:
                logger.warning("flow subscriber %r raised; ignored", fn, exc_info=True)

    def _set_ref(self, ref: RefUpload, state: RefState, message: str | None = None) -> None:
        ref.state = state
        self._emit("ref", ref, state, message)

    def _set_flow(self, state: FlowState, message: str | None = None) -> None:
        self.state = state
        self._emit("flow", None, state, message)

    # ---- editing -----------------------------------------------------------------------------

    def add(self, source: object, *, name: str | None = None) -> RefUpload:
        """Add a reference image and check it locally (no request).

        A failed check does not raise here: the ref is ``failed`` with ``error`` set, and
        running the flow raises it. Raises FlowError for a 7th ref or after create.
        """
        ref = self._new_ref(source, name)
        self._check_refs([ref])
        return ref

    def _new_ref(self, source: object, name: str | None = None) -> RefUpload:
        """Append an unchecked ref for ``source``."""
        with self._lock:
            self._ensure_editable()
            if len(self.refs) >= MAX_REFS:
                raise FlowError(_too_many(len(self.refs) + 1))
            index = len(self.refs)
            ref = RefUpload(index, name or _default_name(source, index), source)
            ref._classify = self.classify
            self.refs.append(ref)
        return ref

    def remove(self, ref: RefUpload) -> None:
        """Remove a ref (its ticket, if any, is simply left to expire)."""
        with self._lock:
            self._ensure_editable()
            self.refs.remove(ref)
            for i, other in enumerate(self.refs):
                other.index = i
        self._emit("flow", None, self.state, f"removed {ref.name}")

    def _ensure_editable(self) -> None:
        if self.character is not None or self._creating:
            raise FlowError(
                "the character is already being created; start a new flow to change refs"
            )

    def check(self, *, deep: bool = False) -> list[RefUpload]:
        """Run the local checks of refs not checked yet (no request); return all refs.

        Args:
            deep: also decode each checked ref's pixels (making its thumbnail), in parallel;
                a ref whose pixel data does not decode fails here. The dry run uses this.
        """
        self._check_refs([ref for ref in list(self.refs) if ref.image is None])
        if deep:
            checked = [ref for ref in list(self.refs) if ref.image is not None]
            outcomes = decode_all([ref.image for ref in checked if ref.image is not None])
            for ref, error in zip(checked, outcomes, strict=True):
                if error is not None:
                    with self._lock:
                        ref.image, ref.error = None, error
                    self._set_ref(ref, "failed", ref.error_message)
        return list(self.refs)

    # ---- running -----------------------------------------------------------------------------

    def prepare(self, refs: Sequence[RefUpload] | None = None) -> cf.Future[None]:
        """In the background, mint/PUT/classify every given ref (default all) not done yet."""
        targets = list(self.refs if refs is None else refs)
        with self._lock:
            run, future = self._new_run()
        self._spawn(run, future, lambda run: self._prepare(run, targets))
        return future

    def retry(self, ref: RefUpload) -> cf.Future[None]:
        """Redo one failed ref in the background (what it already did is kept)."""
        return self.prepare([ref])

    def start(self) -> cf.Future[Character]:
        """Prepare what is missing and create the character, in the background.

        Returns the running future if a start is already in flight, or a finished one
        once the character exists. Raises FlowError when the flow has no refs, and
        ValidationError (before any request; refs keep their tickets) for a name or
        attributes the API would refuse.
        """
        with self._lock:
            if self.character is not None:
                done: cf.Future[Character] = cf.Future()
                done.set_result(self.character)
                return done
            if self._started is not None and not self._started.done():
                return self._started
            if not self.refs:
                raise FlowError(_too_many(0))
            # what create would refuse, refused before any request; uploads already done stay
            check_character(self.name, self.attributes)
            run, future = self._new_run()
            self._started = future
        self._spawn(run, future, self._prepare_and_create)
        return future

    def create(self) -> Character:
        """Blocking: prepare what is missing, then create the character (see run_sync)."""
        return self.run_sync()

    def run_sync(
        self, *, tick: Callable[[], None] | None = None, interval: float = 0.1
    ) -> Character:
        """Run to completion and return the character; blocks, stays interruptible.

        Works from plain scripts and inside a running event loop (the work runs on
        worker threads; the caller's loop is not touched). On KeyboardInterrupt the flow
        is cancelled, left resumable, and the interrupt re-raised.

        Args:
            tick: called on the waiting thread every ``interval`` seconds (the magic
                refreshes its live output from here).
            interval: seconds between ticks.
        """
        future = self.start()
        return block_on(future, self.cancel, tick=tick, interval=interval)

    async def run(self) -> Character:
        """Run to completion without blocking the event loop (``await flow.run()``).

        Cancelling the awaiting task cancels the flow (resumable).
        """
        future = self.start()
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            self.cancel()
            raise

    def cancel(self) -> None:
        """Stop promptly: no new request starts; requests in flight finish in the background.

        Everything already done is kept, so running the flow again resumes.
        """
        with self._lock:
            runs = list(self._runs)
        for run in runs:
            run.cancel()

    # ---- the coordinator -------------------------------------------------------------------------

    def _new_run(self) -> tuple[Run, cf.Future[Any]]:
        """Register a run (call with the lock held)."""
        run = Run()
        future: cf.Future[Any] = cf.Future()
        future.set_running_or_notify_cancel()  # a running future cannot be cancel()ed
        self._runs.add(run)
        self.error = None
        return run, future

    def _spawn(self, run: Run, future: cf.Future[Any], body: Callable[[Run], Any]) -> None:
        """Run ``body(run)`` on a coordinator thread and settle ``future`` with its outcome."""
        self._set_flow("running")

        def coordinate() -> None:
            try:
                result = body(run)
            except BaseException as exc:  # the future carries it to the caller
                outcome: FlowState = "cancelled" if isinstance(exc, FlowCancelled) else "failed"
                self._end_run(run, outcome, exc)
                future.set_exception(exc)
            else:
                self._end_run(run, "done" if self.character is not None else "idle", None)
                future.set_result(result)

        threading.Thread(target=coordinate, name="aurous-flow", daemon=True).start()

    def _end_run(self, run: Run, outcome: FlowState, exc: BaseException | None) -> None:
        with self._lock:
            self._runs.discard(run)
            others = bool(self._runs)
            if exc is not None:
                self.error = exc
        if self.character is not None:
            outcome = "done"
        if not others or outcome == "done":
            message = error_line(exc) if exc is not None else None
            self._set_flow(outcome, message)

    def _prepare_and_create(self, run: Run) -> Character:
        earlier = self._made_earlier()
        if earlier is not None:
            return earlier
        while True:
            self._prepare(run, list(self.refs))
            with self._lock:  # refs may have been added meanwhile; freeze them for create
                if not any(self._pipeline.needs_work(r) for r in self.refs):
                    self._creating = True
                    refs = list(self.refs)
                    break
        try:
            return self._create(run, refs)
        finally:
            with self._lock:
                self._creating = False

    def _prepare(self, run: Run, targets: list[RefUpload]) -> None:
        targets = [r for r in targets if r in self.refs]
        # every local check before any request, so a bad ref fails fast and nothing is sent
        self._check_refs([ref for ref in targets if ref.image is None])
        raise_for([r for r in targets if r.image is None], len(targets), "failed local checks")
        todo = [r for r in targets if self._pipeline.needs_work(r)]
        if not todo:
            return
        self._pipeline.look_up(todo)  # one journal query for all, not one per ref
        # not a `with` block: its exit would wait for requests a cancel abandons
        pool = cf.ThreadPoolExecutor(
            max_workers=min(self.max_workers, len(todo)), thread_name_prefix="aurous-ref"
        )
        try:
            futures = [pool.submit(self._pipeline.work, run, ref) for ref in todo]
            wait_all(run, futures)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            self._pipeline.close()
        raise_for([r for r in todo if not r.done], len(targets), "failed")

    def _check_refs(self, refs: list[RefUpload]) -> None:
        """Check ``refs`` locally (in parallel) and record each outcome on its ref; a ref
        repeating an earlier one fails."""
        if not refs:
            return
        outcomes = check_all(
            refs,
            downscale=self.downscale,
            keep_metadata=self.keep_metadata,
            fix_style=self.fix_style,
        )
        for ref, outcome in sorted(zip(refs, outcomes, strict=True), key=lambda p: p[0].index):
            with self._lock:  # compare and keep as one step: refs are added from many threads
                if isinstance(outcome, CheckedImage):
                    outcome = repeats(ref, outcome, self.refs)
                if isinstance(outcome, CheckedImage):
                    ref.image, ref.error, ref.notice = outcome, None, outcome.notice
                    ref.total_bytes = outcome.size
                else:
                    ref.image, ref.error = None, outcome
            if ref.image is not None:
                self._set_ref(ref, ref.resting_state(), ref.image.notice)
            else:
                self._set_ref(ref, "failed", ref.error_message)

    # ---- create -------------------------------------------------------------------------------

    def _create(self, run: Run, refs: list[RefUpload]) -> Character:
        journal, request = self._pipeline.journal, self._create_key(refs)
        if journal is None or request is None:
            journal = request = None
        elif self.new:
            journal.forget_create(request)  # another character on purpose
        for _attempt in range(len(refs) + 2):
            if run.cancelled.is_set():
                raise FlowCancelled("flow cancelled before create; run it again to resume")
            ids = tuple(r.ticket.upload_id for r in refs if r.ticket is not None)
            if ids != self._key_ids or self.idempotency_key is None:
                # a new body needs a new key; the same body keeps it across re-runs
                self.idempotency_key, self._key_ids = str(uuid.uuid4()), ids
            key, sent = self.idempotency_key, ids
            if journal is not None and request is not None:
                claim = journal.claim(request, key, ids)
                if claim is not None and claim.character_id is not None:
                    earlier = self._earlier(claim.character_id)
                    if earlier is not None:
                        return earlier
                    journal.forget_create(request)  # it was deleted since: make it again
                    claim = journal.claim(request, key, ids)
                if claim is not None:
                    # an earlier run's create of the same request (a kernel that died, or one
                    # racing this): the same key and body, so the server answers with the
                    # character that create made instead of making a second one
                    key, sent = claim.idempotency_key, claim.upload_ids
            self._emit("flow", None, "creating")
            try:
                return self._post_create(run, list(sent), key, request)
            except UploadInvalidError as exc:
                if journal is not None and request is not None:
                    journal.forget_create(request)  # its tickets are gone: claim anew
                    if sent != ids:  # they were an earlier run's: send our own
                        continue
                stale = _rejected(refs, exc)
                if not stale:
                    raise
                for ref in stale:
                    self._pipeline.forget(ref)
                    ref.note("ticket rejected at create; uploading again")
                    self._set_ref(ref, "checked", ref.notice)
                self._prepare(run, stale)
        raise FlowError("create kept rejecting freshly uploaded refs; giving up")

    def _made_earlier(self) -> Character | None:
        """The character an earlier run made for this very request, if the journal has one
        (asked before anything is uploaded; ``new=True`` skips it)."""
        journal = self._pipeline.journal
        if journal is None or self.new:
            return None
        refs = list(self.refs)
        self._check_refs([ref for ref in refs if ref.image is None])
        request = self._create_key(refs)
        character_id = journal.made(request) if request is not None else None
        return self._earlier(character_id) if character_id is not None else None

    def _create_key(self, refs: list[RefUpload]) -> CreateKey | None:
        if self._pipeline.journal is None or not self._pipeline.journal.enabled:
            return None
        fingerprints = [ref_key(r.image) for r in refs if r.image is not None]
        if len(fingerprints) != len(refs):
            return None  # refs reused from an earlier run's flow object carry no image
        return CreateKey.of(self.name, fingerprints, self.attributes, self.client_reference_id)

    def _earlier(self, character_id: str) -> Character | None:
        """The character an earlier run created for this request (None if it is gone)."""
        try:
            character = self.client.get_character(character_id)
        except NotFoundError:
            return None
        for ref in self.refs:
            ref.note(f"already created in an earlier run: {character.id}")
        self._finish(character)
        self._emit("flow", None, "done", f"already created in an earlier run: {character.id}")
        return character

    def _post_create(
        self, run: Run, ids: list[str], key: str, request: CreateKey | None
    ) -> Character:
        """POST create on a worker thread, so cancel() need not wait for the response."""

        def call() -> Character:
            character = self.client.create_character(
                self.name,
                upload_ids=ids,
                attributes=self.attributes,
                client_reference_id=self.client_reference_id,
                idempotency_key=key,
            )
            journal = self._pipeline.journal
            if journal is not None and request is not None:
                journal.created(request, character.id, ids)
            self._finish(character)  # even if the run was cancelled meanwhile
            return character

        pool = cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="aurous-create")
        try:
            future = pool.submit(call)
            wait_all(run, [future])
        finally:
            pool.shutdown(wait=False)
        return future.result()

    def _finish(self, character: Character) -> None:
        with self._lock:
            if self.character is not None:
                return
            self.character = character
        for ref in self.refs:
            ref.error = None
            self._set_ref(ref, "consumed")
        self._emit("character", None, character.status or "")
        with self._lock:
            abandoned = not self._runs  # the run was cancelled while create was in flight
        if abandoned:
            self._set_flow("done")

    def __repr__(self) -> str:
        return (
            f"CharacterFlow({self.name!r}, refs={len(self.refs)}, state={self.state!r}, "
            f"character={self.character.id if self.character else None!r})"
        )


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


def _too_many(n: int) -> str:
    if n == 0:
        return f"no reference images: add 1–{MAX_REFS} JPEG, PNG, WebP, HEIC or AVIF images"
    return f"{n} reference images: a character takes 1–{MAX_REFS} — remove {n - MAX_REFS}"


def _default_name(source: object, index: int) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.path.basename(os.fspath(source).rstrip(os.sep)) or os.fspath(source)
    fname = getattr(source, "name", None)
    if isinstance(fname, str) and fname and hasattr(source, "read"):
        return os.path.basename(fname)
    if hasattr(source, "save") and hasattr(source, "mode"):  # a PIL image
        return f"image{index + 1}.png"
    return f"image{index + 1}"
