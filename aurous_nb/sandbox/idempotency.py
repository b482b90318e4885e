"""Idempotency keys (API.md §5, §14 row 14): 1–256 chars, 24 h, scoped per team.

Only 2xx outcomes are cached and replayed; 4xx are re-evaluated and 5xx never cached.
A second request with the same key while the first is still running, on another route
(method and path), or with a different canonical-JSON body gets ``409 idempotency_key_in_use``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field

from .errors import SandboxError

KEY_HEADERS = ("Idempotency-Key", "Aurous-Idempotency-Key", "Aurous-Idempotent-Key")
MAX_KEY_LENGTH = 256


def fingerprint(body: bytes) -> str:
    """Digest of the canonical JSON of ``body`` (raw bytes when it is not JSON).

    An empty body counts as ``{}`` (a body-less ``save`` retried with ``{}`` is the same call).
    """
    if not body.strip():
        body = b"{}"
    try:
        canonical = json.dumps(
            json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    except ValueError:
        canonical = b"raw:" + body
    return hashlib.sha256(canonical).hexdigest()


def validate_key(key: str) -> str:
    """Return ``key`` or raise ``400 value_out_of_range`` if it is not 1–256 characters."""
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise SandboxError(
            400,
            "value_out_of_range",
            f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} characters, got {len(key)}.",
            "Idempotency-Key",
        )
    return key


@dataclass
class Cached:
    """A finished 2xx response kept for replay."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Entry:
    route: str  # "POST /v1/characters/char_…/resynthesize": the key belongs to this call
    fingerprint: str
    created: float
    result: Cached | None = None  # None while in flight


class IdempotencyStore:
    """Thread-safe map ``(team, key) -> entry``; the entry remembers the route it was used on."""

    def __init__(self, ttl: float = 86400.0) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], _Entry] = {}

    def claim(self, scope: tuple[str, str], route: str, fp: str, now: float) -> Cached | None:
        """Start a request with key ``scope = (team, key)`` on ``route`` (method and path).

        Returns:
            ``None`` when the caller should process the request (it now owns the key and
            must call :meth:`finish`), or the cached response to replay.

        Raises:
            SandboxError: 409 when the key is in flight, or was used on another route or
                with a different body.
        """
        with self._lock:
            entry = self._entries.get(scope)
            if entry is not None and now - entry.created > self.ttl:
                entry = None
            if entry is None:
                self._entries[scope] = _Entry(route, fp, now)
                return None
            if entry.route != route:
                # §5: "same key + different body or different route -> 409"; the key names
                # one call, so it cannot be spent again on another one (and charge for it).
                raise SandboxError(
                    409,
                    "idempotency_key_in_use",
                    f"This Idempotency-Key was already used for {entry.route}; "
                    "send a new key for each call.",
                    "Idempotency-Key",
                )
            if entry.fingerprint != fp:
                raise SandboxError(
                    409,
                    "idempotency_key_in_use",
                    "This Idempotency-Key was already used with a different request body.",
                    "Idempotency-Key",
                )
            if entry.result is None:
                raise SandboxError(
                    409,
                    "idempotency_key_in_use",
                    "A request with this Idempotency-Key is still being processed; "
                    "retry with the same key shortly.",
                    "Idempotency-Key",
                )
            return entry.result

    def finish(self, scope: tuple[str, str], result: Cached | None) -> None:
        """Record the outcome: a 2xx :class:`Cached` is kept, anything else frees the key."""
        with self._lock:
            if result is None or not 200 <= result.status < 300:
                self._entries.pop(scope, None)
            elif scope in self._entries:
                self._entries[scope].result = result

    def __len__(self) -> int:
        """Keys held (in flight or cached, expired ones included until reused)."""
        with self._lock:
            return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
