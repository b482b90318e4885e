"""Injected faults: extra latency, canned error statuses, dropped connections (§14 "Faults").

A rule matches a route name (or ``"*"``). A rule with ``probability`` fires on that
fraction of matching requests (seeded RNG) until cleared or until ``times`` firings if
``times`` is given explicitly; a rule without it fires on the next ``times`` matching
requests (``None`` = every one). A request that gets an error status or a dropped
connection is not processed at all, so it changes no state.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

ROUTES = (
    "init",
    "upload",
    "classify",
    "create",
    "get",
    "list",
    "patch",
    "save",
    "resynthesize",
    "regenerate",
    "delete",
    "team",
    "balance",
    "storage",
)

#: Error codes used for injected statuses (documented server_error / rate_limit codes).
FAULT_CODES = {
    429: "too_many_requests",
    500: "internal_error",
    502: "provider_unavailable",
    503: "provider_unavailable",
    504: "provider_timeout",
}


class _DefaultTimes(int):
    """Marks ``times`` as not given (1 without probability, unlimited with it)."""


DEFAULT_TIMES: int = _DefaultTimes(1)


@dataclass
class FaultRule:
    route: str
    status: int | None = None
    times: int | None = 1  # firings left; None = unlimited
    probability: float | None = None
    latency_ms: float = 0.0
    drop: bool = False
    retry_after: float | None = None

    @property
    def disrupts(self) -> bool:
        """Whether the rule replaces the response (error status or dropped connection)."""
        return self.drop or self.status is not None


@dataclass(frozen=True)
class FaultDecision:
    """What to do to one request: sleep ``latency_s``, then maybe apply ``rule``."""

    latency_s: float
    rule: FaultRule | None  # the disrupting rule that fired, if any


class Faults:
    """The list of active rules (thread-safe)."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._rng = random.Random(seed)
        self._seed = seed

    def add(
        self,
        route: str,
        *,
        status: int | None = None,
        times: int | None = DEFAULT_TIMES,
        probability: float | None = None,
        latency_ms: float | None = None,
        drop: bool = False,
        retry_after: float | None = None,
    ) -> FaultRule:
        """Add a rule; see :meth:`aurous_nb.sandbox.Sandbox.inject`."""
        if route != "*" and route not in ROUTES:
            raise ValueError(f"unknown route {route!r}; use one of {', '.join(ROUTES)} or '*'")
        if status is not None and not 400 <= status <= 599:
            raise ValueError(f"status must be a 4xx or 5xx code, got {status!r}")
        if status is not None and drop:
            raise ValueError("give either status or drop=True, not both")
        if probability is not None and not 0.0 <= probability <= 1.0:
            raise ValueError(f"probability must be within 0..1, got {probability!r}")
        if status is None and not drop and not latency_ms:
            raise ValueError("a fault needs status, drop=True or latency_ms")
        if isinstance(times, _DefaultTimes):
            times = None if probability is not None else 1
        if times is not None and times < 1:
            raise ValueError(f"times must be >= 1 or None, got {times!r}")
        rule = FaultRule(
            route, status, times, probability, float(latency_ms or 0.0), drop, retry_after
        )
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._rng = random.Random(self._seed)

    def decide(self, route: str) -> FaultDecision:
        """Fire the matching rules for one request (spending their ``times``)."""
        latency = 0.0
        chosen: FaultRule | None = None
        with self._lock:
            for rule in list(self._rules):
                if rule.route not in (route, "*"):
                    continue
                if chosen is not None and rule.disrupts:
                    continue  # one disruption per request; later ones keep their turn
                if rule.probability is not None and self._rng.random() >= rule.probability:
                    continue
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self._rules.remove(rule)
                latency += rule.latency_ms / 1000.0
                if rule.disrupts:
                    chosen = rule
        return FaultDecision(latency, chosen)

    @property
    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)
