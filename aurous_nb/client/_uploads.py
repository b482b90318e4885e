"""Upload-ticket methods of ``AurousClient``: mint, PUT (to the upload host), classify.

Kept apart from client.py to keep each module small; ``AurousClient`` inherits them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from ..errors import UploadURLExpiredError
from ..models import Classification, UploadTicket
from ._transport import Transport

__all__ = ["UploadMethods"]

log = logging.getLogger("aurous_nb")

_MIME_EXTENSION = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
_EXTENSION_MIME = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
}


class UploadMethods:
    """``init_upload``, ``put_upload``, ``upload`` and ``classify_upload``."""

    _transport: Transport

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """One API call through the transport's chokepoint (used by every endpoint method)."""
        return self._transport.request(
            method, path, json=json, params=params, idempotency_key=idempotency_key
        )

    def init_upload(self, filename: str, extension: str, content_type: str) -> UploadTicket:
        """Mint a signed PUT URL (15 min) and an upload ticket (24 h).

        Args:
            filename: display name, 1–120 characters.
            extension: ``jpg``, ``jpeg``, ``png`` or ``webp``; must agree with content_type.
            content_type: ``image/jpeg``, ``image/png`` or ``image/webp``.
        """
        minted = datetime.now(timezone.utc)
        data = self._request(
            "POST",
            "/v1/characters/uploads/init",
            json={"filename": filename, "extension": extension, "content_type": content_type},
        )
        return UploadTicket.from_dict(data, minted_at=minted)

    def put_upload(
        self,
        ticket: UploadTicket,
        data: bytes | IO[bytes],
        *,
        size: int | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> str:
        """PUT the image bytes to the ticket's signed URL.

        Sends exactly ``ticket.upload_headers`` — never the API key — with a
        ``Content-Length`` (no chunked encoding).

        Args:
            ticket: from :meth:`init_upload`.
            data: the bytes, or a binary file object read from its current position.
            size: bytes to send from a file object (default: up to its end).
            on_progress: called as ``on_progress(bytes_sent, total)`` while sending.

        Returns:
            The ETag the upload host returned (quotes removed), or ``""``.

        Raises:
            UploadURLExpiredError: the URL is past ``expires_at``; mint a new ticket.
        """
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        total = len(data) if isinstance(data, bytes) else _stream_size(data, size)
        if size is not None and isinstance(data, bytes) and size != total:
            raise ValueError(f"size={size} but the data has {total} bytes")
        resp = self._transport.put(
            ticket.upload_url, data, total, ticket.upload_headers, on_progress=on_progress
        )
        return resp.headers.get("ETag", "").strip('"')

    def upload(
        self,
        data_or_path: bytes | bytearray | str | os.PathLike[str] | IO[bytes],
        *,
        filename: str | None = None,
        content_type: str | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> UploadTicket:
        """Mint a ticket and PUT the bytes, re-minting once if the URL expired meanwhile.

        Args:
            data_or_path: bytes, a path, or a binary file object (seekable for a re-mint).
            filename: display name (default: the path's name, else ``"image.<ext>"``).
            content_type: ``image/jpeg|png|webp`` (default: from the file name's extension).
            on_progress: called as ``on_progress(bytes_sent, total)``.
        """
        if isinstance(data_or_path, (bytearray, memoryview)):
            data_or_path = bytes(data_or_path)
        if isinstance(data_or_path, (str, os.PathLike)):
            path = Path(data_or_path)
            with path.open("rb") as fh:
                return self.upload(
                    fh,
                    filename=filename or path.name,
                    content_type=content_type,
                    on_progress=on_progress,
                )
        if filename is None and content_type is None:
            raise ValueError("upload() needs a filename or a content_type for non-path data")
        suffix = Path(filename or "").suffix.lower().lstrip(".")
        if content_type is None:
            content_type = _EXTENSION_MIME.get(suffix)
            if content_type is None:
                raise ValueError(
                    f"cannot tell the image type of {filename!r}: pass content_type="
                    "'image/jpeg', 'image/png' or 'image/webp'"
                )
        extension = (
            suffix
            if _EXTENSION_MIME.get(suffix) == content_type
            else _MIME_EXTENSION.get(content_type, suffix)
        )
        filename = filename or f"image.{extension}"
        data = data_or_path
        start = None
        if not isinstance(data, bytes) and getattr(data, "seekable", lambda: False)():
            start = data.tell()
        ticket = self.init_upload(filename, extension, content_type)
        try:
            self.put_upload(ticket, data, on_progress=on_progress)
        except UploadURLExpiredError:
            if start is None and not isinstance(data, bytes):
                raise
            log.debug(
                "upload URL of %s expired before the PUT; minting a new one", ticket.upload_id
            )
            if not isinstance(data, bytes) and start is not None:
                data.seek(start)
            ticket = self.init_upload(filename, extension, content_type)
            self.put_upload(ticket, data, on_progress=on_progress)
        return ticket

    def classify_upload(self, upload_id: str) -> Classification:
        """Detect the pose of an uploaded image (idempotent, free)."""
        data = self._request(
            "POST", "/v1/characters/uploads/classify", json={"upload_id": upload_id}
        )
        return Classification.from_dict(data)


def _stream_size(stream: IO[bytes], size: int | None) -> int:
    """Bytes left in a binary stream from its position, or ``size`` if given."""
    if size is not None:
        if size < 0:
            raise ValueError(f"size={size} must be >= 0")
        return size
    try:
        here = stream.tell()
        try:
            return os.fstat(stream.fileno()).st_size - here
        except (AttributeError, OSError, ValueError):
            end = stream.seek(0, os.SEEK_END)
            stream.seek(here)
            return end - here
    except (AttributeError, OSError, ValueError) as exc:
        raise ValueError(
            "cannot tell how many bytes this stream holds; pass size=... "
            "(uploads need a known length)"
        ) from exc
