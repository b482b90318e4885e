"""The uploader's browser part: an anywidget drop zone that sends files packed into messages.

Its code is ``static/uploader.js`` and the ES modules it imports, joined into one module by
:mod:`._esm` when this class is defined (anywidget imports ``_esm`` from a blob URL, where
relative imports do not resolve; see that module for why it is joined in Python rather than by
a bundler). The facts the browser needs -- limits, state words, deadline phrases -- are sent
once, in the ``config`` trait; the browser keeps no copy of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from ..display import EXPIRY_HELP, EXPIRY_PHRASES, PHRASES, STATE_LABELS
from ..images import ACCEPTED
from ..limits import ACCEPTED_TYPES, INIT_EXTENSIONS, MAX_REFS
from ._esm import bundle

_STATIC = Path(__file__).resolve().parent / "static"

Handler = Callable[[dict[str, Any], list[Any]], None]

ACCEPT = ",".join([*(f".{ext}" for ext in INIT_EXTENSIONS), *sorted(set(ACCEPTED_TYPES.values()))])
"""The file input's accept attribute: the extensions and types init takes."""
MESSAGE_BYTES = 4 * 1024 * 1024
"""File bytes packed into one browser message, at most (the Jupyter server refuses websocket
messages over 10 MiB). Small files share a message; big ones are cut."""
WINDOW = 3
"""Messages the browser sends before the kernel has acknowledged one."""


def browser_config(max_transfer_bytes: int) -> dict[str, Any]:
    """The ``config`` trait: each fact the browser code needs, from its one home in Python."""
    return {
        "max_refs": MAX_REFS,
        "max_transfer_bytes": max_transfer_bytes,
        "message_bytes": MESSAGE_BYTES,
        "window": WINDOW,
        "accept": ACCEPT,
        "types": ACCEPTED.removeprefix("use "),
        "state_labels": dict(STATE_LABELS),
        "expiry_phrases": {kind: list(pair) for kind, pair in EXPIRY_PHRASES.items()},
        "expiry_help": dict(EXPIRY_HELP),
        "phrases": dict(PHRASES),
    }


class DropZone(anywidget.AnyWidget):
    """Drop zone + reference cards, rendered by ``static/uploader.js``.

    The browser announces each selection with a ``begin`` message and sends the bytes in
    ``data`` messages (several files' pieces per message, one binary buffer per piece); the
    Python owner (:class:`~aurous_nb.widgets.CharacterUploader`) handles the messages (see
    ``_transfers.py``) and keeps ``cards`` and ``thumbs`` up to date. Synced state holds
    metadata and thumbnails only, never image bytes.
    """

    _esm = bundle("uploader.js")
    _css = _STATIC / "uploader.css"

    cards = traitlets.List(
        traitlets.Dict(),
        help="One dict per file: id, name, size, state, label, progress (0-1), pose, "
        "confidence, expires_kind ('url', 'ticket' or ''), expires_at (epoch ms), wait_until "
        "(epoch ms, the rate limit), notice, error (without the file name), retryable, "
        "removable. See static/model.js.",
    ).tag(sync=True)
    thumbs = traitlets.Dict(
        help="Card id -> thumbnail data URI (at most 256 px); kept apart from `cards` so "
        "progress updates do not resend the images.",
    ).tag(sync=True)
    notice = traitlets.Unicode("", help="One line above the cards (e.g. a refused file).").tag(
        sync=True
    )
    disabled = traitlets.Bool(False, help="No more files accepted (creating or created).").tag(
        sync=True
    )
    status = traitlets.Unicode("idle", help="The uploader's status, for announcements.").tag(
        sync=True
    )
    result = traitlets.Unicode("", help="The created character's name, for announcements.").tag(
        sync=True
    )
    record_id = traitlets.Unicode(
        "", help="Marks the uploader's record outputs, which the browser hides while it is live."
    ).tag(sync=True)
    config = traitlets.Dict(
        help="Limits, state words and phrases for the browser code (see browser_config)."
    ).tag(sync=True)
    js_ready = traitlets.Bool(
        False, help="Set by the browser code once it runs (hides the no-JS fallback)."
    ).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._handler: Handler | None = None
        self.on_msg(self._on_custom_msg)

    def on_message(self, handler: Handler) -> None:
        """Call ``handler(content, buffers)`` for every custom message from the browser."""
        self._handler = handler

    def _on_custom_msg(self, _widget: Any, content: Any, buffers: list[Any] | None) -> None:
        if isinstance(content, dict) and self._handler is not None:
            self._handler(content, list(buffers or []))

    def reply(self, content: dict[str, Any]) -> None:
        """Send a small message (``ack``, ``reject``, ``done``) to the browser views."""
        if self.comm is not None:
            self.send(content)
