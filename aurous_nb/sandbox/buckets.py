"""Per-team token buckets (API.md §4): capacity = burst, refill = sustained rate.

Buckets read the sandbox clock, so advancing the clock refills them. Callers hold the
state lock, which makes take-a-token atomic across concurrent requests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: name -> (burst, per_minute). ``default_get`` is the platform's generic GET class
#: (rate-limits page: 1200 burst, 600/min) used for ``GET /v1/team`` and ``/v1/balance``.
DEFAULT_BUCKETS: dict[str, tuple[int, float]] = {
    "characters_post": (60, 30.0),
    "characters_get": (240, 120.0),
    "characters_synthesize": (12, 6.0),
    "default_get": (1200, 600.0),
}

#: Retry-After (seconds) reported by a bucket that never refills (``per_minute=0``).
NO_REFILL_RETRY_AFTER = 60


@dataclass(frozen=True)
class Verdict:
    """What one take (or peek) of a bucket says, ready for the response headers."""

    allowed: bool
    limit: int
    remaining: int
    reset: int
    retry_after: int

    def headers(self) -> dict[str, str]:
        """The ``X-RateLimit-*`` headers (plus ``Retry-After`` when refused)."""
        out = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after)
        return out


class TokenBucket:
    """A classic token bucket on the sandbox clock (not thread-safe by itself)."""

    def __init__(self, burst: int, per_minute: float, now: float) -> None:
        if burst < 0 or per_minute < 0:
            raise ValueError("burst and per_minute must be >= 0")
        self.burst = int(burst)
        self.rate = float(per_minute) / 60.0  # tokens per second
        self.tokens = float(burst)
        self.stamp = now
        self.taken = 0  # tokens granted so far (statistics and tests)

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(float(self.burst), self.tokens + (now - self.stamp) * self.rate)
        self.stamp = max(self.stamp, now)

    def _verdict(self, allowed: bool, now: float) -> Verdict:
        missing = self.burst - self.tokens
        if self.rate > 0:
            reset = math.ceil(now + missing / self.rate)
            retry = max(1, math.ceil((1.0 - self.tokens) / self.rate))
        else:
            reset = math.ceil(now) + (NO_REFILL_RETRY_AFTER if missing > 0 else 0)
            retry = NO_REFILL_RETRY_AFTER
        remaining = max(0, math.floor(self.tokens + 1e-9))
        return Verdict(allowed, self.burst, remaining, reset, retry)

    def take(self, now: float) -> Verdict:
        """Take one token if there is one."""
        self._refill(now)
        if self.tokens >= 1.0 - 1e-9:
            self.tokens = max(0.0, self.tokens - 1.0)
            self.taken += 1
            return self._verdict(True, now)
        return self._verdict(False, now)

    def peek(self, now: float) -> Verdict:
        """The headers this bucket would show now, without taking a token."""
        self._refill(now)
        return self._verdict(True, now)


class BucketSet:
    """The buckets of every team: ``(team_id, name) -> TokenBucket``, built on first use."""

    def __init__(self, config: dict[str, tuple[int, float]] | None = None) -> None:
        self.config = dict(DEFAULT_BUCKETS)
        self.config.update(config or {})
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def configure(self, name: str, burst: int, per_minute: float) -> None:
        """Change a bucket class for every team; existing buckets of it start full."""
        self.config[name] = (int(burst), float(per_minute))
        for key in [k for k in self._buckets if k[1] == name]:
            del self._buckets[key]

    def _bucket(self, team_id: str, name: str, now: float) -> TokenBucket:
        bucket = self._buckets.get((team_id, name))
        if bucket is None:
            burst, per_minute = self.config[name]
            bucket = self._buckets[(team_id, name)] = TokenBucket(burst, per_minute, now)
        return bucket

    def taken(self) -> dict[tuple[str, str], int]:
        """Tokens granted so far per ``(team_id, bucket)``."""
        return {key: bucket.taken for key, bucket in self._buckets.items()}

    def take(self, team_id: str, name: str, now: float) -> Verdict:
        """Take a token from the team's bucket ``name``."""
        return self._bucket(team_id, name, now).take(now)

    def peek(self, team_id: str | None, name: str, now: float) -> Verdict:
        """Headers for a response that spends no token (a full bucket when no team is known)."""
        bucket = None if team_id is None else self._buckets.get((team_id, name))
        if bucket is None:  # an untouched bucket is full; peeking does not create it
            burst, _ = self.config[name]
            return Verdict(True, burst, burst, math.ceil(now), 0)
        return bucket.peek(now)
