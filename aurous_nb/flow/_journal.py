"""The journal: what earlier runs uploaded and created, kept on disk so a new kernel neither
uploads a finished ref again nor creates a character twice.

One SQLite file (``$XDG_CACHE_HOME/aurous_nb/journal.sqlite3``; ``AUROUS_NB_JOURNAL=/path`` to
move it, ``AUROUS_NB_JOURNAL=off`` to switch it off), shared by every kernel and script of the
user (WAL, a busy timeout). Per uploaded ref, keyed by (team, API host, a fingerprint of the
bytes that were uploaded with the file name and type they were minted with: see
:func:`ref_key`): the ``upload_id``, the ticket's deadline and the classification. Per
character, keyed by (team, host, name, the ordered content hashes): the create's
``Idempotency-Key``, the upload ids it was sent with and, once known, the character's id.

Never the API key and never a signed upload URL (it is a credential for the PUT): a journaled
ticket can be classified and created from, not uploaded to again. Entries past the 24-hour
ticket lifetime are pruned on open. A journal that cannot be read or written is moved aside or
ignored with one warning line; the work goes on without it.
"""

from __future__ import annotations

import atexit
import concurrent.futures as cf
import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..limits import TICKET_TTL

if TYPE_CHECKING:  # pragma: no cover
    from ..client import AurousClient
    from ..images import CheckedImage

__all__ = [
    "ENV_JOURNAL",
    "CreateKey",
    "FlowJournal",
    "Journal",
    "JournaledCharacter",
    "JournaledRef",
    "default_path",
    "ref_key",
]

log = logging.getLogger("aurous_nb")

ENV_JOURNAL = "AUROUS_NB_JOURNAL"
"""``/path/to/file`` to move the journal, ``off`` (or ``0``, ``false``, ``no``) to switch it off."""
_OFF = ("off", "0", "false", "no", "none", "")
_SCHEMA = 1
_KEEP = TICKET_TTL.total_seconds() + 3600  # an hour past the deadline: replays still match


def default_path() -> Path | None:
    """Where the journal lives by default, or None when ``$AUROUS_NB_JOURNAL`` switches it off."""
    value = os.environ.get(ENV_JOURNAL)
    if value is not None:
        return None if value.strip().lower() in _OFF else Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "aurous_nb" / "journal.sqlite3"


_OPEN_PAUSES = (0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.8)
"""Seconds between tries of a journal another process is creating (about 1.6 s in all)."""


class _Connections:
    """One connection per journal file in this process, shared by its threads.

    A connection opened and closed for every entry would make each write cost a checkpoint
    of the WAL (the last connection to close does one, with an fsync): ~1.5 ms instead of
    ~0.05 ms. A few files are kept open (tests use many); all are closed at exit.
    """

    KEEP = 4

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: OrderedDict[Path, tuple[sqlite3.Connection, threading.RLock]] = OrderedDict()

    def get(self, path: Path) -> tuple[sqlite3.Connection, threading.RLock]:
        with self._lock:
            found = self._open.get(path)
            if found is not None:
                self._open.move_to_end(path)
                return found
            conn = sqlite3.connect(path, timeout=5.0, isolation_level=None, check_same_thread=False)
            try:
                # WAL with synchronous=NORMAL syncs at checkpoints, not at every commit: a
                # power cut may lose the last entries (a re-upload, no harm), a kill none
                conn.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.Error:
                conn.close()  # a damaged file: the caller moves it aside
                raise
            found = self._open[path] = (conn, threading.RLock())
            while len(self._open) > self.KEEP:
                self._close(self._open.popitem(last=False)[1])
            return found

    def drop(self, path: Path) -> None:
        """Close the connection to ``path`` (before the file is moved aside)."""
        with self._lock:
            found = self._open.pop(path, None)
        if found is not None:
            self._close(found)

    def close_all(self) -> None:
        with self._lock:
            items = list(self._open.values())
            self._open.clear()
        for item in items:
            self._close(item)

    @staticmethod
    def _close(item: tuple[sqlite3.Connection, threading.RLock]) -> None:
        conn, lock = item
        with lock:
            conn.close()


_CONNECTIONS = _Connections()
atexit.register(_CONNECTIONS.close_all)


