"""CharacterGallery: the team's characters as cards, with filters, paging and actions."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, cast

import ipywidgets as widgets
import traitlets

from ..display import (
    MUTED,
    escape,
    gallery_card_html,
    gallery_detail_html,
)
from ..models import POSES, Character, Pose
from ._catalog import STATUS_FILTERS, Catalog, Filters, Thumbnails
from ._common import Coalescer, SecondClick, default_client, error_html, error_line, log, spawn
from ._record import LiveLink, Record

if TYPE_CHECKING:  # pragma: no cover
    from ..client import AurousClient

_SYNTHESIZABLE = ("reviewing", "ready", "failed")


class CharacterGallery(widgets.VBox):
    """The team's characters, newest first, as cards; open one to act on it.

    Each card shows the first ref's thumbnail, the name, the status, the refs with their poses
    and when it was created. Filter by status and by part of the name; "Load more" follows
    the list's cursor. An open character shows every ref larger, its attributes and ids, and
    the actions its status allows: Rename, Save (``reviewing`` → ``ready``), Resynthesize,
    Regenerate one pose, Delete (a second click confirms). Every action runs on a worker
    thread, disables the actions while it runs and shows its error in one line.

    Thumbnails are fetched by the kernel once per ref for the session, in the order of the
    page, and kept small (≤ 256 px, upright); the signed ref URLs never reach the notebook.
    Characters still ``synthesizing`` are polled (the client's rate limiter sets the pace)
    until they settle.

    Displayed in a notebook, it also writes a plain-HTML record below itself: the characters
    shown, as a table (no images, so the notebook stays light). A saved notebook shows that
    record wherever the widget cannot be shown; a gallery whose kernel is gone says so in one
    line.

    Args:
        client: the API client; default: the magics' current client, else the environment.
        status: show only this status (``ready``, ``reviewing``, ``synthesizing``, ``failed``).
        page_size: cards per page.
        name: show only names containing this (any case).
        poll: seconds between polls of characters still synthesizing.
    """

    selected = traitlets.Unicode("", help="The id of the open character ('' when none).")
    busy = traitlets.Unicode("", help="What is running now ('' when idle).")
    error = traitlets.Unicode("", help="The last error, one line ('' when the last call worked).")

    def __init__(
        self,
        client: AurousClient | None = None,
        status: str | None = None,
        page_size: int = 24,
        *,
        name: str = "",
        poll: float = 2.0,
        **kwargs: Any,
    ) -> None:
        self._client = client if client is not None else default_client()
        self._catalog = Catalog(self._client, Filters(status, name), max(1, int(page_size)))
        self._lock = threading.RLock()
        self._closed = threading.Event()
        self._poll = poll
        self._poller: threading.Thread | None = None
        self._lister = ThreadPoolExecutor(1, thread_name_prefix="aurous-gallery")
        self._thumbs = Thumbnails(
            self._client, self._thumb_ready, workers=min(32, self._catalog.page_size)
        )
        self._cards: dict[str, tuple[widgets.HTML, widgets.Button, widgets.VBox]] = {}
        self._render_lock = threading.Lock()  # cards are drawn from several threads
        # thumbnails arrive in bursts: one redraw per 20 ms at most (a card waits at most that)
        self._redraw = Coalescer(self._render_cards, delay=0.02)
        self.record = Record(self._record)
        """The plain-HTML output that keeps the list in the saved notebook."""
        self.live = LiveLink(self.record.id)

        self.status_filter = widgets.Dropdown(
            options=STATUS_FILTERS,
            value=self._catalog.filters.status or "all",
            description="Status",
            layout=widgets.Layout(width="200px"),
        )
        self.name_filter = widgets.Text(
            value=name, description="Name", placeholder="part of a name", continuous_update=False
        )
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.count = widgets.HTML()
        self.grid = widgets.Box(layout=widgets.Layout(flex_flow="row wrap", grid_gap="8px"))
        self.load_more_button = widgets.Button(description="Load more", icon="angle-down")
        self.detail = widgets.HTML()
        self.rename_input = widgets.Text(
            placeholder="new name", layout=widgets.Layout(width="220px")
        )
        self.rename_button = widgets.Button(description="Rename", icon="pencil")
        # coloured with the project's own badge colours (uploader.css, loaded by LiveLink):
        # ipywidgets' "success" and "danger" styles fall under 4.5:1 in one theme or the other
        self.save_button = widgets.Button(description="Save", icon="save")
        self.save_button.add_class("aurous-button-ok")
        self.resynthesize_button = widgets.Button(description="Resynthesize", icon="refresh")
        self.pose_picker = widgets.Dropdown(options=POSES, value="front", layout={"width": "110px"})
        self.regenerate_button = widgets.Button(description="Regenerate", icon="paint-brush")
        self.delete_button = widgets.Button(description="Delete", icon="trash")
        self.delete_button.add_class("aurous-button-danger")
        self._delete_click = SecondClick(self.delete_button)
        self.close_button = widgets.Button(description="Close", icon="times")
        self.message = widgets.HTML()
        self.actions = widgets.VBox(
            [
                widgets.HBox([self.rename_input, self.rename_button]),
                widgets.HBox(
                    [
                        self.save_button,
                        self.resynthesize_button,
                        self.pose_picker,
                        self.regenerate_button,
                        self.delete_button,
                        self.close_button,
                    ]
                ),
            ]
        )
        self.panel = widgets.VBox([self.detail, self.actions])
        self.panel.layout.display = "none"
        controls = widgets.HBox([self.status_filter, self.name_filter, self.refresh_button])
        super().__init__(
            children=[
                self.live,
                controls,
                self.count,
                self.message,
                self.panel,
                self.grid,
                self.load_more_button,
            ],
            **kwargs,
        )
        self.add_class("aurous-gallery")
        self.add_class("aurous-live-host")

        self.status_filter.observe(lambda _c: self.refresh(), names="value")
        self.name_filter.observe(lambda _c: self.refresh(), names="value")
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.load_more_button.on_click(lambda _b: self.load_more())
        self.rename_button.on_click(lambda _b: self.rename(self.rename_input.value))
        self.save_button.on_click(lambda _b: self.save())
        self.resynthesize_button.on_click(lambda _b: self.resynthesize())
        self.regenerate_button.on_click(lambda _b: self.regenerate())
        self.delete_button.on_click(lambda _b: self.delete())
        self.close_button.on_click(lambda _b: self.select(""))
        self._sync()
        self.refresh()

    # -- public ------------------------------------------------------------------------------

    @property
    def client(self) -> AurousClient:
        """The API client this gallery uses."""
        return self._client

    @property
    def characters(self) -> list[Character]:
        """The characters shown, in order."""
        with self._lock:
            return list(self._catalog.items)

    @property
    def has_more(self) -> bool:
        """Whether "Load more" can show more."""
        return self._catalog.has_more

    def refresh(self) -> None:
        """Start over from the newest, with the filters as they are set now."""
        status = str(self.status_filter.value)
        try:
            filters = Filters(None if status == "all" else status, str(self.name_filter.value))
        except ValueError as exc:
            self.error = error_line(exc)
            self._sync()
            return
        self._list("refresh", lambda: self._catalog.restart(filters), replace=True)

    def load_more(self) -> None:
        """Show the next page of matching characters."""
        self._list("load more", self._catalog.load_more, replace=False)

    def select(self, character_id: str) -> None:
        """Show one character in detail ('' closes the detail)."""
        with self._lock:
            known = any(c.id == character_id for c in self._catalog.items)
        self.selected = character_id if known else ""
        self._delete_click.reset()
        opened = self._opened()
        if opened is not None:
            self.rename_input.value = opened.name
            self._thumbs.want((r.url for r in opened.refs), full=True)
        self._render_cards()
        self._sync()

    def rename(self, name: str) -> None:
        """Rename the open character."""
        new = name.strip()
        self._act("rename", lambda c: self._client.update_character(c.id, name=new))

    def save(self) -> None:
        """Save the open character (``reviewing`` → ``ready``)."""
        self._act("save", lambda c: self._client.save_character(c.id))

    def resynthesize(self) -> None:
        """Synthesize the open character's refs again (then poll until it settles)."""
        self._act("resynthesize", lambda c: self._client.resynthesize_character(c.id))

    def regenerate(self, pose: str | None = None) -> None:
        """Regenerate one pose of the open character (the pose picker's by default)."""
        chosen = cast(Pose, pose or str(self.pose_picker.value))
        self._act("regenerate", lambda c: self._client.regenerate_ref(c.id, chosen))

    def delete(self) -> None:
        """Delete the open character; the first call asks for a second one."""
        if not self._delete_click.confirmed():
            return

        def run(character: Character) -> None:
            self._client.delete_character(character.id)
            return None

        self._act("delete", run)

    def close(self) -> None:
        """Stop fetching and polling, and close the child widgets."""
        if not hasattr(self, "panel"):  # __init__ failed half-way (called from __del__)
            return
        self._closed.set()
        self._redraw.close()
        self._lister.shutdown(wait=False, cancel_futures=True)
        self._thumbs.close()
        for child in list(self.children):
            child.close()
        super().close()

    def _ipython_display_(self, **kwargs: Any) -> None:
        """Show the live widget and, under it, its record (plain HTML for saved notebooks)."""
        self.record.show_under(self, **kwargs)

    def __repr__(self) -> str:
        return (
            f"CharacterGallery(characters={len(self._catalog.items)}, "
            f"more={self._catalog.has_more}, filters={self._catalog.filters})"
        )

    # -- machinery ---------------------------------------------------------------------------

    def _opened(self) -> Character | None:
        with self._lock:
            return next((c for c in self._catalog.items if c.id == self.selected), None)

    def _list(self, what: str, call: Any, *, replace: bool) -> None:
        def run() -> None:
            try:
                with self._lock:
                    call()
                self.error = ""
            except Exception as exc:
                self.error = f"{what}: {error_line(exc)}"
            finally:
                if replace and self._opened() is None:
                    self.selected = ""
                self._render_cards()
                self.record.update()
                self.busy = ""  # last: whoever waits for idle sees the cards drawn
                self._sync()
                self._watch_unsettled()

        self.busy = what
        self._sync()
        try:
            self._lister.submit(run)
        except RuntimeError:  # closed
            pass

    def _act(self, name: str, call: Any) -> None:
        with self._lock:
            character = self._opened()
            if character is None or self.busy:
                return
            self.busy = name
        self.error = ""
        self._sync()
        spawn(f"gallery-{name}", self._action_worker, name, call, character)

    def _action_worker(self, name: str, call: Any, character: Character) -> None:
        try:
            fresh = call(character)
            with self._lock:
                if fresh is None:  # deleted (hard while reviewing, soft otherwise)
                    self._catalog.remove(character.id)
                    self.selected = ""
                else:
                    self._catalog.replace(fresh)
                    if self._opened() is None:  # it no longer matches the filters
                        self.selected = ""
        except Exception as exc:
            self.error = f"{name}: {error_line(exc)}"
        finally:
            self._render_cards()
            self.record.update()
            self.busy = ""
            self._sync()
            self._watch_unsettled()

    def _thumb_ready(self, url: str, uri: str) -> None:
        if not self._closed.is_set():
            self._redraw.poke()

    def _watch_unsettled(self) -> None:
        """Poll the characters still changing, on one thread, until they settle."""
        with self._lock:
            if self._poller is not None and self._poller.is_alive():
                return
            if not self._catalog.unsettled() or self._closed.is_set():
                return
            self._poller = threading.Thread(
                target=self._poll_loop, name="aurous-gallery-poll", daemon=True
            )
            self._poller.start()

    def _poll_loop(self) -> None:
        while not self._closed.wait(self._poll):
            with self._lock:
                waiting = self._catalog.unsettled()
            if not waiting:
                return
            for character in waiting:
                try:
                    fresh = self._client.get_character(character.id)
                except Exception as exc:  # shown once; polling goes on with the next round
                    log.debug("polling %s failed: %s", character.id, exc)
                    continue
                with self._lock:
                    self._catalog.replace(fresh)
            self._render_cards()
            self.record.update()
            self._sync()

    # -- rendering ---------------------------------------------------------------------------

    def _render_cards(self) -> None:
        with self._render_lock:
            self._draw_cards()

    def _draw_cards(self) -> None:
        if self._closed.is_set():
            return
        with self._lock:
            shown = list(self._catalog.items)
            selected = self.selected
        firsts = [c.refs[0].url for c in shown if c.refs]
        self._thumbs.want(firsts)  # in the order of the page
        children = []
        for character in shown:
            first = character.refs[0].url if character.refs else None
            thumb = self._thumbs.get(first) if first else None
            card = self._cards.get(character.id)
            if card is None:
                html = widgets.HTML()
                button = widgets.Button(
                    description="Open",
                    tooltip=f"open {character.name}",
                    layout=widgets.Layout(width="168px"),
                )
                button.on_click(lambda _b, cid=character.id: self.select(cid))
                card = (html, button, widgets.VBox([html, button]))
                self._cards[character.id] = card
            html, button, box = card
            markup = gallery_card_html(character, thumb, selected=character.id == selected)
            if html.value != markup:
                html.value = markup
            button.tooltip = f"open {character.name}"
            children.append(box)
        for gone in set(self._cards) - {c.id for c in shown}:
            self._cards.pop(gone)[2].close()
        if list(self.grid.children) != children:
            self.grid.children = children
        opened = self._opened()
        if opened is not None:
            # each ref larger once its full thumbnail is in; the card's meanwhile
            get = self._thumbs.get
            thumbs = {r.url: t for r in opened.refs if (t := get(r.url, full=True) or get(r.url))}
            self.detail.value = gallery_detail_html(opened, thumbs)

    def _record(self, record_id: str) -> tuple[str, str]:
        from ..display import characters_table, gallery_record_html, record_html

        with self._lock:
            shown = list(self._catalog.items)
            more = self._catalog.has_more
        if not shown:
            return record_html(record_id, "CharacterGallery", []), ""
        table = gallery_record_html(shown, more=more)
        return record_html(record_id, "CharacterGallery", [table]), characters_table(
            shown, more=more
        )

    def _sync(self) -> None:
        opened = self._opened()
        status = (opened.status or "") if opened is not None else ""
        running = bool(self.busy)
        self.panel.layout.display = None if opened is not None else "none"
        self.rename_button.disabled = self.rename_input.disabled = running or status == "deleted"
        self.save_button.disabled = running or status != "reviewing"
        for control in (self.resynthesize_button, self.regenerate_button, self.pose_picker):
            control.disabled = running or status not in _SYNTHESIZABLE
        self.delete_button.disabled = running or opened is None
        self.load_more_button.disabled = running or not self._catalog.has_more
        self.load_more_button.layout.display = None if self._catalog.has_more else "none"
        n = len(self._catalog.items)
        more = " (more below)" if self._catalog.has_more else ""
        note = f"{self.busy}…" if running else f"{n} character{'s' if n != 1 else ''}{more}"
        self.count.value = f'<span style="color:{MUTED}">{escape(note)}</span>'
        self.message.value = error_html(self.error) if self.error else ""
