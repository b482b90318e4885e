"""``%%aurous_character --dry-run``: the plan (refs, types, sizes, poses by filename), as HTML
and text. Built from local checks only; nothing here talks to the API."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from .._text import format_size, plural
from .._text import one_line as _t  # text: control characters in names shown escaped
from ..display import BG, ERROR, FONT, MUTED, WARN, without_name
from ..display import escape as _e
from ..images import guess_pose_from_name


def _pose_hints(refs: Sequence[Any]) -> list[str]:
    """Coverage advice from filename hints (``front.png`` -> front), before any classify."""
    guessed = [guess_pose_from_name(r.name) for r in refs if r.image is not None]
    known = Counter(p for p in guessed if p)
    hints = []
    if "front" not in known:
        hints.append("no file named like a front view — the classifier will tell after upload")
    hints.extend(f"{n} files named like a {pose} view" for pose, n in known.items() if n > 1)
    return hints


def _requests_line(refs: Sequence[Any], classify: bool) -> str:
    n = len(refs)
    total = sum(r.image.size for r in refs if r.image is not None)
    steps = [f"{n} init", f"{n} PUT ({format_size(total)})"]
    if classify:
        steps.append(f"{n} classify")
    steps.append("1 create")
    return "would send " + ", ".join(steps) + " — nothing was sent (dry run)"


def plan_text(name: str, refs: Sequence[Any], attributes: Mapping[str, Any], classify: bool) -> str:
    """The plan of an upload flow as plain text (one line per ref)."""
    lines = [f"dry run: {_t(name)} — {plural(len(refs), 'ref')}"]
    for ref in refs:
        image = ref.image
        if image is None:
            lines.append(f"  {ref.index + 1}. {_t(ref.name)}  ✗ {_t(ref.error_message)}")
            continue
        pose = guess_pose_from_name(ref.name) or "?"
        row = (
            f"  {ref.index + 1}. {_t(ref.name)}  {image.kind}  {format_size(image.size)}  "
            f"{image.size_text}  pose by name: {pose}"
        )
        lines.append(row + (f"  ({_t(image.notice)})" if image.notice else ""))
    lines.extend(f"  hint: {_t(h)}" for h in _pose_hints(refs))
    if attributes:
        shown = ", ".join(f"{k}={v!r}" for k, v in attributes.items())
        lines.append("  attributes: " + _t(shown))
    lines.append("  " + _requests_line(refs, classify))
    return "\n".join(lines)


def plan_html(
    name: str,
    refs: Sequence[Any],
    attributes: Mapping[str, Any],
    classify: bool,
    *,
    thumb_px: int = 64,
) -> str:
    """The plan of an upload flow as an HTML table with thumbnails (every string escaped)."""
    rows = []
    # every row on the card colour: a notebook's own table striping (#f5f5f5 in JupyterLab
    # Light) would take the muted notices under 4.5:1
    tr = f'<tr style="background:{BG}">'
    for ref in refs:
        image = ref.image
        if image is None:
            rows.append(
                f"{tr}<td>{ref.index + 1}</td><td></td><td>{_e(ref.name)}</td>"
                f'<td colspan="4" style="color:{ERROR}">'
                f"{_e(without_name(ref.error_message or '', ref.name))}</td></tr>"
            )
            continue
        thumb = (
            f'<img src="{_e(image.thumbnail_data_uri())}" alt="{_e(ref.name)}" '
            f'style="max-width:{thumb_px}px;max-height:{thumb_px}px">'
        )
        notice = f'<div style="color:{MUTED}">{_e(image.notice)}</div>' if image.notice else ""
        rows.append(
            f"{tr}<td>{ref.index + 1}</td><td>{thumb}</td><td>{_e(ref.name)}{notice}</td>"
            f"<td>{_e(image.kind)}</td><td>{_e(format_size(image.size))}</td>"
            f"<td>{_e(image.size_text)}</td>"
            f"<td>{_e(guess_pose_from_name(ref.name) or '?')}</td></tr>"
        )
    head = (
        "<tr><th>#</th><th></th><th>file</th><th>type</th><th>size</th><th>pixels</th>"
        "<th>pose by name</th></tr>"
    )
    parts = [
        f'<div class="aurous-plan" style="{FONT}"><div><b>dry run: {_e(name)}</b></div>',
        f'<table style="border-collapse:collapse">{head}{"".join(rows)}</table>',
    ]
    hints = _pose_hints(refs)
    if hints:
        items = "".join(f"<li>{_e(h)}</li>" for h in hints)
        parts.append(f'<ul style="color:{WARN};margin:4px 0 0 18px;padding:0">{items}</ul>')
    if attributes:
        shown = ", ".join(f"{k}={v!r}" for k, v in attributes.items())
        parts.append(f"<div>attributes: {_e(shown)}</div>")
    parts.append(f'<div style="color:{MUTED}">{_e(_requests_line(refs, classify))}</div></div>')
    return "".join(parts)


def generate_plan_text(name: str, attributes: Mapping[str, Any], save: bool) -> str:
    """The plan of a synthesis (``--generate --dry-run``)."""
    shown = ", ".join(f"{k}={v!r}" for k, v in attributes.items())
    then = "poll until reviewing, then save" if save else "poll until it is reviewed"
    return (
        f"dry run: synthesize {_t(name)} from {_t(shown)}\n"
        f"  would send 1 create (generate: true; 4 generations), {then} — nothing was sent"
    )
