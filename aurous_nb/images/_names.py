"""The ``filename`` sent to ``uploads/init``: valid UTF-8, at most 120 characters, every dot of
the stem kept, the extension agreeing with the bytes, and the pose word kept when shortened.

Only a last part that is a file extension people use (``.JPG``, ``.heic``, ``.txt``) is
replaced; ``2024.05.01 front`` is a name with dots, so it becomes ``2024.05.01 front.jpg``.
"""

from __future__ import annotations

import re

from ..limits import MAX_FILENAME
from ._sniff import _AGREEING_EXT, _POSE_WORDS, KNOWN_EXTENSIONS

__all__ = ["printable_name", "split_extension", "upload_filename"]

_ELLIPSIS = "…"


def printable_name(name: str) -> str:
    """``name`` as valid UTF-8: a byte that is not UTF-8 (``os.fsdecode`` keeps it as a lone
    surrogate) becomes U+FFFD, so the name can be sent as JSON and shown."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raw = name.encode("utf-8", "surrogateescape")
        return raw.decode("utf-8", "replace")
    return name


def split_extension(name: str) -> tuple[str, str]:
    """``(stem, extension)`` when the name ends in a known file extension, else ``(name, "")``."""
    stem, dot, ext = name.rpartition(".")
    if dot and stem and ext.lower() in KNOWN_EXTENSIONS:
        return stem, ext
    return name, ""


def upload_filename(name: str, kind: str, extension: str) -> str:
    """The init ``filename`` for an image called ``name`` whose bytes are of ``kind``.

    Args:
        name: the display name (``"IMG_0001.HEIC"``, ``"2024.05.01 front"``).
        kind: ``"jpeg"``, ``"png"`` or ``"webp"``, the type of the bytes uploaded.
        extension: the extension for ``kind`` (``"jpg"``), used when the name's does not agree.
    """
    stem, ext = split_extension(printable_name(name).strip() or "image")
    if not ext or _AGREEING_EXT.get(ext.lower()) != kind:
        ext = extension
    stem = stem.strip() or "image"
    room = MAX_FILENAME - len(ext) - 1
    if len(stem) > room:
        stem = _shorten(stem, room)
    return f"{stem}.{ext}"


def _shorten(stem: str, room: int) -> str:
    """``stem`` cut to ``room`` characters, keeping its last pose word (``…_front``) when the
    cut would lose it: the API's classifier, like ours, reads pose words in the name."""
    last = None
    for match in re.finditer(r"[A-Za-z]+", stem):
        if match.group().lower() in _POSE_WORDS:
            last = match
    if last is None or last.end() <= room:
        return stem[:room]
    start = last.start()
    while start > 0 and not stem[start - 1].isalnum():  # keep its separator: "…_front"
        start -= 1
    tail = stem[start:]
    if len(tail) + 1 >= room:  # a pose word at the end of a very long word: keep the word
        tail = last.group()
    head = stem[: max(0, room - len(tail) - 1)]
    return f"{head}{_ELLIPSIS}{tail}"[:room]
