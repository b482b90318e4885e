"""KeyboardInterrupt at each stage of a flow, in a real kernel (jupyter_client, SIGINT).

The sandbox holds every request of one stage (init, PUT, classify or create) with 3 s of
latency; the kernel is interrupted while they are in flight, as the notebook's stop button
does. The cell must stop within 2 s, no new request may start afterwards, the flow's worker
threads must end once the held requests return, and running the cell again must resume:
the sandbox's request log proves no finished ref is uploaded twice (one PUT per upload id).
Both ways in are covered: ``CharacterFlow.run_sync()`` and ``%%aurous_character``.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from aurous_nb.sandbox import Sandbox
from tests.support.reliability import Kernel, write_refs
from tests.support.sandbox import puts_per_upload
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

HOLD_MS = 3000
PROMPT_S = 2.0
WORDS = ["front", "side", "back", "portrait"]
#: stage -> (route held, its requests in one flow, what the refs show while they are held)
STAGES = {
    "init": ("init", 4, {"checked"}),
    "put": ("upload", 4, {"uploading", "minted"}),
    "classify": ("classify", 4, {"uploaded"}),
    "create": ("create", 1, {"classified"}),
}
#: requests a re-run still needs after the interrupted stage finished in the background
RERUN = {
    "init": {"upload": 4, "classify": 4, "create": 1},
    "put": {"classify": 4, "create": 1},
    "classify": {"create": 1},
    "create": {},
}

THREADS = (
    "import threading as _t\n"
    "_aurous = lambda: sorted(t.name for t in _t.enumerate() "
    "if t.name.startswith(('aurous-ref', 'aurous-create', 'aurous-flow')))\n"
)
WAIT_THREADS = (
    "import time as _time\n"
    "_t0 = _time.monotonic()\n"
    "while _aurous() and _time.monotonic() - _t0 < 10: _time.sleep(0.01)\n"
    "print(_j.dumps({'left': _aurous(), 'waited': _time.monotonic() - _t0}))"
)


@pytest.fixture(scope="module")
def kernel(
    tmp_path_factory: pytest.TempPathFactory, _aurous_sandbox_session: Sandbox
) -> Iterator[Kernel]:
    k = Kernel(tmp_path_factory.mktemp("kernel"), AUROUS_TEST_KEY=_aurous_sandbox_session.api_key)
    try:
        reply, _ = k.run("import json as _j, os\n%load_ext aurous_nb\n" + THREADS)
        assert reply["status"] == "ok", reply
        yield k
    finally:
        k.close()


def _setup(kernel: Kernel, sandbox: Sandbox, way: str, name: str, paths: list[Path]) -> str:
    """Prepare the interrupted cell in the kernel; returns its code."""
    listed = [str(p) for p in paths]
    if way == "api":
        reply, _ = kernel.run(
            "from aurous_nb import AurousClient\n"
            "from aurous_nb.flow import CharacterFlow\n"
            "client = AurousClient(api_key=os.environ['AUROUS_TEST_KEY'], "
            f"base_url={sandbox.url!r})\n"
            f"flow = CharacterFlow(client, {name!r}, {listed!r})"
        )
        assert reply["status"] == "ok", reply
        return "character = flow.run_sync()"
    reply, _ = kernel.run(
        f"%config AurousMagics.base_url = {sandbox.url!r}\n%aurous_key --env AUROUS_TEST_KEY"
    )
    assert reply["status"] == "ok", reply
    return f'%%aurous_character "{name}" --out flow\n' + "\n".join(listed)


@pytest.mark.parametrize("way", ["api", "magic"])
@pytest.mark.parametrize("stage", list(STAGES))
def test_interrupt_stops_promptly_and_rerun_resumes(
    kernel: Kernel, aurous_sandbox: Sandbox, tmp_path: Path, stage: str, way: str
) -> None:
    sandbox = aurous_sandbox
    held, count, in_flight_states = STAGES[stage]
    name = f"Interrupted {stage} {way}"
    cell = _setup(kernel, sandbox, way, name, write_refs(tmp_path, WORDS, prefix=stage))
    sandbox.clear_log()
    # a latency rule for exactly this stage's requests: it is spent (and gone from the rule
    # list) as each one arrives, so an empty list means they are all being held right now
    sandbox.inject(held, latency_ms=HOLD_MS, times=count)

    msg_id = kernel.send(cell)
    wait_for(lambda: not sandbox.faults.rules, 20, f"the flow's {held} requests", interval=0.005)

    interrupted_at = sandbox.clock.now()
    t0 = time.monotonic()
    kernel.km.interrupt_kernel()  # SIGINT, as the notebook's stop button sends
    reply = kernel.reply(msg_id, timeout=10)
    stopped_in = time.monotonic() - t0
    kernel.output(msg_id)

    assert reply["status"] == "error" and reply["ename"] in (
        "KeyboardInterrupt",
        "AurousMagicError",
    )
    if way == "magic":  # one line, no traceback, and what to do
        assert reply["traceback"] == [
            "KeyboardInterrupt: interrupted — re-run the cell to resume (finished uploads are kept)"
        ]
    assert stopped_in < PROMPT_S, f"the cell took {stopped_in:.2f} s to stop"

    # while the held requests are still out: the refs are at that stage, nothing was created
    seen = kernel.value(
        "{'states': [r.state for r in flow.refs], 'flow': flow.state, "
        "'character': flow.character is not None, 'threads': _aurous()}"
    )
    assert set(seen["states"]) <= in_flight_states, seen
    assert seen["flow"] == "cancelled" and not seen["character"], seen
    assert "aurous-flow" not in seen["threads"], seen  # the coordinator stopped at once

    # the workers end when their held request returns, and start nothing new
    reply, shown = kernel.run(WAIT_THREADS)
    ended = json.loads("".join(m["text"] for m in json.loads(shown) if m.get("name") == "stdout"))
    assert ended["left"] == [], ended
    # they were held from their arrival (just before the interrupt): they end when that hold
    # does, give or take the time it takes to hand back the answer
    assert ended["waited"] < HOLD_MS / 1000 + 0.25, ended
    after = [r for r in sandbox.requests if r.time > interrupted_at + 0.05]
    assert after == [], [(r.route, r.status) for r in after]

    before_rerun = len(sandbox.requests)
    sandbox.clear_faults()
    reply, shown = kernel.run(cell)
    assert reply["status"] == "ok", reply
    # the API way leaves the flow in `flow`; the magic's --out now holds the character
    assert kernel.value("(getattr(flow, 'character', None) or flow).status") == "ready"

    log = sandbox.requests
    rerun = Counter(r.route for r in log[before_rerun:])
    expected = dict(RERUN[stage])
    if stage == "init" and way == "api":
        # the first run stopped before any ticket: the journal asks a fresh client for its
        # team beside the first PUT (the magic's client knows it from %aurous_key)
        expected["team"] = 1
    assert rerun == expected, rerun
    puts = puts_per_upload(sandbox)
    assert len(puts) == 4 and set(puts.values()) == {1}, puts  # no ref was uploaded twice
    assert Counter(r.route for r in log if r.route == "init") == {"init": 4}
    assert sum(r.route == "create" and r.status == 201 for r in log) == 1
    made = [c for c in sandbox.state.characters.values() if c.name == name]
    assert len(made) == 1
    print(f"\ninterrupt during {stage} ({way}): stopped in {stopped_in:.2f} s")
    sys.stdout.flush()