@dataclass(frozen=True)
class JournaledRef:
    """An uploaded ref as an earlier run left it."""

    upload_id: str
    deadline: float
    """Epoch seconds when the ticket expires (minted + 24 h)."""
    pose: str | None = None
    confidence: float | None = None


@dataclass(frozen=True)
class JournaledCharacter:
    """A create as an earlier run left it: sent (key, ids) and maybe finished (character id)."""

    idempotency_key: str
    upload_ids: tuple[str, ...]
    character_id: str | None
    created: float
    """Epoch seconds of the create's first attempt."""


class Journal:
    """The journal file, opened lazily; every method is thread- and process-safe.

    Args:
        path: the file (default :func:`default_path`); None switches the journal off.
        clock: epoch seconds (injectable, so tests can move past a ticket's deadline).
    """

    def __init__(
        self, path: Path | str | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.path = Path(path) if path is not None else None
        self._clock = clock
        self._lock = threading.Lock()
        self._ready = False
        self.warning: str | None = None
        """Why the journal is off for this process (one line), or None."""

    @classmethod
    def default(cls) -> Journal:
        """The user's journal, where ``$AUROUS_NB_JOURNAL`` / ``$XDG_CACHE_HOME`` put it."""
        return cls(default_path())

    @property
    def enabled(self) -> bool:
        """Whether the journal is in use (not switched off, not given up on)."""
        return self.path is not None and self.warning is None

    def _now(self) -> float:
        return float(self._clock())

    # -- the file ------------------------------------------------------------------------

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection | None]:
        """A connection in one transaction, or None when the journal is off or broken.

        A database error inside the block rolls back, switches the journal off with one
        warning and is swallowed: callers set their results before the block.
        """
        if not self.enabled:
            yield None
            return
        with self._lock:
            if not self._ready:
                self._open()
        if not self.enabled:
            yield None
            return
        assert self.path is not None
        try:
            conn, lock = _CONNECTIONS.get(self.path)
        except sqlite3.Error as exc:
            self._give_up(f"cannot open it ({exc})")
            yield None
            return
        with lock:
            try:
                conn.execute("BEGIN IMMEDIATE")  # one writer at a time, across processes
                yield conn
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                self._give_up(f"cannot use it ({exc})")

    def _open(self) -> None:
        """Create or check the file once per process; move a corrupt one aside."""
        assert self.path is not None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._prepare_patiently()
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                self._give_up(f"it stayed locked ({exc})")
                return
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(self._now())}")
            _CONNECTIONS.drop(self.path)
            try:
                os.replace(self.path, aside)
                self._prepare()
            except (OSError, sqlite3.Error) as again:
                self._give_up(f"it is damaged and could not be replaced ({again})")
                return
            log.warning(
                "aurous_nb journal %s was damaged (%s); moved it to %s and started a new one",
                self.path,
                exc,
                aside.name,
            )
        except OSError as exc:
            self._give_up(f"cannot write it ({exc.strerror or exc})")
            return
        self._ready = True

    def _prepare_patiently(self) -> None:
        """:meth:`_prepare`, again after a moment while another process holds the file.

        Two kernels opening a new journal at the same moment collide: switching it to WAL
        needs the file to itself and SQLite answers "database is locked" at once, without
        waiting out the busy timeout (2 of 3 simultaneous first opens did, measured).
        """
        for pause in _OPEN_PAUSES:
            try:
                self._prepare()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc):
                    raise
            time.sleep(pause)
        self._prepare()  # the last try: its error is the caller's

    def _prepare(self) -> None:
        assert self.path is not None
        conn, lock = _CONNECTIONS.get(self.path)
        with lock:
            conn.execute("PRAGMA journal_mode=WAL")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, _SCHEMA):
                raise sqlite3.DatabaseError(f"unknown journal schema {version}")
            conn.executescript(
                """
                CREATE TABLE IF NOT EXISTS refs (
                    team TEXT NOT NULL, host TEXT NOT NULL, digest TEXT NOT NULL,
                    upload_id TEXT NOT NULL, deadline REAL NOT NULL,
                    pose TEXT, confidence REAL, updated REAL NOT NULL,
                    PRIMARY KEY (team, host, digest));
                CREATE TABLE IF NOT EXISTS characters (
                    team TEXT NOT NULL, host TEXT NOT NULL, name TEXT NOT NULL,
                    digests TEXT NOT NULL, idempotency_key TEXT NOT NULL,
                    upload_ids TEXT NOT NULL, character_id TEXT, created REAL NOT NULL,
                    PRIMARY KEY (team, host, name, digests));
                """
            )
            conn.execute(f"PRAGMA user_version={_SCHEMA}")
            cutoff = self._now()
            conn.execute("DELETE FROM refs WHERE deadline < ?", (cutoff,))
            conn.execute("DELETE FROM characters WHERE created < ?", (cutoff - _KEEP,))
        try:
            os.chmod(self.path, 0o600)
        except OSError:
            pass

    def _give_up(self, why: str) -> None:
        if self.warning is None:
            self.warning = f"journal {self.path}: {why} — continuing without it"
            log.warning("aurous_nb %s", self.warning)

    # -- refs ----------------------------------------------------------------------------

    def find_ref(self, team: str, host: str, digest: str, *, margin: float) -> JournaledRef | None:
        """The ticket an earlier run uploaded these bytes to, if still usable for ``margin`` s."""
        row = None
        with self._db() as db:
            if db is None:
                return None
            row = db.execute(
                "SELECT upload_id, deadline, pose, confidence FROM refs "
                "WHERE team=? AND host=? AND digest=? AND deadline>?",
                (team, host, digest, self._now() + margin),
            ).fetchone()
        return JournaledRef(*row) if row else None

    def refs_with_tickets(self, host: str, digests: Sequence[str], *, margin: float) -> set[str]:
        """Which of ``digests`` any team's earlier run left a usable ticket for on ``host``
        (asked first, so the team need not be known when nothing was journaled): one query for
        a whole flow, so its refs need not each ask (and queue for the connection)."""
        found: set[str] = set()
        if not digests:
            return found
        with self._db() as db:
            if db is None:
                return found
            marks = ",".join("?" * len(digests))
            rows = db.execute(
                "SELECT DISTINCT digest FROM refs WHERE host=? AND deadline>? "
                f"AND digest IN ({marks})",
                (host, self._now() + margin, *digests),
            ).fetchall()
            found.update(row[0] for row in rows)
        return found

    def record_upload(
        self, team: str, host: str, digest: str, upload_id: str, deadline: float
    ) -> None:
        """The bytes with this digest are now on the ticket ``upload_id``."""
        with self._db() as db:
            if db is not None:
                db.execute(
                    "INSERT OR REPLACE INTO refs VALUES (?, ?, ?, ?, ?, NULL, NULL, ?)",
                    (team, host, digest, upload_id, deadline, self._now()),
                )

    def record_classification(
        self, team: str, host: str, digest: str, upload_id: str, pose: str, confidence: float
    ) -> None:
        """The pose of the ticket ``upload_id`` (ignored if that ticket is no longer the one)."""
        with self._db() as db:
            if db is not None:
                db.execute(
                    "UPDATE refs SET pose=?, confidence=?, updated=? "
                    "WHERE team=? AND host=? AND digest=? AND upload_id=?",
                    (pose, confidence, self._now(), team, host, digest, upload_id),
                )

    def forget_refs(self, team: str, host: str, upload_ids: Sequence[str]) -> None:
        """Drop tickets that are consumed, refused or replaced."""
        with self._db() as db:
            if db is not None and upload_ids:
                marks = ",".join("?" * len(upload_ids))
                db.execute(
                    f"DELETE FROM refs WHERE team=? AND host=? AND upload_id IN ({marks})",
                    (team, host, *upload_ids),
                )

    def live_tickets(self) -> int:
        """How many journaled tickets are still before their deadline."""
        count = 0
        with self._db() as db:
            if db is not None:
                query = "SELECT COUNT(*) FROM refs WHERE deadline>?"
                count = int(db.execute(query, (self._now(),)).fetchone()[0])
        return count

    # -- characters ----------------------------------------------------------------------

    def claim_create(
        self,
        team: str,
        host: str,
        name: str,
        digests: Sequence[str],
        idempotency_key: str,
        upload_ids: Sequence[str],
    ) -> JournaledCharacter:
        """The create to send for this character: an earlier one (same name and refs) if the
        journal holds it, else this one, recorded before it is sent.

        Two kernels racing on the same cell both get the first one's key and upload ids, so
        the server sees one create twice and replays it instead of making two characters.
        """
        joined = ",".join(digests)
        fresh = JournaledCharacter(idempotency_key, tuple(upload_ids), None, self._now())
        found = fresh
        with self._db() as db:
            if db is None:
                return fresh
            row = db.execute(
                "SELECT idempotency_key, upload_ids, character_id, created FROM characters "
                "WHERE team=? AND host=? AND name=? AND digests=? AND created>?",
                (team, host, name, joined, self._now() - TICKET_TTL.total_seconds()),
            ).fetchone()
            if row is not None:
                key, ids, character_id, created = row
                found = JournaledCharacter(key, tuple(ids.split(",")), character_id, created)
            else:
                db.execute(
                    "INSERT OR REPLACE INTO characters VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
                    (
                        team,
                        host,
                        name,
                        joined,
                        idempotency_key,
                        ",".join(upload_ids),
                        fresh.created,
                    ),
                )
        return found

    def made(self, host: str, name: str, digests: Sequence[str]) -> list[tuple[str, str]]:
        """(team, character id) of every create for this request known to have finished."""
        rows: list[tuple[str, str]] = []
        with self._db() as db:
            if db is None:
                return []
            rows = db.execute(
                "SELECT team, character_id FROM characters WHERE host=? AND name=? AND digests=? "
                "AND character_id IS NOT NULL AND created>?",
                (host, name, ",".join(digests), self._now() - TICKET_TTL.total_seconds()),
            ).fetchall()
        return [(team, char) for team, char in rows]

    def record_character(
        self, team: str, host: str, name: str, digests: Sequence[str], character_id: str
    ) -> None:
        """The create for these refs made ``character_id``."""
        with self._db() as db:
            if db is not None:
                db.execute(
                    "UPDATE characters SET character_id=? "
                    "WHERE team=? AND host=? AND name=? AND digests=?",
                    (character_id, team, host, name, ",".join(digests)),
                )

    def forget_character(self, team: str, host: str, name: str, digests: Sequence[str]) -> None:
        """Drop a journaled create (``new=True``, or its character is gone)."""
        with self._db() as db:
            if db is not None:
                db.execute(
                    "DELETE FROM characters WHERE team=? AND host=? AND name=? AND digests=?",
                    (team, host, name, ",".join(digests)),
                )

    # -- for people ----------------------------------------------------------------------

    def summary(self) -> list[tuple[str, str, str, int, str | None]]:
        """One row per journaled create: (host, name, created ISO time, refs, character id)."""
        rows: list[tuple[str, str, float, str, str | None]] = []
        with self._db() as db:
            if db is None:
                return []
            rows = db.execute(
                "SELECT host, name, created, digests, character_id FROM characters "
                "ORDER BY created DESC"
            ).fetchall()
        return [
            (
                host,
                name,
                time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created)),
                len(digests.split(",")),
                char,
            )
            for host, name, created, digests, char in rows
        ]

    def clear(self) -> int:
        """Delete every entry; returns how many there were."""
        n = 0
        with self._db() as db:
            if db is None:
                return 0
            n = sum(
                db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                for table in ("refs", "characters")
            )
            db.execute("DELETE FROM refs")
            db.execute("DELETE FROM characters")
        return int(n)

    def __repr__(self) -> str:
        state = "off" if self.path is None else self.warning or "on"
        return f"Journal({str(self.path) if self.path else None!r}, {state})"


