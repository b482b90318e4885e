"""The uploader's browser part: an anywidget drop zone that streams files in chunks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

_STATIC = Path(__file__).resolve().parent / "static"

Handler = Callable[[dict[str, Any], list[Any]], None]

ACCEPT = ".jpg,.jpeg,.png,.webp,image/jpeg,image/png,image/webp"


class DropZone(anywidget.AnyWidget):
    """Drop zone + reference cards, rendered by ``static/uploader.js``.

    The browser sends each chosen file as ``begin`` / ``chunk`` (1 MiB binary
    buffer) / ``end`` custom messages and shows ``cards``; the Python owner
    (:class:`~aurous_nb.widgets.CharacterUploader`) handles the messages and
    keeps ``cards`` and ``thumbs`` up to date. Synced state holds metadata and
    thumbnails only, never image bytes.
    """

    _esm = _STATIC / "uploader.js"
    _css = _STATIC / "uploader.css"

    cards = traitlets.List(
        traitlets.Dict(),
        help="One dict per file: id, name, size, state, label, progress (0-1), pose, "
        "confidence, expires_label, expires_at (epoch ms), notice, error, retryable, removable.",
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
    accept = traitlets.Unicode(ACCEPT, help="The file input's accept attribute.").tag(sync=True)
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
