"""CharacterUploader: drop 1-6 images, watch each upload and get classified, press Create."""

from __future__ import annotations

import itertools
import logging
import threading
import weakref
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import traitlets

from ..images import data_uri
from ..limits import MAX_REFS
from ..models import Character
from ._cards import (
    Card,
    CardTable,
    card_state,
    coverage_html,
    format_attributes,
    hint_html,
    parse_attributes,
    rate_waits,
    readiness,
)
from ._common import Coalescer, default_client, error_html, error_line, spawn
from ._dropzone import WINDOW, DropZone, browser_config
from ._record import Record
from ._spool import Spool
from ._transfers import BrowserReceiver

if TYPE_CHECKING:  # pragma: no cover
    from ..client import AurousClient
    from ..flow import CharacterFlow, FlowEvent

log = logging.getLogger("aurous_nb")

MAX_TRANSFER_BYTES = 64 * 1024 * 1024
"""Largest file the browser may send; files over the API's 10 MiB are downscaled."""
FALLBACK_HTML = (
    '<div style="padding:6px 10px;border-left:3px solid #9a6700;'
    'color:var(--jp-ui-font-color1, #1f2328);background:var(--jp-layout-color1, #ffffff)">'
    "The drop zone of this uploader needs custom-widget JavaScript (anywidget), which is not "
    'running in this front end. Use the cell magic instead: <code>%%aurous_character "Name"'
    "</code> with one image path per line.</div>"
)


