"""Playing the browser for headless widget tests, and reading what the kernel sends back.

The browser is played by sending the drop zone the custom messages its JS sends (``data``
with binary buffers, the first announcing the files / ``remove`` / ``retry``, see
``static/transfers.js``) through the
widget's real comm-message handler; what the kernel would send back to the browser is recorded
by a comm that keeps every message (``comm.create_comm`` is the hook ipykernel itself installs).
"""

from __future__ import annotations

import io
import itertools
import threading
import time
import weakref
from collections.abc import Callable, Collection, Sequence
from typing import Any

import ipywidgets
from comm.base_comm import BaseComm

from aurous_nb import samples
from aurous_nb.widgets import CharacterUploader
from tests.support.waiting import wait_for

XSS = "<img src=x onerror=alert(1)>.png"
MESSAGE_BYTES = 4 * 1024 * 1024  # what static/transfers.js packs into one message


class RecordingComm(BaseComm):
    """A comm with no kernel behind it that keeps what the widget sends to the browser."""

    log: list[tuple[str, dict[str, Any], list[Any]]]

    def publish_msg(
        self,
        msg_type: str,
        data: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        buffers: list[Any] | None = None,
        **keys: Any,
    ) -> None:
        if not hasattr(self, "log"):
            self.log = []
        self.log.append((msg_type, data or {}, list(buffers or [])))


def states(u: CharacterUploader) -> str:
    """The cards as synced (id, state, error) and the flow's refs behind them, for messages."""
    cards = [(c["id"], c["state"], c["error"]) for c in u.cards]
    return f"cards {cards}, flow refs {u.flow.refs}"


def wait_cards(
    u: CharacterUploader, predicate: Callable[[], Any], what: str, timeout: float = 15.0
) -> Any:
    """wait_for() whose timeout message lists the uploader's card and ref states."""
    return wait_for(predicate, timeout, what, show=lambda: states(u))


def package_threads() -> list[threading.Thread]:
    """aurous_nb's worker threads (flow runs, uploads, widget workers), not the sandbox's."""
    return [
        t
        for t in threading.enumerate()
        if t.name.startswith("aurous-") and not t.name.startswith("aurous-sandbox")
    ]


def settle(ignore: Collection[threading.Thread] = (), timeout: float = 30.0) -> list[str]:
    """Wait until no aurous_nb worker thread but ``ignore`` runs; return those still running."""
    deadline = time.monotonic() + timeout
    while (left := [t for t in package_threads() if t not in ignore]) and (
        time.monotonic() < deadline
    ):
        left[0].join(0.05)
    return sorted(t.name for t in left)


def browser_msg(u: CharacterUploader, content: dict[str, Any], buffers: Sequence[Any] = ()) -> None:
    """Deliver a custom message exactly as ipykernel hands a browser message to a widget."""
    u.dropzone._handle_msg(
        {"content": {"data": {"method": "custom", "content": content}}, "buffers": list(buffers)}
    )


VIEW = "view1"  # the browser view these tests play: its data messages count from 1
_SEQS: weakref.WeakKeyDictionary[CharacterUploader, dict[str, itertools.count[int]]] = (
    weakref.WeakKeyDictionary()
)

Message = tuple[dict[str, Any], list[Any]]


def next_seq(u: CharacterUploader, sender: str = VIEW) -> int:
    """The number of ``sender``'s next data message to ``u`` (1, 2, ... as static/transfers.js)."""
    return next(_SEQS.setdefault(u, {}).setdefault(sender, itertools.count(1)))


def begin(u: CharacterUploader, files: Sequence[tuple[str, str, int]]) -> None:
    """Announce files without bytes yet (``(id, name, size)`` each), in a data message with no
    parts: what the browser sends when a drop's first bytes are still being read."""
    entries = [{"id": i, "name": n, "size": s, "mime": ""} for i, n, s in files]
    content = {"type": "data", "sender": VIEW, "seq": next_seq(u), "files": entries, "parts": []}
    browser_msg(u, content)


