"""What the ``X-RateLimit-*`` headers say about the server's refill rate.

Reset is the moment the bucket would be full again, in whole seconds. Read against our
clock it gives a rough rate from one response (:func:`refill_rate`'s cold start); how it
moves from response to response gives a precise one that needs no clock (:class:`ResetFit`).
"""

from __future__ import annotations

import math
from collections import deque

__all__ = ["ResetFit", "refill_rate"]

#: Responses whose ``X-RateLimit-Reset`` the refill rate is fitted from (the latest ones).
FIT_WINDOW = 64
#: Responses (and whole seconds of Reset between them) a fit needs before it is used.
FIT_MIN_RESPONSES = 4
FIT_MIN_SPAN = 2.0
#: How far below the configured rate the fitted one must be to replace it (the fit's noise:
#: responses arrive a little out of the order the server took their tokens in).
FIT_TOLERANCE = 0.03
#: A fitted rate below this fraction of the whole bucket's (read against our clock) means
#: another client of the team takes the rest; we then pace a little under our share, so
#: the bucket keeps a few tokens for the moments both clients send at once.
SHARED_BELOW = 0.8
SHARE_MARGIN = 0.95
#: One response's Reset read against our clock rules a configured rate out only when it is
#: off by more than this factor: that reading depends on the two clocks agreeing.
COLD_START_FACTOR = 1.5


class ResetFit:
    """The refill rate, read from how ``X-RateLimit-Reset`` moves from response to response.

    While a bucket is not full, the moment it would be full again (what Reset says, rounded
    up to a whole second) moves ``1 / rate`` seconds later for every token anyone takes,
    and does not move as time passes. So across the responses since the bucket was last
    full, Reset grows by ``1 / rate`` per response: the slope gives the rate with no clock
    involved (client and server clocks may disagree), and the spread a hard lower bound.
    Another client of the team taking tokens makes Reset move faster per response of ours,
    so the fit then reads the share of the rate this client gets, which is what it can use.

    Not thread-safe; :class:`TokenBucket` holds its lock around every call.
    """

    def __init__(self, window: int = FIT_WINDOW) -> None:
        self._resets: deque[tuple[int, float]] = deque(maxlen=window)
        self._count = 0

    def clear(self) -> None:
        """Start again (the bucket was full, or changed size)."""
        self._resets.clear()

    def add(self, reset: float) -> None:
        """One response that took a token, with its ``X-RateLimit-Reset``."""
        self._count += 1
        self._resets.append((self._count, reset))

    def __len__(self) -> int:
        return len(self._resets)

    def low(self) -> float | None:
        """Tokens per second the server's rate is certainly above, or None (too few responses).

        The earliest and latest of these n takes are at least n - 1 takes apart, so their
        exact full-again moments are at least (n - 1) / rate apart (more if the bucket filled
        up in between); rounding each up to a whole second changes that by less than one.
        """
        n = len(self._resets)
        if n < FIT_MIN_RESPONSES:
            return None
        values = [reset for _, reset in self._resets]
        span = max(values) - min(values)
        if span < FIT_MIN_SPAN:
            return None
        return (n - 1) / (span + 1.0)

    def estimate(self) -> float | None:
        """The least-squares rate, one standard error on the slow side; None if too few.

        The slope of Reset per response is 1 / rate; the rounding of Reset and responses
        arriving out of order scatter it, by a standard error that shrinks as n^1.5. Taking
        the slope one error steeper keeps a short fit from overrunning the server.
        """
        n = len(self._resets)
        if n < 3:
            return None
        mean_i = sum(i for i, _ in self._resets) / n
        mean_r = sum(r for _, r in self._resets) / n
        sxx = sum((i - mean_i) ** 2 for i, _ in self._resets)
        sxy = sum((i - mean_i) * (r - mean_r) for i, r in self._resets)
        if sxx <= 0 or sxy <= 0:
            return None
        slope = sxy / sxx
        residuals = sum((r - mean_r - slope * (i - mean_i)) ** 2 for i, r in self._resets)
        error = math.sqrt(residuals / (n - 2) / sxx)
        return 1.0 / (slope + error)


def _cold_start(configured: float, capacity: float, deficit: float, reset_in: float) -> float:
    """The rate one response implies against our clock, if it rules ``configured`` out.

    Args:
        configured: the rate we were given (documented, or the caller's).
        capacity: the bucket's size.
        deficit: ``Limit - Remaining`` of the response.
        reset_in: its ``Reset`` minus our epoch clock.
    """
    # A Reset far beyond what the configured rate could need means the clocks disagree (a
    # sandbox clock moved forward, say), so it says nothing about the rate.
    if deficit < 2 or reset_in <= 0 or reset_in > 2 * capacity / configured + 2:
        return configured
    # Remaining is rounded down and Reset up, each by less than one: bounds, not a point.
    low = (deficit - 1.0) / (reset_in + 1.0)
    high = deficit / (reset_in - 1.0) if reset_in > 1.0 else math.inf
    if configured * COLD_START_FACTOR < low:
        return low
    if configured > high * COLD_START_FACTOR:
        return high
    return configured


def _whole_rate(deficit: float, reset_in: float) -> float | None:
    """The whole bucket's refill rate one response implies against our clock (roughly)."""
    if deficit < 2 or reset_in <= 1.0:
        return None
    # Remaining is rounded down and Reset up, each by half a unit on average.
    return (deficit - 0.5) / (reset_in - 0.5)


def refill_rate(
    configured: float,
    capacity: float,
    fit: ResetFit,
    limit: float,
    remaining: float,
    reset_in: float,
) -> float:
    """The refill rate to pace at after a response: the configured one unless ruled out.

    Args:
        configured: the rate we were given (documented, or the caller's), tokens/s.
        capacity: the bucket's size.
        fit: the responses so far (this one included).
        limit: ``X-RateLimit-Limit`` of this response.
        remaining: its ``X-RateLimit-Remaining``.
        reset_in: its ``X-RateLimit-Reset`` minus our epoch clock.
    """
    low = fit.low()
    if low is None:
        return _cold_start(configured, capacity, limit - remaining, reset_in)
    estimate = fit.estimate() or low
    if configured < low:
        # Proven faster than configured: the server's bucket is not the one we know.
        return max(estimate, low)
    if estimate < configured * (1.0 - FIT_TOLERANCE):
        # Clearly slower: a slower bucket, or another client of the team shares it.
        whole = _whole_rate(limit - remaining, reset_in)
        shared = whole is not None and estimate < SHARED_BELOW * whole
        return estimate * SHARE_MARGIN if shared else estimate
    return configured
