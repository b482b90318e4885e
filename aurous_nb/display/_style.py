"""The look shared by every HTML rendering: escaping, the font, colours and badges.

Colours are stated once here; the magics' outputs, the widgets' cards and the reprs all take
them from this module. Text and surfaces follow JupyterLab's theme variables (``--jp-*``, also
set by Notebook 7 and Voilà), with fallbacks that read well on a white page where those do not
exist (nbviewer, GitHub, ``nbconvert --to html``). Coloured text is the theme's colour mixed
with its text colour, which keeps it at 4.5:1 or more against both the light and the dark
theme's backgrounds; a browser without ``color-mix`` ignores the declaration and shows the
plain text colour. Badges are white on a fixed colour, each at 4.5:1 or more.
``tests/system/test_browser_look.py`` measures the contrast of every text node in both themes.
"""

from __future__ import annotations

import html

__all__ = [
    "BG",
    "BG2",
    "BORDER",
    "ERROR",
    "FG",
    "FONT",
    "LINK",
    "MUTED",
    "WARN",
    "badge",
    "confidence_color",
    "escape",
    "state_color",
]

FG = "var(--jp-ui-font-color1, #1f2328)"
"""Body text."""
MUTED = "var(--jp-ui-font-color2, #57606a)"
"""Secondary text: sizes, notices, ids. Only on ``BG`` (or the page), never on ``BG2``."""
BG = "var(--jp-layout-color1, #ffffff)"
"""The surface of a card."""
BG2 = "var(--jp-layout-color2, #eef0f3)"
"""Tracks and placeholders (no text on it)."""
BORDER = "var(--jp-border-color2, #d0d7de)"
"""Card borders."""
ERROR = f"color-mix(in srgb, var(--jp-error-color1, #cf222e) 75%, {FG})"
"""Error text."""
WARN = f"color-mix(in srgb, var(--jp-warn-color0, #bc4c00) 70%, {FG})"
"""Hints and warnings."""
LINK = f"color-mix(in srgb, var(--jp-content-link-color, #0969da) 80%, {FG})"
"""Links."""
FONT = (
    "font-family:var(--jp-ui-font-family, system-ui, -apple-system, 'Segoe UI', sans-serif);"
    f"font-size:13px;color:{FG}"
)
"""Inline style of the outer element of every rendering."""

# Badge backgrounds: white text on each is at 4.5:1 or more, whatever the theme around it.
_GREEN = "#1a7f37"
_BLUE = "#0969da"
_PURPLE = "#8250df"
_GREY = "#656d76"
_SLATE = "#5b6b82"
_RED = "#cf222e"
_AMBER = "#9a6700"
_STATE_COLORS = {
    "queued": _GREY,
    "checked": _SLATE,
    "minted": _PURPLE,
    "uploading": _BLUE,
    "uploaded": _BLUE,
    "classified": _GREEN,
    "consumed": _GREEN,
    "failed": _RED,
    # character statuses and flow states
    "synthesizing": _BLUE,
    "reviewing": _AMBER,
    "ready": _GREEN,
    "deleted": _GREY,
    "idle": _SLATE,
    "running": _BLUE,
    "done": _GREEN,
    "cancelled": _AMBER,
}


def escape(value: object) -> str:
    """``value`` as text safe inside HTML, quotes included (for attributes)."""
    return html.escape(str(value), quote=True)


def state_color(state: str) -> str:
    """The badge colour of a ref state, a flow state or a character status."""
    return _STATE_COLORS.get(state, _SLATE)


def confidence_color(confidence: float) -> str:
    """Green from 0.8, amber from 0.5, red below."""
    return _GREEN if confidence >= 0.8 else _AMBER if confidence >= 0.5 else _RED


def badge(text: str, color: str, title: str | None = None, *, cls: str = "") -> str:
    """A small rounded label (escaped): white text on ``color``."""
    t = f' title="{escape(title)}"' if title else ""
    c = f' class="{escape(cls)}"' if cls else ""
    return (
        f'<span{c}{t} style="display:inline-block;padding:1px 7px;border-radius:9px;'
        f'background:{color};color:#fff;font-size:11px;line-height:16px">{escape(text)}</span>'
    )
