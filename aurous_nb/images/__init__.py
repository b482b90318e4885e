"""Local facts about a reference image, found before any request is spent.

Type sniffing, the header facts (size seen upright, orientation, location, frames), the
decode and its thumbnails, the location removed in place, conversion (HEIC, AVIF) and
downscaling. Pillow is imported lazily, inside functions.
"""

from __future__ import annotations

from ._check import MIN_USEFUL_SIDE, CheckedImage, FixStyle, check_image
from ._decode import HEIF_INSTALL
from ._names import printable_name, upload_filename
from ._sniff import (
    ACCEPTED,
    CONVERTED,
    IMAGE_SUFFIXES,
    accepted_kind,
    guess_pose_from_name,
    kind_problem,
    sniff,
)
from ._thumbs import THUMB_SIDE, data_uri, embedded_thumbnail, thumbnail_of

__all__ = [
    "ACCEPTED",
    "CONVERTED",
    "HEIF_INSTALL",
    "IMAGE_SUFFIXES",
    "MIN_USEFUL_SIDE",
    "THUMB_SIDE",
    "CheckedImage",
    "FixStyle",
    "accepted_kind",
    "check_image",
    "data_uri",
    "embedded_thumbnail",
    "guess_pose_from_name",
    "kind_problem",
    "printable_name",
    "sniff",
    "thumbnail_of",
    "upload_filename",
]