class FlowJournal:
    """One flow's use of the journal: its team and API host, and its refs' fingerprints.

    The team id (the scope of upload tickets) is asked for once, on a thread, when the first
    ticket is minted, so it overlaps that ticket's PUT (a flow that fails before any upload
    asks nothing); a journaled ticket found for a ref makes it wait for the answer, since a
    ticket of another team is of no use. If the team cannot be had (no connection, a key that
    may not read it), the flow goes on without the journal.
    """

    def __init__(self, journal: Journal, client: AurousClient) -> None:
        self.journal = journal
        self.host = client.base_url
        self._client = client
        self._team: cf.Future[str] | None = None
        self._lock = threading.Lock()
        self._known: set[str] | None = None  # what look_up() found; None: ask per ref

    @property
    def enabled(self) -> bool:
        return self.journal.enabled

    def look_up(self, fingerprints: Sequence[str], margin: float) -> None:
        """Find out at once which of these refs an earlier run uploaded (see :meth:`reusable`)."""
        if self.enabled:
            self._known = self.journal.refs_with_tickets(self.host, fingerprints, margin=margin)

    def start(self) -> None:
        """Ask for the team id in the background, once."""
        with self._lock:
            if self._team is None and self.enabled:
                self._team = cf.Future()
                future = self._team
                threading.Thread(
                    target=self._fetch_team, args=(future,), name="aurous-journal", daemon=True
                ).start()

    def _fetch_team(self, future: cf.Future[str]) -> None:
        try:
            future.set_result(self._client.team_id())
        except BaseException as exc:  # the future carries it; team() says what went wrong
            future.set_exception(exc)

    def team(self) -> str | None:
        """The team id, or None (then the journal is not used)."""
        self.start()
        future = self._team
        if future is None:
            return None
        try:
            return future.result(timeout=120)
        except Exception as exc:
            log.warning("aurous_nb journal not used: the team is unknown (%s)", exc)
            self.journal.warning = self.journal.warning or f"team unknown ({exc})"
            return None

    # -- refs ----------------------------------------------------------------------------

    def reusable(self, fingerprint: str, margin: float) -> JournaledRef | None:
        if not self.enabled:
            return None
        known = self._known
        if known is None:  # look_up() was not asked
            known = self.journal.refs_with_tickets(self.host, [fingerprint], margin=margin)
        if fingerprint not in known:
            return None
        team = self.team()
        if team is None:
            return None
        return self.journal.find_ref(team, self.host, fingerprint, margin=margin)

    def uploaded(self, fingerprint: str, upload_id: str, deadline: float) -> None:
        team = self.team() if self.enabled else None
        if team is not None:
            self.journal.record_upload(team, self.host, fingerprint, upload_id, deadline)

    def classified(self, fingerprint: str, upload_id: str, pose: str, confidence: float) -> None:
        team = self.team() if self.enabled else None
        if team is not None:
            self.journal.record_classification(
                team, self.host, fingerprint, upload_id, pose, confidence
            )

    def forget(self, upload_ids: Sequence[str]) -> None:
        team = self.team() if self.enabled else None
        if team is not None:
            self.journal.forget_refs(team, self.host, upload_ids)

    # -- the create ----------------------------------------------------------------------

    def claim(
        self, key: CreateKey, idempotency_key: str, upload_ids: Sequence[str]
    ) -> JournaledCharacter | None:
        team = self.team() if self.enabled else None
        if team is None:
            return None
        return self.journal.claim_create(
            team, self.host, key.name, key.parts, idempotency_key, upload_ids
        )

    def made(self, key: CreateKey) -> str | None:
        """The id of a character an earlier run made for this request, if any (the team is
        only asked for when the journal has one)."""
        if not self.enabled:
            return None
        found = self.journal.made(self.host, key.name, key.parts)
        if not found:
            return None
        team = self.team()
        return next((char for t, char in found if t == team), None)

    def created(self, key: CreateKey, character_id: str, upload_ids: Sequence[str]) -> None:
        team = self.team() if self.enabled else None
        if team is not None:
            self.journal.record_character(team, self.host, key.name, key.parts, character_id)
            self.journal.forget_refs(team, self.host, upload_ids)  # consumed by the create

    def forget_create(self, key: CreateKey) -> None:
        team = self.team() if self.enabled else None
        if team is not None:
            self.journal.forget_character(team, self.host, key.name, key.parts)


def ref_key(image: CheckedImage) -> str:
    """A ref's key in the journal: its bytes' fingerprint with the name and type the ticket
    was minted with (the same photo under another name is another upload)."""
    text = f"{image.upload_filename}\0{image.mime}\0{image.upload_fingerprint}"
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(frozen=True)
class CreateKey:
    """What makes two creates the same request: the name, the refs' fingerprints in order, and
    (hashed) the attributes and client reference id."""

    name: str
    parts: tuple[str, ...]

    @classmethod
    def of(
        cls,
        name: str,
        fingerprints: Sequence[str],
        attributes: Mapping[str, Any] | None,
        client_reference_id: str | None,
    ) -> CreateKey:
        extra = json.dumps([attributes, client_reference_id], sort_keys=True, default=str)
        return cls(name, (*fingerprints, "body:" + hashlib.sha256(extra.encode()).hexdigest()))
