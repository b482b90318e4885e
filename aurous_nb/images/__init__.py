"""Local facts about a reference image, found before any request is spent.

Type sniffing, decoding, the size and pixel checks, thumbnails and downscaling.
Pillow is imported lazily, inside functions.
"""

from __future__ import annotations

from ._check import CheckedImage, check_image
from ._sniff import ACCEPTED, guess_pose_from_name, kind_problem, sniff
from ._thumbs import THUMB_SIDE, data_uri, thumbnail_of

__all__ = [
    "ACCEPTED",
    "THUMB_SIDE",
    "CheckedImage",
    "check_image",
    "data_uri",
    "guess_pose_from_name",
    "kind_problem",
    "sniff",
    "thumbnail_of",
]
