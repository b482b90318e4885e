"""Rows "bucket …" and "two processes, one team": the client's pacing against sandbox buckets.

Each row fills one rate bucket of one shape (burst / per minute) well past its burst and
reads the sandbox's request log: requests served / the most the bucket allows over the
same span (burst + rate × span), 429s on the wire, 429s (or other errors) reaching the
caller. The client is ``AurousClient()`` as a user makes it: its limiter starts from the
documented sizes (60/30, 240/120, 12/6), so the 20/120 row is one it has to learn from the
response headers; the same row with the client told the size is in its detail.

Minutes of refill pass in seconds: the sandbox's clock (``SandboxClock(speed=k)``) and the
client's (its limiter's clock and sleep, and the sleep before a retry) run k times faster,
and the sandbox runs in this process.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._common import Config, Context, PhotoSet, Row, first_line, fmt_spread, subprocess_env

TARGET = 0.98  # achieved / ceiling, one process
SHARED_TARGET = 0.9  # achieved / ceiling, two processes together
CONCURRENT = 3  # characters (or calls) at a time, as notebooks/04_bulk.ipynb runs them
#: every character gets six photos of its own (the same bytes twice would be one upload to the
#: journal, which keeps finished uploads for reuse)
REF_PHOTOS = PhotoSet("20 KB", 20_000, (240, 180), count=6 * 20)


@dataclass(frozen=True)
class Shape:
    """One bucket and the work that fills it."""

    name: str  # the row
    bucket: str
    burst: int
    per_minute: float
    work: str  # "characters" (init, classify, create), "synthesize" (create) or "get"
    count: int  # characters, synthesize calls or GETs in a full run
    quick_count: int
    speed: float  # clock speed-up

    @property
    def routes(self) -> tuple[str, ...]:
        return {
            "characters": ("init", "classify", "create"),
            "synthesize": ("create",),
            "get": ("get", "list"),
        }[self.work]


SHAPES = (
    Shape("bucket 60/30", "characters_post", 60, 30.0, "characters", 10, 5, 20.0),
    # the densest bucket here (2 tokens a second): on slower clocks, so a loaded machine
    # shows less in it
    Shape("bucket 20/120", "characters_post", 20, 120.0, "characters", 20, 4, 10.0),
    Shape("bucket 12/6", "characters_synthesize", 12, 6.0, "synthesize", 36, 16, 40.0),
    Shape("bucket 240/120", "characters_get", 240, 120.0, "get", 600, 300, 30.0),
)
SHARED = Shape("two processes, one team", "characters_post", 60, 30.0, "characters", 8, 3, 20.0)


@dataclass
class Outcome:
    """What the sandbox's log and the callers say about one run."""

    served: int
    span: float  # sandbox seconds from the first to the last served request
    wire_429: int
    errors: list[str]
    waits: int = 0
    early_429: int = 0  # of wire_429, those in the first tenth of the span

    def ceiling(self, shape: Shape) -> float:
        return shape.burst + shape.per_minute / 60.0 * self.span

    def ratio(self, shape: Shape) -> float:
        return self.served / self.ceiling(shape)


def _outcome(log: Sequence[Any], shape: Shape, errors: list[str], waits: int = 0) -> Outcome:
    mine = [r for r in log if r.route in shape.routes]
    served = [r for r in mine if r.status != 429]
    start = min(r.time for r in served)
    span = max(r.time for r in served) - start
    refused = [r.time - start for r in mine if r.status == 429]
    early = sum(1 for t in refused if t <= span / 10)
    return Outcome(len(served), span, len(refused), errors, waits, early)


def scaled_client(
    url: str, key: str, speed: float, wall: Callable[[], float], told: Shape | None = None
) -> Any:
    """An ``AurousClient`` whose limiter and retry sleeps run ``speed`` times faster."""
    from aurous_nb import AurousClient
    from aurous_nb.client import RateLimiter

    limiter = RateLimiter(
        {told.bucket: (told.burst, told.per_minute)} if told else None,
        clock=lambda: time.monotonic() * speed,
        sleep=lambda seconds: time.sleep(seconds / speed),
        wall_clock=wall,
    )
    client = AurousClient(api_key=key, base_url=url, rate_limit=limiter)
    # The wait before a retry (Retry-After is in sandbox seconds) runs on the fast clock too.
    client._transport.sleep = lambda seconds: time.sleep(seconds / speed)
    return client


