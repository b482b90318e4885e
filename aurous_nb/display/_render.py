"""HTML and text renderings of flows and characters: ref cards, pose badges, expiry countdowns.

Every interpolated string is ``html.escape``d; the HTML is self-contained (inline styles,
thumbnails only) so notebook outputs stay small.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..errors import one_line as _t  # text renderings: control characters shown escaped
from ..images._check import THUMB_SIDE

if TYPE_CHECKING:  # pragma: no cover
    from ..flow._flow import CharacterFlow, RefUpload
    from ..models import Character

__all__ = [
    "character_html",
    "character_text",
    "coverage_hints",
    "flow_html",
    "flow_text",
    "format_countdown",
    "format_size",
]

DEFAULT_THUMB_PX = 128
"""Largest side in px of a ref's thumbnail in :func:`flow_html`, unless ``thumb_size`` says."""
_NUMBERS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}
_STATE_COLORS = {
    "queued": "#8a8f98",
    "checked": "#5b6b82",
    "minted": "#6a5acd",
    "uploading": "#1f6fd1",
    "uploaded": "#1f6fd1",
    "classified": "#1d8a4c",
    "consumed": "#1d8a4c",
    "failed": "#c62828",
    # character statuses and flow states
    "synthesizing": "#1f6fd1",
    "reviewing": "#b26a00",
    "ready": "#1d8a4c",
    "deleted": "#8a8f98",
    "idle": "#5b6b82",
    "running": "#1f6fd1",
    "done": "#1d8a4c",
    "cancelled": "#b26a00",
}
_FONT = "font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:13px;color:#1f2328"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def format_size(n: int) -> str:
    """Bytes as a short decimal size: ``"834 B"``, ``"12.3 kB"``, ``"4.1 MB"``."""
    if n < 1000:
        return f"{n} B"
    for unit in ("kB", "MB", "GB"):
        n_f = n / 1000.0
        if n_f < 1000 or unit == "GB":
            return f"{n_f:.1f} {unit}"
        n = int(n_f)
    return f"{n} B"  # pragma: no cover


def format_countdown(seconds: float) -> str:
    """Time left as ``"14:32"`` (under an hour), ``"23 h 59 min"``, or ``"expired"``."""
    if seconds <= 0:
        return "expired"
    s = int(seconds)
    if s < 3600:
        return f"{s // 60:02d}:{s % 60:02d}"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


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
    """(label, text, epoch) of the deadline that matters now, or None."""
    ticket = ref.ticket
    if ticket is None or ref.state == "consumed":
        return None
    if not ref.uploaded:
        left = ticket.url_seconds_left(now)
        return "URL", f"URL expires in {format_countdown(left)}", ticket.expires_at.timestamp()
    left = ticket.ticket_seconds_left(now)
    text = f"ticket valid {format_countdown(left)}" if left > 0 else "ticket expired"
    return "ticket", text, ticket.ticket_deadline.timestamp()


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


def _badge(text: str, color: str, title: str | None = None) -> str:
    t = f' title="{_e(title)}"' if title else ""
    return (
        f'<span{t} style="display:inline-block;padding:1px 7px;border-radius:9px;'
        f'background:{color};color:#fff;font-size:11px;line-height:16px">{_e(text)}</span>'
    )


def _conf_color(confidence: float) -> str:
    return "#1d8a4c" if confidence >= 0.8 else "#b26a00" if confidence >= 0.5 else "#c62828"


