"""Reading a reference image from whatever was given: a path (regular files only, refused from
its first bytes before the rest is read), bytes, a binary file object or a PIL image.

A JPEG file is read only up to its first scan (the header, usually under 64 KiB) and its last
bytes: the header is all the local check needs, and it is reused as the first bytes of the
upload, so the rest of the file is read once, while it is sent. Other kinds are read whole
(PNG and WebP keep metadata anywhere in the file; HEIC and AVIF are converted).
"""

from __future__ import annotations

import errno
import io
import os
import stat
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from .._text import format_size
from ..errors import ImageCheckError
from ..limits import MAX_IMAGE_BYTES
from ._decode import fail as _fail
from ._header import jpeg_scan_start
from ._names import printable_name
from ._sniff import CONVERTED, accepted_kind, kind_problem, sniff

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image as PILImage

__all__ = ["Loaded", "open_regular", "read_source", "too_big"]

_HEAD = 64 * 1024
_TAIL = 16
_PIL_FORMATS = {"JPEG", "PNG", "WEBP", "AVIF", "HEIF"}


@dataclass(frozen=True)
class Loaded:
    """A source as read for its check.

    Attributes:
        name: display name (valid UTF-8).
        kind: the sniffed kind (accepted or converted).
        path: the absolute path for a file source, else None.
        size: the file's (or the bytes') size.
        head: the first bytes: a JPEG file's header (at least up to its first scan), otherwise
            every byte.
        tail: the last bytes.
        whole: ``head`` is every byte of the source.
        mtime_ns: the file's modification time when it was read (0 for other sources).
        notice: something to tell about how the source was read (a PIL image from a file).
    """

    name: str
    kind: str
    path: str | None
    size: int
    head: bytes
    tail: bytes
    whole: bool
    mtime_ns: int = 0
    notice: str | None = None


def too_big(name: str, size: int, fix: str) -> ImageCheckError:
    shown, limit = format_size(size), format_size(MAX_IMAGE_BYTES)
    if shown == limit:  # "10.0 MiB is over the 10.0 MiB limit" reads as a bug
        shown, limit = f"{size:,} bytes", f"{MAX_IMAGE_BYTES:,}-byte (10 MiB)"
    return _fail(name, f"{shown} is over the {limit} limit", fix, size)


def _refuse_kind(name: str, kind: str | None, head: bytes) -> None:
    if not accepted_kind(kind):
        problem, fix = kind_problem(kind, head)
        raise _fail(name, problem, fix, kind or ("empty" if not head else None))


def _missing(path: str, raw: str, name: str) -> ImageCheckError:
    """The refusal of a path that does not lead to a file."""
    if raw.lower().startswith(("http://", "https://")):
        return _fail(
            name,
            f"{raw} is a URL, not a file",
            "download it first, or list it in a %%aurous_character cell",
            raw,
        )
    if os.path.islink(path):
        target = os.readlink(path)
        try:
            os.stat(path)
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # the link leads back to itself
                return _fail(name, f"a symlink loop ({target})", "point it at an image", raw)
        return _fail(name, f"broken symlink to {target}", "point it at an existing image", raw)
    return _fail(name, f"no such file: {raw}", "check the path", raw)


def _read_path(source: str | os.PathLike[str], shown: str | None, limit_fix: str | None) -> Loaded:
    """Read a path source with clear errors; ``limit_fix`` None means oversize is allowed."""
    raw = os.fspath(source)
    path = os.path.abspath(os.path.expanduser(raw))
    name = printable_name(shown or os.path.basename(path.rstrip(os.sep)) or raw)
    try:
        exists = os.path.exists(path)
    except ValueError:  # an embedded NUL
        exists = False
    if not exists:
        raise _missing(path, raw, name)
    if os.path.isdir(path):
        raise _fail(name, f"{raw} is a directory", "pass the image files inside it", raw)
    try:
        with open_regular(path) as fh:
            info = os.fstat(fh.fileno())
            size = info.st_size
            head = fh.read(_HEAD)
            kind = sniff(head)
            _refuse_kind(name, kind, head)
            assert kind is not None
            if size > MAX_IMAGE_BYTES and limit_fix is not None and kind not in CONVERTED:
                raise too_big(name, size, limit_fix)
            if kind == "jpeg":
                head = _jpeg_head(fh, head, size)
                tail = os.pread(fh.fileno(), _TAIL, max(0, size - _TAIL))
            else:
                head += _read_rest(fh, size - len(head))
                tail = head[-_TAIL:]
    except _NotRegular as exc:
        raise _fail(
            name, f"{raw} is not a regular file ({exc})", "name an image file", raw
        ) from None
    except PermissionError as exc:
        raise _fail(name, "permission denied", "make the file readable", raw) from exc
    except OSError as exc:
        raise _fail(name, f"cannot be read ({exc.strerror or exc})", "check the file", raw) from exc
    if len(head) > size or (kind != "jpeg" and len(head) != size):
        raise _fail(name, "the file changed while it was read", "run again", raw)
    return Loaded(name, kind, path, size, head, tail, len(head) == size, info.st_mtime_ns)


