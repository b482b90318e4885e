"""Everything the sandbox remembers: teams, keys, upload tickets, characters.

One re-entrant lock (``SandboxState.lock``) guards all of it; handlers in ``uploads.py``
and ``characters.py`` take it for their whole check-then-change step so each request is
atomic. Each team's characters are also kept in list order (:class:`TeamIndex`), so a
page costs the same at the 10,000th character as at the first. Nothing here sleeps or
does network I/O.
"""

from __future__ import annotations

import bisect
import math
import random
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from typing import Any

from .buckets import BucketSet
from .clock import SandboxClock, iso, ulid
from .errors import SandboxError
from .idempotency import IdempotencyStore
from .signing import Signer

CURRENT_VERSION = "2026-05-15"
KNOWN_VERSIONS = frozenset({CURRENT_VERSION})
SCOPES = ("read", "write", "full")
_KEY_RE = re.compile(r"^(al_live_[0-9a-f]{64}|og_[A-Za-z0-9_\-]{8,128})$")


@dataclass
class Options:
    """Behaviour knobs (defaults = the documented values, API.md §14)."""

    latency_ms: float = 0.0  # added to every request (slept outside the lock)
    synth_seconds: float = 3.0  # synthesizing -> end state after this many clock seconds
    synth_failure_rate: float = 0.0  # probability a synthesis ends in `failed`
    synth_end_state: str = "reviewing"  # or "ready" (the 2026-06-19 changelog reading)
    billing_mode: str = "metered"  # GET /v1/balance's open enum: "metered" or "exempt" (§1)
    credits: float = 1000.0  # starting credits of every team
    url_ttl: float = 900.0  # signed upload URL lifetime (15 min)
    ticket_ttl: float = 86400.0  # upload ticket lifetime (24 h)
    ref_url_ttl: float = 86400.0  # storage URL lifetime in refs[].url
    idempotency_ttl: float = 86400.0
    max_upload_bytes: int = 10 * 1024 * 1024
    max_side: int = 4096
    seed: int = 0  # seeds the synthesis-failure RNG

    def __post_init__(self) -> None:
        if self.synth_end_state not in ("reviewing", "ready"):
            raise ValueError("synth_end_state must be 'reviewing' or 'ready'")
        if self.billing_mode not in ("metered", "exempt"):
            raise ValueError("billing_mode must be 'metered' or 'exempt'")
        if not 0.0 <= self.synth_failure_rate <= 1.0:
            raise ValueError("synth_failure_rate must be within 0..1")

    def updated(self, **changes: Any) -> Options:
        """A copy with ``changes`` applied (unknown names raise ``TypeError``)."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise TypeError(f"unknown sandbox option(s): {', '.join(sorted(unknown))}")
        return replace(self, **changes)


@dataclass
class Team:
    id: str
    name: str
    credits: float
    created_at: float
    billing_email: str
    default_version: str = CURRENT_VERSION


@dataclass
class ApiKey:
    key: str
    team_id: str
    scope: str
    revoked: bool = False


@dataclass
class Ticket:
    """One upload ticket (``upl_…``): its URL expiry, its bytes and its latest pose."""

    id: str
    team_id: str
    filename: str
    extension: str
    content_type: str
    minted_at: float
    url_expires: int
    ticket_expires: float
    data: bytes | None = None
    digest: str | None = None  # sha256 of data (image-check cache key)
    classification: tuple[str, float] | None = None
    consumed: bool = False


@dataclass
class StoredRef:
    """A character's reference image: uploaded bytes, or a drawing rendered on demand."""

    id: str
    pose: str
    content_type: str
    data: bytes | None = None
    variant: int = 0  # bumped by regenerate so the drawing changes


@dataclass
class Pending:
    """A synthesis in progress; applied lazily once the clock passes ``due``."""

    due: float
    fail: bool
    poses: tuple[str, ...]  # poses to (re)draw
    replace_all: bool  # resynthesize/create: the drawn set replaces every ref


@dataclass
class CharacterRecord:
    id: str
    team_id: str
    seq: int  # creation order; breaks created_at ties in the list
    name: str
    status: str
    created_at: float
    updated_at: float
    aurous_version: str
    flow: str  # "upload" | "synthesize"
    attributes: dict[str, Any] | None = None
    refs: list[StoredRef] = field(default_factory=list)
    error_message: str | None = None
    client_reference_id: str | None = None
    pending: Pending | None = None