def data_messages(
    u: CharacterUploader,
    files: Sequence[tuple[str, bytes]],
    message_bytes: int = MESSAGE_BYTES,
    announce: Sequence[dict[str, Any]] = (),
    sender: str = VIEW,
) -> list[Message]:
    """The data messages that carry announced files as static/transfers.js packs them: up to
    ``message_bytes`` each, files in order, small ones together, big ones cut; the first also
    carries ``announce`` (the files' announcement) if given. Numbered as ``sender``'s next."""
    offsets = {i: 0 for i, _ in files}
    messages: list[Message] = []
    while True:
        parts, buffers, room = [], [], message_bytes
        for file_id, data in files:
            left = len(data) - offsets[file_id]
            if room <= 0 or left <= 0:
                continue
            take = min(room, left)
            start = offsets[file_id]
            parts.append({"id": file_id, "offset": start})
            buffers.append(memoryview(data)[start : start + take])
            offsets[file_id] += take
            room -= take
        if not parts:
            return messages
        content: dict[str, Any] = {"type": "data", "sender": sender, "seq": next_seq(u, sender)}
        content["parts"] = parts
        if not messages and announce:
            content["files"] = list(announce)
        messages.append((content, buffers))


def send_bytes(
    u: CharacterUploader,
    files: Sequence[tuple[str, bytes]],
    message_bytes: int = MESSAGE_BYTES,
    announce: Sequence[dict[str, Any]] = (),
) -> int:
    """Send :func:`data_messages` in order; returns how many there were."""
    messages = data_messages(u, files, message_bytes, announce)
    for content, buffers in messages:
        browser_msg(u, content, buffers)
    return len(messages)


def announcement(files: Sequence[tuple[str, str, bytes]]) -> list[dict[str, Any]]:
    """The ``files`` entry that announces ``(id, name, bytes)`` files."""
    return [{"id": i, "name": n, "size": len(d), "mime": ""} for i, n, d in files]


def send_files(
    u: CharacterUploader,
    files: Sequence[tuple[str, str, bytes]],
    message_bytes: int = MESSAGE_BYTES,
) -> int:
    """A drop of ``(id, name, bytes)`` files, start to end, announced in the first message as
    the browser does; returns the data messages sent."""
    return send_bytes(u, [(i, d) for i, _, d in files], message_bytes, announcement(files))


def send_file(u: CharacterUploader, file_id: str, name: str, data: bytes) -> float:
    """One file dropped on its own; returns the seconds its messages took to handle."""
    started = time.perf_counter()
    send_files(u, [(file_id, name, data)])
    return time.perf_counter() - started


def replies(u: CharacterUploader) -> list[dict[str, Any]]:
    """Custom messages the kernel sent to the browser views of the drop zone."""
    c = u.dropzone.comm
    return [
        d["content"]
        for kind, d, _ in getattr(c, "log", [])
        if kind == "comm_msg" and d.get("method") == "custom"
    ]


def card(u: CharacterUploader, file_id: str) -> dict[str, Any]:
    return next(c for c in u.cards if c["id"] == file_id)


def all_states(widget: ipywidgets.Widget) -> dict[str, Any]:
    """The synced state of ``widget`` and every widget below it, by model id."""
    out: dict[str, Any] = {}
    todo = [widget]
    while todo:
        w = todo.pop()
        if w.model_id in out:
            continue
        out[w.model_id] = w.get_state()
        for key in w.keys:
            value = getattr(w, key)
            for item in value if isinstance(value, (list, tuple)) else [value]:
                if isinstance(item, ipywidgets.Widget):
                    todo.append(item)
    return out


def sample(name: str) -> bytes:
    return next(p for p in samples.paths() if p.name == name).read_bytes()


def variant(name: str) -> bytes:
    """A sample with one pixel changed: the same pose, not the same image (refused twice)."""
    from PIL import Image

    with Image.open(io.BytesIO(sample(name))) as im:
        im = im.convert("RGB")
        im.putpixel((0, 0), (1, 2, 3))
        out = io.BytesIO()
        im.save(out, "PNG")
    return out.getvalue()


SIX = [
    ("front.png", sample("front.png")),
    ("side.png", sample("side.png")),
    ("back.png", sample("back.png")),
    ("portrait.jpg", sample("portrait.jpg")),
    ("second_front.png", variant("front.png")),
    ("profile.png", variant("side.png")),
]
