"""The Pillow half of a local image check: a full decode under the bomb guard, the thumbnail,
the downscale, and a bound on the decoded pixels held at once by parallel checks.

A JPEG that needs no downscale is decoded at a reduced DCT scale (``draft``): libjpeg still
reads the whole entropy-coded stream, so a damaged or truncated file is refused as before, but
the inverse DCT, colour conversion and thumbnail work on an image a few times the thumbnail's
size instead of the full photo. Pillow is imported lazily, inside functions.
"""

from __future__ import annotations

import io
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..errors import ImageCheckError

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image as PILImage

MAX_BYTES = 10 * 1024 * 1024
MAX_SIDE = 4096
THUMB_SIDE = 256

# Pillow's own default, used when a caller has switched the guard off globally.
_DEFAULT_BOMB_PIXELS = 89_478_485
# Pillow keeps RGB (and most modes) at 4 bytes per pixel.
_BYTES_PER_PIXEL = 4
DECODE_BUDGET = 64 * 1024 * 1024
"""Bytes of decoded pixels that checks running in parallel may hold at once (one image
larger than this is decoded alone): a 12-megapixel PNG holds ~50 MB while it is checked."""


# What Pillow raises for bytes that are not a valid image of the type (Image.open() turns
# most of them into UnidentifiedImageError, an OSError).
_DAMAGED = (OSError, SyntaxError, ValueError, IndexError, TypeError, EOFError, struct.error)


def fail(name: str, problem: str, fix: str, value: object = None) -> ImageCheckError:
    """``"<name>: <problem> — <fix>"`` as an ImageCheckError."""
    return ImageCheckError(f"{name}: {problem} — {fix}", source=name, value=value, fix=fix)


class _Budget:
    """A counting limit on bytes held across threads; a request above capacity waits to be alone."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.used = 0
        self._cond = threading.Condition()

    @contextmanager
    def hold(self, amount: int) -> Iterator[None]:
        amount = max(0, min(amount, self.capacity))
        with self._cond:
            self._cond.wait_for(lambda: self.used + amount <= self.capacity)
            self.used += amount
        try:
            yield
        finally:
            with self._cond:
                self.used -= amount
                self._cond.notify_all()


_budget = _Budget(DECODE_BUDGET)


def _thumb_size(width: int, height: int) -> tuple[int, int]:
    """The thumbnail's size for an image of ``width``×``height`` (no upscaling)."""
    scale = min(1.0, THUMB_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _plugin(kind: str) -> Any:
    """Pillow's image class for ``kind``: constructing it parses the header only."""
    from PIL import JpegImagePlugin, PngImagePlugin, WebPImagePlugin

    return {
        "jpeg": JpegImagePlugin.JpegImageFile,
        "png": PngImagePlugin.PngImageFile,
        "webp": WebPImagePlugin.WebPImageFile,
    }[kind]


@contextmanager
def decoded(
    name: str, data: bytes, kind: str, *, downscale: bool = False
) -> Iterator[tuple[PILImage.Image, int, int]]:
    """Decode ``data`` with the bomb guard on; yield ``(image, width, height)``, then close it.

    ``width``/``height`` are the image's real size, from its header. ``image`` is the whole
    photo, except for a JPEG that will not be downscaled: that one is decoded at the smallest
    DCT scale (1/2, 1/4 or 1/8) that still covers the thumbnail's size, since only the
    thumbnail is made from it (scaling in the DCT averages, so nothing aliases).

    Raises:
        ImageCheckError: a likely decompression bomb, or bytes that do not decode.
    """
    from PIL import Image

    # Pillow's plugin class, not Image.open(): the type is known, and Image.open()'s bomb
    # check warns through the global warnings filters, which threads cannot safely switch.
    # Ours refuses where Pillow would warn, also if a caller switched Pillow's guard off.
    limit = Image.MAX_IMAGE_PIXELS or _DEFAULT_BOMB_PIXELS
    try:
        probe = _plugin(kind)(io.BytesIO(data))
        width, height = probe.size  # the header's, before any draft
        if width * height > limit:
            probe.close()
            raise fail(
                name,
                f"declares {width}×{height} px, a likely decompression bomb",
                "use a normal photo or drawing",
                (width, height),
            )
        if kind == "png":
            probe.verify()  # chunk CRCs and IEND: catches truncated PNGs load() accepts
            probe = _plugin(kind)(io.BytesIO(data))
    except ImageCheckError:
        raise
    except _DAMAGED as exc:
        raise _undecodable(name, kind, exc) from exc
    with probe:
        shrinks = downscale and (max(width, height) > MAX_SIDE or len(data) > MAX_BYTES)
        # Only a JPEG that ends in its EOI marker takes the reduced-scale path: at a reduced
        # scale libjpeg may finish without asking for the missing EOI, so a file cut just
        # before it would pass; the full decode below refuses such a file.
        if kind == "jpeg" and not shrinks and data.endswith(b"\xff\xd9"):
            probe.draft("RGB", _thumb_size(width, height))
        cost = probe.width * probe.height * _BYTES_PER_PIXEL
        if shrinks:  # the resized copy is held next to the original
            cost *= 2
        with _budget.hold(cost):
            try:
                probe.load()
            except _DAMAGED as exc:
                raise _undecodable(name, kind, exc) from exc
            yield probe, width, height


def _undecodable(name: str, kind: str, exc: BaseException) -> ImageCheckError:
    detail = str(exc).split("\n")[0] or type(exc).__name__
    return fail(
        name,
        f"cannot be decoded as {kind.upper()} ({detail})",
        "the file is damaged or truncated; export it again",
    )


def thumbnail(image: PILImage.Image, width: int, height: int) -> bytes:
    """JPEG (or PNG with transparency) of at most THUMB_SIDE px, for an image whose real size
    is ``width``×``height`` (``image`` may be a reduced-scale decode of it)."""
    from PIL import Image

    # What Image.thumbnail() does, minus the full-size copy it would need to leave the
    # checked image untouched (36 MB and ~20 ms for a 12-megapixel photo).
    size = _thumb_size(width, height)
    thumb = image
    if size != image.size:
        thumb = image.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)
    buf = io.BytesIO()
    if "A" in thumb.getbands() or (thumb.mode == "P" and "transparency" in thumb.info):
        thumb.convert("RGBA").save(buf, "PNG", optimize=True)
    else:
        thumb.convert("RGB").save(buf, "JPEG", quality=80)
    return buf.getvalue()


def shrink(image: PILImage.Image, kind: str) -> tuple[bytes, str, int, int]:
    """Re-encode (and scale down) until the result fits MAX_SIDE and MAX_BYTES."""
    from PIL import Image

    has_alpha = "A" in image.getbands() or (image.mode == "P" and "transparency" in image.info)
    w, h = image.size
    scale = min(1.0, MAX_SIDE / max(w, h))
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
        if buf.tell() <= MAX_BYTES:
            return buf.getvalue(), out_kind, size[0], size[1]
        if out_kind == "png":
            # lossless PNG rarely shrinks enough: switch to a lossy format once
            out_kind = "webp" if has_alpha else "jpeg"
        else:
            scale *= 0.75
    raise RuntimeError("could not shrink image below the size limit")  # pragma: no cover