class TeamIndex:
    """One team's characters in list order: ``(created_at, seq)``, kept sorted as they come.

    Creation appends (the clock does not run backwards while a state lives); a cursor is
    found by bisection on its own sort key, so paging never sorts nor scans from the top.
    Soft-deleted characters stay (a valid place to page from); hard-deleted ones leave.
    """

    def __init__(self) -> None:
        self._keys: list[tuple[float, int]] = []
        self._ids: list[str] = []

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, char: CharacterRecord) -> None:
        key = (char.created_at, char.seq)
        at = bisect.bisect_right(self._keys, key)
        self._keys.insert(at, key)
        self._ids.insert(at, char.id)

    def remove(self, char: CharacterRecord) -> None:
        at = bisect.bisect_left(self._keys, (char.created_at, char.seq))
        if at < len(self._ids) and self._ids[at] == char.id:
            del self._keys[at]
            del self._ids[at]

    def newest_first(self, after: CharacterRecord | None = None) -> Iterator[str]:
        """Ids from the newest down, starting just past ``after`` (which must be indexed)."""
        end = len(self._ids)
        if after is not None:
            end = bisect.bisect_left(self._keys, (after.created_at, after.seq))
        for at in range(end - 1, -1, -1):
            yield self._ids[at]


def new_key(*, legacy: bool = False) -> str:
    """A fresh key in the vendor's format (``al_live_<64 hex>`` or legacy ``og_…``)."""
    return ("og_" + secrets.token_hex(24)) if legacy else ("al_live_" + secrets.token_hex(32))


