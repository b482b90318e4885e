"""A character as an HTML card and as terminal text."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._text import one_line
from ._style import ERROR, FONT, MUTED, badge, escape, state_color
from ._words import status_word

if TYPE_CHECKING:  # pragma: no cover
    from ..models import Character

__all__ = ["character_html", "character_text"]


def _safe_href(url: str) -> str | None:
    return url if url.lower().startswith(("https://", "http://")) else None


def character_html(character: Character) -> str:
    """A card: name, id, status badge, refs (pose + link), error message if any."""
    refs = []
    for i, ref in enumerate(character.refs, 1):
        href = _safe_href(ref.url)
        label = f"{i}. {ref.pose}"
        refs.append(
            f'<a href="{escape(href)}" target="_blank" rel="noopener noreferrer">'
            f"{escape(label)}</a>"
            if href
            else escape(label)
        )
    rows = [
        f'<div class="aurous-character" style="{FONT};border:1px solid #d0d7de;'
        'border-radius:8px;padding:8px 10px;display:inline-block;min-width:260px">',
        f"<div><b>{escape(character.name)}</b> "
        f"{badge(status_word(character.status), state_color(character.status or ''))}</div>",
        f'<div style="color:{MUTED};font-family:monospace;font-size:12px">'
        f"{escape(character.id)}</div>",
    ]
    if refs:
        rows.append(f'<div style="margin-top:4px">refs: {" · ".join(refs)}</div>')
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
