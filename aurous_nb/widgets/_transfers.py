"""The kernel end of the drop zone's transfers (protocol: ``static/transfers.js``).

``begin`` announces a selection (a card per file), ``data`` carries pieces of one or more files
(one binary buffer each) and is acknowledged once, ``remove``/``retry``/``abort`` act on one
card. The handlers run on the kernel thread, so they only write to the spool and hand off: no
redraw per message (the browser shows its own progress from the acks); a file that arrived
whole goes to the uploader through ``received``.
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
    """Receives the files a drop zone sends into a :class:`Spool`.

    Args:
        cards: the uploader's cards; the receiver adds a card per file it accepts.
        spool: where the bytes go.
        reply: sends a small message (``ack``, ``reject``, ``done``) to the browser.
        accepting: whether a file of this name may be added now (says why not itself).
        received: called with a card whose file arrived whole.
        changed: called after a change worth showing; True for a full redraw now, False when
            a coalesced one will do.
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
        try:
            if kind == "begin":
                self._begin(content["files"])
            elif kind == "data":
                self._data(int(content["seq"]), content["parts"], buffers)
            elif kind == "abort":
                reason = str(content.get("reason") or "the transfer was aborted")
                self.fail(str(content["id"]), reason)
            elif isinstance(kind, str) and kind in self._commands:
                self._commands[kind](str(content["id"]))
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

    def _begin(self, files: list[dict[str, Any]]) -> None:
        for entry in files:
            card_id = str(entry["id"])
            name = str(entry.get("name") or "image")[:255]
            size = int(entry["size"])
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

    def _data(self, seq: int, parts: list[dict[str, Any]], buffers: list[Any]) -> None:
        if len(parts) != len(buffers):
            raise ValueError(f"{len(parts)} parts but {len(buffers)} buffers")
        received: dict[str, int] = {}
        complete: list[Card] = []
        for part, data in zip(parts, buffers, strict=True):
            card_id, offset = str(part["id"]), int(part["offset"])
            card = self._cards.get(card_id)
            if card is None or card.state != "receiving":
                continue  # removed or refused while its bytes were on the way
            if offset == 0:
                problem = type_problem(card.name, bytes(memoryview(data)[:512]))
                if problem:
                    self.fail(card_id, problem)
                    continue
            try:
                transfer = self._spool.write(card_id, offset, data)
            except SpoolError as exc:
                self.fail(card_id, str(exc))
                continue
            card.received = received[card_id] = transfer.received
            if transfer.received == transfer.size:
                complete.append(card)
        self._reply({"type": "ack", "seq": seq, "received": received})
        for card in complete:
            self._finish(card)

    def _finish(self, card: Card) -> None:
        try:
            transfer = self._spool.finish(card.id)
        except SpoolError as exc:
            self.fail(card.id, str(exc))
            return
        card.state, card.path, card.received = "queued", transfer.path, transfer.received
        self._reply({"type": "done", "id": card.id})
        self._changed(False)
        self._received(card)
