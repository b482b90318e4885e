"""The sandbox's injectable clock, plus the ids and timestamps derived from it.

Every TTL, bucket refill and synthesis timer reads :class:`SandboxClock`, so tests move
time forward with :meth:`SandboxClock.advance` instead of sleeping.
"""

from __future__ import annotations

import os
import random
import threading
import time
from datetime import datetime, timezone

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]  # 10 bits -> two characters
# Ids need to be unique, not secret (signatures carry the secrets): a seeded generator is
# a tenth of the cost of os.urandom per id. Reseeded in a forked child, so ids never repeat.
_ids = random.Random(os.urandom(16))
os.register_at_fork(after_in_child=lambda: _ids.seed(os.urandom(16)))


class SandboxClock:
    """Wall-clock time plus an adjustable offset, optionally running faster or slower.

    Args:
        start: Epoch seconds the clock shows at construction (default: the real time).
        speed: How many sandbox seconds pass per real second. ``0`` freezes the clock so
            that only :meth:`advance` moves it (handy for fully deterministic tests).
    """

    def __init__(self, start: float | None = None, *, speed: float = 1.0) -> None:
        if speed < 0:
            raise ValueError(f"speed must be >= 0, got {speed!r}")
        self._lock = threading.Lock()
        self._origin = time.time() if start is None else float(start)
        self._mono0 = time.monotonic()
        self._offset = 0.0
        self.speed = float(speed)

    def now(self) -> float:
        """Current sandbox time in epoch seconds."""
        elapsed = (time.monotonic() - self._mono0) * self.speed
        return self._origin + elapsed + self._offset

    def advance(self, seconds: float) -> float:
        """Move the clock forward (never backward) and return the new time."""
        if seconds < 0:
            raise ValueError(f"the sandbox clock only moves forward, got {seconds!r}")
        with self._lock:
            self._offset += float(seconds)
        return self.now()

    @property
    def offset(self) -> float:
        """Seconds added by :meth:`advance` since construction or the last :meth:`reset`."""
        return self._offset

    def reset(self) -> None:
        """Forget every :meth:`advance` (the clock goes back to following real time)."""
        with self._lock:
            self._offset = 0.0

    def __repr__(self) -> str:
        return (
            f"SandboxClock(now={iso(self.now())!r}, offset={self._offset:g}s, speed={self.speed:g})"
        )


def iso(epoch: float) -> str:
    """ISO-8601 UTC timestamp with seconds precision and a ``Z`` suffix."""
    return datetime.fromtimestamp(int(epoch), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def ulid(epoch: float) -> str:
    """A 26-character Crockford base-32 ULID: 48-bit millisecond time + 80 random bits."""
    value = (int(epoch * 1000) & ((1 << 48) - 1)) << 80 | _ids.getrandbits(80)
    return "".join([_PAIRS[(value >> shift) & 1023] for shift in range(120, -1, -10)])
