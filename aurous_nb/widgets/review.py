"""SynthesisReview: watch a synthesized character, look at its refs, save/redo/delete it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import ipywidgets as widgets
import traitlets

from ..display import ERROR, MUTED, at_size, badge, escape, state_color, status_word
from ..images import data_uri, thumbnail_of
from ..models import POSES, Character, Pose
from ._common import SecondClick, default_client, error_html, error_line, log, spawn
from ._record import LiveLink, Record

if TYPE_CHECKING:  # pragma: no cover
    from ..client import AurousClient

_ACTIVE = ("reviewing", "ready", "failed")
REF_PX = 160
"""Largest side in px of a ref's view in the widget (embedded at that size)."""


class _Closed(Exception):
    """The widget was closed while polling."""


class SynthesisReview(widgets.VBox):
    """Review widget for a synthesize-flow character.

    While the character is ``synthesizing`` a worker thread polls it; then the
    four refs are shown as thumbnails (fetched from ``refs[].url`` and shrunk to
    256 px) with Save, Resynthesize, Regenerate (pose picker) and Delete. Each
    button disables the actions while it runs on a worker thread, shows its
    error inline and re-enables them when it is done.

    Displayed in a notebook, it also writes a plain-HTML record below itself: the
    character as last seen, with its views. A saved notebook shows that record wherever
    it is opened; the live widget hides it, and says in one line when its kernel is gone.
    """

    character = traitlets.Instance(
        Character, allow_none=True, help="The character as last seen (None while loading)."
    )
    busy = traitlets.Unicode("", help="The action running now ('' when idle).")
    error = traitlets.Unicode("", help="The last error, one line ('' when the last action worked).")

    def __init__(
        self,
        character_or_id: Character | str,
        client: AurousClient | None = None,
        *,
        poll: float = 2.0,
        thumbnails: bool = True,
        **kwargs: Any,
    ) -> None:
        """Show a character and start polling it if it is still synthesizing.

        Args:
            character_or_id: a :class:`Character` or its id (``char_...``).
            client: the API client; default: the magics' current client, else the environment.
            poll: seconds between status polls while synthesizing.
            thumbnails: fetch each ref image to show a thumbnail (else show links).
            **kwargs: passed to ``ipywidgets.VBox``.
        """
        self._client = client if client is not None else default_client()
        self._poll = poll
        self._fetch = thumbnails
        self._thumbs: dict[str, str] = {}  # ref url -> data URI
        self._lock = threading.Lock()
        self._polling = False
        self._poll_requests = 0  # bumped by every _start_polling(), even while one runs
        self._closed = threading.Event()
        self.character_id = (
            character_or_id.id if isinstance(character_or_id, Character) else str(character_or_id)
        )
        self.record = Record(self._record)
        """The plain-HTML output that keeps the reviewed character in the saved notebook."""
        self.live = LiveLink(self.record.id)

        self.header = widgets.HTML()
        self.refs = widgets.HTML()
        # coloured with the project's own badge colours (uploader.css): ipywidgets' "success"
        # and "danger" styles put white text on colours under 4.5:1 in one theme or the other
        self.save_button = widgets.Button(description="Save", icon="save")
        self.save_button.add_class("aurous-button-ok")
        self.resynthesize_button = widgets.Button(description="Resynthesize", icon="refresh")
        self.pose_picker = widgets.Dropdown(
            options=POSES, value="front", layout=widgets.Layout(width="110px")
        )
        self.regenerate_button = widgets.Button(description="Regenerate", icon="paint-brush")
        self.delete_button = widgets.Button(description="Delete", icon="trash")
        self.delete_button.add_class("aurous-button-danger")
        self._delete_click = SecondClick(self.delete_button)
        self.message = widgets.HTML()
        self.buttons = widgets.HBox(
            [
                self.save_button,
                self.resynthesize_button,
                self.pose_picker,
                self.regenerate_button,
                self.delete_button,
            ]
        )
        super().__init__(
            children=[self.live, self.header, self.refs, self.buttons, self.message], **kwargs
        )
        self.add_class("aurous-review")
        self.add_class("aurous-live-host")

        self.save_button.on_click(lambda _b: self.save())
        self.resynthesize_button.on_click(lambda _b: self.resynthesize())
        self.regenerate_button.on_click(lambda _b: self.regenerate())
        self.delete_button.on_click(lambda _b: self.delete())

        if isinstance(character_or_id, Character):
            self._show(character_or_id)
            if not character_or_id.settled:  # synthesizing, or a status not known yet
                self._start_polling()
            elif self._fetch:
                spawn("review-thumbs", self._load_thumbs, character_or_id)
        else:
            self._render_header("loading…")
            self._sync_buttons()
            self._start_polling()

    # -- actions (each on a worker thread) ----------------------------------------------------

    def save(self) -> None:
        """Save the reviewed character (``reviewing`` -> ``ready``)."""
        self._run("save", lambda: self._client.save_character(self.character_id))

    def resynthesize(self) -> None:
        """Synthesize the refs again (then poll until done)."""
        self._run("resynthesize", lambda: self._client.resynthesize_character(self.character_id))

    def regenerate(self, pose: str | None = None) -> None:
        """Regenerate one ref (the pose picker's pose by default)."""
        chosen = cast(Pose, pose or str(self.pose_picker.value))
        self._run("regenerate", lambda: self._client.regenerate_ref(self.character_id, chosen))

    def delete(self) -> None:
        """Delete the character; the first click asks for a second one."""
        if not self._delete_click.confirmed():
            return

        def run() -> Character | None:
            self._client.delete_character(self.character_id)
            return None

        self._run("delete", run)

    def refresh(self) -> None:
        """Fetch the character again (polling until it stops synthesizing)."""
        self._start_polling()

    def close(self) -> None:
        """Stop polling and close the child widgets."""
        if not hasattr(self, "buttons"):  # __init__ failed half-way (called from __del__)
            return
        self._closed.set()
        for child in (self.live, self.header, self.refs, self.buttons, self.message):
            child.close()
        super().close()

    def __repr__(self) -> str:
        # also the text/plain a viewer without widget support shows in place of the widget
        status = self.character.status if self.character is not None else "loading"
        return f"SynthesisReview({self.character_id!r}, status={status!r})"

    def _ipython_display_(self, **kwargs: Any) -> None:
        """Show the live widget and, under it, its record (plain HTML for saved notebooks)."""
        self.record.show_under(self, **kwargs)

    # -- machinery ---------------------------------------------------------------------------

    def _run(self, name: str, call: Callable[[], Character | None]) -> None:
        with self._lock:
            if self.busy:
                return
            self.busy = name
        self.error = ""
        self._render_message()
        self._sync_buttons()
        spawn(f"review-{name}", self._worker, name, call)

    def _worker(self, name: str, call: Callable[[], Character | None]) -> None:
        try:
            character = call()
            if name == "delete" and self.character is not None:
                character = _with_status(self.character, "deleted")
            if character is not None:
                self._show(character)
                if not character.settled:
                    self._start_polling()
                elif self._fetch and character.status != "deleted":
                    self._load_thumbs(character)
        except Exception as exc:
            self.error = f"{name}: {error_line(exc)}"
        finally:
            self.busy = ""
            self._render_message()
            self._sync_buttons()

    def _start_polling(self) -> None:
        with self._lock:
            self._poll_requests += 1
            if self._polling:
                return  # the running loop sees the bump and polls once more
            self._polling = True
        spawn("review-poll", self._poll_loop)

    def _poll_loop(self) -> None:
        """Poll until the character settles; go round again if an action (e.g. Regenerate)
        asked for polling meanwhile -- while the thumbnails loaded, say -- so the last word
        is always a status read after the last action."""
        try:
            while True:
                with self._lock:
                    seen = self._poll_requests
                settled = self._poll_until_settled()
                if settled is not None and self._fetch:
                    self._load_thumbs(settled)
                with self._lock:
                    if settled is None or self._closed.is_set() or self._poll_requests == seen:
                        self._polling = False
                        return
        finally:
            with self._lock:
                self._polling = False
            self._sync_buttons()

    def _poll_until_settled(self) -> Character | None:
        """GET the character until it settles (None: closed or an error)."""
        started = time.monotonic()

        def nap(seconds: float) -> None:
            if self._closed.wait(seconds):
                raise _Closed

        if self._closed.is_set():
            return None
        try:
            return self._client.wait_for_character(
                self.character_id,
                timeout=float("inf"),
                poll=self._poll,
                max_poll=self._poll,
                sleep=nap,
                on_poll=lambda c: self._show(c, waited=time.monotonic() - started),
            )
        except _Closed:
            return None
        except Exception as exc:
            self.error = f"status: {error_line(exc)}"
            self._render_message()
            return None

    def _load_thumbs(self, character: Character) -> None:
        for ref in character.refs:
            if ref.url not in self._thumbs and not self._closed.is_set():
                uri = self._thumbnail(ref.url)
                if uri:
                    self._thumbs[ref.url] = uri
        if self.character is not None and self.character.id == character.id:
            self._render_refs(self.character)
            self.record.update()

    def _thumbnail(self, url: str) -> str | None:
        """A ref's thumbnail as a data URI, or None (the tile falls back to a link)."""
        if not url.startswith(("http://", "https://")):
            return None
        try:
            return data_uri(thumbnail_of(self._client.download_ref(url)))
        except Exception as exc:  # a missing thumbnail is never worth an error line
            log.debug("thumbnail for a ref failed: %s", exc)
            return None

    def _show(self, character: Character, waited: float | None = None) -> None:
        self.character = character
        note = ""
        if character.status == "synthesizing":
            note = "synthesizing…" + (f" {int(waited)} s" if waited else "")
        self._render_header(note)
        self._render_refs(character)
        self._sync_buttons()
        if character.status != "synthesizing":
            self.record.update()

    def _record(self, record_id: str) -> tuple[str, str]:
        from ..display import character_html, character_text, record_html

        c = self.character
        if c is None or c.status == "synthesizing":
            return record_html(record_id, "SynthesisReview", []), ""
        thumbs = {ref.url: self._thumbs[ref.url] for ref in c.refs if ref.url in self._thumbs}
        return record_html(record_id, "SynthesisReview", [character_html(c, thumbs)]), (
            character_text(c)
        )

    def _sync_buttons(self) -> None:
        status = self.character.status if self.character is not None else ""
        running = bool(self.busy)
        self.save_button.disabled = running or status != "reviewing"
        self.resynthesize_button.disabled = running or status not in _ACTIVE
        self.regenerate_button.disabled = running or status not in _ACTIVE
        self.pose_picker.disabled = running or status not in _ACTIVE
        self.delete_button.disabled = running or status in ("", "deleted")

    def _render_header(self, note: str) -> None:
        c = self.character
        status = status_word(c.status) if c is not None else "loading"
        name = escape(c.name) if c is not None else ""
        extra = f' <span style="color:{MUTED}">{escape(note)}</span>' if note else ""
        failure = ""
        if c is not None and c.error_message:
            failure = f' <span style="color:{ERROR}">{escape(c.error_message)}</span>'
        self.header.value = (
            f'<div class="aurous-review-header"><b>{name}</b> '
            f"<code>{escape(self.character_id)}</code> "
            f"{badge(status, state_color(status), cls='aurous-status')}{extra}{failure}</div>"
        )

    def _render_refs(self, character: Character) -> None:
        tiles = []
        for ref in character.refs:
            pose = escape(ref.pose)
            href = escape(ref.url if ref.url.startswith(("http://", "https://")) else "")
            uri = self._thumbs.get(ref.url)
            inner = (
                f'<img src="{escape(at_size(uri, REF_PX))}" alt="{pose}" '
                f'style="max-width:{REF_PX}px;max-height:{REF_PX}px">'
                if uri
                else "open image"
            )
            tiles.append(
                f'<figure class="aurous-ref" style="margin:0;text-align:center">'
                f'<a href="{href}" target="_blank" rel="noopener noreferrer">{inner}</a>'
                f"<figcaption>{pose}</figcaption></figure>"
            )
        self.refs.value = (
            '<div class="aurous-refs" style="display:flex;gap:10px;flex-wrap:wrap">'
            + "".join(tiles)
            + "</div>"
        )

    def _render_message(self) -> None:
        if self.error:
            self.message.value = error_html(self.error)
        elif self.busy:
            self.message.value = f'<span style="color:{MUTED}">{escape(self.busy)}…</span>'
        else:
            self.message.value = ""


def _with_status(character: Character, status: str) -> Character:
    import dataclasses

    return dataclasses.replace(character, status=status)
