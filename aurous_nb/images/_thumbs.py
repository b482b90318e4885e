"""Thumbnails: at most 256 px, upright (EXIF orientation applied), 8-bit, JPEG (PNG with
transparency), with the photo's colour profile when it is small: the only image data that goes
into notebook outputs and widget state."""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image as PILImage

__all__ = [
    "THUMB_SIDE",
    "data_uri",
    "eight_bit",
    "embedded_thumbnail",
    "thumb_size",
    "thumbnail",
    "thumbnail_of",
    "upright",
]

THUMB_SIDE = 256
"""Largest side of a thumbnail in px."""
_MAX_THUMB_ICC = 4096
"""A colour profile up to this size rides along in the thumbnail (Display P3 is ~0.5 KB)."""


def thumb_size(width: int, height: int) -> tuple[int, int]:
    """The thumbnail's size for an image of ``width``×``height`` (no upscaling)."""
    scale = min(1.0, THUMB_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def upright(image: PILImage.Image, orientation: int) -> PILImage.Image:
    """``image`` turned the way EXIF Orientation ``orientation`` (1–8) says it is meant."""
    from PIL import Image

    method = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }.get(orientation)
    return image if method is None else image.transpose(method)


def has_alpha(image: PILImage.Image) -> bool:
    """Whether the image has transparency (an alpha band or a palette/grey ``tRNS``)."""
    return "A" in image.getbands() or "transparency" in image.info


def eight_bit(image: PILImage.Image) -> PILImage.Image:
    """``image`` in an 8-bit mode JPEG or PNG takes: ``RGB``/``RGBA``/``L``/``CMYK``.

    16-bit and 32-bit grey are scaled to 8 bits (not clipped, which turns a 16-bit picture
    white); palette and grey-alpha images become RGB(A).
    """
    mode = image.mode
    if mode in ("RGB", "RGBA", "L", "CMYK"):
        return image
    if mode.startswith("I;16") or mode == "I":
        top: float = 65535.0
        if mode == "I":
            extrema = image.getextrema()
            top = float(max(1, extrema[1])) if isinstance(extrema[1], (int, float)) else top
        grey = image if mode == "I" else image.convert("I")
        return grey.point(lambda v: v * (255 / top)).convert("L")
    if mode == "F":
        return image.convert("L")
    return image.convert("RGBA" if has_alpha(image) else "RGB")


def thumbnail(
    image: PILImage.Image,
    width: int,
    height: int,
    *,
    orientation: int = 1,
    icc: bytes | None = None,
) -> bytes:
    """JPEG (or PNG with transparency) of at most THUMB_SIDE px, upright.

    Args:
        image: the decoded pixels as stored (possibly a reduced-scale decode).
        width: the image's real stored width (``image`` may be smaller).
        height: the image's real stored height.
        orientation: the EXIF Orientation to apply.
        icc: the photo's colour profile, embedded when small so browsers show its colours.
    """
    from PIL import Image

    # What Image.thumbnail() does, minus the full-size copy it would need to leave the
    # decoded image untouched (36 MB and ~20 ms for a 12-megapixel photo).
    size = thumb_size(width, height)
    thumb = image
    if size != image.size:
        thumb = image.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)
    thumb = upright(eight_bit(thumb), orientation)
    profile = icc if icc and len(icc) <= _MAX_THUMB_ICC and thumb.mode != "CMYK" else None
    buf = io.BytesIO()
    extra = {"icc_profile": profile} if profile else {}
    if has_alpha(thumb):
        thumb.convert("RGBA").save(buf, "PNG", optimize=True, **extra)
    else:
        if thumb.mode not in ("RGB", "L"):
            thumb = thumb.convert("RGB")
        thumb.save(buf, "JPEG", quality=80, **extra)
    return buf.getvalue()


def thumbnail_of(data: bytes) -> bytes:
    """The thumbnail of an encoded image (e.g. a character's ref fetched from storage)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.draft("RGB", thumb_size(*image.size))  # JPEG: decode at a reduced scale
        width, height = image.size
        image.load()
        orientation = image.getexif().get(0x0112, 1)
        return thumbnail(image, width, height, orientation=orientation if orientation else 1)


_IFD1_OFFSET, _IFD1_LENGTH = 0x0201, 0x0202  # JPEGInterchangeFormat(Length)


def embedded_thumbnail(data: bytes, min_side: int) -> bytes | None:
    """The small JPEG a camera or phone stored in the photo's EXIF (IFD1), upright, when its
    longer side is at least ``min_side`` and its shape is the photo's; else None.

    Reading it costs a header parse and a decode of about 160×120 px, where
    :func:`thumbnail_of` entropy-decodes the whole photo (~10 ms for 1 MB). A thumbnail whose
    aspect ratio differs from the photo's (an editor cropped the photo and left the old
    thumbnail) is not used.
    """
    from PIL import Image, UnidentifiedImageError
    from PIL.ExifTags import IFD

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "JPEG":
                return None
            raw = image.info.get("exif", b"")
            exif = image.getexif()
            ifd1 = exif.get_ifd(IFD.IFD1)
            offset, length = ifd1.get(_IFD1_OFFSET), ifd1.get(_IFD1_LENGTH)
            width, height = image.size
            icc = image.info.get("icc_profile")  # the thumbnail's pixels are in it too
        if not raw.startswith(b"Exif\0\0") or not offset or not length:
            return None
        embedded = raw[6 + offset : 6 + offset + length]
        with Image.open(io.BytesIO(embedded)) as small:
            if small.format != "JPEG" or max(small.size) < min_side:
                return None
            if abs(small.width / small.height - width / height) > 0.02 * (width / height):
                return None
            orientation = exif.get(0x0112, 1) or 1
            if orientation == 1 and not icc and small.mode in ("RGB", "L"):
                return embedded
            small.load()
            return thumbnail(small, small.width, small.height, orientation=orientation, icc=icc)
    except (OSError, ValueError, SyntaxError, UnidentifiedImageError, ZeroDivisionError):
        return None


def data_uri(thumb: bytes) -> str:
    """A thumbnail as a ``data:`` URI for an ``<img src>``."""
    mime = "image/png" if thumb.startswith(b"\x89PNG") else "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(thumb).decode()}"
