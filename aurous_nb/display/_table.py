"""Many characters as a terminal table: id, name, status, refs (with poses), created."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .._text import one_line

if TYPE_CHECKING:  # pragma: no cover
    from ..models import Character

__all__ = ["characters_table"]

_NAME_WIDTH = 32


def characters_table(characters: Sequence[Character], *, more: bool = False) -> str:
    """One line per character, newest first as given; ``more`` adds a line saying so.

    Names are cut to 32 characters and have their control characters escaped.
    """
    if not characters:
        return "no characters" + (" (more may match further down the list)" if more else "")
    rows = [("id", "name", "status", "refs", "created")]
    for c in characters:
        name = one_line(c.name)
        if len(name) > _NAME_WIDTH:
            name = name[: _NAME_WIDTH - 1] + "…"
        poses = ",".join(r.pose for r in c.refs)
        refs = f"{len(c.refs)} ({poses})" if poses else "0"
        created = c.created_at.strftime("%Y-%m-%d %H:%M") if c.created_at.year > 1970 else ""
        rows.append((one_line(c.id), name, one_line(c.status or "no status"), refs, created))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if more:
        lines.append(f"… more characters: raise --limit (shown: {len(characters)})")
    return "\n".join(lines)