class SandboxState:
    """The sandbox's memory plus the helpers every handler shares."""

    def __init__(
        self,
        options: Options,
        clock: SandboxClock,
        *,
        api_key: str | None = None,
        buckets: dict[str, tuple[int, float]] | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.initial_options = options
        self.options = options
        self.clock = clock
        self.signer = Signer()
        self._bucket_config = dict(buckets or {})
        self.default_team_id = "team_" + ulid(clock.now())
        self.default_key = api_key or new_key()
        if not _KEY_RE.match(self.default_key):
            raise ValueError("api_key must look like al_live_<64 hex> or og_<8-128 chars>")
        self.reset()

    # -- lifecycle ---------------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything except the default team's id and key."""
        with self.lock:
            self.options = self.initial_options
            self.clock.reset()
            self.buckets = BucketSet(self._bucket_config)
            self.idempotency = IdempotencyStore(self.options.idempotency_ttl)
            self.rng = random.Random(self.options.seed)
            self.teams: dict[str, Team] = {}
            self.keys: dict[str, ApiKey] = {}
            self.tickets: dict[str, Ticket] = {}
            self.characters: dict[str, CharacterRecord] = {}
            self._index: dict[str, TeamIndex] = {}
            self._seq = 0
            self.add_team("Sandbox team", team_id=self.default_team_id)
            self.keys[self.default_key] = ApiKey(self.default_key, self.default_team_id, "full")

    def now(self) -> float:
        return self.clock.now()

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # -- teams and keys ----------------------------------------------------------------

    def add_team(
        self, name: str = "Other team", credits: float | None = None, *, team_id: str | None = None
    ) -> str:
        with self.lock:
            tid = team_id or "team_" + ulid(self.now())
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "team"
            self.teams[tid] = Team(
                tid,
                name,
                float(self.options.credits if credits is None else credits),
                self.now(),
                f"billing+{slug}@example.com",
            )
            return tid

    def add_key(self, team_id: str | None = None, scope: str = "full", legacy: bool = False) -> str:
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
        with self.lock:
            tid = team_id or self.default_team_id
            if tid not in self.teams:
                raise KeyError(f"no such team: {tid!r}")
            key = new_key(legacy=legacy)
            self.keys[key] = ApiKey(key, tid, scope)
            return key

    def revoke_key(self, key: str) -> None:
        with self.lock:
            self.keys[key].revoked = True

    def authenticate(self, x_api_key: str | None, authorization: str | None) -> ApiKey:
        """Resolve the request's key (``X-Api-Key`` wins over ``Authorization: Bearer``)."""
        key = x_api_key
        if key is None and authorization is not None:
            scheme, _, token = authorization.strip().partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise SandboxError(
                    401, "invalid_api_key", "Authorization must be 'Bearer <api key>'."
                )
            key = token.strip()
        if key is None or not key.strip():
            raise SandboxError(
                401,
                "missing_api_key",
                "No API key provided. Send it in the X-Api-Key header.",
            )
        key = key.strip()
        shown = key[:14] + ("…" if len(key) > 14 else "")
        with self.lock:
            record = self.keys.get(key) if _KEY_RE.match(key) else None
            if record is None:
                raise SandboxError(401, "invalid_api_key", f"Invalid API key {shown!r}.")
            if record.revoked:
                raise SandboxError(
                    401, "revoked_api_key", f"The API key {shown!r} has been revoked."
                )
            return record

    def set_credits(self, credits: float, team_id: str | None = None) -> None:
        with self.lock:
            self.teams[team_id or self.default_team_id].credits = float(credits)

    # -- characters ---------------------------------------------------------------------

    def add_character(self, char: CharacterRecord) -> None:
        """Store a new character (and index it for the list). Hold :attr:`lock`."""
        self.characters[char.id] = char
        self._index.setdefault(char.team_id, TeamIndex()).add(char)

    def remove_character(self, char: CharacterRecord) -> None:
        """Forget a character entirely (a hard delete). Hold :attr:`lock`."""
        self.characters.pop(char.id, None)
        index = self._index.get(char.team_id)
        if index is not None:
            index.remove(char)

    def team_characters(
        self, team_id: str, starting_after: CharacterRecord | None = None
    ) -> Iterator[CharacterRecord]:
        """The team's characters newest first (soft-deleted ones included), from just past
        ``starting_after`` (one of the team's). Hold :attr:`lock` while iterating."""
        index = self._index.get(team_id)
        if index is None:
            return
        for char_id in index.newest_first(starting_after):
            yield self.characters[char_id]

    def settle(self, char: CharacterRecord) -> None:
        """Apply a finished synthesis (lazy: called whenever a character is looked at)."""
        pending = char.pending
        if pending is None or char.status != "synthesizing" or self.now() < pending.due:
            return
        char.pending = None
        char.updated_at = max(char.updated_at, pending.due)
        if pending.fail:
            char.status = "failed"
            char.error_message = "synthesis_failed"
            return
        drawn = {p: StoredRef("ref_" + ulid(pending.due), p, "image/png") for p in pending.poses}
        if pending.replace_all:
            char.refs = list(drawn.values())
        else:
            for pose, ref in drawn.items():
                old = next((r for r in char.refs if r.pose == pose), None)
                if old is None:
                    char.refs.append(ref)
                else:  # an uploaded photo's place is taken by a drawing (a PNG)
                    old.variant += 1
                    old.id, old.data, old.content_type = ref.id, None, ref.content_type
        char.status = self.options.synth_end_state
        char.error_message = None

    def find_character(
        self, team_id: str, char_id: str, param: str | None = None
    ) -> CharacterRecord:
        """The team's live character or ``404 resource_not_found``."""
        char = self.characters.get(char_id)
        if char is None or char.team_id != team_id or char.status == "deleted":
            msg = f"No such character: {char_id!r}."
            if param is None:
                raise SandboxError(404, "resource_not_found", msg)
            raise SandboxError(404, "resource_not_found", msg, param)
        self.settle(char)
        return char

    def ref_url(self, base_url: str, char: CharacterRecord, ref: StoredRef) -> str:
        expires = math.ceil(self.now() + self.options.ref_url_ttl)
        ext = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}[ref.content_type]
        subject = f"{char.id}/{ref.id}"
        token = self.signer.sign("storage", subject, expires)
        return f"{base_url}/storage/{subject}.{ext}?expires={expires}&token={token}"

    def character_json(self, char: CharacterRecord, base_url: str) -> dict[str, Any]:
        """The public character object (API.md §10.1)."""
        return {
            "id": char.id,
            "object": "character",
            "name": char.name,
            "status": char.status,
            "refs": [{"pose": r.pose, "url": self.ref_url(base_url, char, r)} for r in char.refs],
            "created_at": iso(char.created_at),
            "updated_at": iso(char.updated_at),
            "attributes": char.attributes,
            "error_message": char.error_message,
            "aurous_version": char.aurous_version,
            "client_reference_id": char.client_reference_id,
        }
