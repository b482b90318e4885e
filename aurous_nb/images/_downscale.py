"""Re-encoding, when the original bytes cannot go up as they are (over a limit, or HEIC/AVIF):
pixels turned upright, the colour profile kept, the EXIF kept with Orientation 1 and without
GPS (unless asked), and the result within 10 MiB and 4096 px.

Colour: the pixels are not converted, and the source's ICC profile is embedded in the new file,
so a Display P3 photo stays Display P3 (a viewer that honours profiles shows the same colours).
A CMYK photo with a profile is converted to sRGB through it, and the sRGB profile embedded.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..limits import MAX_IMAGE_BYTES, MAX_IMAGE_SIDE
from ._thumbs import eight_bit, has_alpha, thumbnail, upright

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image as PILImage

__all__ = ["Encoded", "needs_downscale", "reencode"]

_ORIENTATION = 0x0112
_GPS_IFD = 0x8825
_JPEG_QUALITY = 90


def needs_downscale(width: int, height: int, size: int) -> bool:
    """Whether an image of this size is over a limit of the API."""
    return max(width, height) > MAX_IMAGE_SIDE or size > MAX_IMAGE_BYTES


@dataclass(frozen=True)
class Encoded:
    """The bytes a re-encode produced, with their facts and their thumbnail."""

    data: bytes
    kind: str
    width: int
    height: int
    thumbnail: bytes


def _exif_for(raw: bytes | None, keep_location: bool) -> bytes | None:
    """The EXIF block for the new file: the same tags, Orientation 1, GPS gone unless kept."""
    if not raw:
        return None
    from PIL import Image

    exif = Image.Exif()
    try:
        exif.load(raw[6:] if raw.startswith(b"Exif\0\0") else raw)
        for ifd in (0x8769, _GPS_IFD):  # load the sub-IFDs so tobytes() writes them again
            exif.get_ifd(ifd)
        exif[_ORIENTATION] = 1
        if not keep_location:
            exif.pop(_GPS_IFD, None)
            exif._ifds.pop(_GPS_IFD, None)  # noqa: SLF001 - the loaded GPS IFD
        return bytes(exif.tobytes())
    except Exception:  # noqa: BLE001 - damaged EXIF: the new file simply carries none
        return None


def _to_srgb(image: PILImage.Image, icc: bytes) -> tuple[PILImage.Image, bytes]:
    """A CMYK image converted to sRGB through its profile, and the sRGB profile's bytes."""
    from PIL import ImageCms

    source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    converted = ImageCms.profileToProfile(image, source, srgb, outputMode="RGB")
    assert converted is not None
    return converted, srgb.tobytes()


def reencode(
    image: PILImage.Image,
    kind: str,
    *,
    orientation: int = 1,
    icc: bytes | None = None,
    exif: bytes | None = None,
    keep_location: bool = False,
) -> Encoded:
    """Encode ``image`` upright until it fits MAX_IMAGE_SIDE and MAX_IMAGE_BYTES.

    Args:
        image: the decoded pixels as stored.
        kind: the kind to write: ``"jpeg"``, ``"png"`` or ``"webp"`` (a PNG that stays over
            10 MiB becomes JPEG, or WebP when it has transparency).
        orientation: the EXIF Orientation of the stored pixels (applied here).
        icc: the source's colour profile (embedded again).
        exif: the source's EXIF block (written again with Orientation 1).
        keep_location: keep the EXIF GPS position.
    """
    from PIL import Image

    picture = upright(eight_bit(image), orientation)
    if picture.mode == "CMYK" and icc:
        try:
            picture, icc = _to_srgb(picture, icc)
        except Exception:  # noqa: BLE001 - an unusable profile: convert without it
            picture, icc = picture.convert("RGB"), None
    alpha = has_alpha(picture)
    new_exif = _exif_for(exif, keep_location)
    w, h = picture.size
    scale = min(1.0, MAX_IMAGE_SIDE / max(w, h))
    out_kind = "png" if kind == "jpeg" and alpha else kind
    for _attempt in range(12):
        size = (max(1, int(w * scale)), max(1, int(h * scale)))
        im = picture if size == picture.size else picture.resize(size, Image.Resampling.LANCZOS)
        params: dict[str, object] = {}
        if icc:
            params["icc_profile"] = icc
        if new_exif:
            params["exif"] = new_exif
        buf = io.BytesIO()
        if out_kind == "png":
            im.save(buf, "PNG", optimize=True, **params)
        elif out_kind == "webp":
            im.save(buf, "WEBP", quality=_JPEG_QUALITY, **params)
        else:
            if im.mode not in ("RGB", "L", "CMYK"):
                im = im.convert("RGB")
            im.save(buf, "JPEG", quality=_JPEG_QUALITY, **params)
        if buf.tell() <= MAX_IMAGE_BYTES:
            return Encoded(
                buf.getvalue(), out_kind, size[0], size[1], thumbnail(im, *size, icc=icc)
            )
        if out_kind == "png":
            # lossless PNG rarely shrinks enough: switch to a lossy format once
            out_kind = "webp" if alpha else "jpeg"
        else:
            scale *= 0.75
    raise RuntimeError("could not shrink image below the size limit")  # pragma: no cover
