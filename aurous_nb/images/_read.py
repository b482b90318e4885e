"""Reading a reference image from whatever was given: a path (regular files only, checked
from the first bytes before the rest is read), bytes, a binary file object or a PIL image."""

from __future__ import annotations

import io
import os
import stat
import sys
from typing import TYPE_CHECKING, BinaryIO

from .._text import format_size
from ..errors import ImageCheckError
from ..limits import MAX_IMAGE_BYTES
from ._decode import fail as _fail
from ._sniff import _KINDS, kind_problem, sniff

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image as PILImage

__all__ = ["open_regular", "read_source", "too_big"]


def _read_path(
    source: str | os.PathLike[str], downscale: bool, shown: str | None
) -> tuple[str, str, bytes]:
    """Resolve a path source to (display name, absolute path, bytes) with clear errors.

    The type and size are checked from the first bytes and ``fstat`` before the rest is
    read, so a 2 GB video or a HEIC photo is refused without reading it into memory.
    """
    raw = os.fspath(source)
    path = os.path.abspath(os.path.expanduser(raw))
    name = shown or os.path.basename(path.rstrip(os.sep)) or raw
    if not os.path.exists(path):
        if raw.lower().startswith(("http://", "https://")):
            raise _fail(
                name,
                f"{raw} is a URL, not a file",
                "download it first, or list it in a %%aurous_character cell",
                raw,
            )
        if os.path.islink(path):
            target = os.readlink(path)
            raise _fail(name, f"broken symlink to {target}", "point it at an existing image", raw)
        raise _fail(name, f"no such file: {raw}", "check the path", raw)
    if os.path.isdir(path):
        raise _fail(name, f"{raw} is a directory", "pass the image files inside it", raw)
    try:
        with open_regular(path) as fh:
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(512)
            kind = sniff(head)
            if kind not in _KINDS:
                problem, fix = kind_problem(kind, head)
                raise _fail(name, problem, fix, kind or ("empty" if not head else None))
            if size > MAX_IMAGE_BYTES and not downscale:
                raise too_big(name, size)
            data = _read_all(fh, size)
    except _NotRegular as exc:
        raise _fail(
            name, f"{raw} is not a regular file ({exc})", "name an image file", raw
        ) from None
    except PermissionError as exc:
        raise _fail(name, "permission denied", "make the file readable", raw) from exc
    except OSError as exc:
        raise _fail(name, f"cannot be read ({exc.strerror or exc})", "check the file", raw) from exc
    if len(data) != size:
        raise _fail(name, "the file changed while it was read", "run again", raw)
    return name, path, data


def _read_all(fh: BinaryIO, size: int) -> bytes:
    """The whole file in one read and one buffer (no copies of head + rest).

    One byte more than ``fstat`` said is asked for, so a file that grew is noticed.
    """
    if hasattr(os, "pread"):
        return os.pread(fh.fileno(), size + 1, 0)
    fh.seek(0)
    return fh.read()


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


def too_big(name: str, size: int) -> ImageCheckError:
    shown, limit = format_size(size), format_size(MAX_IMAGE_BYTES)
    if shown == limit:  # "10.0 MiB is over the 10.0 MiB limit" reads as a bug
        shown, limit = f"{size:,} bytes", f"{MAX_IMAGE_BYTES:,}-byte (10 MiB)"
    return _fail(
        name,
        f"{shown} is over the {limit} limit",
        "shrink it, or pass downscale=True",
        size,
    )


def _encode_pil(image: PILImage.Image) -> bytes:
    if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def read_source(source: object, name: str | None, downscale: bool) -> tuple[str, str | None, bytes]:
    """Return (display name, path or None, bytes) for any supported source."""
    if isinstance(source, (str, os.PathLike)):
        return _read_path(source, downscale, name)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return name or "image", None, bytes(source)
    read = getattr(source, "read", None)
    if callable(read):
        fname = getattr(source, "name", None)
        shown = os.path.basename(fname) if isinstance(fname, str) and fname else "image"
        if isinstance(source, io.TextIOBase):
            raise _fail(name or shown, "file opened in text mode", "open it with 'rb'")
        try:
            data = read()
        except (OSError, ValueError) as exc:
            raise _fail(name or shown, f"cannot be read ({exc})", "check the file") from exc
        if isinstance(data, str):
            raise _fail(name or shown, "file opened in text mode", "open it with 'rb'")
        return name or shown, None, bytes(data)
    pil = sys.modules.get("PIL.Image")  # a PIL image exists only if PIL was imported
    if pil is not None and isinstance(source, pil.Image):
        return name or "image.png", None, _encode_pil(source)
    raise _fail(
        name or type(source).__name__,
        f"unsupported source type {type(source).__name__}",
        "pass a path, bytes, a binary file object or a PIL image",
        type(source).__name__,
    )