class CharacterUploader(widgets.VBox):
    """Upload widget: drop or pick 1-6 images, then create a character from them.

    Files chosen in the browser are packed into messages of up to 4 MiB, spooled to
    temporary files, then checked, uploaded and classified on worker threads by a
    :class:`~aurous_nb.flow.CharacterFlow`; the kernel stays free. Cards show a thumbnail,
    progress, the detected pose and expiry countdowns that tick in the browser. After
    Create the cards stay, marked as in the character, next to the character's card, and
    **New character** starts the next one; every created character is in
    :attr:`characters`.

    Displayed in a notebook, the uploader also writes a plain-HTML *record* below itself:
    the created characters with their cards. A saved notebook shows it wherever it is opened
    (without a kernel, on nbviewer or GitHub, converted to HTML); the live uploader hides it.

    Example:
        >>> uploader = CharacterUploader(name="Mira")   # doctest: +SKIP
        >>> uploader                                      # doctest: +SKIP
        >>> uploader.character                            # after Create  # doctest: +SKIP
    """

    character = traitlets.Instance(
        Character,
        allow_none=True,
        help="The character created from the current cards (None until Create succeeds, and "
        "again after New character).",
    )
    characters = traitlets.Tuple(
        help="Every character this uploader created, oldest first (New character keeps them)."
    )
    name = traitlets.Unicode("", help="Name of the character to create (1-100 characters).")
    status = traitlets.Enum(
        ("idle", "creating", "created"), "idle", help="Where the uploader stands."
    )
    error = traitlets.Unicode("", help="The last error of the Create action, one line.")
    keep_metadata = traitlets.Bool(
        False,
        help="Upload each photo's GPS position too (by default it is removed, pixels untouched). "
        "Applies to the files added after it changes. Synced, so a checkbox in the browser can "
        "set it.",
    ).tag(sync=True)

    def __init__(
        self,
        client: AurousClient | None = None,
        name: str = "",
        attributes: Mapping[str, Any] | None = None,
        *,
        keep_metadata: bool = False,
        max_transfer_bytes: int = MAX_TRANSFER_BYTES,
        **kwargs: Any,
    ) -> None:
        """Build the uploader; nothing is sent until files are chosen.

        Args:
            client: the API client; default: the magics' current client, else
                ``AurousClient()`` from ``AUROUS_API_KEY``.
            name: initial character name.
            attributes: optional attributes stored with the character.
            keep_metadata: upload each photo's GPS position too (see the trait).
            max_transfer_bytes: largest file accepted from the browser (default 64 MiB);
                files over the API's 10 MiB are downscaled, with a notice on the card.
            **kwargs: passed to ``ipywidgets.VBox``.
        """
        self._client = client if client is not None else default_client()
        self._flow: CharacterFlow = self._new_flow(name, attributes)
        self._made: list[CharacterFlow] = []  # flows that created a character, for the record
        self._cards = CardTable()
        self._lock = self._cards.lock  # never held while calling _render or into the flow
        self._render_lock = threading.Lock()
        self._closed = False
        self._notice_full = False  # the notice says the uploader is full (cleared when not)
        self._local_ids = itertools.count(1)  # ids of cards added from code, not a browser
        self._spool = Spool(max_transfer_bytes)
        self._finalizer = weakref.finalize(self, self._spool.close)
        # one worker: files are checked in the order they arrive, so refs keep that order
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aurous-uploader")
        self._redraw = Coalescer(self._render)
        self.record = Record(self._record)
        """The plain-HTML output that keeps the created characters in the saved notebook."""

        self.fallback = widgets.HTML(FALLBACK_HTML)
        self.fallback.add_class("aurous-nojs")
        self.dropzone = DropZone(
            config=browser_config(max_transfer_bytes), record_id=self.record.id
        )
        self._receiver = BrowserReceiver(
            self._cards,
            self._spool,
            self.dropzone.reply,
            accepting=self._accepting,
            received=self._check_later,
            changed=lambda full: self._render() if full else self._redraw.poke(),
            commands={"remove": self.remove, "retry": self.retry},
            window=WINDOW,
        )
        self.dropzone.on_message(self._receiver.handle)
        self.coverage = widgets.HTML()
        self.name_input = widgets.Text(
            value=name, description="Name", placeholder="Character name (required)"
        )
        self.attributes_input = widgets.Textarea(
            value=format_attributes(attributes),
            description="Attributes",
            placeholder="optional, one per line, e.g.  hair_color: auburn",
            rows=2,
        )
        self.keep_metadata_input = widgets.Checkbox(
            value=False,
            description="Keep each photo's location (GPS) in the upload",
            indent=False,
            tooltip="By default the location a phone writes into a photo is removed before it "
            "is uploaded; the pixels are not touched.",
        )
        self.create_button = widgets.Button(
            description="Create character", disabled=True, icon="check"
        )
        self.create_button.add_class("aurous-button-primary")  # colours: uploader.css
        self.new_button = widgets.Button(
            description="New character",
            icon="plus",
            tooltip="Keep this character and start the next one",
            layout=widgets.Layout(display="none"),
        )
        self.hint = widgets.HTML()
        self.result = widgets.HTML(layout=widgets.Layout(display="none"))
        self.form = widgets.VBox(
            [
                self.dropzone,
                self.coverage,
                self.result,
                self.name_input,
                self.attributes_input,
                self.keep_metadata_input,
                widgets.HBox([self.create_button, self.new_button, self.hint]),
            ]
        )
        super().__init__(children=[self.fallback, self.form], **kwargs)
        self.keep_metadata = keep_metadata
        self.add_class("aurous-uploader")
        self.name = name
        traitlets.link((self, "name"), (self.name_input, "value"))
        traitlets.link((self, "keep_metadata"), (self.keep_metadata_input, "value"))
        self.observe(lambda _change: self._render(), names=["name"])
        self.dropzone.observe(self._on_js_ready, names=["js_ready"])
        self.create_button.on_click(lambda _b: self.create())
        self.new_button.on_click(lambda _b: self.new_character())
        self._unsubscribe = self._flow.subscribe(self._on_flow_event)
        self._render()

    # -- public ------------------------------------------------------------------------------

    @property
    def flow(self) -> CharacterFlow:
        """The :class:`~aurous_nb.flow.CharacterFlow` behind the current cards."""
        return self._flow

    @property
    def client(self) -> AurousClient:
        """The API client this uploader uses."""
        return self._client

    @property
    def cards(self) -> list[dict[str, Any]]:
        """The cards as synced to the browser (metadata only)."""
        return list(self.dropzone.cards)

    def add(self, *paths: str | Path) -> None:
        """Add local image files as if they had been dropped (useful in demos and scripts)."""
        for path in paths:
            p = Path(path)
            card_id = f"local{next(self._local_ids)}"
            with self._lock:
                if not self._accepting(p.name):
                    continue
                card = Card(card_id, p.name, p.stat().st_size if p.exists() else 0)
                card.state, card.path = "queued", p
                self._cards.add(card)
            self._check_later(card)
        self._render()

    def remove(self, card_id: str) -> None:
        """Remove one card (the × button): stops its transfer, drops its ref from the flow."""
        with self._lock:
            if self.status != "idle":  # the refs are frozen once Create runs
                return
            card = self._cards.pop(card_id)
        self._spool.discard(card_id)
        self.dropzone.reply({"type": "reject", "id": card_id})
        self._receiver.release(force=False)  # files held for this one need not wait
        if card is not None and card.ref is not None:
            try:
                self._flow.remove(card.ref)
            except Exception as exc:  # the card is gone either way
                log.debug("removing %s from the flow failed: %s", card.name, exc)
        self._render()

    def retry(self, card_id: str) -> None:
        """Retry one failed card (the Retry button), on a worker thread."""
        with self._lock:
            card = self._cards.get(card_id)
            if card is None or self.status != "idle" or self._closed:
                return
            ref = card.ref if card.ref is not None and card.ref.state == "failed" else None
            recheck = card.ref is None and card.retry_check and card.path is not None
            if recheck:
                card.state, card.error, card.retry_check = "queued", "", False
        if ref is not None:
            self._watch(self._flow.retry(ref))
        elif recheck:
            self._check_later(card)
        self._render()

    def create(self) -> None:
        """Start creating the character (the Create button); returns at once.

        The work runs on a worker thread; watch :attr:`status`, :attr:`error`
        and :attr:`character`.
        """
        ok, why = self._readiness()
        if not ok:
            self.error = why
            self._render()
            return
        try:
            attributes = parse_attributes(self.attributes_input.value)
        except ValueError as exc:
            self.error = str(exc)
            self._render()
            return
        self.error = ""
        self.status = "creating"
        self.dropzone.disabled = True
        self._render()
        spawn("uploader-create", self._create_worker, self.name.strip(), attributes)

    def new_character(self) -> None:
        """Start the next character (the New character button): empty cards, name, attributes.

        The created characters stay in :attr:`characters` and in the record. Only once the
        current character is created; before that, remove the cards instead.
        """
        with self._lock:
            if self.status != "created" or self._closed:
                return
            self._cards.clear()
            self._notice_full = False
        self._receiver.close()
        self._unsubscribe()
        self._flow = self._new_flow("", None)
        self._unsubscribe = self._flow.subscribe(self._on_flow_event)
        self._spool.close()  # the last character's files (it closes itself again on GC)
        self.character = None
        self.error = ""
        self.attributes_input.value = ""
        self.name = ""
        self.status = "idle"
        self.dropzone.notice = ""
        self.dropzone.disabled = False
        self._render()

    def close(self) -> None:
        """Close the widgets, stop the uploads and delete the temporary files.

        Files not checked yet are dropped and the flow is cancelled: no new request
        starts (one already in flight finishes in the background). :attr:`flow`
        keeps what was done.
        """
        if not hasattr(self, "_unsubscribe"):  # __init__ failed half-way (from __del__)
            return  # nothing started yet; the spool's finalizer deletes its file
        with self._lock:
            self._closed = True
        self._redraw.close()
        self._receiver.close()
        self._unsubscribe()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._flow.cancel()  # a run started after this line cancels itself (see _watch)
        self._finalizer()
        for child in (self.fallback, self.dropzone, self.form):
            child.close()
        super().close()

    def __repr__(self) -> str:
        # also the text/plain a viewer without widget support shows in place of the widget
        made = f", character={self.character.id!r}" if self.character is not None else ""
        return (
            f"CharacterUploader(name={self.name!r}, files={len(self._cards)}, "
            f"status={self.status!r}{made})"
        )

    def _ipython_display_(self, **kwargs: Any) -> None:
        """Show the live widget and, under it, its record (plain HTML for saved notebooks)."""
        self.record.show_under(self, **kwargs)

    # -- browser messages: see _transfers.py ----------------------------------------------

    def _accepting(self, name: str) -> bool:
        if self.status != "idle":
            return False
        if len(self._cards) >= MAX_REFS:
            self._notice_full = True
            self.dropzone.notice = (
                f"At most {MAX_REFS} reference images per character — {name} was not added."
            )
            return False
        self._notice_full = False
        self.dropzone.notice = ""
        return True

    # -- worker threads ----------------------------------------------------------------------

    def _new_flow(self, name: str, attributes: Mapping[str, Any] | None) -> CharacterFlow:
        from ..flow import CharacterFlow

        # thumbnails: each card's is decoded beside its upload, and classify waits for it
        return CharacterFlow(
            self._client,
            name,
            classify=True,
            attributes=dict(attributes or {}),
            downscale=True,
            keep_metadata=self.keep_metadata,
            thumbnails=True,
        )

    def _check_later(self, card: Card) -> None:
        """Hand ``card`` to the checking worker (files are checked in arrival order)."""
        try:
            self._pool.submit(self._add_to_flow, card)
        except RuntimeError:  # the pool is shut down: close() ran meanwhile
            log.debug("uploader closed; %s not checked", card.name)

    def _watch(self, future: Future[Any]) -> None:
        """Redraw when a flow run just started ends; cancel it if close() came first.

        close() sets ``_closed``, then cancels the runs it sees. The run behind
        ``future`` exists before ``_closed`` is read here, so either close() sees
        it or this sees ``_closed``: every run is cancelled once the uploader closes.
        """
        with self._lock:
            closed = self._closed
        if closed:
            self._flow.cancel()
        future.add_done_callback(lambda _f: self._render())

    def _add_to_flow(self, card: Card) -> None:
        """Check the spooled file, add it to the flow and start its upload + classify."""
        from ..errors import FlowError, ImageCheckError

        if self._closed:  # queued before close(): its spooled file is gone
            return
        flow = self._flow
        try:
            ref = flow.add(str(card.path), name=card.name)
        except Exception as exc:  # FlowError (a 7th ref, or after create) or a bug
            card.state, card.error = "failed", error_line(exc)
            card.retry_check = not isinstance(exc, (ImageCheckError, FlowError))
            self._render()
            return
        with self._lock:
            removed = card.id not in self._cards
            if not removed:
                card.ref = ref
                self._take_thumb(card)
        if removed:
            flow.remove(ref)
            return
        self._render()
        if ref.state != "failed":
            self._watch(flow.prepare([ref]))

    def _create_worker(self, name: str, attributes: dict[str, Any] | None) -> None:
        try:
            self._flow.name = name
            self._flow.attributes = attributes
            future: Future[Character] = self._flow.start()
            self._watch(future)
            character = future.result()
        except Exception as exc:
            self.error = error_line(exc)
            self.status = "idle"
        else:
            from ..display import character_html

            self._made.append(self._flow)
            self.character = character
            self.characters = (*self.characters, character)
            self.result.value = f'<div class="aurous-result">{character_html(character)}</div>'
            self.dropzone.result = character.name
            self.status = "created"
            self._spool.close()  # the tickets are consumed: the temporary files can go
            self.record.update()
        finally:
            self.dropzone.disabled = self.status != "idle"
            self._render()

    def _on_flow_event(self, event: FlowEvent) -> None:
        if event.ref is not None:
            card = self._cards.of(event.ref)
            if card is not None and not card.thumb:
                self._take_thumb(card)
        self._redraw.poke()

    def _on_js_ready(self, change: dict[str, Any]) -> None:
        self.fallback.layout.display = "none" if change["new"] else None

    # -- rendering ---------------------------------------------------------------------------

    def _take_thumb(self, card: Card) -> None:
        image = card.ref.image if card.ref is not None else None
        made = image.thumbnail_if_ready() if image is not None else None  # never decodes here
        if made is not None:
            card.thumb = data_uri(made)

    @traitlets.observe("keep_metadata")
    def _on_keep_metadata(self, change: dict[str, Any]) -> None:
        self._flow.keep_metadata = bool(change["new"])

    def _readiness(self) -> tuple[bool, str]:
        return readiness(self._cards.values(), self.status, self.name)

    def _record(self, record_id: str) -> tuple[str, str]:
        from ..display import flow_html, flow_text, record_html

        flows = list(self._made)
        html = record_html(record_id, "CharacterUploader", [flow_html(f) for f in flows])
        text = "\n\n".join(flow_text(f) for f in flows)
        return html, text

    def _render(self) -> None:
        """Push cards, thumbnails, coverage and the Create state to the widgets.

        Call it without holding ``_lock`` (it takes ``_render_lock``, then ``_lock``).
        """
        if self._closed:
            return
        with self._render_lock:
            with self._lock:
                cards = self._cards.values()
                waits = (
                    rate_waits(cards, self._client.rate_limiter) if self.status == "idle" else {}
                )
                payload = [card_state(c, waits) for c in cards]
                if self.status != "idle":
                    for c in payload:
                        c["removable"] = c["retryable"] = False
                thumbs = {c.id: c.thumb for c in cards if c.thumb}
                ok, why = self._readiness()
                if self._notice_full and len(cards) < MAX_REFS:
                    self._notice_full = False  # the cause is gone: a card was removed
                    self.dropzone.notice = ""
            if self.dropzone.thumbs != thumbs:
                self.dropzone.thumbs = thumbs
            if self.dropzone.cards != payload:
                self.dropzone.cards = payload
            if self.dropzone.status != self.status:
                self.dropzone.status = self.status
            created = self.status == "created"
            for widget in (
                self.name_input,
                self.attributes_input,
                self.keep_metadata_input,
                self.create_button,
            ):
                widget.layout.display = "none" if created else None
            self.result.layout.display = None if created else "none"
            self.new_button.layout.display = None if created else "none"
            self.coverage.value = coverage_html(cards)
            self.create_button.disabled = not ok
            hint = error_html(self.error) if self.error else hint_html(why)
            if self.hint.value != hint:
                self.hint.value = hint