def _ref_card(ref: RefUpload, now: datetime, px: int) -> str:
    image = ref.image
    if image is not None:
        thumb = (
            f'<img src="{_e(image.thumbnail_data_uri())}" alt="{_e(ref.name)}" '
            f'style="max-width:{px}px;max-height:{px}px;display:block;margin:0 auto">'
        )
        size = f"{format_size(image.size)} · {image.width}×{image.height}"
    else:
        thumb = (
            f'<div style="width:{px}px;height:{px * 3 // 4}px;background:#eef0f3;'
            'margin:0 auto"></div>'
        )
        size = ""
    state_color = _STATE_COLORS.get(ref.state, "#5b6b82")
    pct = _percent(ref)
    parts = [
        f'<div class="aurous-ref" data-state="{_e(ref.state)}" style="width:{max(168, px + 18)}px;'
        'border:1px solid #d0d7de;border-radius:8px;padding:8px;box-sizing:border-box">',
        thumb,
        f'<div style="margin-top:6px;font-weight:600;overflow:hidden;text-overflow:ellipsis;'
        f'white-space:nowrap" title="{_e(ref.name)}">{_e(ref.name)}</div>',
        f'<div style="color:#57606a;font-size:11px">{_e(size)}</div>' if size else "",
        f'<div style="margin-top:4px">{_badge(ref.state, state_color)}',
    ]
    pose = _pose_label(ref)
    if pose is not None and ref.confidence is not None:
        parts.append(" " + _badge(pose, _conf_color(ref.confidence), "detected pose"))
    parts.append("</div>")
    parts.append(
        '<div style="height:5px;background:#eef0f3;border-radius:3px;margin-top:5px">'
        f'<div class="aurous-progress" style="width:{pct}%;height:5px;border-radius:3px;'
        f'background:{state_color}"></div></div>'
    )
    expiry = _expiry(ref, now)
    if expiry is not None:
        kind, text, epoch = expiry
        parts.append(
            f'<div class="aurous-expiry" data-kind="{_e(kind)}" data-expires="{int(epoch)}" '
            f'style="color:#57606a;font-size:11px;margin-top:3px">{_e(text)}</div>'
        )
    if ref.notice:
        parts.append(f'<div style="color:#57606a;font-size:11px">{_e(ref.notice)}</div>')
    if ref.error_message:
        parts.append(
            f'<div style="color:#c62828;font-size:11px;margin-top:3px;word-break:break-word">'
            f"{_e(ref.error_message)}</div>"
        )
    parts.append("</div>")
    return "".join(parts)


def flow_html(
    flow: CharacterFlow, *, now: datetime | float | None = None, thumb_size: int | None = None
) -> str:
    """A card per ref (thumbnail, name, size, state, progress, pose, expiry), hints, result.

    Args:
        flow: the flow to show.
        now: the time countdowns are computed at (default: now).
        thumb_size: largest side in px the thumbnails are shown at (default 128, at most
            :data:`~aurous_nb.images.THUMB_SIDE`, the size they are stored at).
    """
    at = _now(now)
    px = DEFAULT_THUMB_PX if not thumb_size else max(16, min(int(thumb_size), THUMB_SIDE))
    refs = list(flow.refs)
    head = (
        f'<div style="margin-bottom:6px"><b>{_e(flow.name)}</b> · {len(refs)} '
        f"ref{'s' if len(refs) != 1 else ''} "
        f"{_badge(flow.state, _STATE_COLORS.get(flow.state, '#5b6b82'))}</div>"
    )
    cards = "".join(_ref_card(ref, at, px) for ref in refs)
    out = [
        f'<div class="aurous-flow" style="{_FONT}">',
        head,
        f'<div style="display:flex;flex-wrap:wrap;gap:8px">{cards}</div>',
    ]
    hints = coverage_hints(refs)
    if hints:
        items = "".join(f"<li>{_e(h)}</li>" for h in hints)
        out.append(f'<ul style="color:#b26a00;margin:6px 0 0 18px;padding:0">{items}</ul>')
    if flow.error is not None and flow.state in ("failed", "cancelled"):
        message = " ".join(str(flow.error).split()) or type(flow.error).__name__
        out.append(f'<div style="color:#c62828;margin-top:6px">{_e(message)}</div>')
    if flow.character is not None:
        out.append(f'<div style="margin-top:8px">{character_html(flow.character)}</div>')
    out.append("</div>")
    return "".join(out)


