"""The kernel end of the drop zone's transfers: begin / chunk / end messages into the spool.

The handlers run on the kernel thread, so they only write to disk and hand off; a file that
arrived whole goes to the uploader through ``received``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from ._cards import Card, CardTable, type_problem
from ._spool import Spool, SpoolError

log = logging.getLogger("aurous_nb")

Reply = Callable[[dict[str, Any]], None]


class BrowserReceiver:
    """Receives the files a drop zone sends, chunk by chunk, into a :class:`Spool`.

    Args:
        cards: the uploader's cards; the receiver adds a card per file it accepts.
        spool: where the bytes go.
        reply: sends a small message (``ack``, ``reject``, ``done``) to the browser.
        accepting: whether a file of this name may be added now (says why not itself).
        received: called with a card whose file arrived whole.
        changed: called after a change worth showing; True for a full redraw, False when a
            coalesced one will do (progress).
        commands: handlers of the other messages by type (``remove``, ``retry``), given the
            card id.
    """

    def __init__(
        self,
        cards: CardTable,
        spool: Spool,
        reply: Reply,
        *,
        accepting: Callable[[str], bool],
        received: Callable[[Card], None],
        changed: Callable[[bool], None],
        commands: Mapping[str, Callable[[str], None]],
    ) -> None:
        self._cards = cards
        self._spool = spool
        self._reply = reply
        self._accepting = accepting
        self._received = received
        self._changed = changed
        self._commands = dict(commands)

    def handle(self, content: dict[str, Any], buffers: list[Any]) -> None:
        """One custom message from the browser (malformed ones are logged and dropped)."""
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
                self.fail(card_id, str(content.get("reason") or "the transfer was aborted"))
            elif isinstance(kind, str) and kind in self._commands:
                self._commands[kind](card_id)
        except (KeyError, TypeError, ValueError) as exc:
            log.debug("malformed uploader message %r: %s", kind, exc)

    def fail(self, card_id: str, message: str) -> None:
        """Stop receiving ``card_id``: its bytes are dropped, its card shows ``message``."""
        card = self._cards.get(card_id)
        self._spool.discard(card_id)
        self._reply({"type": "reject", "id": card_id})
        if card is not None:
            card.state, card.error, card.path = "failed", message, None
        self._changed(True)

    def _begin(self, card_id: str, name: str, size: int) -> None:
        name = name[:255]
        with self._cards.lock:
            accepted = self._accepting(name)
            if accepted:
                card = Card(card_id, name, size)
                try:
                    self._spool.begin(card_id, name, size)
                except SpoolError as exc:
                    card.state, card.error = "failed", str(exc)
                    self._reply({"type": "reject", "id": card_id})
                self._cards.add(card)
        if not accepted:
            self._reply({"type": "reject", "id": card_id})
        self._changed(True)

    def _chunk(self, card_id: str, offset: int, data: Any) -> None:
        card = self._cards.get(card_id)
        if card is None or card.state != "receiving":
            self._reply({"type": "reject", "id": card_id})
            return
        if offset == 0:
            problem = type_problem(card.name, bytes(memoryview(data)[:512]))
            if problem:
                self.fail(card_id, problem)
                return
        try:
            transfer = self._spool.write(card_id, offset, data)
        except SpoolError as exc:
            self.fail(card_id, str(exc))
            return
        card.received = transfer.received
        self._reply({"type": "ack", "id": card_id, "received": transfer.received})
        self._changed(False)

    def _end(self, card_id: str) -> None:
        card = self._cards.get(card_id)
        if card is None or card.state != "receiving":
            return
        try:
            transfer = self._spool.finish(card_id)
        except SpoolError as exc:
            self.fail(card_id, str(exc))
            return
        card.state, card.path, card.received = "queued", transfer.path, transfer.received
        self._reply({"type": "done", "id": card_id})
        self._changed(True)
        self._received(card)
