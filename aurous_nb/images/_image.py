"""A checked reference image (:class:`CheckedImage`): what the check found, the bytes to upload
as a seekable stream (a JPEG file's header, then the rest of the file as it is sent), and the
thumbnail made on first use, which is also the deep check of the pixel data.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from ..errors import ImageCheckError
from ._decode import bytes_opener, decoded
from ._names import upload_filename
from ._read import open_regular
from ._thumbs import data_uri, thumb_size, thumbnail

__all__ = ["CheckedImage", "size_text", "stored_how"]


def stored_how(orientation: int) -> str:
    """How a file stores a picture whose EXIF says ``orientation`` ("" when upright)."""
    if orientation in (3, 5, 6, 7, 8):
        return "stored rotated"
    if orientation in (2, 4):
        return "stored mirrored"
    return ""


def size_text(width: int, height: int, orientation: int) -> str:
    how = stored_how(orientation)
    return f"{width}×{height}, {how}" if how else f"{width}×{height}"


@dataclass(eq=False)
class CheckedImage:
    """A reference image that passed the local checks, and the bytes that will be uploaded.

    A path source keeps only its header in memory: :meth:`open` streams the file (after the
    header, possibly trimmed of its location) and refuses it if it changed since the check.
    Other sources, and re-encoded images, keep their bytes. Treat it as read-only.
    """

    name: str
    """Display filename, e.g. ``"front.png"`` (valid UTF-8)."""
    kind: str
    """``"jpeg"``, ``"png"`` or ``"webp"``: the type of the bytes uploaded."""
    extension: str
    """Extension for the upload ticket: ``"jpg"``, ``"png"`` or ``"webp"``."""
    mime: str
    """Content type for the upload ticket, e.g. ``"image/jpeg"``."""
    size: int
    """Number of bytes that will be uploaded."""
    width: int
    """Width in px as the picture is meant to be seen (EXIF orientation applied)."""
    height: int
    """Height in px as the picture is meant to be seen."""
    notice: str | None = None
    """What was changed or noticed, e.g. ``"location removed"``, ``"converted from HEIC"``."""
    path: str | None = field(default=None, repr=False)
    """The file whose bytes are uploaded (path sources that need no re-encode), else None."""
    orientation: int = 1
    """The EXIF Orientation of the uploaded bytes (1 after a re-encode)."""
    source_kind: str = ""
    """The kind of the original bytes (``"heic"`` when converted from HEIC)."""
    location_removed: bool = False
    """The original carried a GPS position that is not uploaded."""
    location_kept: bool = False
    """The uploaded bytes carry a GPS position (``keep_metadata``)."""
    frames: int = 1
    """Frames of an animation; the first is what a still-image decoder (and the API) sees."""
    _data: bytes | None = field(default=None, repr=False)
    _prefix: bytes = field(default=b"", repr=False)  # the upload's first bytes (header)
    _skip: int = field(default=0, repr=False)  # file bytes the prefix stands for
    _file_size: int = field(default=0, repr=False)
    _mtime_ns: int = field(default=0, repr=False)
    _fingerprint: str = field(default="", repr=False)
    _stored: tuple[int, int] = field(default=(0, 0), repr=False)  # the original's stored size
    _icc: bytes | None = field(default=None, repr=False)
    _source_data: bytes | None = field(default=None, repr=False)  # original bytes, not a file
    _source_path: str | None = field(default=None, repr=False)
    _thumb: bytes | None = field(default=None, repr=False)
    _thumb_error: ImageCheckError | None = field(default=None, repr=False)
    _digest: str = field(default="", repr=False)
    _upload_fingerprint: str = field(default="", repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # ---- names and sizes -----------------------------------------------------------------

    @property
    def upload_filename(self) -> str:
        """The init ``filename``: the name with an extension that agrees with the bytes,
        every dot of the stem kept, at most 120 characters (pose word kept), valid UTF-8."""
        return upload_filename(self.name, self.kind, self.extension)

    @property
    def size_text(self) -> str:
        """``"3024×4032, stored rotated"``: the upright size, and how the file stores it."""
        return size_text(self.width, self.height, self.orientation)

    # ---- thumbnail and the deep check ----------------------------------------------------

    @property
    def thumbnail(self) -> bytes:
        """JPEG (PNG with transparency) of at most 256 px, upright; made on first use.

        Raises:
            ImageCheckError: the pixel data does not decode (damaged inside).
        """
        return self.make_thumbnail()

    @property
    def thumbnail_ready(self) -> bool:
        """Whether the thumbnail is made (reading it then costs nothing)."""
        return self._thumb is not None

    def thumbnail_if_ready(self) -> bytes | None:
        """The thumbnail if it is made, else None (never decodes; for live displays)."""
        return self._thumb

    def make_thumbnail(self, *, full: bool = False) -> bytes:
        """Decode the original at a reduced scale and make the thumbnail (once).

        This is the deep check of the pixel data: a file damaged inside its entropy-coded
        data, which its header cannot show, fails here.

        Args:
            full: decode at full scale (a JPEG missing its EOI: at a reduced scale libjpeg
                may finish without noticing).

        Raises:
            ImageCheckError: the pixel data does not decode.
        """
        with self._lock:
            if self._thumb is None and self._thumb_error is None:
                w, h = self._stored
                draft = None if full else thumb_size(w, h)
                try:
                    with decoded(
                        self.name, self.source_kind, self._source_opener(), draft=draft
                    ) as im:
                        self._thumb = thumbnail(
                            im, w, h, orientation=self.orientation, icc=self._icc
                        )
                except ImageCheckError as exc:
                    self._thumb_error = exc
            if self._thumb_error is not None:
                raise self._thumb_error
            assert self._thumb is not None
            return self._thumb

    @property
    def thumbnail_mime(self) -> str:
        """MIME type of :attr:`thumbnail`."""
        return "image/png" if self.thumbnail.startswith(b"\x89PNG") else "image/jpeg"

    def thumbnail_data_uri(self) -> str:
        """The thumbnail as a ``data:`` URI for an ``<img src>`` (made on first use)."""
        return data_uri(self.thumbnail)

    # ---- identity ------------------------------------------------------------------------

    def same_bytes(self, other: CheckedImage) -> bool:
        """Whether both came from identical bytes.

        The cheap fingerprint (size and the first and last 64 KiB, hashed while the check
        reads them) decides when it differs; when it matches, the full SHA-256 of both is
        compared, so two files that differ only in the middle are told apart too.
        """
        if self._fingerprint != other._fingerprint:
            return False
        return self.digest == other.digest

    @property
    def digest(self) -> str:
        """SHA-256 (hex) of the original bytes (before any change); computed on first use."""
        if not self._digest:
            sha = hashlib.sha256()
            with self._source_opener()() as fh:
                while chunk := fh.read(1 << 20):
                    sha.update(chunk)
            self._digest = sha.hexdigest()
        return self._digest

    @property
    def upload_fingerprint(self) -> str:
        """SHA-256 (hex) of what identifies the uploaded bytes: their size, their first and last
        64 KiB and 16 windows of 4 KiB spread between (the journal's key for a ref).

        Read from the upload stream with a few seeks, so a 10 MB photo costs under a
        millisecond rather than the ~5 ms a full hash would add to every upload; any change of
        content a person makes to a photo changes its size, its header or one of the windows.
        """
        if not self._upload_fingerprint:
            sha = hashlib.sha256(b"aurous-upload-v1:%d:" % self.size)
            edge, window, samples = 1 << 16, 1 << 12, 16
            with self.open() as fh:
                if self.size <= 2 * edge + samples * window:
                    sha.update(fh.read())
                else:
                    sha.update(fh.read(edge))
                    step = (self.size - 2 * edge) // (samples + 1)
                    for i in range(1, samples + 1):
                        fh.seek(edge + i * step)
                        sha.update(fh.read(window))
                    fh.seek(self.size - edge)
                    sha.update(fh.read(edge))
            self._upload_fingerprint = sha.hexdigest()
        return self._upload_fingerprint

    # ---- the bytes -----------------------------------------------------------------------

    def _source_opener(self) -> Callable[[], BinaryIO]:
        """Opens the original bytes: the bytes given, or the file."""
        if self._source_data is not None:
            return bytes_opener(self._source_data)
        path = self._source_path
        assert path is not None
        return lambda: open_regular(path)

    def open(self) -> BinaryIO:
        """Return a fresh binary stream of the bytes to upload (seekable, ``size`` long).

        Raises:
            ImageCheckError: the file behind a path source changed or vanished.
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
        info = os.fstat(fh.fileno())
        if info.st_size != self._file_size or info.st_mtime_ns != self._mtime_ns:
            fh.close()
            raise ImageCheckError(
                f"{self.name}: the file changed since it was checked ({self._file_size} bytes, "
                f"now {info.st_size}) — run again to re-check it",
                source=self.name,
                value=info.st_size,
                fix="run again to re-check it",
            )
        return io.BufferedReader(_Spliced(self._prefix, fh, self._skip, self.size), 1 << 16)


class _Spliced(io.RawIOBase):
    """``prefix`` followed by a file from offset ``skip``: the header read at check time (maybe
    trimmed of its location), then the rest of the file, read while it is sent."""

    def __init__(self, prefix: bytes, fh: BinaryIO, skip: int, size: int) -> None:
        self._prefix = prefix
        self._fh = fh
        self._skip = skip
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        if self._pos < len(self._prefix):
            piece = self._prefix[self._pos : self._pos + want]
        else:
            self._fh.seek(self._skip + self._pos - len(self._prefix))
            piece = self._fh.read(want)
        buffer[: len(piece)] = piece
        self._pos += len(piece)
        return len(piece)

    def fileno(self) -> int:
        raise OSError("a spliced upload stream has no single file descriptor")

    def close(self) -> None:
        self._fh.close()
        super().close()
