"""Local facts about a reference image, found before any request is spent.

Type sniffing, decoding, the size and pixel checks, thumbnails and downscaling.
Pillow is imported lazily, inside functions.
"""

from __future__ import annotations

from ._check import CheckedImage, check_image
from ._decode import MAX_BYTES, MAX_SIDE, THUMB_SIDE
from ._sniff import ACCEPTED, guess_pose_from_name, sniff

__all__ = [
    "ACCEPTED",
    "MAX_BYTES",
    "MAX_SIDE",
    "THUMB_SIDE",
    "CheckedImage",
    "check_image",
    "guess_pose_from_name",
    "sniff",
]
