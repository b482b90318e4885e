"""The kernel end of uploader.js's transfers: begin / chunk / end messages into the spool.

A mixin of :class:`~aurous_nb.widgets.CharacterUploader`, kept apart so each module stays
small. The handlers run on the kernel thread, so they only write to disk and hand off.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from ._cards import Card, type_problem
from ._spool import SpoolError

if TYPE_CHECKING:  # pragma: no cover
    from ._common import Coalescer
    from ._dropzone import DropZone
    from ._spool import Spool

log = logging.getLogger("aurous_nb")


class BrowserTransfers:
    """The message handlers of the drop zone (see CharacterUploader for the attributes)."""

    if TYPE_CHECKING:  # provided by CharacterUploader
        dropzone: DropZone
        _lock: threading.RLock
        _cards: dict[str, Card]
        _spool: Spool
        _redraw: Coalescer

        def _accepting(self, name: str) -> bool: ...
        def _render(self) -> None: ...
        def _check_later(self, card: Card) -> None: ...
        def remove(self, card_id: str) -> None: ...
        def retry(self, card_id: str) -> None: ...

    def _on_browser_message(self, content: dict[str, Any], buffers: list[Any]) -> None:
        kind = content.get("type")
        card_id = str(content.get("id", ""))
        try:
            if kind == "begin":
                self._begin(card_id, str(content.get("name") or "image"), int(content["size"]))
            elif kind == "chunk":
                self._chunk(card_id, int(content["offset"]), buffers[0] if buffers else b"")
            elif kind == "end":
                self._end(card_id)
            elif kind == "abort":
                self._fail(card_id, str(content.get("reason") or "the transfer was aborted"))
            elif kind == "remove":
                self.remove(card_id)
            elif kind == "retry":
                self.retry(card_id)
        except (KeyError, TypeError, ValueError) as exc:
            log.debug("malformed uploader message %r: %s", kind, exc)

    def _begin(self, card_id: str, name: str, size: int) -> None:
        name = name[:255]
        with self._lock:
            accepted = self._accepting(name)
            if accepted:
                card = Card(card_id, name, size)
                try:
                    self._spool.begin(card_id, name, size)
                except SpoolError as exc:
                    card.state, card.error = "failed", str(exc)
                    self.dropzone.reply({"type": "reject", "id": card_id})
                self._cards.setdefault(card_id, card)
        if not accepted:
            self.dropzone.reply({"type": "reject", "id": card_id})
        self._render()

    def _chunk(self, card_id: str, offset: int, data: Any) -> None:
        card = self._cards.get(card_id)
        if card is None or card.state != "receiving":
            self.dropzone.reply({"type": "reject", "id": card_id})
            return
        if offset == 0:
            problem = type_problem(card.name, bytes(memoryview(data)[:512]))
            if problem:
                self._fail(card_id, problem)
                return
        try:
            transfer = self._spool.write(card_id, offset, data)
        except SpoolError as exc:
            self._fail(card_id, str(exc))
            return
        card.received = transfer.received
        self.dropzone.reply({"type": "ack", "id": card_id, "received": transfer.received})
        self._redraw.poke()

    def _end(self, card_id: str) -> None:
        card = self._cards.get(card_id)
        if card is None or card.state != "receiving":
            return
        try:
            transfer = self._spool.finish(card_id)
        except SpoolError as exc:
            self._fail(card_id, str(exc))
            return
        card.state, card.path, card.received = "queued", transfer.path, transfer.received
        self.dropzone.reply({"type": "done", "id": card_id})
        self._render()
        self._check_later(card)

    def _fail(self, card_id: str, message: str) -> None:
        card = self._cards.get(card_id)
        self._spool.discard(card_id)
        self.dropzone.reply({"type": "reject", "id": card_id})
        if card is not None:
            card.state, card.error, card.path = "failed", message, None
        self._render()
