"""A kernel killed mid-flow (SIGKILL, while the sandbox holds its requests), then the same cell
in a new kernel: the journal means nothing finished is uploaded again and no second
character is made. Also two kernels racing on one cell, a journal of garbage, and tickets
past their deadline."""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aurous_nb.flow import Journal
from aurous_nb.sandbox import Sandbox
from tests.support.reliability import Kernel, write_refs
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.notebook]

WORDS = ["front", "side", "back", "portrait", "profile", "closeup"]
POSES = ["front", "side", "back", "portrait", "side", "portrait"]  # the sandbox reads the names


@pytest.fixture
def new_kernel(tmp_path: Path, aurous_sandbox: Sandbox) -> Iterator[Callable[[], Kernel]]:
    """Kernels started by the test (each with the sandbox's key in $AUROUS_TEST_KEY), shut
    down at the end whatever happened to them."""
    started: list[Kernel] = []

    def start() -> Kernel:
        kernel = Kernel(tmp_path / f"k{len(started)}", AUROUS_TEST_KEY=aurous_sandbox.api_key)
        started.append(kernel)
        reply, _ = kernel.run(
            "%load_ext aurous_nb\n"
            f"%config AurousMagics.base_url = {aurous_sandbox.url!r}\n"
            "%aurous_key --env AUROUS_TEST_KEY"
        )
        assert reply["status"] == "ok", reply
        return kernel

    yield start
    for kernel in started:
        try:
            kernel.close()
        except Exception:  # a killed kernel: nothing left to close
            pass


def _cell(name: str, paths: list[Path]) -> str:
    return f'%%aurous_character "{name}" --out made\n' + "\n".join(str(p) for p in paths)


def _kill(kernel: Kernel) -> None:
    """SIGKILL: no cleanup, no atexit, nothing written after this."""
    kernel.km.signal_kernel(signal.SIGKILL)
    wait_for(lambda: not kernel.km.is_alive(), 10, "the killed kernel to be gone")
    kernel.kc.stop_channels()


def _made(sandbox: Sandbox, name: str) -> list:
    return [c for c in sandbox.state.characters.values() if c.name == name]


def test_killed_mid_put_a_new_kernel_uploads_only_what_was_not_finished(
    new_kernel: Callable[[], Kernel],
    aurous_sandbox: Sandbox,
    tmp_path: Path,
    _journal_per_test: Path,
) -> None:
    sandbox, name = aurous_sandbox, "Killed mid-PUT"
    paths = write_refs(tmp_path / "refs", WORDS)
    first = new_kernel()
    sandbox.inject("upload", latency_ms=60_000, times=3)  # three PUTs hang, three go through
    first.send(_cell(name, paths))
    journal = Journal(_journal_per_test)
    wait_for(lambda: not sandbox.faults.rules, 30, "the three held PUTs")
    wait_for(lambda: journal.live_tickets() == 3, 30, "the three finished uploads journaled")
    finished = {
        r.path.rsplit("/", 1)[-1]
        for r in sandbox.requests
        if r.route == "upload" and r.status == 200
    }
    assert len(finished) == 3, finished
    _kill(first)
    sandbox.clear_faults()
    before = len(sandbox.requests)

    second = new_kernel()
    reply, shown = second.run(_cell(name, paths), timeout=60)
    assert reply["status"] == "ok", (reply, shown)
    after = sandbox.requests[before:]
    put_again = {r.path.rsplit("/", 1)[-1] for r in after if r.route == "upload"}
    assert put_again and not put_again & finished  # the finished refs were not sent again
    assert Counter(r.route for r in after if r.route == "upload") == {"upload": 3}
    (character,) = _made(sandbox, name)
    assert [ref.pose for ref in character.refs] == POSES  # all six, in the cell's order
    assert "uploaded earlier, reused" in shown


