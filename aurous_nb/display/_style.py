"""The look shared by every HTML rendering: escaping, the font, colours and badges.

Colours are stated once here; the magics' outputs, the widgets' cards and the reprs all take
them from this module.
"""

from __future__ import annotations

import html

__all__ = ["FONT", "MUTED", "ERROR", "WARN", "badge", "confidence_color", "escape", "state_color"]

FONT = "font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:13px;color:#1f2328"
"""Inline style of the outer element of every rendering."""
MUTED = "#57606a"
"""Secondary text: sizes, notices, ids."""
ERROR = "#c62828"
"""Error text."""
WARN = "#b26a00"
"""Hints and warnings."""
_NEUTRAL = "#5b6b82"
_STATE_COLORS = {
    "queued": "#8a8f98",
    "checked": _NEUTRAL,
    "minted": "#6a5acd",
    "uploading": "#1f6fd1",
    "uploaded": "#1f6fd1",
    "classified": "#1d8a4c",
    "consumed": "#1d8a4c",
    "failed": ERROR,
    # character statuses and flow states
    "synthesizing": "#1f6fd1",
    "reviewing": WARN,
    "ready": "#1d8a4c",
    "deleted": "#8a8f98",
    "idle": _NEUTRAL,
    "running": "#1f6fd1",
    "done": "#1d8a4c",
    "cancelled": WARN,
}


def escape(value: object) -> str:
    """``value`` as text safe inside HTML, quotes included (for attributes)."""
    return html.escape(str(value), quote=True)


def state_color(state: str) -> str:
    """The badge colour of a ref state, a flow state or a character status."""
    return _STATE_COLORS.get(state, _NEUTRAL)


def confidence_color(confidence: float) -> str:
    """Green from 0.8, amber from 0.5, red below."""
    return "#1d8a4c" if confidence >= 0.8 else WARN if confidence >= 0.5 else ERROR


def badge(text: str, color: str, title: str | None = None, *, cls: str = "") -> str:
    """A small rounded label (escaped)."""
    t = f' title="{escape(title)}"' if title else ""
    c = f' class="{escape(cls)}"' if cls else ""
    return (
        f'<span{c}{t} style="display:inline-block;padding:1px 7px;border-radius:9px;'
        f'background:{color};color:#fff;font-size:11px;line-height:16px">{escape(text)}</span>'
    )