def _work(client: Any, shape: Shape, count: int, refs: list[Path], tag: str) -> list[str]:
    """Run ``count`` units of ``shape.work``, :data:`CONCURRENT` at a time; the errors.

    Character ``i`` is made from ``refs[6 i : 6 i + 6]`` (taken round the list if short).
    """
    ids: list[str] = []
    if shape.work == "get":
        ids = [client.synthesize_character(f"Get {i}", {"age": 30}).id for i in range(3)]

    def one(i: int) -> object:
        if shape.work == "characters":
            mine = [refs[(6 * i + k) % len(refs)] for k in range(6)]
            return client.create_character_from_files(f"{tag} {i}", mine)
        if shape.work == "synthesize":
            return client.create_character(f"{tag} {i}", generate=True, attributes={"age": 30})
        if i % 4 == 3:
            return client.list_characters(limit=5)
        return client.get_character(ids[i % len(ids)])

    errors = []
    with ThreadPoolExecutor(max_workers=CONCURRENT) as pool:
        for job in as_completed([pool.submit(one, i) for i in range(count)]):
            if job.exception() is not None:
                errors.append(first_line(job.exception()))  # type: ignore[arg-type]
    return errors


def run_shape(shape: Shape, count: int, refs: list[Path], *, told: bool = False) -> Outcome:
    """One shape in one process: a sandbox with that bucket, a client with default sizes."""
    from aurous_nb.sandbox import Sandbox, SandboxClock

    clock = SandboxClock(speed=shape.speed)
    buckets = {shape.bucket: (shape.burst, shape.per_minute)}
    with Sandbox(synth_seconds=0, clock=clock, buckets=buckets, credits=1e9) as sandbox:
        client = scaled_client(
            sandbox.url, sandbox.api_key, shape.speed, clock.now, shape if told else None
        )
        with client:
            errors = _work(client, shape, count, refs, shape.name)
            waits = int(client.rate_limiter.bucket(shape.bucket).waits)
        return _outcome(sandbox.requests, shape, errors, waits)


def _summary(shape: Shape, runs: list[Outcome]) -> tuple[float, int, int, str]:
    """(median ratio, 429s on the wire, errors at the caller, one-line detail) of the runs."""
    ratios = [out.ratio(shape) for out in runs]
    wire = sum(out.wire_429 for out in runs)
    errors = sum(len(out.errors) for out in runs)
    last = runs[-1]
    detail = (
        f"{fmt_spread(ratios, 3)} (min / median / max of {len(runs)}); a run: {last.served} "
        f"requests in {last.span:.1f} s of bucket time, ceiling {last.ceiling(shape):.1f}; "
        f"429s on the wire {wire}, errors reaching a caller {errors} (all runs)"
    )
    return statistics.median(ratios), wire, errors, detail


def _shape_row(shape: Shape, runs: list[Outcome], told: list[Outcome]) -> Row:
    ratio, wire, errors, detail = _summary(shape, runs)
    notes = []
    if told:
        told_ratio, told_wire, _, _ = _summary(shape, told)
        detail += f"; client told {shape.burst}/{shape.per_minute:g}: {told_ratio:.3f}"
        notes.append(
            f"The client starts from the documented `{shape.bucket}` size (60/30): it reads "
            "the burst from `X-RateLimit-Limit` and the refill rate from how "
            "`X-RateLimit-Reset` moves from response to response (1 / rate per token taken, "
            f"so no clock is involved). Told the size (`RateLimiter({{'{shape.bucket}': "
            f"({shape.burst}, {shape.per_minute:g})}})`) it achieves {told_ratio:.3f} "
            f"(median), {told_wire} 429s on the wire."
        )
    failures = [e for out in runs for e in out.errors]
    if failures:
        notes.append("Errors: " + "; ".join(failures[:3]))
    return Row(
        name=shape.name,
        measure=(
            f"`{shape.bucket}` bucket of burst {shape.burst}, {shape.per_minute:g}/min, filled by "
            f"{_what(shape)} {CONCURRENT} at a time (clocks × {shape.speed:g}): requests served / "
            "the bucket's ceiling; 429s on the wire, errors reaching the caller"
        ),
        value=f"{ratio:.3f}; {wire}, {errors}",
        target=f"≥ {TARGET}; report, 0",
        ok=ratio >= TARGET and not errors,
        detail=detail,
        notes=notes,
    )


def _what(shape: Shape) -> str:
    return {
        "characters": "six-ref characters (`create_character_from_files`)",
        "synthesize": "synthesize-flow creates",
        "get": "GETs of a character (and every 4th a list page)",
    }[shape.work]


# -- two processes sharing one team's bucket ----------------------------------------------