def _jpeg_head(fh: BinaryIO, head: bytes, size: int) -> bytes:
    """``head`` extended until it holds the JPEG's header (up to the first scan)."""
    while len(head) < size:
        try:
            if jpeg_scan_start(head) is not None:
                break
        except ValueError:
            break  # not JPEG markers: the header check says what is wrong
        more = fh.read(max(_HEAD, len(head)))
        if not more:
            break
        head += more
    return head


def _read_rest(fh: BinaryIO, left: int) -> bytes:
    """The rest of a file; one byte more than ``fstat`` said is asked for, so growth shows."""
    return fh.read(max(0, left) + 1)


class _NotRegular(OSError):
    """The path is a pipe, socket or device: reading it could block or never end."""


def open_regular(path: str) -> BinaryIO:
    """Open a regular file for reading; raise :class:`_NotRegular` for anything else.

    Opened non-blocking, so a FIFO does not wait for a writer before we can refuse it.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = "a device"
            if stat.S_ISFIFO(mode):
                kind = "a pipe"
            elif stat.S_ISSOCK(mode):
                kind = "a socket"
            raise _NotRegular(kind)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _loaded_bytes(
    name: str, data: bytes, limit_fix: str | None, notice: str | None = None
) -> Loaded:
    kind = sniff(data)
    _refuse_kind(name, kind, data[:512])
    assert kind is not None
    if len(data) > MAX_IMAGE_BYTES and limit_fix is not None and kind not in CONVERTED:
        raise too_big(name, len(data), limit_fix)
    return Loaded(name, kind, None, len(data), data, data[-_TAIL:], True, notice=notice)


def _pil_file(image: PILImage.Image) -> str | None:
    """The file a PIL image was opened from, while its pixels are still the file's."""
    path = getattr(image, "filename", None)
    if not isinstance(path, str) or not path or image.format not in _PIL_FORMATS:
        return None
    if not os.path.isfile(path):
        return None
    if getattr(image, "_im", None) is None:
        return path  # never decoded, so never edited
    from PIL import Image

    # decoded: it may have been drawn on since; the file counts only if its pixels are these
    try:
        with Image.open(path) as again:
            if again.size != image.size or again.mode != image.mode:
                return None
            again.load()
            return path if again.tobytes() == image.tobytes() else None
    except Exception:  # noqa: BLE001 - an unreadable file: encode the pixels instead
        return None


def _encode_pil(image: PILImage.Image) -> bytes:
    """PNG of a PIL image's pixels, turned upright first (a PNG carries no orientation here)."""
    from PIL import ImageOps

    upright = ImageOps.exif_transpose(image) or image
    if upright.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"):
        upright = upright.convert("RGBA" if "A" in upright.getbands() else "RGB")
    buf = io.BytesIO()
    upright.save(buf, "PNG")
    return buf.getvalue()


def read_source(source: object, name: str | None, limit_fix: str | None) -> Loaded:
    """Read any supported source for its check.

    Args:
        source: a path, bytes, a binary file object or a PIL image.
        name: the display name to use (default: from the source).
        limit_fix: the fix of an over-10-MiB refusal; None when oversize files are
            downscaled instead (then they are read, not refused).
    """
    if isinstance(source, (str, os.PathLike)):
        return _read_path(source, name, limit_fix)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _loaded_bytes(printable_name(name or "image"), bytes(source), limit_fix)
    read = getattr(source, "read", None)
    if callable(read):
        fname = getattr(source, "name", None)
        shown = printable_name(
            name or (os.path.basename(fname) if isinstance(fname, str) and fname else "image")
        )
        if isinstance(source, io.TextIOBase):
            raise _fail(shown, "file opened in text mode", "open it with 'rb'")
        try:
            data = read()
        except (OSError, ValueError) as exc:
            raise _fail(shown, f"cannot be read ({exc})", "check the file") from exc
        if isinstance(data, str):
            raise _fail(shown, "file opened in text mode", "open it with 'rb'")
        return _loaded_bytes(shown, bytes(data), limit_fix)
    pil: Any = sys.modules.get("PIL.Image")  # a PIL image exists only if PIL was imported
    if pil is not None and isinstance(source, pil.Image):
        path = _pil_file(source)
        if path is not None:
            loaded = _read_path(path, name or os.path.basename(path), limit_fix)
            return loaded
        shown = printable_name(name or "image.png")
        return _loaded_bytes(shown, _encode_pil(source), limit_fix)
    raise _fail(
        printable_name(name or type(source).__name__),
        f"unsupported source type {type(source).__name__}",
        "pass a path, bytes, a binary file object or a PIL image",
        type(source).__name__,
    )
