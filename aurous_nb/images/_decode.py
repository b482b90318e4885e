"""The Pillow half of a local check: decoding pixels under the bomb guard, a bound on the
decoded pixels held at once by parallel decodes, and the HEIC decoder (``pi_heif``).

A decode reads its bytes from a stream (the file itself for a path source), 64 KiB at a time,
so a 10 MB photo is never held whole just to be decoded. A JPEG decoded for its thumbnail is
decoded at a reduced DCT scale (``draft``): libjpeg still reads the whole entropy-coded
stream, so a damaged file is still refused, but the inverse DCT and colour conversion work on
an image a few times the thumbnail's size. Pillow is imported lazily, inside functions.
"""

from __future__ import annotations

import io
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, BinaryIO

from ..errors import ImageCheckError

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image as PILImage

__all__ = ["DAMAGED", "DECODE_BUDGET", "decoded", "fail", "heif_module", "undecodable"]

# Pillow's own default, used when a caller has switched the guard off globally.
_DEFAULT_BOMB_PIXELS = 89_478_485
# Pillow keeps RGB (and most modes) at 4 bytes per pixel.
_BYTES_PER_PIXEL = 4
DECODE_BUDGET = 64 * 1024 * 1024
"""Bytes of decoded pixels that decodes running in parallel may hold at once (one image
larger than this is decoded alone): a 12-megapixel photo holds ~50 MB while it is re-encoded."""

HEIF_INSTALL = "pip install pi-heif"
"""The command that installs the HEIC decoder (a dependency; missing only on odd platforms)."""

# What Pillow raises for bytes that are not a valid image of the type (Image.open() turns
# most of them into UnidentifiedImageError, an OSError).
DAMAGED = (OSError, SyntaxError, ValueError, IndexError, TypeError, EOFError, struct.error)


def fail(name: str, problem: str, fix: str, value: object = None) -> ImageCheckError:
    """``"<name>: <problem> — <fix>"`` as an ImageCheckError."""
    return ImageCheckError(f"{name}: {problem} — {fix}", source=name, value=value, fix=fix)


def undecodable(name: str, kind: str, exc: BaseException) -> ImageCheckError:
    """The refusal of bytes that claim to be ``kind`` and do not decode."""
    detail = str(exc).split("\n")[0] or type(exc).__name__
    return fail(
        name,
        f"cannot be decoded as {kind.upper()} ({detail})",
        "the file is damaged or truncated; export it again",
        kind,
    )


def bomb_limit() -> int:
    """Most pixels an image may declare (Pillow's guard; its default if switched off)."""
    from PIL import Image

    return Image.MAX_IMAGE_PIXELS or _DEFAULT_BOMB_PIXELS


def heif_module(name: str) -> Any:
    """The ``pi_heif`` module (HEIC decoder), or the one-line refusal naming the install."""
    try:
        import pi_heif
    except ImportError:
        raise fail(
            name,
            "HEIC needs a decoder that is not installed",
            f"run `{HEIF_INSTALL}` (or export the photo as JPEG)",
            "heic",
        ) from None
    return pi_heif


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
    """Pillow's image class for ``kind``: constructing it parses the header only.

    Pillow's plugin class, not Image.open(): the type is known, and Image.open()'s bomb check
    warns through the global warnings filters, which threads cannot safely switch. Ours
    refuses (in the header check) where Pillow would warn, also if a caller switched it off.
    """
    if kind == "avif":
        try:
            from PIL import AvifImagePlugin
        except ImportError:  # a Pillow built without libavif
            raise OSError("this Pillow cannot decode AVIF (pip install -U pillow)") from None
        return AvifImagePlugin.AvifImageFile
    from PIL import JpegImagePlugin, PngImagePlugin, WebPImagePlugin

    return {
        "jpeg": JpegImagePlugin.JpegImageFile,
        "png": PngImagePlugin.PngImageFile,
        "webp": WebPImagePlugin.WebPImageFile,
    }[kind]


def open_header(kind: str, stream: BinaryIO) -> PILImage.Image:
    """Pillow's image of ``kind`` on ``stream``, header parsed, no pixels decoded."""
    image: PILImage.Image = _plugin(kind)(stream)
    return image


@contextmanager
def decoded(
    name: str,
    kind: str,
    opener: Callable[[], BinaryIO],
    *,
    draft: tuple[int, int] | None = None,
    factor: int = 1,
) -> Iterator[PILImage.Image]:
    """Decode the image ``opener()`` streams; yield it (first frame), then close it.

    Args:
        name: display name, for errors.
        kind: the sniffed kind (``jpeg``, ``png``, ``webp``, ``heic``, ``avif``).
        opener: returns a fresh binary stream of the file's bytes (closed here).
        draft: for a JPEG, the smallest size the decode may be reduced to (DCT scaling).
        factor: how many copies of the decoded pixels the caller will hold at once (for the
            decode budget: a re-encode holds the resized copy too).

    Raises:
        ImageCheckError: bytes that do not decode.
    """
    with opener() as stream:
        if kind == "heic":
            heif = heif_module(name)
            try:
                heif_image = heif.open_heif(stream, convert_hdr_to_8bit=True)
                width, height = heif_image.size
            except DAMAGED as exc:
                raise undecodable(name, kind, exc) from exc
            # libheif's decoded planes and Pillow's copy of them
            with _budget.hold(width * height * _BYTES_PER_PIXEL * (factor + 1)):
                try:
                    image = heif_image.to_pillow()
                except DAMAGED as exc:
                    raise undecodable(name, kind, exc) from exc
                yield image
            return
        try:
            image = open_header(kind, stream)
        except DAMAGED as exc:
            raise undecodable(name, kind, exc) from exc
        with image:
            if kind == "jpeg" and draft is not None:
                image.draft(image.mode if image.mode == "CMYK" else "RGB", draft)
            cost = image.width * image.height * _BYTES_PER_PIXEL * factor
            with _budget.hold(cost):
                try:
                    image.load()
                except DAMAGED as exc:
                    raise undecodable(name, kind, exc) from exc
                yield image


def bytes_opener(data: bytes) -> Callable[[], BinaryIO]:
    """An ``opener`` for :func:`decoded` over bytes in memory."""
    return lambda: io.BytesIO(data)
