"""The Pillow half of a local image check: a full decode under the bomb guard, and a bound on
the decoded pixels held at once by parallel checks.

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
from ._downscale import needs_downscale
from ._thumbs import thumb_size

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image as PILImage


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
        shrinks = downscale and needs_downscale(width, height, len(data))
        # Only a JPEG that ends in its EOI marker takes the reduced-scale path: at a reduced
        # scale libjpeg may finish without asking for the missing EOI, so a file cut just
        # before it would pass; the full decode below refuses such a file.
        if kind == "jpeg" and not shrinks and data.endswith(b"\xff\xd9"):
            probe.draft("RGB", thumb_size(width, height))
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
