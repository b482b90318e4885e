"""The journal on its own: a real SQLite file, shared by threads and processes, tolerant of a
damaged or unwritable file, pruned by age, and holding nothing secret."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from aurous_nb.flow import Journal, default_path

DAY = 24 * 3600.0


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_where_it_lives(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AUROUS_NB_JOURNAL", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_path() == tmp_path / "cache" / "aurous_nb" / "journal.sqlite3"
    monkeypatch.setenv("AUROUS_NB_JOURNAL", str(tmp_path / "j.db"))
    assert default_path() == tmp_path / "j.db"
    for off in ("off", "OFF", "0", "false"):
        monkeypatch.setenv("AUROUS_NB_JOURNAL", off)
        assert default_path() is None
        journal = Journal.default()
        assert not journal.enabled and journal.find_ref("t", "h", "d", margin=0) is None


def test_refs_round_trip_until_their_deadline(tmp_path: Path) -> None:
    clock = Clock()
    journal = Journal(tmp_path / "j.db", clock=clock)
    deadline = clock.now + DAY
    journal.record_upload("team_1", "http://h", "abc", "upl_1", deadline)
    found = journal.find_ref("team_1", "http://h", "abc", margin=300)
    assert found is not None and (found.upload_id, found.pose) == ("upl_1", None)
    journal.record_classification("team_1", "http://h", "abc", "upl_1", "front", 0.9)
    found = journal.find_ref("team_1", "http://h", "abc", margin=300)
    assert found is not None and (found.pose, found.confidence) == ("front", 0.9)
    # another team, another host, other bytes: nothing
    assert journal.find_ref("team_2", "http://h", "abc", margin=300) is None
    assert journal.find_ref("team_1", "http://other", "abc", margin=300) is None
    assert journal.find_ref("team_1", "http://h", "xyz", margin=300) is None
    # within the safety margin of the deadline: not trusted any more
    clock.now = deadline - 200
    assert journal.find_ref("team_1", "http://h", "abc", margin=300) is None
    assert journal.live_tickets() == 1
    journal.forget_refs("team_1", "http://h", ["upl_1"])
    assert journal.live_tickets() == 0


def test_old_entries_are_pruned_on_open(tmp_path: Path) -> None:
    clock = Clock()
    first = Journal(tmp_path / "j.db", clock=clock)
    first.record_upload("t", "h", "d", "upl_1", clock.now + DAY)
    first.claim_create("t", "h", "Ada", ["d"], "key-1", ["upl_1"])
    clock.now += 2 * DAY
    later = Journal(tmp_path / "j.db", clock=clock)  # a new process opens it days later
    assert later.live_tickets() == 0 and later.summary() == []


def test_a_claimed_create_is_given_to_the_next_run(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.db")
    first = journal.claim_create("t", "h", "Ada", ["d1", "d2"], "key-1", ["upl_1", "upl_2"])
    assert (first.idempotency_key, first.character_id) == ("key-1", None)
    again = journal.claim_create("t", "h", "Ada", ["d1", "d2"], "key-2", ["upl_8", "upl_9"])
    assert (again.idempotency_key, again.upload_ids) == ("key-1", ("upl_1", "upl_2"))
    journal.record_character("t", "h", "Ada", ["d1", "d2"], "char_1")
    done = journal.claim_create("t", "h", "Ada", ["d1", "d2"], "key-3", ["upl_1", "upl_2"])
    assert done.character_id == "char_1"
    # other refs, other order, another name: another character
    assert journal.claim_create("t", "h", "Ada", ["d2", "d1"], "k", ["u"]).idempotency_key == "k"
    assert journal.claim_create("t", "h", "Bea", ["d1", "d2"], "k", ["u"]).idempotency_key == "k"
    journal.forget_character("t", "h", "Ada", ["d1", "d2"])
    assert journal.claim_create("t", "h", "Ada", ["d1", "d2"], "key-4", ["u"]).character_id is None


def test_racing_claims_agree_on_one_create(tmp_path: Path) -> None:
    """Eight threads and two other processes claim the same character at once."""
    path = tmp_path / "j.db"
    code = (
        "import sys; from aurous_nb.flow import Journal\n"
        "c = Journal(sys.argv[1]).claim_create('t', 'h', 'Ada', ['d'], sys.argv[2], ['u'])\n"
        "print(c.idempotency_key)\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(path), f"proc-{i}"], stdout=subprocess.PIPE, text=True
        )
        for i in range(2)
    ]
    keys: list[str] = []
    threads = [
        threading.Thread(
            target=lambda i=i: keys.append(
                Journal(path)
                .claim_create("t", "h", "Ada", ["d"], f"thread-{i}", ["u"])
                .idempotency_key
            )
        )
        for i in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    keys += [p.communicate(timeout=60)[0].strip() for p in procs]
    assert len(keys) == 10 and len(set(keys)) == 1, keys


def test_a_damaged_file_is_moved_aside_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "j.db"
    path.write_bytes(b"\x00garbage, not a database\xff" * 64)
    journal = Journal(path)
    with caplog.at_level(logging.WARNING, logger="aurous_nb"):
        journal.record_upload("t", "h", "d", "upl_1", 2e9)
    assert journal.enabled and journal.find_ref("t", "h", "d", margin=0) is not None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "damaged" in warnings[0] and "moved it to" in warnings[0]
    assert [p.name for p in tmp_path.iterdir() if ".corrupt-" in p.name]


def test_an_unwritable_journal_is_ignored_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    journal = Journal(blocker / "journal.sqlite3")  # its folder cannot be made
    with caplog.at_level(logging.WARNING, logger="aurous_nb"):
        journal.record_upload("t", "h", "d", "upl_1", 2e9)
        assert journal.find_ref("t", "h", "d", margin=0) is None
        claim = journal.claim_create("t", "h", "Ada", ["d"], "key-1", ["upl_1"])
    assert claim.idempotency_key == "key-1"  # the work goes on without it
    assert not journal.enabled and journal.warning and "continuing without it" in journal.warning
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


def test_nothing_secret_is_written(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    journal = Journal(path)
    journal.record_upload("team_1", "http://127.0.0.1:9", "d" * 64, "upl_1", 2e9)
    journal.claim_create("team_1", "http://127.0.0.1:9", "Ada", ["d" * 64], "key", ["upl_1"])
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"signature" not in data and b"al_live_" not in data and b"_upload/" not in data
    assert path.stat().st_mode & 0o077 == 0  # only the user reads it


def test_clear_and_summary(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.db")
    journal.record_upload("t", "h", "d", "upl_1", 2e9)
    journal.claim_create("t", "h", "Ada", ["d"], "key-1", ["upl_1"])
    journal.record_character("t", "h", "Ada", ["d"], "char_1")
    ((host, name, _when, refs, char),) = journal.summary()
    assert (host, name, refs, char) == ("h", "Ada", 1, "char_1")
    assert journal.clear() == 2 and journal.summary() == [] and journal.live_tickets() == 0


_OPEN_AT = """\
import sys, time
from pathlib import Path
from aurous_nb.flow import Journal
start = float(sys.argv[2])
while time.time() < start:
    pass
journal = Journal(Path(sys.argv[1]))
journal.live_tickets()
print("on" if journal.enabled else f"off: {journal.warning}")
"""


def test_kernels_opening_a_new_journal_at_once_all_use_it(tmp_path: Path) -> None:
    # two kernels starting the same notebook create the journal at the same instant; switching
    # a new file to WAL is refused at once while another process has it open
    import time

    from tests.support.environ import child_env

    for attempt in range(4):
        path = tmp_path / f"journal-{attempt}.sqlite3"
        start = time.time() + 1.0  # after every interpreter has started
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _OPEN_AT, str(path), repr(start)],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=child_env(),
            )
            for _ in range(3)
        ]
        said = [p.communicate(timeout=60)[0].strip().splitlines()[-1] for p in procs]
        assert said == ["on", "on", "on"], said
