"""Client-side token buckets, one per API rate bucket, kept in step with ``X-RateLimit-*``.

The client takes a token before each request and blocks (sleeps) while the bucket is
empty, so parallel and bulk work wait here instead of provoking 429s from the server. The
bucket's size comes from ``X-RateLimit-Limit``; its refill rate stays the configured one
unless the server's ``X-RateLimit-Reset`` values rule it out (``_ratefit.py``).
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import get_header
from ._ratefit import ResetFit, refill_rate

__all__ = ["DEFAULT_BUCKETS", "RateLimiter", "ResetFit", "TokenBucket", "bucket_for"]

log = logging.getLogger("aurous_nb")

#: name -> (burst, per_minute), as documented (API.md §4). ``default_get`` is the platform's
#: generic GET class, used by ``GET /v1/team`` and ``GET /v1/balance``.
DEFAULT_BUCKETS: dict[str, tuple[int, float]] = {
    "characters_post": (60, 30.0),
    "characters_get": (240, 120.0),
    "characters_synthesize": (12, 6.0),
    "default_get": (1200, 600.0),
}


def bucket_for(method: str, path: str, body: Mapping[str, Any] | None = None) -> str | None:
    """Name of the rate bucket a request draws from (API.md §0, §14 row 15), or None.

    Args:
        method: HTTP method.
        path: URL path on the API host (``/v1/...``); the upload host is never limited.
        body: JSON body, needed to tell a synthesize-flow create from an upload-flow one.
    """
    method = method.upper()
    path = path.split("?", 1)[0].rstrip("/")
    if path in ("/v1/team", "/v1/balance") and method == "GET":
        return "default_get"
    if not path.startswith("/v1/characters"):
        return None
    if method == "GET":
        return "characters_get"
    if method == "POST" and path == "/v1/characters":
        return "characters_synthesize" if body and body.get("generate") else "characters_post"
    if path.endswith("/resynthesize") or path.endswith("/refs/regenerate"):
        return "characters_synthesize"
    return "characters_post"


#: While paced below the configured rate, this fraction of the bucket left unused on the
#: server means our share grew (the other client slowed down or left): fit afresh.
SPARE_REFIT = 0.15
#: Tokens' worth of random extra wait while the server's bucket is empty (see edge_jitter).
EDGE_JITTER = 0.25
#: Statuses of responses that took no token (refused, or turned away before the bucket).
_NO_TOKEN = frozenset({401, 413, 429})


def _took_a_token(status: int | None) -> bool:
    """Whether a response stands for a token taken (a point of the Reset fit).

    Not a 429 (a refusal), nor a 5xx (which may come from anything between us and the API;
    its headers still correct the count).
    """
    return status is None or (status < 500 and status not in _NO_TOKEN)


def _number(headers: Mapping[str, str], name: str) -> float | None:
    raw = get_header(headers, name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


class TokenBucket:
    """One bucket: ``capacity`` tokens, refilled at ``rate`` tokens per second.

    ``tokens`` may go negative after a correction from the server (a debt to refill).
    All methods are thread-safe.
    """

    def __init__(self, name: str, burst: int, per_minute: float, now: float) -> None:
        if burst < 1 or per_minute <= 0:
            raise ValueError(f"bucket {name}: burst must be >= 1 and per_minute > 0")
        self.name = name
        self.capacity = float(burst)
        self.rate = float(per_minute) / 60.0
        self.tokens = float(burst)
        self.in_flight = 0
        self.waits = 0
        self.waited = 0.0
        self._configured_rate = self.rate
        self._stamp = now
        self._blocked_until = 0.0
        self._drained_at: float | None = None  # when a token last left a full bucket
        self._resets = ResetFit()
        self._server_empty = False  # the latest response said Remaining: 0
        self._refused = False  # the latest answer was a 429
        self._lock = threading.Lock()

    def _refill(self, now: float) -> None:
        if now > self._stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self._stamp) * self.rate)
            self._stamp = now

    def try_take(self, now: float) -> float:
        """Take a token and return 0, or return the seconds to wait before trying again."""
        with self._lock:
            self._refill(now)
            if now < self._blocked_until:
                return self._blocked_until - now
            if self.tokens >= 1.0 - 1e-9:  # float refill may land a hair under 1
                if self.tokens >= self.capacity - 1e-9:
                    self._drained_at = now
                self.tokens -= 1.0
                self.in_flight += 1
                return 0.0
            return (1.0 - self.tokens) / self.rate

    def edge_jitter(self) -> float:
        """Extra seconds to wait for a token while the server says its bucket is empty.

        Several clients of a team pacing one empty bucket would each send the instant their
        count says a token is back, and the one whose count is in phase with the server's
        would win every race, starving the others (whose 429s run out of retries). Up to a
        quarter of a token's time more, at random, makes the races fair; throughput is
        unchanged, since the bucket goes on refilling while we wait (only the last request
        of a run ends that much later).
        """
        with self._lock:
            if not self._server_empty:
                return 0.0
            return random.uniform(0.0, EDGE_JITTER) / self.rate

    def seconds_until(self, tokens: float, now: float) -> float:
        """Seconds until ``tokens`` tokens are free (0: now), without taking any."""
        with self._lock:
            self._refill(now)
            short = max(0.0, tokens - self.tokens)
            return max(short / self.rate, self._blocked_until - now, 0.0)

    def note_wait(self, seconds: float) -> None:
        """Count a wait (for statistics)."""
        with self._lock:
            self.waits += 1
            self.waited += seconds

    def observe(
        self,
        headers: Mapping[str, str] | None,
        *,
        status: int | None,
        now: float,
        wall_now: float,
        retry_after: float | None = None,
    ) -> None:
        """Settle one request taken with :meth:`try_take` and correct from its response.

        Args:
            headers: response headers, or None when no response arrived.
            status: response status, or None.
            now: limiter clock (monotonic) time.
            wall_now: epoch seconds, to read ``X-RateLimit-Reset``.
            retry_after: seconds from ``Retry-After`` on a 429, if any.
        """
        with self._lock:
            self.in_flight = max(0, self.in_flight - 1)
            if not headers:
                return
            self._refill(now)
            if self._drained_at is not None:
                # The server's bucket starts refilling when the request that drained it from
                # full arrives, not when we took that token: take back the refill credited
                # since then, or we stay ahead of the server by the first request's transit
                # time (a new connection's) and collect a 429 where the burst runs out.
                self.tokens -= max(0.0, now - self._drained_at) * self.rate
                self._drained_at = None
            limit = _number(headers, "X-RateLimit-Limit")
            remaining = _number(headers, "X-RateLimit-Remaining")
            reset = _number(headers, "X-RateLimit-Reset")
            resized = limit is not None and limit >= 1 and limit != self.capacity
            if resized:
                assert limit is not None
                self.capacity = limit
                self.tokens = min(self.tokens, self.capacity)
                self._restart_fit()
            if remaining is not None and (resized or remaining <= self.tokens - 1.0):
                # Our own count already charges every request in flight, so while we are
                # the bucket's only user the server shows at least as many tokens as we
                # do (give or take its rounding down). Fewer means someone else (another
                # client of the team) or a slower or smaller server bucket: trust the
                # server, and assume our requests in flight are not in its count yet.
                self.tokens = max(-self.capacity, remaining - self.in_flight)
            elif remaining is not None and self._refused and status != 429:
                # A 429 emptied our count; the first answer since that shows tokens left is
                # the better count (the refusal was short-lived, or not this bucket's own).
                self.tokens = max(self.tokens, min(self.capacity, remaining - self.in_flight))
            if status is not None and status < 500:
                self._refused = status == 429
            if remaining is not None:
                self._server_empty = remaining < 1.0 or status == 429
            if limit is not None and remaining is not None and reset is not None:
                if _took_a_token(status):
                    if remaining >= limit - 1:
                        # This request found the bucket full: Reset starts moving afresh.
                        self._restart_fit()
                    self._resets.add(reset)
                if status is None or status < 500:  # a 429's Reset still says when it refills
                    self._learn_rate(limit, remaining, reset - wall_now)
            if status == 429:
                self.tokens = min(self.tokens, 0.0)
                if retry_after is not None:
                    self._blocked_until = max(self._blocked_until, now + retry_after)

    def _learn_rate(self, limit: float, remaining: float, reset_in: float) -> None:
        """Keep the configured refill rate unless the server's numbers rule it out."""
        configured = self._configured_rate
        if self.rate < configured and remaining >= max(2.0, SPARE_REFIT * limit):
            self._restart_fit()
        learned = refill_rate(configured, self.capacity, self._resets, limit, remaining, reset_in)
        if abs(learned - self.rate) > 0.01 * self.rate:
            log.debug("rate bucket %s: refill %.3g/s learned from the server", self.name, learned)
        self.rate = learned

    def _restart_fit(self) -> None:
        self._resets.clear()

    def snapshot(self) -> dict[str, float]:
        """Current numbers, for debugging and tests."""
        with self._lock:
            return {
                "capacity": self.capacity,
                "rate": self.rate,
                "tokens": self.tokens,
                "in_flight": float(self.in_flight),
                "waits": float(self.waits),
                "waited": self.waited,
            }


