"""Downscaling: re-encode an image that is over the API's pixel or byte limit until it fits."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from ..limits import MAX_IMAGE_BYTES, MAX_IMAGE_SIDE

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image as PILImage

__all__ = ["needs_downscale", "shrink"]


def needs_downscale(width: int, height: int, size: int) -> bool:
    """Whether an image of this size is over a limit of the API."""
    return max(width, height) > MAX_IMAGE_SIDE or size > MAX_IMAGE_BYTES


def shrink(image: PILImage.Image, kind: str) -> tuple[bytes, str, int, int]:
    """Re-encode (and scale down) until the result fits MAX_IMAGE_SIDE and MAX_IMAGE_BYTES."""
    from PIL import Image

    has_alpha = "A" in image.getbands() or (image.mode == "P" and "transparency" in image.info)
    w, h = image.size
    scale = min(1.0, MAX_IMAGE_SIDE / max(w, h))
    out_kind = kind
    for _attempt in range(8):
        size = (max(1, int(w * scale)), max(1, int(h * scale)))
        im = image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        if out_kind == "png":
            im.save(buf, "PNG", optimize=True)
        elif out_kind == "webp":
            im.save(buf, "WEBP", quality=90)
        else:
            im.convert("RGB").save(buf, "JPEG", quality=90)
        if buf.tell() <= MAX_IMAGE_BYTES:
            return buf.getvalue(), out_kind, size[0], size[1]
        if out_kind == "png":
            # lossless PNG rarely shrinks enough: switch to a lossy format once
            out_kind = "webp" if has_alpha else "jpeg"
        else:
            scale *= 0.75
    raise RuntimeError("could not shrink image below the size limit")  # pragma: no cover
