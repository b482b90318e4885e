"""A character as an HTML card and as terminal text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .._text import one_line
from ._style import BG, BORDER, ERROR, FONT, LINK, MUTED, badge, escape, state_color
from ._thumbs import at_size
from ._words import status_word

if TYPE_CHECKING:  # pragma: no cover
    from ..models import Character

__all__ = ["character_html", "character_text"]

VIEW_PX = 96
"""Largest side in px of a view in a character card (the image is embedded at that size)."""


def _safe_href(url: str) -> str | None:
    return url if url.lower().startswith(("https://", "http://")) else None


def character_html(character: Character, thumbs: Mapping[str, str] | None = None) -> str:
    """A card: name, id, status badge, refs (pose + link), error message if any.

    Args:
        character: the character.
        thumbs: ref URL -> thumbnail data URI; refs found here are shown as small images with
            their pose under them (a saved notebook then shows the character's views).
    """
    thumbs = thumbs or {}
    links = []
    figures = []
    for i, ref in enumerate(character.refs, 1):
        href = _safe_href(ref.url)
        label = f"{i}. {ref.pose}"
        uri = thumbs.get(ref.url)
        if uri:
            figures.append(
                '<figure style="margin:0;text-align:center">'
                f'<img src="{escape(at_size(uri, VIEW_PX))}" alt="{escape(ref.pose)} view" '
                f'style="max-width:{VIEW_PX}px;max-height:{VIEW_PX}px;display:block;margin:0 auto">'
                f'<figcaption style="font-size:11px">{escape(label)}</figcaption></figure>'
            )
        links.append(
            f'<a href="{escape(href)}" target="_blank" rel="noopener noreferrer" '
            f'style="color:{LINK}">{escape(label)}</a>'
            if href
            else escape(label)
        )
    status = badge(
        status_word(character.status), state_color(character.status or ""), cls="aurous-status"
    )
    rows = [
        f'<div class="aurous-character" data-character-id="{escape(character.id)}" '
        f'style="{FONT};background:{BG};border:1px solid {BORDER};'
        'border-radius:8px;padding:8px 10px;display:inline-block;min-width:260px">',
        f"<div><b>{escape(character.name)}</b> {status}</div>",
        f'<div style="color:{MUTED};font-family:monospace;font-size:12px">'
        f"{escape(character.id)}</div>",
    ]
    if figures:
        rows.append(
            f'<div style="display:flex;gap:8px;flex-wrap:wrap;margin-top:6px">{"".join(figures)}'
            "</div>"
        )
    if links:
        rows.append(f'<div style="margin-top:4px">refs: {" · ".join(links)}</div>')
    if character.error_message:
        rows.append(f'<div style="color:{ERROR}">{escape(character.error_message)}</div>')
    if character.client_reference_id:
        rows.append(
            f'<div style="color:{MUTED};font-size:11px">client_reference_id: '
            f"{escape(character.client_reference_id)}</div>"
        )
    rows.append("</div>")
    return "".join(rows)


def character_text(character: Character) -> str:
    """Plain-text summary of a character (refs as pose and URL without its token).

    Every string from the user or the server is on one line with its control characters
    escaped, so a hostile name cannot drive the terminal.
    """
    t = one_line
    lines = [f"{t(character.name)} ({t(character.id)}) — {t(status_word(character.status))}"]
    for i, ref in enumerate(character.refs, 1):
        lines.append(f"  {i}. {t(ref.pose):<8} {t(ref.url.split('?', 1)[0])}")
    if character.error_message:
        lines.append(f"  error: {t(character.error_message)}")
    return "\n".join(lines)