class RateLimiter:
    """Token buckets by name; share one instance between clients of the same team.

    Args:
        buckets: name -> (burst, per_minute), merged over :data:`DEFAULT_BUCKETS`.
        clock: monotonic seconds (injectable for tests).
        sleep: how to wait (injectable for tests).
        wall_clock: epoch seconds, to read ``X-RateLimit-Reset``.
    """

    def __init__(
        self,
        buckets: Mapping[str, tuple[int, float]] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        sizes = dict(DEFAULT_BUCKETS)
        sizes.update(buckets or {})
        now = clock()
        self._buckets = {name: TokenBucket(name, b, pm, now) for name, (b, pm) in sizes.items()}

    def __repr__(self) -> str:
        sizes = ", ".join(
            f"{n}={b.capacity:g}/{b.rate * 60:g}pm" for n, b in sorted(self._buckets.items())
        )
        return f"RateLimiter({sizes})"

    def bucket(self, name: str) -> TokenBucket | None:
        """The bucket called ``name``, or None if it is not limited."""
        with self._lock:
            return self._buckets.get(name)

    def set_bucket(self, name: str, burst: int, per_minute: float) -> None:
        """Replace (or add) a bucket; it starts full."""
        with self._lock:
            self._buckets[name] = TokenBucket(name, burst, per_minute, self._clock())

    def acquire(self, name: str | None) -> float:
        """Take a token from bucket ``name``, sleeping until one is available.

        Every successful acquire must be followed by exactly one :meth:`observe`.

        Returns:
            Seconds spent waiting (0 for an unknown bucket or ``None``).
        """
        bucket = self.bucket(name) if name else None
        if bucket is None:
            return 0.0
        waited = 0.0
        not_before: float | None = None
        while True:
            now = self._clock()
            if not_before is not None and now < not_before:
                wait = not_before - now
            else:
                wait = bucket.try_take(now)
            if wait <= 0:
                if waited:
                    bucket.note_wait(waited)
                    log.debug("rate bucket %s: waited %.2f s for a token", name, waited)
                return waited
            if not_before is None:  # the first time this call has to wait
                wait += bucket.edge_jitter()
                not_before = now + wait
            # Short naps so that a correction (or a new bucket size) is picked up soon.
            nap = min(max(wait, 0.001), 1.0)
            self._sleep(nap)
            waited += nap

    def seconds_until(self, name: str | None, tokens: float = 1.0) -> float:
        """Seconds until bucket ``name`` has ``tokens`` tokens free (0: now), taking none.

        What a request queued behind ``tokens - 1`` others would wait; the widgets say it on
        the cards that wait.
        """
        bucket = self.bucket(name) if name else None
        return bucket.seconds_until(tokens, self._clock()) if bucket is not None else 0.0

    def observe(
        self,
        name: str | None,
        headers: Mapping[str, str] | None,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Settle a request taken with :meth:`acquire` and correct from its response headers."""
        bucket = self.bucket(name) if name else None
        if bucket is None:
            return
        bucket.observe(
            headers,
            status=status,
            now=self._clock(),
            wall_now=self._wall_clock(),
            retry_after=retry_after,
        )
