"""The only formatters of text shown to people: one line, sizes, durations, plurals.

Every layer formats through these, so a size or a countdown reads the same in the magic's
output, a widget card, an error message and the terminal. The browser code has its own copy of
:func:`format_size` and :func:`format_duration` (it ticks countdowns while the kernel is busy);
both are checked against one table of cases, ``tests/fixtures/formats.json``.
"""

from __future__ import annotations

import html
import re

__all__ = ["body_text", "error_line", "format_duration", "format_size", "one_line", "plural"]

# C0/C1 control characters left after whitespace is collapsed (ESC, NUL, DEL, ...): shown
# escaped, so a hostile filename or server text cannot drive the terminal showing it.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_UNITS = ("KiB", "MiB", "GiB", "TiB")


def one_line(text: object) -> str:
    """``text`` as one line fit for a terminal: whitespace runs collapsed to one space, other
    control characters (ESC, NUL, DEL, C1) shown escaped as ``\\x1b`` and the like."""
    line = " ".join(str(text).split())
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", line)


_HTML = re.compile(r"<\s*(?:!doctype\s+html|html|head|body|title)\b", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_HIDDEN = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)


def body_text(text: str, limit: int = 120) -> str:
    """A response body that is not JSON as one short line for a message: an HTML page (a
    proxy's 502, a captive portal) as ``HTML page:``, its title and its visible text;
    anything else as it is; at most ``limit`` characters of it."""
    if not _HTML.search(text):
        return one_line(text)[:limit]
    visible = one_line(html.unescape(_TAG.sub(" ", _HIDDEN.sub(" ", text))))
    found = _TITLE.search(text)
    title = one_line(html.unescape(_TAG.sub(" ", found.group(1)))) if found else ""
    if title and title not in visible:  # nginx repeats its title in an <h1>; others do not
        visible = f"{title}: {visible}" if visible else title
    return f"HTML page: {visible[:limit]}"


def error_line(exc: BaseException) -> str:
    """An exception as one line: its message, or its class name when it has none."""
    return one_line(exc) or type(exc).__name__


def format_size(n: float) -> str:
    """Bytes in binary units with one decimal: ``"834 B"``, ``"12.3 KiB"``, ``"4.1 MiB"``."""
    if n < 1024:
        return f"{int(n)} B"
    value = float(n)
    for unit in _UNITS:
        value /= 1024.0
        if value < 1024 or unit == _UNITS[-1]:
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def format_duration(seconds: float) -> str:
    """A length of time, rounded down: ``"45 s"``, ``"14 min 32 s"``, ``"23 h 59 min"``.

    Negative values count as zero; callers say "expired" themselves.
    """
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


def plural(n: int, word: str, many: str | None = None) -> str:
    """``"1 ref"``, ``"3 refs"`` (``many`` for irregular plurals)."""
    return f"{n} {word if n == 1 else many or word + 's'}"
