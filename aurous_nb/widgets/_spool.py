"""Receive browser files chunk by chunk into temporary files on disk (never into memory)."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from .._text import format_size

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class SpoolError(Exception):
    """A transfer was refused or broke; ``str()`` is one line for a person."""


@dataclass
class Transfer:
    """One file on its way from the browser to a temporary file."""

    id: str
    name: str
    size: int
    path: Path
    received: int = 0
    done: bool = False
    _fh: BinaryIO | None = field(default=None, repr=False)


class Spool:
    """Temporary files for the files a widget receives, in one private directory.

    Chunks must arrive in order (the receiver hands them over in the order the browser sent
    them); a gap, an overlap or more bytes than announced is refused. Safe to use from several
    threads: a file is never closed while a chunk is being written to it.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._dir: Path | None = None
        self._lock = threading.Lock()
        self._transfers: dict[str, Transfer] = {}
        self._count = 0

    @property
    def directory(self) -> Path:
        """The private directory (created on first use, mode 0700)."""
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="aurous-upload-"))
        return self._dir

    def get(self, transfer_id: str) -> Transfer | None:
        return self._transfers.get(transfer_id)

    def begin(self, transfer_id: str, name: str, size: int) -> Transfer:
        """Open a temporary file for an announced file.

        Raises:
            SpoolError: bad id, a duplicate, or a size over ``max_bytes``.
        """
        if not _ID.match(transfer_id):
            raise SpoolError(f"{name}: the browser sent a malformed file id")
        if size > self.max_bytes:
            raise SpoolError(
                f"{name}: {format_size(size)} is too large to send (limit "
                f"{format_size(self.max_bytes)}) — resize it and choose it again"
            )
        if size <= 0:
            raise SpoolError(f"{name}: the file is empty — pick the image again")
        with self._lock:
            if transfer_id in self._transfers:
                raise SpoolError(f"{name}: this file is already being received")
            self._count += 1
            path = self.directory / f"upload-{self._count:03d}.bin"
            fh = open(path, "wb")  # noqa: SIM115 - closed in finish()/discard()
            transfer = Transfer(transfer_id, name, size, path, _fh=fh)
            self._transfers[transfer_id] = transfer
            return transfer

    def write(self, transfer_id: str, offset: int, data: bytes | memoryview) -> Transfer:
        """Append one chunk; ``offset`` must equal the bytes received so far."""
        with self._lock:  # not while discard() closes the file
            transfer = self._transfers.get(transfer_id)
            if transfer is None or transfer._fh is None:
                raise SpoolError("a chunk arrived for a file that is not being received")
            if offset != transfer.received:
                raise SpoolError(
                    f"{transfer.name}: chunk at byte {offset}, expected {transfer.received} — "
                    "choose the file again"
                )
            if transfer.received + len(data) > transfer.size:
                raise SpoolError(
                    f"{transfer.name}: more bytes arrived than announced — choose it again"
                )
            transfer._fh.write(data)
            transfer.received += len(data)
            return transfer

    def finish(self, transfer_id: str) -> Transfer:
        """Close the file; every announced byte must have arrived."""
        with self._lock:
            transfer = self._transfers.get(transfer_id)
            if transfer is None or transfer._fh is None:
                raise SpoolError("the end of a file that is not being received")
            transfer._fh.close()
            transfer._fh = None
        if transfer.received != transfer.size:
            raise SpoolError(
                f"{transfer.name}: received {transfer.received} of {transfer.size} bytes — "
                "choose the file again"
            )
        transfer.done = True
        return transfer

    def discard(self, transfer_id: str) -> None:
        """Forget a transfer and delete its temporary file."""
        with self._lock:
            transfer = self._transfers.pop(transfer_id, None)
            if transfer is None:
                return
            if transfer._fh is not None:
                transfer._fh.close()
                transfer._fh = None
        try:
            os.unlink(transfer.path)
        except OSError:  # already gone, or still open elsewhere on Windows
            pass

    def close(self) -> None:
        """Close and delete everything."""
        for transfer_id in list(self._transfers):
            self.discard(transfer_id)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