def _safe_href(url: str) -> str | None:
    return url if url.lower().startswith(("https://", "http://")) else None


def character_html(character: Character) -> str:
    """A card: name, id, status badge, refs (pose + link), error message if any."""
    status_color = _STATE_COLORS.get(character.status, "#5b6b82")
    refs = []
    for i, ref in enumerate(character.refs, 1):
        href = _safe_href(ref.url)
        label = f"{i}. {ref.pose}"
        refs.append(
            f'<a href="{_e(href)}" target="_blank" rel="noopener noreferrer">{_e(label)}</a>'
            if href
            else _e(label)
        )
    rows = [
        f'<div class="aurous-character" style="{_FONT};border:1px solid #d0d7de;'
        'border-radius:8px;padding:8px 10px;display:inline-block;min-width:260px">',
        f"<div><b>{_e(character.name)}</b> {_badge(character.status, status_color)}</div>",
        f'<div style="color:#57606a;font-family:monospace;font-size:12px">{_e(character.id)}</div>',
    ]
    if refs:
        rows.append(f'<div style="margin-top:4px">refs: {" · ".join(refs)}</div>')
    if character.error_message:
        rows.append(f'<div style="color:#c62828">{_e(character.error_message)}</div>')
    if character.client_reference_id:
        rows.append(
            f'<div style="color:#57606a;font-size:11px">client_reference_id: '
            f"{_e(character.client_reference_id)}</div>"
        )
    rows.append("</div>")
    return "".join(rows)


# ---- text -----------------------------------------------------------------------------------


def character_text(character: Character) -> str:
    """Plain-text summary of a character (refs as pose and URL without its token).

    Every string from the user or the server is on one line with its control characters
    escaped, so a hostile name cannot drive the terminal.
    """
    lines = [f"{_t(character.name)} ({_t(character.id)}) — {_t(character.status)}"]
    for i, ref in enumerate(character.refs, 1):
        lines.append(f"  {i}. {_t(ref.pose):<8} {_t(ref.url.split('?', 1)[0])}")
    if character.error_message:
        lines.append(f"  error: {_t(character.error_message)}")
    return "\n".join(lines)


def _bar(pct: int, width: int = 10) -> str:
    full = pct * width // 100
    return "[" + "#" * full + "." * (width - full) + f"] {pct:3d}%"


def flow_text(flow: CharacterFlow, *, now: datetime | float | None = None) -> str:
    """The terminal rendering of :func:`flow_html`: one line per ref, hints, the result.

    File names, notices and messages have their control characters escaped (``\\x1b``).
    """
    at = _now(now)
    refs: Sequence[RefUpload] = list(flow.refs)
    count = f"{len(refs)} ref{'s' if len(refs) != 1 else ''}"
    lines = [f"{_t(flow.name)} — {count} — {flow.state}"]
    names = [_t(r.name) for r in refs]
    width = min(max((len(n) for n in names), default=4), 28)
    for ref, name in zip(refs, names, strict=True):
        name = name if len(name) <= width else name[: width - 1] + "…"
        size = format_size(ref.image.size) if ref.image else ""
        cols = [f"  {ref.index + 1}. {name:<{width}}", f"{size:>8}", f"{ref.state:<10}"]
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
            line += f"\n       ! {_t(ref.error_message)}"
        elif ref.notice:
            line += f"\n       ({_t(ref.notice)})"
        lines.append(line)
    lines.extend(f"  hint: {_t(h)}" for h in coverage_hints(refs))
    if flow.error is not None and flow.state in ("failed", "cancelled"):
        lines.append(f"  {flow.state}: {_t(flow.error)}")
    if flow.character is not None:
        ch = flow.character
        lines.append(f"  character {_t(ch.id)} — {_t(ch.status)}")
    return "\n".join(lines)
