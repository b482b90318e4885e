"""HTML and text renderings shared by the magics, the widgets and the reprs.

The words (state labels, deadline phrases) and the look (escaping, colours, badges) are stated
once here and used by every front end.
"""

from __future__ import annotations

from ._character import character_html, character_text
from ._flow import coverage_hints, flow_html, flow_text
from ._style import ERROR, FONT, MUTED, WARN, badge, escape, state_color
from ._table import characters_table
from ._words import EXPIRY_PHRASES, STATE_LABELS, expiry_text, state_label, status_word

__all__ = [
    "ERROR",
    "EXPIRY_PHRASES",
    "FONT",
    "MUTED",
    "STATE_LABELS",
    "WARN",
    "badge",
    "character_html",
    "character_text",
    "characters_table",
    "coverage_hints",
    "escape",
    "expiry_text",
    "flow_html",
    "flow_text",
    "state_color",
    "state_label",
    "status_word",
]
