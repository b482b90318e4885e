"""What the API accepts, as numbers (shared/API.md §9, §14): each limit is stated once, here.

The local checks (images, names, attributes), the magics, the widgets and the browser code all
read their limits from this module; the widgets pass them to the browser as a trait.
"""

from __future__ import annotations

from datetime import timedelta

__all__ = [
    "ACCEPTED_TYPES",
    "INIT_EXTENSIONS",
    "MAX_FILENAME",
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_SIDE",
    "MAX_NAME",
    "MAX_REFS",
    "TICKET_TTL",
    "URL_TTL",
]

MAX_REFS = 6
"""Reference images per character (1–6)."""
MAX_IMAGE_BYTES = 10 * 1024 * 1024
"""Bytes per image on the upload host (10 MiB)."""
MAX_IMAGE_SIDE = 4096
"""Pixels on either side of an image."""
MAX_NAME = 100
"""Characters in a character's name (1–100)."""
MAX_FILENAME = 120
"""Characters in the ``filename`` of an upload ticket (1–120)."""
ACCEPTED_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
"""The image types init takes, by kind, with their content types."""
INIT_EXTENSIONS = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
}
"""The ``extension`` values init takes, each with the ``content_type`` it must agree with."""
URL_TTL = timedelta(minutes=15)
"""How long a signed upload URL works after it was minted."""
TICKET_TTL = timedelta(hours=24)
"""How long an upload ticket (``upload_id``) lives after it was minted."""
