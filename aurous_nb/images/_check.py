"""The local check of one reference image: read it, sniff and decode it, check its size and
pixels, make its thumbnail, downscale it if asked. Runs before a request is spent.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

from .._text import format_size
from ..errors import ImageCheckError
from ..limits import MAX_IMAGE_BYTES, MAX_IMAGE_SIDE
from ._decode import decoded
from ._decode import fail as _fail
from ._downscale import needs_downscale, shrink
from ._read import open_regular, read_source, too_big
from ._sniff import _AGREEING_EXT, _KINDS, kind_problem, sniff
from ._thumbs import data_uri, thumbnail

if TYPE_CHECKING:  # pragma: no cover
    pass


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
        return data_uri(self.thumbnail)

    def open(self) -> BinaryIO:
        """Return a fresh binary stream of the bytes to upload.

        Raises:
            ImageCheckError: the file behind a path source changed size or vanished.
        """
        if self._data is not None:
            return io.BytesIO(self._data)
        assert self.path is not None
        try:
            fh = open_regular(self.path)  # the caller closes it
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
    shown, path, data = read_source(source, name, downscale)
    kind = sniff(data)
    if kind not in _KINDS:
        problem, fix = kind_problem(kind, data)
        raise _fail(shown, problem, fix, kind or ("empty" if not data else None))
    assert kind is not None
    if len(data) > MAX_IMAGE_BYTES and not downscale:
        raise too_big(shown, len(data))
    digest = hashlib.sha256(data).hexdigest()
    with decoded(shown, data, kind, downscale=downscale) as (image, w, h):
        notices: list[str] = []
        ext = shown.rpartition(".")[2].lower() if "." in shown else ""
        if ext and ext in _AGREEING_EXT and _AGREEING_EXT[ext] != kind:
            notices.append(f"really a {kind.upper()}, uploaded as {_KINDS[kind][1]}")
        if max(w, h) > MAX_IMAGE_SIDE and not downscale:
            raise _fail(
                shown,
                f"{w}×{h} px is larger than {MAX_IMAGE_SIDE} px per side",
                "resize it, or pass downscale=True",
                (w, h),
            )
        thumb = thumbnail(image, w, h)
        keep: bytes | None = None if path is not None else data
        out_kind, out_w, out_h, out_size = kind, w, h, len(data)
        if needs_downscale(w, h, len(data)):
            keep, out_kind, out_w, out_h = shrink(image, kind)
            out_size = len(keep)
            what = f"downscaled from {w}×{h} to {out_w}×{out_h}" if (out_w, out_h) != (w, h) else ""
            what = what or "re-encoded"
            if out_kind != kind:
                what += f" as {out_kind.upper()}"
            notices.append(f"{what} ({format_size(len(data))} → {format_size(out_size)})")
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
