"""HTML and text renderings shared by the magics, the widgets and the reprs."""

from __future__ import annotations

from ._render import (
    character_html,
    character_text,
    coverage_hints,
    flow_html,
    flow_text,
    format_countdown,
    format_size,
)

__all__ = [
    "character_html",
    "character_text",
    "coverage_hints",
    "flow_html",
    "flow_text",
    "format_countdown",
    "format_size",
]