def test_killed_while_create_is_held_a_new_kernel_makes_no_second_character(
    new_kernel: Callable[[], Kernel], aurous_sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox, name = aurous_sandbox, "Killed at create"
    paths = write_refs(tmp_path / "refs", WORDS[:3])
    first = new_kernel()
    sandbox.inject("create", latency_ms=2_000, times=1)
    first.send(_cell(name, paths))
    wait_for(lambda: not sandbox.faults.rules, 30, "the held create")
    _kill(first)

    second = new_kernel()
    reply, shown = second.run(_cell(name, paths), timeout=60)
    assert reply["status"] == "ok", (reply, shown)
    assert len(_made(sandbox, name)) == 1
    made_id = second.value("made.id")
    assert made_id == _made(sandbox, name)[0].id
    # and once more: the journal knows it is made, nothing is sent but a GET of it
    before = len(sandbox.requests)
    reply, shown = second.run(_cell(name, paths), timeout=60)
    assert reply["status"] == "ok" and "already created in an earlier run" in shown, shown
    assert [r.route for r in sandbox.requests[before:]] == ["get"]
    assert len(_made(sandbox, name)) == 1
    # --new makes another on purpose
    reply, _ = second.run(_cell(name, paths).replace("--out made", "--out made --new"))
    assert reply["status"] == "ok" and len(_made(sandbox, name)) == 2


def test_two_kernels_running_the_same_cell_make_one_character(
    new_kernel: Callable[[], Kernel], aurous_sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox, name = aurous_sandbox, "Raced"
    paths = write_refs(tmp_path / "refs", WORDS[:4])
    a, b = new_kernel(), new_kernel()
    sandbox.inject("create", latency_ms=500, times=2)  # both creates overlap on the server
    # both cells are sent before either reply is read: the kernels run them at once (their
    # clients stay on this thread: a client used from another thread leaves an event loop)
    sent = [(kernel, kernel.send(_cell(name, paths))) for kernel in (a, b)]
    replies = [kernel.reply(msg_id, timeout=90) for kernel, msg_id in sent]
    shown = [kernel.output(msg_id) for kernel, msg_id in sent]
    assert [r["status"] for r in replies] == ["ok", "ok"], replies
    made = _made(sandbox, name)
    assert len(made) == 1, (shown, [(r.route, r.status) for r in sandbox.requests])
    assert a.value("made.id") == b.value("made.id") == made[0].id


def test_a_journal_of_garbage_costs_one_warning_line(
    new_kernel: Callable[[], Kernel],
    aurous_sandbox: Sandbox,
    tmp_path: Path,
    _journal_per_test: Path,
) -> None:
    _journal_per_test.parent.mkdir(parents=True, exist_ok=True)
    _journal_per_test.write_bytes(b"this is not a database\x00\xff" * 200)
    kernel = new_kernel()
    paths = write_refs(tmp_path / "refs", WORDS[:2])
    reply, shown = kernel.run(_cell("Garbage", paths), timeout=60)
    assert reply["status"] == "ok", (reply, shown)
    warnings = [line for line in shown.splitlines() if "journal" in line and "damaged" in line]
    assert len(warnings) == 1, shown
    assert len(_made(aurous_sandbox, "Garbage")) == 1
    assert Journal(_journal_per_test).enabled  # a new one took its place


def test_tickets_past_their_deadline_are_uploaded_again(
    new_kernel: Callable[[], Kernel],
    aurous_sandbox: Sandbox,
    tmp_path: Path,
    _journal_per_test: Path,
) -> None:
    sandbox, name = aurous_sandbox, "Expired"
    paths = write_refs(tmp_path / "refs", WORDS[:3])
    first = new_kernel()
    sandbox.inject("create", status=500, times=20)  # uploaded and classified, never created
    reply, _ = first.run(_cell(name, paths), timeout=90)
    assert reply["status"] == "error"
    assert Journal(_journal_per_test).live_tickets() == 3
    _kill(first)
    sandbox.clear_faults()
    sandbox.advance(25 * 3600)  # the server's tickets are past their 24 hours
    before = len(sandbox.requests)

    second = new_kernel()
    reply, shown = second.run(_cell(name, paths), timeout=90)
    assert reply["status"] == "ok", (reply, shown)
    after = Counter(r.route for r in sandbox.requests[before:] if r.status and r.status < 300)
    assert after["upload"] == 3 and after["create"] == 1  # every ref uploaded again
    assert len(_made(sandbox, name)) == 1
