"""Pure facts from bytes and names: the file type from magic bytes, a pose from a filename.

No Pillow here; :mod:`aurous_nb.images` re-exports ``sniff`` and ``guess_pose_from_name``.
"""

from __future__ import annotations

import os
import re

__all__ = [
    "ACCEPTED",
    "CONVERTED",
    "IMAGE_SUFFIXES",
    "accepted_kind",
    "guess_pose_from_name",
    "kind_problem",
    "sniff",
]

ACCEPTED = "use JPEG, PNG, WebP, HEIC or AVIF"

# kind -> (extension, MIME, Pillow format name)
_KINDS: dict[str, tuple[str, str, str]] = {
    "jpeg": ("jpg", "image/jpeg", "JPEG"),
    "png": ("png", "image/png", "PNG"),
    "webp": ("webp", "image/webp", "WEBP"),
}
# extensions that already agree with a kind (".jpeg" is as good as ".jpg")
_AGREEING_EXT = {
    "jpg": "jpeg",
    "jpeg": "jpeg",
    "jpe": "jpeg",
    "jfif": "jpeg",
    "png": "png",
    "webp": "webp",
}
CONVERTED = {"heic": "HEIC", "avif": "AVIF"}
"""Kinds the API does not take that are converted to JPEG locally (iPhone and modern cameras)."""
IMAGE_SUFFIXES = (
    ".jpg",
    ".jpeg",
    ".jpe",
    ".jfif",
    ".png",
    ".webp",
    ".heic",
    ".heif",
    ".hif",
    ".avif",
)
"""Suffixes (any case) of the files a folder listing offers as images."""
# Extensions people's files carry: a name ending in one of these has it replaced on upload; any
# other last part after a dot ("2024.05.01 front") is part of the name.
KNOWN_EXTENSIONS = frozenset(s.lstrip(".") for s in IMAGE_SUFFIXES) | {
    "gif",
    "bmp",
    "tif",
    "tiff",
    "svg",
    "apng",
    "pdf",
    "txt",
    "dng",
    "raw",
    "cr2",
    "nef",
}


def accepted_kind(kind: str | None) -> bool:
    """Whether ``kind`` is uploaded (JPEG, PNG, WebP) or converted first (HEIC, AVIF)."""
    return kind in _KINDS or kind in CONVERTED


_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}


def sniff(data: bytes) -> str | None:
    """Name the file type from its first bytes.

    Returns ``"jpeg"``, ``"png"`` or ``"webp"`` (the accepted kinds), a name for a
    recognised but refused type (``"heic"``, ``"avif"``, ``"gif"``, ``"svg"``, ``"bmp"``,
    ``"tiff"``, ``"pdf"``, ``"text"``), or ``None`` when nothing matches.
    """
    head = bytes(data[:512])
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp":
        brands = {head[8:12]} | {head[i : i + 4] for i in range(16, min(len(head), 64), 4)}
        if brands & _AVIF_BRANDS and head[8:12] in _AVIF_BRANDS:
            return "avif"
        if brands & _HEIF_BRANDS:
            return "heic"
        if brands & _AVIF_BRANDS:
            return "avif"
        return None
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:2] == b"BM":
        return "bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[:5] == b"%PDF-":
        return "pdf"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in head.lower()):
        return "svg"
    if head and b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # a multi-byte character cut at byte 512 is still text
            if exc.start < len(head) - 4:
                return None
        return "text"
    return None


_POSE_WORDS: dict[str, str] = {
    "front": "front",
    "frontal": "front",
    "side": "side",
    "profile": "side",
    "left": "side",
    "right": "side",
    "back": "back",
    "rear": "back",
    "behind": "back",
    "portrait": "portrait",
    "headshot": "portrait",
    "face": "portrait",
    "closeup": "portrait",
}


def guess_pose_from_name(name: str) -> str | None:
    """Guess a pose from a filename (``"hero_side_2.png"`` -> ``"side"``), or ``None``."""
    stem = os.path.basename(name).rsplit(".", 1)[0].lower()
    for word in re.split(r"[^a-z]+", stem):
        if word in _POSE_WORDS:
            return _POSE_WORDS[word]
    return None


def kind_problem(kind: str | None, data: bytes) -> tuple[str, str]:
    """(problem, fix) for a refused kind, e.g. ``("HEIC is not accepted", ACCEPTED)``."""
    if not data:
        return "the file is empty", "pick the image again"
    if kind == "text":
        return "a text file, not an image", ACCEPTED
    if kind is None:
        return "not a recognised image type", ACCEPTED
    return f"{kind.upper()} is not accepted", ACCEPTED
