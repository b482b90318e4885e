"""HTML and text renderings shared by the magics, the widgets and the reprs.

The words (state labels, deadline phrases) and the look (escaping, colours that follow the
notebook's theme, badges) are stated once here and used by every front end; records are the
plain-HTML outputs that keep a widget's results in a saved notebook.
"""

from __future__ import annotations

from ._character import character_html, character_text
from ._flow import coverage_hints, flow_html, flow_text
from ._gallery import gallery_card_html, gallery_detail_html, gallery_record_html
from ._record import record_html
from ._style import (
    BG,
    BG2,
    BORDER,
    ERROR,
    FG,
    FONT,
    LINK,
    MUTED,
    WARN,
    badge,
    confidence_color,
    escape,
    state_color,
)
from ._table import characters_table
from ._thumbs import at_size
from ._words import (
    EXPIRY_HELP,
    EXPIRY_PHRASES,
    PHRASES,
    STATE_LABELS,
    expiry_text,
    state_label,
    status_word,
    without_name,
)

__all__ = [
    "BG",
    "BG2",
    "BORDER",
    "ERROR",
    "EXPIRY_HELP",
    "EXPIRY_PHRASES",
    "FG",
    "FONT",
    "LINK",
    "MUTED",
    "PHRASES",
    "STATE_LABELS",
    "WARN",
    "at_size",
    "badge",
    "character_html",
    "character_text",
    "characters_table",
    "confidence_color",
    "coverage_hints",
    "escape",
    "expiry_text",
    "flow_html",
    "flow_text",
    "gallery_card_html",
    "gallery_detail_html",
    "gallery_record_html",
    "record_html",
    "state_color",
    "state_label",
    "status_word",
    "without_name",
]
