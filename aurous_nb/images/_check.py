"""Local image facts for reference images: type sniffing, size and pixel checks, thumbnails.

Everything here runs before a request is spent. Pillow is imported lazily, inside functions.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import stat
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

from ..errors import ImageCheckError
from ._decode import MAX_BYTES, MAX_SIDE, THUMB_SIDE, decoded, shrink, thumbnail
from ._decode import fail as _fail
from ._sniff import _AGREEING_EXT, _KINDS, ACCEPTED, guess_pose_from_name, kind_problem, sniff

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image as PILImage


@dataclass(frozen=True)
class CheckedImage:
    """A reference image that passed every local check, ready to upload.

    For a path source the bytes are not kept: :meth:`open` re-reads the file (and
    refuses it if its size changed since the check). Other sources keep their bytes.
    """

    name: str
    """Display filename, e.g. ``"front.png"``."""
    kind: str
    """``"jpeg"``, ``"png"`` or ``"webp"`` — sniffed from the magic bytes."""
    extension: str
    """Extension for the upload ticket: ``"jpg"``, ``"png"`` or ``"webp"``."""
    mime: str
    """Content type for the upload ticket, e.g. ``"image/jpeg"``."""
    size: int
    """Number of bytes that will be uploaded."""
    width: int
    height: int
    thumbnail: bytes = field(repr=False)
    """JPEG (opaque) or PNG (with transparency), at most 256 px per side."""
    notice: str | None = None
    """What was changed or noticed, e.g. ``"downscaled from 6000×4000 to 4096×2731"``."""
    path: str | None = field(default=None, repr=False)
    """The file the bytes are re-read from at upload time (path sources only)."""
    digest: str = field(default="", repr=False)
    """SHA-256 (hex) of the bytes as given, before any downscale: finds the same image twice."""
    _data: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def upload_filename(self) -> str:
        """``name`` with an extension that agrees with the sniffed type."""
        stem, dot, ext = self.name.rpartition(".")
        if dot and _AGREEING_EXT.get(ext.lower()) == self.kind:
            return self.name
        return f"{stem if dot else self.name}.{self.extension}"

    @property
    def thumbnail_mime(self) -> str:
        """MIME type of :attr:`thumbnail`."""
        return "image/png" if self.thumbnail.startswith(b"\x89PNG") else "image/jpeg"

    def thumbnail_data_uri(self) -> str:
        """The thumbnail as a ``data:`` URI for an ``<img src>``."""
        return f"data:{self.thumbnail_mime};base64,{base64.b64encode(self.thumbnail).decode()}"

    def open(self) -> BinaryIO:
        """Return a fresh binary stream of the bytes to upload.

        Raises:
            ImageCheckError: the file behind a path source changed size or vanished.
        """
        if self._data is not None:
            return io.BytesIO(self._data)
        assert self.path is not None
        try:
            fh = _open_regular(self.path)  # the caller closes it
        except OSError as exc:
            raise ImageCheckError(
                f"{self.name}: the file can no longer be read ({exc.strerror or exc}) — "
                "restore it and run again",
                source=self.name,
                value=self.path,
                fix="restore the file and run again",
            ) from exc
        now = os.fstat(fh.fileno()).st_size
        if now != self.size:
            fh.close()
            raise ImageCheckError(
                f"{self.name}: the file changed since it was checked ({self.size} bytes, "
                f"now {now}) — run again to re-check it",
                source=self.name,
                value=now,
                fix="run again to re-check it",
            )
        return fh


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB"


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
        with _open_regular(path) as fh:
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(512)
            kind = sniff(head)
            if kind not in _KINDS:
                problem, fix = kind_problem(kind, head)
                raise _fail(name, problem, fix, kind or ("empty" if not head else None))
            if size > MAX_BYTES and not downscale:
                raise _too_big(name, size)
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


def _open_regular(path: str) -> BinaryIO:
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


def _too_big(name: str, size: int) -> ImageCheckError:
    shown, limit = _mb(size), _mb(MAX_BYTES)
    if shown == limit:  # "10.0 MiB is over the 10.0 MiB limit" reads as a bug
        shown, limit = f"{size:,} bytes", f"{MAX_BYTES:,}-byte (10 MiB)"
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


def _resolve(source: object, name: str | None, downscale: bool) -> tuple[str, str | None, bytes]:
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


def check_image(
    source: object, *, name: str | None = None, downscale: bool = False
) -> CheckedImage:
    """Run every local check on one reference image.

    Args:
        source: a path (``str``/``os.PathLike``, ``~`` expanded), ``bytes``, a binary file
            object (read from its current position) or a ``PIL.Image.Image`` (encoded as PNG).
        name: display filename; defaults to the path's basename or ``"image"``.
        downscale: shrink and re-encode an image over 4096 px or 10 MiB instead of refusing
            it; :attr:`CheckedImage.notice` says what changed.

    Returns:
        The checked image. For a path source the bytes are not kept in memory.

    Raises:
        ImageCheckError: one line naming the file, the value and the fix.
    """
    shown, path, data = _resolve(source, name, downscale)
    kind = sniff(data)
    if kind not in _KINDS:
        problem, fix = kind_problem(kind, data)
        raise _fail(shown, problem, fix, kind or ("empty" if not data else None))
    assert kind is not None
    if len(data) > MAX_BYTES and not downscale:
        raise _too_big(shown, len(data))
    digest = hashlib.sha256(data).hexdigest()
    with decoded(shown, data, kind, downscale=downscale) as (image, w, h):
        notices: list[str] = []
        ext = shown.rpartition(".")[2].lower() if "." in shown else ""
        if ext and ext in _AGREEING_EXT and _AGREEING_EXT[ext] != kind:
            notices.append(f"really a {kind.upper()}, uploaded as {_KINDS[kind][1]}")
        if max(w, h) > MAX_SIDE and not downscale:
            raise _fail(
                shown,
                f"{w}×{h} px is larger than {MAX_SIDE} px per side",
                "resize it, or pass downscale=True",
                (w, h),
            )
        thumb = thumbnail(image, w, h)
        keep: bytes | None = None if path is not None else data
        out_kind, out_w, out_h, out_size = kind, w, h, len(data)
        if max(w, h) > MAX_SIDE or len(data) > MAX_BYTES:
            keep, out_kind, out_w, out_h = shrink(image, kind)
            out_size = len(keep)
            what = f"downscaled from {w}×{h} to {out_w}×{out_h}" if (out_w, out_h) != (w, h) else ""
            what = what or "re-encoded"
            if out_kind != kind:
                what += f" as {out_kind.upper()}"
            notices.append(f"{what} ({_mb(len(data))} → {_mb(out_size)})")
            path = None  # upload the re-encoded bytes, not the file
    ext_out, mime, _ = _KINDS[out_kind]
    return CheckedImage(
        name=shown,
        kind=out_kind,
        extension=ext_out,
        mime=mime,
        size=out_size,
        width=out_w,
        height=out_h,
        thumbnail=thumb,
        notice="; ".join(notices) or None,
        path=path,
        digest=digest,
        _data=keep,
    )


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
