"""The kernel end of the drop zone's transfers (protocol: ``static/transfers.js``).

``data`` carries pieces of one or more files (one binary buffer each) and is acknowledged
once; the first one after a choice also announces the chosen files (a card each).
``remove``/``retry``/``abort`` act on one card. The handlers only write to the spool: no redraw
while bytes arrive (the browser shows its own progress from the acks), and a file that arrived
whole is handed to the uploader (``received``: its check, upload and classify) once the rest of
its selection is in too, or after :data:`HOLD_SECONDS` if that takes longer (a slow link).
Checking a photo while the next ones arrive made six 8 MB photos arrive at 30 MB/s instead of
37 (JupyterLab, median of 3).

The handlers may run on more than one thread, and a later message may be handed over before
an earlier one: JupyterLab 4.6 sends comm messages to a kernel subshell by default, and
ipykernel 7 hands a comm's messages to the thread it last replied from, which can change
between two messages. So one message is handled at a time, and each view's data messages
(``sender``, ``seq`` from 1) in the order it sent them: one that comes early waits for those
before it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from ._cards import Card, CardTable, type_problem
from ._spool import Spool, SpoolError

log = logging.getLogger("aurous_nb")

Reply = Callable[[dict[str, Any]], None]

HOLD_SECONDS = 1.0
"""The longest a file that arrived waits for the rest of its selection before its check."""

_Message = tuple[dict[str, Any], list[Any]]


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
        window: the data messages a view sends before one is acknowledged. More than this many
            waiting for an earlier one (a sender that does not keep to its window) go on
            without it: the files it carried fail, saying which byte was missing.
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
        window: int,
    ) -> None:
        self._cards = cards
        self._spool = spool
        self._reply = reply
        self._accepting = accepting
        self._received = received
        self._changed = changed
        self._commands = dict(commands)
        self._held: list[Card] = []  # arrived whole, waiting for the rest of the selection
        self._hold_lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._window = max(1, window)
        self._handling = threading.Lock()  # one browser message at a time
        self._next_seq: dict[str, int] = {}  # sender -> the seq of the data message due next
        self._early: dict[str, dict[int, _Message]] = {}  # sender -> seq -> message

    def handle(self, content: dict[str, Any], buffers: list[Any]) -> None:
        """One custom message from the browser (malformed ones are logged and dropped)."""
        with self._handling:
            if content.get("type") == "data" and content.get("sender"):
                for message in self._in_order(content, buffers):
                    self._handle(*message)
            else:
                self._handle(content, buffers)

    def _in_order(self, content: dict[str, Any], buffers: list[Any]) -> list[_Message]:
        """The data messages of ``content``'s sender that are due now, in the order sent."""
        try:
            sender, seq = str(content["sender"]), int(content["seq"])
        except (KeyError, TypeError, ValueError):
            return [(content, buffers)]  # malformed: _handle logs it
        due = self._next_seq.get(sender, 1)
        if seq < due:
            log.debug("data message %s from %s came again; dropped", seq, sender)
            return []
        early = self._early.setdefault(sender, {})
        # a buffer may be a view of the kernel's receive buffer: keep a copy while it waits
        early[seq] = (content, buffers if seq == due else [bytes(b) for b in buffers])
        if due not in early and len(early) > self._window:
            log.warning("data message %s from %s never came; going on without it", due, sender)
            due = min(early)
        ready = []
        while due in early:
            ready.append(early.pop(due))
            due += 1
        self._next_seq[sender] = due
        return ready

    def _handle(self, content: dict[str, Any], buffers: list[Any]) -> None:
        kind = content.get("type")
        try:
            if kind == "data":
                if content.get("files"):
                    self._begin(content["files"])
                self._data(content, buffers)
            elif kind == "abort":
                reason = str(content.get("reason") or "the transfer was aborted")
                self.fail(str(content["id"]), reason)
            elif isinstance(kind, str) and kind in self._commands:
                self._commands[kind](str(content["id"]))
        except (KeyError, TypeError, ValueError) as exc:
            log.debug("malformed uploader message %r: %s", kind, exc)

    def release(self, *, force: bool = True) -> None:
        """Hand the files that arrived to the uploader, in order: all of them when ``force``
        or when no file is still arriving; otherwise once :data:`HOLD_SECONDS` have passed."""
        with self._hold_lock:
            arriving = any(c.state == "receiving" for c in self._cards.values())
            if arriving and not force:
                if self._timer is None and self._held:
                    self._timer = threading.Timer(HOLD_SECONDS, self.release)
                    self._timer.daemon = True
                    self._timer.start()
                return
            held, self._held = self._held, []
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        for card in held:
            self._received(card)

    def close(self) -> None:
        """Forget the held files (their spool is going away) and stop the timer."""
        with self._hold_lock:
            self._held = []
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def fail(self, card_id: str, message: str) -> None:
        """Stop receiving ``card_id``: its bytes are dropped, its card shows ``message``."""
        card = self._cards.get(card_id)
        self._spool.discard(card_id)
        self._reply({"type": "reject", "id": card_id})
        if card is not None:
            card.state, card.error, card.path = "failed", message, None
        self._changed(True)
        self.release(force=False)  # the files waiting on this one need not wait any more

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

    def _data(self, content: dict[str, Any], buffers: list[Any]) -> None:
        seq, parts = int(content["seq"]), content["parts"]
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
        ack: dict[str, Any] = {"type": "ack", "seq": seq, "received": received}
        if content.get("sender"):
            ack["sender"] = content["sender"]
        self._reply(ack)
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
        with self._hold_lock:
            self._held.append(card)
        # the selection's last file: show it now and hand the held files on; until then a
        # redraw or a check would only compete with the bytes still arriving
        if not any(c.state == "receiving" for c in self._cards.values()):
            self._changed(True)
        self.release(force=False)
