"""The local check of one reference image, and what it decides about the bytes to upload.

Before any request (cheap, from the header): the type from the magic bytes, the size, the
dimensions (seen upright: EXIF orientation applied), the bomb guard, and whether the file is
whole (JPEG EOI, PNG IEND, RIFF size; a JPEG without its EOI gets a full decode here). Then:

* nothing needs changing: the **original bytes** go up; only the GPS position is removed from
  the metadata by default, in place, without re-encoding (Orientation and every other tag stay);
* over 10 MiB or 4096 px (with ``downscale``), or HEIC/AVIF: the pixels are decoded, turned
  upright and re-encoded with their colour profile, the EXIF kept with Orientation 1 (GPS
  removed unless ``keep_metadata``), within 10 MiB and 4096 px.

The thumbnail is made on first use, from a reduced-scale decode of the whole file, which is
also the deep check of the pixel data; the flow makes it while the upload is in flight.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, Literal

from .._text import format_size
from ..limits import MAX_IMAGE_SIDE
from ._decode import bytes_opener, decoded, undecodable
from ._decode import fail as _fail
from ._downscale import needs_downscale, reencode
from ._header import Header, jpeg_scan_start, read_header
from ._image import CheckedImage, stored_how
from ._metadata import exif_bytes, has_location, strip_location
from ._read import Loaded, open_regular, read_source
from ._sniff import _AGREEING_EXT, _KINDS, CONVERTED

__all__ = ["MIN_USEFUL_SIDE", "CheckedImage", "FixStyle", "check_image"]

MIN_USEFUL_SIDE = 64
"""Pixels on the short side under which an image gets a warning: too small to show a face."""
_PRINT = 64 * 1024
"""Bytes from each end of a file that its fingerprint hashes (see ``same_bytes``)."""

FixStyle = Literal["python", "magic"]
"""How fixes name an option: ``downscale=True`` for Python callers, ``--downscale`` in a cell."""
_OPTION: dict[str, dict[str, str]] = {
    "python": {"downscale": "pass downscale=True"},
    "magic": {"downscale": "add --downscale"},
}


def _how(orientation: int) -> str:
    how = stored_how(orientation)
    return f" ({how})" if how else ""


def _fingerprint(loaded: Loaded) -> str:
    sha = hashlib.sha256(str(loaded.size).encode())
    sha.update(loaded.head[:_PRINT])
    if loaded.whole:
        sha.update(loaded.head[-_PRINT:])
    elif loaded.path is not None:
        with open_regular(loaded.path) as fh:
            sha.update(os.pread(fh.fileno(), _PRINT, max(0, loaded.size - _PRINT)))
    return sha.hexdigest()


def check_image(
    source: object,
    *,
    name: str | None = None,
    downscale: bool = False,
    keep_metadata: bool = False,
    fix_style: FixStyle = "python",
) -> CheckedImage:
    """Run the local checks on one reference image and decide the bytes to upload.

    Args:
        source: a path (``str``/``os.PathLike``, ``~`` expanded), ``bytes``, a binary file
            object (read from its current position) or a ``PIL.Image.Image`` (its file's
            bytes when it was opened from one and not changed, else its pixels as PNG).
        name: display filename; defaults to the path's basename or ``"image"``.
        downscale: shrink and re-encode an image over 4096 px or 10 MiB instead of refusing
            it; :attr:`CheckedImage.notice` says what changed.
        keep_metadata: upload the GPS position too (by default it is removed).
        fix_style: how a refusal names the downscale option (``downscale=True`` or
            ``--downscale``).

    Returns:
        The checked image. For a path source only the header stays in memory.

    Raises:
        ImageCheckError: one line naming the file, the value and the fix.
    """
    option = _OPTION[fix_style]["downscale"]
    loaded = read_source(source, name, None if downscale else f"shrink it, or {option}")
    shown, kind = loaded.name, loaded.kind
    header = read_header(shown, kind, loaded.head, loaded.tail, loaded.size)
    width, height = header.upright
    if max(width, height) > MAX_IMAGE_SIDE and not downscale:
        raise _fail(
            shown,
            f"{width}×{height} px{_how(header.orientation)} is larger than "
            f"{MAX_IMAGE_SIDE} px per side",
            f"resize it, or {option}",
            (width, height),
        )
    notices: list[str] = []
    if loaded.notice:
        notices.append(loaded.notice)
    ext = shown.rpartition(".")[2].lower() if "." in shown else ""
    if ext in _AGREEING_EXT and _AGREEING_EXT[ext] != kind and kind in _KINDS:
        notices.append(f"really a {kind.upper()}, uploaded as {_KINDS[kind][1]}")
    common: dict[str, Any] = {
        "name": shown,
        "source_kind": kind,
        "frames": header.frames,
        "_file_size": loaded.size,
        "_mtime_ns": loaded.mtime_ns,
        "_fingerprint": _fingerprint(loaded),
        "_stored": (header.width, header.height),
        "_icc": header.icc,
        "_source_data": loaded.head if loaded.path is None else None,
        "_source_path": loaded.path,
    }
    if kind in CONVERTED or needs_downscale(width, height, loaded.size):
        image = _reencoded(loaded, header, keep_metadata, common)
    else:
        image = _original(loaded, header, keep_metadata, common)
        if not header.whole:
            # no end marker: a cut file, or a camera's trailer after the EOI; a full decode
            # tells them apart before any request, and so does the EOI a trailer follows
            image.make_thumbnail(full=True)
            if kind == "jpeg" and not _jpeg_has_eoi(image, loaded.head):
                raise undecodable(shown, kind, EOFError("the end-of-image marker is missing"))
    if image.notice:
        notices.insert(0, image.notice)
    if header.frames > 1:
        notices.append(f"animated ({header.frames} frames): only the first frame is used")
    if min(width, height) < MIN_USEFUL_SIDE:
        notices.append(
            f"only {width}×{height} px: under {MIN_USEFUL_SIDE} px on the short side, too small "
            "to be a useful reference"
        )
    image.notice = "; ".join(notices) or None
    return image


def _original(
    loaded: Loaded, header: Header, keep_metadata: bool, common: dict[str, Any]
) -> CheckedImage:
    """The original bytes, with the location removed in place unless it is kept."""
    kind = loaded.kind
    extension, mime, _ = _KINDS[kind]
    head, notice = loaded.head, None
    if header.location and not keep_metadata:
        head = strip_location(loaded.head, kind)
        if has_location(head, kind):  # metadata too odd to edit in place: re-encode instead
            return _reencoded(loaded, header, keep_metadata, common)
        notice = "location removed"
    changed = head is not loaded.head
    size = len(head) + loaded.size - len(loaded.head)
    image = CheckedImage(
        extension=extension,
        mime=mime,
        kind=kind,
        size=size,
        width=header.upright[0],
        height=header.upright[1],
        notice=notice,
        orientation=header.orientation,
        location_removed=changed,
        location_kept=header.location and keep_metadata,
        **common,
    )
    if loaded.path is None or (changed and loaded.whole):
        image._data = head  # bytes in memory (or a small file's, edited)
    else:
        image.path = loaded.path
        if kind == "jpeg" or changed:
            # the header read for the check is the upload's start: the file is read once
            image._prefix, image._skip = head, len(loaded.head)
    return image


def _reencoded(
    loaded: Loaded, header: Header, keep_metadata: bool, common: dict[str, Any]
) -> CheckedImage:
    """Decode, turn upright and re-encode within the limits (HEIC/AVIF, or over a limit)."""
    kind, name = loaded.kind, loaded.name
    width, height = header.upright
    if loaded.whole:
        opener = bytes_opener(loaded.head)
    else:
        path = loaded.path
        assert path is not None
        opener = lambda: open_regular(path)  # noqa: E731
    scale = min(1.0, MAX_IMAGE_SIDE / max(width, height))
    draft = (max(1, int(header.width * scale)), max(1, int(header.height * scale)))
    exif = header.exif if kind in CONVERTED else exif_bytes(loaded.head, kind)
    with decoded(name, kind, opener, draft=draft, factor=2) as image:
        encoded = reencode(
            image,
            "jpeg" if kind in CONVERTED else kind,
            orientation=header.orientation,
            icc=header.icc,
            exif=exif,
            keep_location=keep_metadata,
        )
    what = []
    if kind in CONVERTED:
        what.append(f"converted from {CONVERTED[kind]}")
    if (encoded.width, encoded.height) != (width, height):
        what.append(f"downscaled from {width}×{height} to {encoded.width}×{encoded.height}")
    if not what:
        what.append("re-encoded")
    text = " and ".join(what)
    if encoded.kind != ("jpeg" if kind in CONVERTED else kind):
        text += f" as {encoded.kind.upper()}"
    notice = f"{text} ({format_size(loaded.size)} → {format_size(len(encoded.data))})"
    if header.location and not keep_metadata:
        notice += "; location removed"
    extension, mime, _ = _KINDS[encoded.kind]
    return CheckedImage(
        kind=encoded.kind,
        extension=extension,
        mime=mime,
        size=len(encoded.data),
        width=encoded.width,
        height=encoded.height,
        notice=notice,
        orientation=1,
        location_removed=header.location and not keep_metadata,
        location_kept=header.location and keep_metadata,
        _data=encoded.data,
        _thumb=encoded.thumbnail,
        **common,
    )


def _jpeg_has_eoi(image: CheckedImage, head: bytes) -> bool:
    """Whether the JPEG's entropy-coded data is followed by an EOI marker somewhere (a camera's
    trailer may come after it). Inside the scans 0xFF is always followed by 0x00 or a restart
    marker, so the first FF D9 after the first scan header is the image's end. A file cut
    exactly before its EOI can decode completely, which is why the decode alone cannot tell."""
    start = jpeg_scan_start(head)
    if start is None:
        return False
    with image._source_opener()() as stream:  # the bytes as read, not as uploaded
        stream.seek(start)
        carry = b""
        while chunk := stream.read(1 << 20):
            if b"\xff\xd9" in carry + chunk:
                return True
            carry = chunk[-1:]
    return False
