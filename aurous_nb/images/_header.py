"""What an image's header says, without decoding a pixel: stored size, mode, EXIF orientation,
colour profile, frames, location, and whether the container ends where it says it does.

This is the cheap half of a local check: it reads a JPEG only up to its first scan (plus its
last bytes), so it costs microseconds for a 10 MB photo. HEIC is parsed by ``pi_heif`` and
AVIF by Pillow; both are converted later, so their whole file is at hand.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ._decode import DAMAGED, bomb_limit, fail, heif_module, open_header, undecodable
from ._metadata import has_location, read_orientation
from ._sniff import ACCEPTED

__all__ = ["Header", "jpeg_scan_start", "read_header"]

_EXIF_GPS_IFD = 0x8825
_EXIF_ORIENTATION = 0x0112
_PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"


@dataclass(frozen=True)
class Header:
    """The facts a header gives.

    Attributes:
        width: stored width in px, as the header says (before any EXIF rotation).
        height: stored height in px.
        mode: Pillow's mode (``"RGB"``, ``"CMYK"``, ``"I;16"``, ``"P"``...).
        orientation: EXIF Orientation 1–8 that a viewer applies to the stored pixels (1 for
            HEIC: libheif applies the file's own rotation when decoding).
        icc: the embedded ICC profile, or None.
        frames: frames of an animation (1 for a still image).
        location: the metadata carries a GPS position.
        whole: the container ends where it says (JPEG EOI, PNG IEND, RIFF size): a file cut
            short fails this without a decode.
        exif: the raw EXIF block of a HEIC/AVIF (written again on conversion), else None.
    """

    width: int
    height: int
    mode: str
    orientation: int = 1
    icc: bytes | None = None
    frames: int = 1
    location: bool = False
    whole: bool = True
    exif: bytes | None = None

    @property
    def upright(self) -> tuple[int, int]:
        """(width, height) as the picture is meant to be seen (EXIF 5–8 swap the sides)."""
        if self.orientation in (5, 6, 7, 8):
            return self.height, self.width
        return self.width, self.height


def jpeg_scan_start(data: bytes) -> int | None:
    """Offset of the first SOS segment's end (where the entropy-coded data begins), or None
    when ``data`` stops before it. Raises ValueError for bytes that are not JPEG markers."""
    try:
        for marker, _start, end in _jpeg_segments(data):
            if marker == 0xDA:
                return end
    except _Short:
        return None
    except SyntaxError as exc:
        raise ValueError(str(exc)) from None
    return None


class _Short(SyntaxError):
    """The bytes stop in the middle of a JPEG segment (read more of the file)."""


def _refuse_bomb(width: int, height: int) -> None:
    if width * height > bomb_limit():
        raise _Bomb(width, height)


class _Bomb(Exception):
    """An image declaring more pixels than the bomb guard allows (turned into the refusal)."""

    def __init__(self, width: int, height: int) -> None:
        super().__init__(width, height)
        self.size = (width, height)


def read_header(name: str, kind: str, head: bytes, tail: bytes, size: int) -> Header:
    """The header facts of an image of ``kind``.

    Args:
        name: the display name, for errors.
        kind: the sniffed kind.
        head: the file's first bytes: a JPEG up to the end of its first SOS segment, any other
            kind whole.
        tail: the file's last bytes (at least 16).
        size: the file's size in bytes.

    Raises:
        ImageCheckError: the header cannot be read.
    """
    try:
        header = _read(name, kind, head, tail, size)
        _refuse_bomb(header.width, header.height)
        return header
    except _Bomb as bomb:
        width, height = bomb.size
        raise fail(
            name,
            f"declares {width}×{height} px, a likely decompression bomb",
            "use a normal photo or drawing",
            (width, height),
        ) from None
    except DAMAGED as exc:
        raise undecodable(name, kind, exc) from exc


def _read(name: str, kind: str, head: bytes, tail: bytes, size: int) -> Header:
    if kind == "jpeg":
        return _jpeg(head, tail)
    if kind == "png":
        return _png(head)
    if kind == "webp":
        return _webp(head, size)
    if kind == "heic":
        return _heic(name, head)
    if kind == "avif":
        return _avif(head)
    raise fail(name, f"{kind.upper()} is not accepted", ACCEPTED)  # pragma: no cover


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_JPEG_MODES = {1: "L", 3: "RGB", 4: "CMYK"}


def _jpeg_segments(head: bytes) -> Iterator[tuple[int, int, int]]:
    """(marker, body start, body end) of each segment up to the first scan (SOS, included).

    Raises:
        _Short: ``head`` stops inside a segment or before the first scan's header.
        SyntaxError: bytes that are not JPEG markers, or an EOI before any scan.
    """
    pos, size = 2, len(head)
    while True:
        if pos + 4 > size:
            raise _Short("the header stops before the first scan")
        if head[pos] != 0xFF:
            raise SyntaxError(f"no JPEG marker at byte {pos}")
        marker = head[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # markers without a length
            pos += 2
            continue
        if marker == 0xD9:
            raise SyntaxError("the image ends before its first scan")
        end = pos + 2 + struct.unpack_from(">H", head, pos + 2)[0]
        if end > size:
            raise _Short("a JPEG segment runs past the bytes read")
        yield marker, pos + 4, end
        if marker == 0xDA:
            return
        pos = end


def _jpeg(head: bytes, tail: bytes) -> Header:
    """The frame header (SOF) and the ICC profile (APP2 ``ICC_PROFILE`` pieces), read with the
    standard library: a JPEG's header is a list of segments, and this is all we need of it."""
    size: tuple[int, int, int] | None = None
    icc: dict[int, bytes] = {}
    for marker, start, end in _jpeg_segments(head):
        if marker in _SOF and size is None:
            _bits, height, width, components = struct.unpack_from(">BHHB", head, start)
            size = (width, height, components)
        elif marker == 0xE2 and head.startswith(b"ICC_PROFILE\0", start) and end - start > 14:
            icc[head[start + 12]] = head[start + 14 : end]
        elif marker == 0xDA:
            break
    if size is None:
        raise SyntaxError("no frame header (SOF) before the first scan")
    width, height, components = size
    if not width or not height:
        raise SyntaxError(f"the frame header says {width}×{height} px")
    mode = _JPEG_MODES.get(components)
    if mode is None:
        raise SyntaxError(f"{components} colour components")
    return Header(
        width,
        height,
        mode,
        orientation=read_orientation(head, "jpeg"),
        icc=b"".join(icc[k] for k in sorted(icc)) or None,
        location=has_location(head, "jpeg"),
        # a camera may write data after the EOI (a trailer); such a file gets a full decode
        whole=tail.endswith(b"\xff\xd9"),
    )


def _png(data: bytes) -> Header:
    from PIL import PngImagePlugin

    with PngImagePlugin.PngImageFile(io.BytesIO(data)) as image:
        width, height = image.size
        mode = image.mode
        icc = image.info.get("icc_profile") or None
        frames = int(getattr(image, "n_frames", 1) or 1)
    _refuse_bomb(width, height)  # before the CRC pass, which a header-only bomb fails
    with PngImagePlugin.PngImageFile(io.BytesIO(data)) as image:
        image.verify()  # chunk CRCs up to IEND: no inflate, no pixels
    return Header(
        width,
        height,
        mode,
        orientation=read_orientation(data, "png"),
        icc=icc,
        frames=frames,
        location=has_location(data, "png"),
        whole=data.endswith(_PNG_IEND),
    )


def _webp(data: bytes, size: int) -> Header:
    from PIL import WebPImagePlugin

    riff = 8 + struct.unpack_from("<I", data, 4)[0]
    with WebPImagePlugin.WebPImageFile(io.BytesIO(data)) as image:
        width, height = image.size
        mode = image.mode
        icc = image.info.get("icc_profile") or None
        frames = int(getattr(image, "n_frames", 1) or 1)
    return Header(
        width,
        height,
        mode,
        orientation=read_orientation(data, "webp"),
        icc=icc,
        frames=frames,
        location=has_location(data, "webp"),
        whole=size in (riff, riff + 1),
    )


def _exif_facts(raw: bytes | None) -> tuple[int, bool]:
    """(orientation, has GPS) of a raw EXIF block (with or without the ``Exif\\0\\0`` prefix)."""
    if not raw:
        return 1, False
    from PIL import Image

    exif = Image.Exif()
    try:
        exif.load(raw[6:] if raw.startswith(b"Exif\0\0") else raw)
        gps = bool(exif.get_ifd(_EXIF_GPS_IFD))
        value = exif.get(_EXIF_ORIENTATION, 1)
    except DAMAGED:
        return 1, False
    orientation = value if isinstance(value, int) and 1 <= value <= 8 else 1
    return orientation, gps


def _heic(name: str, data: bytes) -> Header:
    heif: Any = heif_module(name)
    image = heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
    raw = image.info.get("exif")
    _orientation, gps = _exif_facts(raw)
    width, height = image.size  # libheif's, with the file's rotation (irot/imir) applied
    return Header(
        width,
        height,
        image.mode,
        orientation=1,  # the decoded pixels are upright whatever the EXIF still says
        icc=image.info.get("icc_profile") or None,
        frames=1,
        location=gps,
        exif=raw,
    )


def _avif(data: bytes) -> Header:
    with open_header("avif", io.BytesIO(data)) as image:
        width, height = image.size
        mode = image.mode
        icc = image.info.get("icc_profile") or None
        frames = int(getattr(image, "n_frames", 1) or 1)
        raw = image.info.get("exif")
        orientation, gps = _exif_facts(raw)
    # Pillow moves AVIF's irot/imir into the EXIF Orientation without applying it, as for JPEG
    return Header(
        width,
        height,
        mode,
        orientation=orientation,
        icc=icc,
        frames=frames,
        location=gps,
        exif=raw,
    )
