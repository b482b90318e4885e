"""The team's characters as gallery cards, one character in detail, and the gallery's record
(the plain HTML a saved notebook keeps). Every string is escaped; thumbnails are data URIs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from .._text import plural
from ._style import BG, BG2, BORDER, ERROR, FONT, MUTED, badge, escape, state_color
from ._words import status_word

if TYPE_CHECKING:  # pragma: no cover
    from ..models import Character

__all__ = ["gallery_card_html", "gallery_detail_html", "gallery_record_html"]

_CARD_PX = 128
_DETAIL_PX = 200
_SURFACE = f"background:{BG};border:1px solid {BORDER}"
# ipywidgets' HTML widget sets a line height of one control (28 px) on what it holds: text
# lines of a card or the detail would stand that far apart
_LINES = "line-height:1.4"
_PLACEHOLDER = f"background:{BG2}"


def _created(character: Character) -> str:
    when = character.created_at
    return when.strftime("%Y-%m-%d %H:%M UTC") if when.year > 1970 else ""


def _poses(character: Character) -> str:
    poses = ", ".join(r.pose for r in character.refs)
    return f"{plural(len(character.refs), 'ref')}" + (f": {poses}" if poses else "")


def _thumb(uri: str | None, alt: str, px: int) -> str:
    if uri:
        return (
            f'<img src="{escape(uri)}" alt="{escape(alt)}" '
            f'style="max-width:{px}px;max-height:{px}px;display:block;margin:0 auto">'
        )
    return (
        f'<div role="img" aria-label="{escape(alt)} (loading)" '
        f'style="width:{px}px;height:{px * 3 // 4}px;{_PLACEHOLDER};margin:0 auto"></div>'
    )


def gallery_card_html(character: Character, thumb: str | None, *, selected: bool = False) -> str:
    """A card: the first ref's thumbnail, the name, the status, the refs and poses, created."""
    status = character.status or ""
    outline = "outline:2px solid var(--jp-brand-color1, #0969da);" if selected else ""
    alt = f"{character.name}, first reference image" if character.refs else "no refs"
    return (
        f'<div class="aurous-gallery-card" data-character-id="{escape(character.id)}" '
        f'style="{FONT};{_SURFACE};{_LINES};{outline}border-radius:8px;padding:8px;width:168px;'
        'box-sizing:border-box">'
        + _thumb(thumb, alt, _CARD_PX)
        + f'<div style="margin-top:6px;font-weight:600;overflow-wrap:anywhere">'
        f"{escape(character.name)}</div>"
        f'<div style="margin-top:2px">{badge(status_word(status), state_color(status))}</div>'
        f'<div style="color:{MUTED};font-size:11px;margin-top:3px">{escape(_poses(character))}'
        "</div>"
        f'<div style="color:{MUTED};font-size:11px">{escape(_created(character))}</div>'
        "</div>"
    )


def gallery_detail_html(character: Character, thumbs: Mapping[str, str]) -> str:
    """One character: every ref larger with its pose, the attributes, the ids."""
    status = character.status or ""
    figures = "".join(
        '<figure style="margin:0;text-align:center">'
        + _thumb(thumbs.get(ref.url), f"{character.name}, {ref.pose} view", _DETAIL_PX)
        + f'<figcaption style="font-size:12px">{i}. {escape(ref.pose)}</figcaption></figure>'
        for i, ref in enumerate(character.refs, 1)
    )
    attributes = "".join(
        f'<tr><th style="text-align:left;padding-right:8px;font-weight:400;color:{MUTED}">'
        f"{escape(key)}</th><td>{escape(value)}</td></tr>"
        for key, value in (character.attributes or {}).items()
        if value is not None
    )
    parts = [
        f'<div class="aurous-gallery-detail" data-character-id="{escape(character.id)}" '
        f'style="{FONT};{_SURFACE};{_LINES};border-radius:8px;padding:10px">',
        f"<div><b>{escape(character.name)}</b> "
        f"{badge(status_word(status), state_color(status))}</div>",
        f'<div style="color:{MUTED};font-family:monospace;font-size:12px">'
        f"{escape(character.id)} · created {escape(_created(character))}</div>",
        f'<div style="display:flex;gap:10px;flex-wrap:wrap;margin-top:8px">{figures}</div>'
        if figures
        else f'<div style="color:{MUTED};margin-top:6px">no refs yet</div>',
    ]
    if attributes:
        parts.append(f'<table style="margin-top:8px;font-size:12px">{attributes}</table>')
    if character.error_message:
        parts.append(f'<div style="color:{ERROR}">{escape(character.error_message)}</div>')
    parts.append("</div>")
    return "".join(parts)


def gallery_record_html(characters: Sequence[Character], *, more: bool) -> str:
    """The list as a saved notebook keeps it: a compact table (no images, so it stays light)."""
    rows = "".join(
        "<tr>"
        f"<td>{escape(c.name)}</td>"
        f"<td>{badge(status_word(c.status or ''), state_color(c.status or ''))}</td>"
        f"<td>{escape(_poses(c))}</td>"
        f'<td style="color:{MUTED}">{escape(_created(c))}</td>'
        f'<td style="font-family:monospace;font-size:11px;color:{MUTED}">{escape(c.id)}</td>'
        "</tr>"
        for c in characters
    )
    head = "<tr><th>name</th><th>status</th><th>refs</th><th>created</th><th>id</th></tr>"
    tail = (
        f'<div style="color:{MUTED};font-size:11px">The team has more characters than these; '
        "a live gallery loads them with Load more.</div>"
        if more
        else ""
    )
    return (
        f'<div class="aurous-gallery-record" style="{FONT}">'
        f'<table style="border-collapse:collapse;text-align:left">{head}{rows}</table>{tail}'
        "</div>"
    )
