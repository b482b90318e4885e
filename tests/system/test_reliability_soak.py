"""Soak: 50 characters (1–6 refs each) through a hostile network, with nothing lost.

Against the sandbox's fault injection: ~20 % 5xx (500/502/503) and 5 % dropped connections
on every route, bursts of 429, create responses lost to a client timeout (the sandbox
finishes the create, the client retries with the same Idempotency-Key), and upload URLs
expiring mid-flow (the sandbox clock jumps 16 min right after some refs were minted).
Every character must exist exactly once, with every ref in order and its pose.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from aurous_nb.client import AurousClient
from aurous_nb.client.ratelimit import RateLimiter
from aurous_nb.errors import AurousError
from aurous_nb.flow import CharacterFlow, FlowEvent
from aurous_nb.sandbox import Sandbox
from tests.support.reliability import POSE_WORDS, write_refs
from tests.support.sandbox import make_client

pytestmark = [pytest.mark.slow]

CHARACTERS = 50
CONCURRENT_FLOWS = 4
MAX_RERUNS = 4
URL_EXPIRY_EVERY = 9  # the clock jumps past the URL TTL after every 9th "minted" event
BURST_EVERY = 6  # a burst of 429s starts with every 6th flow
BURST = 8
FAULTS = [  # (status or "drop", probability) on every route: ~20 % 5xx, 5 % drops
    (500, 0.08),
    (502, 0.06),
    (503, 0.07),
    ("drop", 0.05),
]
LOST_CREATE = 0.12  # probability a create response outlives the client's timeout
CLIENT_TIMEOUT = 1.5


def _plan(rng: random.Random) -> list[list[str]]:
    """Pose words per character: 1–6 refs, every count present."""
    words = list(POSE_WORDS)
    counts = [1 + i % 6 for i in range(CHARACTERS)]
    rng.shuffle(counts)
    return [[rng.choice(words) for _ in range(n)] for n in counts]


class Chaos:
    """Flow subscriber that moves the sandbox clock and starts 429 bursts, and counts them."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.lock = threading.Lock()
        self.minted = 0
        self.clock_jumps = 0
        self.bursts = 0

    def on_event(self, event: FlowEvent) -> None:
        if event.kind != "ref" or event.state != "minted":
            return
        with self.lock:
            self.minted += 1
            jump = self.minted % URL_EXPIRY_EVERY == 0
            if jump:
                self.clock_jumps += 1
        if jump:  # every URL minted so far (this one included) is now past its 15 min
            self.sandbox.advance(16 * 60)

    def burst(self) -> None:
        with self.lock:
            self.bursts += 1
        self.sandbox.inject("*", status=429, times=BURST, retry_after=0)


def test_fifty_characters_through_faults_nothing_lost_nothing_doubled(
    aurous_sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox = aurous_sandbox
    rng = random.Random(8)
    plan = _plan(rng)
    # The documented buckets would make 50 characters take ~15 minutes at 30 POST/min; the
    # 429s here are injected bursts, and the limiter still reads every X-RateLimit-* header.
    sandbox.set_bucket("characters_post", 100_000, 1_000_000)
    limiter = RateLimiter({"characters_post": (100_000, 1_000_000)})
    for status, p in FAULTS:
        if status == "drop":
            sandbox.inject("*", drop=True, probability=p)
        else:
            sandbox.inject("*", status=int(status), probability=p)
    sandbox.inject("create", latency_ms=CLIENT_TIMEOUT * 1000 + 400, probability=LOST_CREATE)

    chaos = Chaos(sandbox)
    reruns: Counter[str] = Counter()
    clients: list[AurousClient] = []

    def one(i: int) -> tuple[str, str]:
        words = plan[i]
        name = f"Soak {i:02d}"
        ref = f"soak-{i:02d}"
        paths = write_refs(tmp_path / ref, words, prefix=f"c{i}")
        client = make_client(sandbox, max_retries=12, timeout=CLIENT_TIMEOUT, rate_limit=limiter)
        clients.append(client)
        if i % BURST_EVERY == 0:
            chaos.burst()
        flow = CharacterFlow(client, name, paths, client_reference_id=ref)
        flow.subscribe(chaos.on_event)
        for attempt in range(MAX_RERUNS + 1):
            try:
                character = flow.run_sync()
                break
            except AurousError as exc:  # a resumable failure: run the same flow again
                reruns[type(exc).__name__] += 1
                if attempt == MAX_RERUNS:
                    raise
        assert [r.state for r in flow.refs] == ["consumed"] * len(words)
        return character.id, ref

    started = time.monotonic()
    with ThreadPoolExecutor(CONCURRENT_FLOWS, thread_name_prefix="soak") as pool:
        made = list(pool.map(one, range(CHARACTERS)))
    elapsed = time.monotonic() - started

    log = sandbox.requests
    sandbox.clear_faults()
    checker = make_client(sandbox)
    clients.append(checker)
    try:
        listed = list(checker.iter_characters(limit=100))
        # nothing lost, nothing doubled: exactly one character per flow, by id and by ref id
        assert len(listed) == CHARACTERS
        assert Counter(c.client_reference_id for c in listed) == {
            f"soak-{i:02d}": 1 for i in range(CHARACTERS)
        }
        assert {c.id for c in listed} == {cid for cid, _ in made}
        for c in listed:
            i = int(c.client_reference_id.split("-")[1])  # type: ignore[union-attr]
            assert c.name == f"Soak {i:02d}" and c.status == "ready"
            # every ref, in order, with the pose its file shows
            assert list(c.poses) == [POSE_WORDS[w] for w in plan[i]], c
    finally:
        for c in clients:
            c.close()

    faults = Counter(r.fault for r in log if r.fault)
    status_faults = Counter(r.status for r in log if r.fault == "status")
    expired = sum(1 for r in log if r.route == "upload" and r.status == 403)
    conflicts = sum(1 for r in log if r.route == "create" and r.status == 409)
    refs = sum(len(p) for p in plan)
    print(
        f"\nsoak: {CHARACTERS} characters, {refs} refs in {elapsed:.1f} s; {len(log)} requests; "
        f"faults injected: {sum(faults.values())} ({dict(status_faults)} + "
        f"{faults['drop']} drops), {chaos.clock_jumps} clock jumps -> {expired} expired-URL "
        f"PUTs, {chaos.bursts} bursts of {BURST} 429s, {conflicts} create retries that met "
        f"their in-flight original (409); flow re-runs: {dict(reruns) or 0}"
    )
    sys.stdout.flush()
    # the faults really happened (the test would pass vacuously otherwise)
    assert faults["drop"] >= 10 and status_faults[429] >= BURST
    assert sum(n for s, n in status_faults.items() if s >= 500) >= 0.15 * len(log)
    assert expired >= 5 and chaos.clock_jumps >= 10
    assert sandbox.handler_errors == []
