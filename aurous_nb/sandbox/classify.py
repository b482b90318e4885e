"""Deterministic pose classifier and image checks for uploaded refs.

How the sandbox answers ``POST /v1/characters/uploads/classify`` — a pure function of
the ticket's filename and the uploaded bytes, so the same upload always gets the same
answer:

1. **Filename words** (the filename given to ``uploads/init``, lower-cased and split on
   anything that is not a letter, extension dropped):

   ======================================  ==========  ==========
   words                                   pose        confidence
   ======================================  ==========  ==========
   ``front``, ``frontal``                  front       0.95
   ``side``, ``profile``, ``lateral``      side        0.93
   ``back``, ``rear``, ``behind``          back        0.92
   ``portrait``, ``face``, ``headshot``,   portrait    0.94
   ``closeup``
   ======================================  ==========  ==========

   Words of two different poses (``front_and_side.png``): the first one wins at 0.6.
2. **Image evidence** when no word matches, from the aspect ratio ``w / h`` of the picture
   as it is meant to be seen (EXIF Orientation 5–8 swap the stored sides, as a real pose
   classifier sees a portrait phone photo upright):
   near-square (0.9–1.1) → ``portrait`` 0.55 (head crops are square-ish); tall
   (< 0.7, a standing figure) → ``front`` 0.45; anything else → ``other`` 0.3.

Image checks (§14): the bytes must decode as the ticket's declared type and be at most
4096 px on each side. Results are cached per SHA-256 digest, so checking the same bytes
again costs a dictionary lookup; JPEGs are decoded at 1/8 scale to keep it cheap.
"""

from __future__ import annotations

import io
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

_WORDS: dict[str, tuple[str, float]] = {}
for _pose, _conf, _words in (
    ("front", 0.95, ("front", "frontal")),
    ("side", 0.93, ("side", "profile", "lateral")),
    ("back", 0.92, ("back", "rear", "behind")),
    ("portrait", 0.94, ("portrait", "face", "headshot", "closeup")),
):
    for _word in _words:
        _WORDS[_word] = (_pose, _conf)

MIXED_CONFIDENCE = 0.6
FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


@dataclass(frozen=True)
class ImageFacts:
    """What Pillow could tell about some bytes."""

    format: str | None  # Pillow's name ("JPEG", "PNG", "WEBP", ...); None if unreadable
    width: int = 0  # upright: EXIF Orientation applied
    height: int = 0
    decodes: bool = False  # the pixel data decoded without error


_cache: OrderedDict[str, ImageFacts] = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_SIZE = 4096
_DECODE_LIMIT = 4096  # larger images are never decoded (they fail the size check)


def image_facts(data: bytes, digest: str) -> ImageFacts:
    """Format, size and decodability of ``data`` (cached by ``digest``)."""
    with _cache_lock:
        facts = _cache.get(digest)
        if facts is not None:
            _cache.move_to_end(digest)
            return facts
    facts = _inspect(data)
    with _cache_lock:
        _cache[digest] = facts
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return facts


def _inspect(data: bytes) -> ImageFacts:
    from PIL import Image  # lazy: keeps `import aurous_nb.sandbox` light

    try:
        img = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return ImageFacts("TOO_LARGE", 1 << 30, 1 << 30, False)
    except Exception:  # noqa: BLE001 - anything Pillow cannot open is "not an image"
        return ImageFacts(None)
    width, height = img.size
    fmt = img.format
    try:
        if img.getexif().get(0x0112) in (5, 6, 7, 8):  # stored on its side
            width, height = height, width
    except Exception:  # noqa: BLE001 - unreadable EXIF: the stored size it is
        pass
    if max(width, height) > _DECODE_LIMIT:  # the size check rejects it; skip the work
        return ImageFacts(fmt, width, height, True)
    try:
        if fmt == "JPEG":
            img.draft("RGB", (max(1, width // 8), max(1, height // 8)))
        img.load()
    except Exception:  # noqa: BLE001 - truncated or corrupt pixel data
        return ImageFacts(fmt, width, height, False)
    return ImageFacts(fmt, width, height, True)


def check_image(facts: ImageFacts, content_type: str, max_side: int) -> str | None:
    """Why these bytes are not acceptable for a ticket of ``content_type``, or ``None``."""
    kind = content_type.split("/")[-1].upper()
    if facts.format == "TOO_LARGE":
        return f"the image is larger than {max_side} px on a side"
    if facts.format != FORMATS.get(content_type) or not facts.decodes:
        return f"the uploaded bytes do not decode as {content_type} ({kind})"
    if max(facts.width, facts.height) > max_side:
        return (
            f"the image is {facts.width}x{facts.height} px; "
            f"at most {max_side} px on each side is accepted"
        )
    return None


def classify(filename: str, facts: ImageFacts) -> tuple[str, float]:
    """Pose and confidence for an upload (see the module docstring for the rules)."""
    stem = filename.rsplit(".", 1)[0] if "." in filename else filename
    hits = [_WORDS[w] for w in re.split(r"[^a-z]+", stem.lower()) if w in _WORDS]
    if hits:
        pose, confidence = hits[0]
        if any(other != pose for other, _ in hits[1:]):
            return pose, MIXED_CONFIDENCE
        return pose, confidence
    if facts.width <= 0 or facts.height <= 0:
        return "other", 0.3
    ratio = facts.width / facts.height
    if 0.9 <= ratio <= 1.1:
        return "portrait", 0.55
    if ratio < 0.7:
        return "front", 0.45
    return "other", 0.3