def child(args: dict[str, Any]) -> dict[str, Any]:
    """Runs in a child process: one client of the team, its own limiter, the shared clock."""
    speed = args["speed"]
    origin, mono0 = args["origin"], args["mono0"]

    def wall() -> float:  # the sandbox's clock: CLOCK_MONOTONIC is the same in every process
        return float(origin + (time.monotonic() - mono0) * speed)

    shape = SHARED
    refs = [Path(p) for p in args["refs"]]
    with scaled_client(args["url"], args["key"], speed, wall) as client:
        while wall() < args["start_at"]:  # both processes start together
            time.sleep(0.001)
        errors = _work(client, shape, args["count"], refs, args["tag"])
    return {"errors": errors}


def run_shared(count: int, refs: list[Path]) -> Outcome:
    """Two processes, each with its own client and key of the same team, one bucket."""
    from aurous_nb.sandbox import Sandbox, SandboxClock

    shape = SHARED
    origin, mono0 = time.time(), time.monotonic()
    clock = SandboxClock(start=origin, speed=shape.speed)
    buckets = {shape.bucket: (shape.burst, shape.per_minute)}
    with Sandbox(synth_seconds=0, clock=clock, buckets=buckets) as sandbox:
        start_at = clock.now() + 2.0 * shape.speed  # 2 s from now, real time
        procs = []
        for n, tag in enumerate("AB"):
            half = refs[n * len(refs) // 2 : (n + 1) * len(refs) // 2]  # photos of its own
            args = {
                "url": sandbox.url,
                "key": sandbox.add_key(),
                "speed": shape.speed,
                "origin": origin,
                "mono0": mono0,
                "start_at": start_at,
                "count": count,
                "refs": [str(p) for p in half],
                "tag": f"Process {tag}",
            }
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "benchmarks.buckets", json.dumps(args)],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=subprocess_env(),
                    cwd=Path(__file__).resolve().parent.parent,
                )
            )
        errors: list[str] = []
        for proc in procs:
            stdout, stderr = proc.communicate(timeout=600)
            if proc.returncode != 0:
                raise RuntimeError(f"a client process failed: {stderr.strip()[-400:]}")
            errors += json.loads(stdout.strip().splitlines()[-1])["errors"]
        return _outcome(sandbox.requests, shape, errors)


def run(config: Config, context: Context) -> list[Row]:
    refs = context.photos(REF_PHOTOS)
    rows = []
    for shape in SHAPES:
        count = shape.quick_count if config.quick else shape.count
        runs, told = [], []
        for _ in range(config.bucket_repeats):
            runs.append(run_shape(shape, count, refs))
            if shape.burst != 60 and shape.bucket == "characters_post":  # not the documented
                told.append(run_shape(shape, count, refs, told=True))
        rows.append(_shape_row(shape, runs, told))
    count = SHARED.quick_count if config.quick else SHARED.count
    shared = [run_shared(count, refs) for _ in range(config.bucket_repeats)]
    ratio, wire, errors, detail = _summary(SHARED, shared)
    early = sum(out.early_429 for out in shared)
    failures = [e for out in shared for e in out.errors]
    rows.append(
        Row(
            name=SHARED.name,
            measure=(
                f"two processes, each its own client and key of one team, {count} six-ref "
                f"characters each, {CONCURRENT} at a time, documented `characters_post` bucket "
                f"(60/30, clocks × {SHARED.speed:g}): served / ceiling together; 429s on the "
                "wire, errors reaching a caller"
            ),
            value=f"{ratio:.3f}; {wire}, {errors}",
            target=f"≥ {SHARED_TARGET}; report, 0",
            ok=ratio >= SHARED_TARGET and not errors,
            detail=detail,
            notes=[
                "Neither client knows of the other. Each corrects its count from "
                "`X-RateLimit-Remaining` (fewer tokens than it counted means someone else took "
                "them); its refill-rate fit sees `X-RateLimit-Reset` move faster than its own "
                "requests explain, so it paces a little under the share it gets, leaving the "
                "bucket a few tokens; while the server's bucket is empty it waits a random "
                "part of a token's time more, so neither wins every race for the next token. "
                f"The 429s on the wire are where both sent at once ({early} of {wire} in the "
                "first tenth of a run, as the burst runs out before either has seen the "
                "other); each was retried after its `Retry-After`.",
            ]
            + (["Errors: " + "; ".join(failures[:3])] if failures else []),
        )
    )
    return rows


if __name__ == "__main__":
    print(json.dumps(child(json.loads(sys.argv[1]))))
