"""Thumbnails at the size an output shows them: what keeps saved notebooks light.

A checked image carries a 256 px thumbnail (the widgets' cards show it at that size); a card in
an output shows it at 128 px or less, so outputs embed it shrunk to that size, about a quarter
of the bytes. Results are cached: the magic's live output redraws the same cards many times.
"""

from __future__ import annotations

import base64
import io
from functools import lru_cache

__all__ = ["at_size"]


@lru_cache(maxsize=128)
def at_size(uri: str, px: int) -> str:
    """``uri`` (a thumbnail ``data:`` URI) with its longer side at most ``px``; itself when it
    already is, or when it cannot be read (it is shown as it is then)."""
    from PIL import Image

    from ..images import data_uri

    head, _, payload = uri.partition(",")
    if not head.startswith("data:image/") or not head.endswith(";base64"):
        return uri
    try:
        with Image.open(io.BytesIO(base64.b64decode(payload))) as image:
            if max(image.size) <= px:
                return uri
            image.thumbnail((px, px), Image.Resampling.BICUBIC)
            out = io.BytesIO()
            if image.mode in ("RGBA", "LA", "P"):
                image.convert("RGBA").save(out, "PNG", optimize=True)
            else:
                image.convert("RGB").save(out, "JPEG", quality=80)
    except (OSError, ValueError):
        return uri
    return data_uri(out.getvalue())
