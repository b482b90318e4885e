"""A flow as HTML (a card per ref: thumbnail, name, size, state, progress, pose, deadline) and
as terminal text (a line per ref). Every interpolated string is escaped; the HTML is
self-contained (inline styles, thumbnails only) so notebook outputs stay small.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .._text import error_line, format_size, one_line, plural
from ..images import THUMB_SIDE, data_uri
from ._character import character_html
from ._style import (
    BG,
    BG2,
    BORDER,
    ERROR,
    FONT,
    MUTED,
    WARN,
    badge,
    confidence_color,
    escape,
    state_color,
)
from ._thumbs import at_size
from ._words import EXPIRY_HELP, expiry_text, state_label, without_name

if TYPE_CHECKING:  # pragma: no cover
    from ..flow import CharacterFlow, RefUpload

__all__ = ["coverage_hints", "flow_html", "flow_text"]

DEFAULT_THUMB_PX = 128
"""Largest side in px of a ref's thumbnail in :func:`flow_html`, unless ``thumb_size`` says."""
_NUMBERS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}
_STATE_WIDTH = max(len(state_label(s)) for s in ("minted", "consumed", "uploaded"))


def _now(now: datetime | float | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    if isinstance(now, (int, float)):
        return datetime.fromtimestamp(now, timezone.utc)
    return now if now.tzinfo else now.replace(tzinfo=timezone.utc)


def coverage_hints(refs: Iterable[Any]) -> list[str]:
    """Advice on the set of poses, once every ref that can be classified is.

    Returns e.g. ``["no front view — add a front-facing image",
    "two refs classified as side (a.png, b.png)"]``; empty while classification runs.
    Accepts flow refs (``RefUpload``) or a character's ``Ref`` objects.
    """
    refs = list(refs)
    posed = [r for r in refs if getattr(r, "pose", None)]
    waiting = [r for r in refs if not getattr(r, "pose", None) and not getattr(r, "error", None)]
    if not posed or waiting:
        return []
    hints: list[str] = []
    counts = Counter(r.pose for r in posed)
    if "front" not in counts:
        hints.append("no front view — add a front-facing image for the best results")
    for pose, n in counts.items():
        if n > 1:
            names = [str(getattr(r, "name", "")) for r in posed if r.pose == pose]
            listed = f" ({', '.join(names)})" if all(names) else ""
            hints.append(f"{_NUMBERS.get(n, str(n))} refs classified as {pose}{listed}")
    return hints


def _expiry(ref: RefUpload, now: datetime) -> tuple[str, str, float] | None:
    """(kind, text, epoch) of the deadline that matters now, or None."""
    ticket = ref.ticket
    if ticket is None or ref.state == "consumed":
        return None
    if not ref.uploaded:
        left = ticket.url_seconds_left(now)
        return "url", expiry_text("url", left), ticket.expires_at.timestamp()
    left = ticket.ticket_seconds_left(now)
    return "ticket", expiry_text("ticket", left), ticket.ticket_deadline.timestamp()


def _percent(ref: RefUpload) -> int:
    if ref.uploaded or ref.state in ("uploaded", "classified", "consumed"):
        return 100
    if not ref.total_bytes:
        return 0
    return min(100, int(100 * ref.bytes_sent / ref.total_bytes))


def _pose_label(ref: RefUpload) -> str | None:
    if ref.pose is None or ref.confidence is None:
        return None
    return f"{ref.pose} {ref.confidence:.0%}"


# ---- HTML -----------------------------------------------------------------------------------


def _ref_card(ref: RefUpload, now: datetime, px: int, classify: bool) -> str:
    image = ref.image
    size = f"{format_size(image.size)} · {image.size_text}" if image is not None else ""
    made = image.thumbnail_if_ready() if image is not None else None  # a live view never decodes
    if made is not None:
        src = at_size(data_uri(made), px)  # embedded at the size it is shown
        thumb = (
            f'<img src="{escape(src)}" alt="{escape(ref.name)}" '
            f'style="max-width:{px}px;max-height:{px}px;display:block;margin:0 auto">'
        )
    else:
        thumb = (
            f'<div style="width:{px}px;height:{px * 3 // 4}px;background:{BG2};'
            'margin:0 auto"></div>'
        )
    color = state_color(ref.state)
    pct = _percent(ref)
    label = state_label(ref.state, classify=classify)
    parts = [
        f'<div class="aurous-ref" data-state="{escape(ref.state)}" '
        f'style="width:{max(168, px + 18)}px;background:{BG};'
        f'border:1px solid {BORDER};border-radius:8px;padding:8px;box-sizing:border-box">',
        thumb,
        f'<div style="margin-top:6px;font-weight:600;overflow:hidden;text-overflow:ellipsis;'
        f'white-space:nowrap" title="{escape(ref.name)}">{escape(ref.name)}</div>',
        f'<div style="color:{MUTED};font-size:11px">{escape(size)}</div>' if size else "",
        f'<div style="margin-top:4px">{badge(label, color, cls="aurous-state")}',
    ]
    pose = _pose_label(ref)
    if pose is not None and ref.confidence is not None:
        parts.append(" " + badge(pose, confidence_color(ref.confidence), "detected pose"))
    parts.append("</div>")
    parts.append(
        f'<div role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="{pct}" '
        f'aria-label="{escape(ref.name)}: {escape(label)}" '
        f'style="height:5px;background:{BG2};border-radius:3px;margin-top:5px">'
        f'<div class="aurous-progress" style="width:{pct}%;height:5px;border-radius:3px;'
        f'background:{color}"></div></div>'
    )
    expiry = _expiry(ref, now)
    if expiry is not None:
        kind, text, epoch = expiry
        parts.append(
            f'<div class="aurous-expiry" data-kind="{escape(kind)}" data-expires="{int(epoch)}" '
            f'title="{escape(EXPIRY_HELP[kind])}" '
            f'style="color:{MUTED};font-size:11px;margin-top:3px">{escape(text)}</div>'
        )
    if ref.notice:
        parts.append(f'<div style="color:{MUTED};font-size:11px">{escape(ref.notice)}</div>')
    if ref.error_message:
        message = without_name(ref.error_message, ref.name)
        parts.append(
            f'<div style="color:{ERROR};font-size:11px;margin-top:3px;overflow-wrap:anywhere">'
            f"{escape(message)}</div>"
        )
    parts.append("</div>")
    return "".join(parts)


def flow_html(
    flow: CharacterFlow,
    *,
    now: datetime | float | None = None,
    thumb_size: int | None = None,
    with_character: bool = True,
) -> str:
    """A card per ref (thumbnail, name, size, state, progress, pose, expiry), hints, result.

    Args:
        flow: the flow to show.
        now: the time countdowns are computed at (default: now).
        thumb_size: largest side in px the thumbnails are shown at (default 128, at most
            :data:`~aurous_nb.images.THUMB_SIDE`, the size they are stored at).
        with_character: end with the created character's card (the magic leaves it to the
            cell's result, so it is shown once).
    """
    at = _now(now)
    px = DEFAULT_THUMB_PX if not thumb_size else max(16, min(int(thumb_size), THUMB_SIDE))
    refs = list(flow.refs)
    head = (
        f'<div style="margin-bottom:6px"><b>{escape(flow.name)}</b> · '
        f"{plural(len(refs), 'ref')} {badge(flow.state, state_color(flow.state))}</div>"
    )
    cards = "".join(_ref_card(ref, at, px, flow.classify) for ref in refs)
    out = [
        f'<div class="aurous-flow" style="{FONT}">',
        head,
        f'<div style="display:flex;flex-wrap:wrap;gap:8px">{cards}</div>',
    ]
    hints = coverage_hints(refs)
    if hints:
        items = "".join(f"<li>{escape(h)}</li>" for h in hints)
        out.append(f'<ul style="color:{WARN};margin:6px 0 0 18px;padding:0">{items}</ul>')
    if flow.error is not None and flow.state in ("failed", "cancelled"):
        message = error_line(flow.error)
        out.append(f'<div style="color:{ERROR};margin-top:6px">{escape(message)}</div>')
    if flow.character is not None and with_character:
        out.append(f'<div style="margin-top:8px">{character_html(flow.character)}</div>')
    out.append("</div>")
    return "".join(out)


# ---- text -----------------------------------------------------------------------------------


def _bar(pct: int, width: int = 10) -> str:
    full = pct * width // 100
    return "[" + "#" * full + "." * (width - full) + f"] {pct:3d}%"


def flow_text(flow: CharacterFlow, *, now: datetime | float | None = None) -> str:
    """The terminal rendering of :func:`flow_html`: one line per ref, hints, the result.

    File names, notices and messages have their control characters escaped (``\\x1b``).
    """
    at = _now(now)
    refs: Sequence[RefUpload] = list(flow.refs)
    lines = [f"{one_line(flow.name)} — {plural(len(refs), 'ref')} — {flow.state}"]
    names = [one_line(r.name) for r in refs]
    width = min(max((len(n) for n in names), default=4), 28)
    for ref, name in zip(refs, names, strict=True):
        name = name if len(name) <= width else name[: width - 1] + "…"
        size = format_size(ref.image.size) if ref.image else ""
        label = state_label(ref.state, classify=flow.classify)
        cols = [f"  {ref.index + 1}. {name:<{width}}", f"{size:>10}", f"{label:<{_STATE_WIDTH}}"]
        pose = _pose_label(ref)
        if ref.state == "uploading":
            cols.append(_bar(_percent(ref)))
        elif pose:
            cols.append(f"{pose:<16}")
        expiry = _expiry(ref, at)
        if expiry is not None:
            cols.append(expiry[1])
        line = "  ".join(cols).rstrip()
        if ref.error_message:
            line += f"\n       ! {one_line(ref.error_message)}"
        elif ref.notice:
            line += f"\n       ({one_line(ref.notice)})"
        lines.append(line)
    lines.extend(f"  hint: {one_line(h)}" for h in coverage_hints(refs))
    if flow.error is not None and flow.state in ("failed", "cancelled"):
        lines.append(f"  {flow.state}: {one_line(flow.error)}")
    if flow.character is not None:
        ch = flow.character
        lines.append(f"  character {one_line(ch.id)} — {one_line(ch.status)}")
    return "\n".join(lines)
