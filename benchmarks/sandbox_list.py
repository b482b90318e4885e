"""Row "sandbox list": what a page of ``GET /v1/characters`` costs as a team's list grows.

One sandbox (its own process) holds two teams: one with 100 characters, one with 10,000
(stored straight into its state; creating them is not what is measured). Plain requests
alternate: the small team's first page, the big team's deepest page (``starting_after`` its
21st-oldest character, so the page is its 20 oldest), the big team's first page. Each is
timed from request to decoded JSON; the row is the medians' ratio, deep page at 10,000 /
first page at 100.
"""

from __future__ import annotations

import statistics
import time

import requests

from ._common import Config, Context, Row
from ._server import SandboxProcess

TARGET = 1.3
SMALL, BIG = 100, 10_000
LIMIT = 20
#: a roomy characters_get bucket: the row measures the server's work, not the rate limit
ROOMY = {"characters_get": (1_000_000, 1_000_000.0)}


def _page(session: requests.Session, url: str, key: str, after: str | None) -> float:
    params: dict[str, str | int] = {"limit": LIMIT}
    if after is not None:
        params["starting_after"] = after
    started = time.perf_counter()
    r = session.get(f"{url}/v1/characters", params=params, headers={"X-Api-Key": key})
    r.raise_for_status()
    page = r.json()
    elapsed = time.perf_counter() - started
    assert len(page["data"]) == LIMIT, page
    return elapsed


def run(config: Config, context: Context) -> list[Row]:
    rounds = 40 if config.quick else 200
    with SandboxProcess(synth_seconds=0, buckets=ROOMY) as sandbox:
        small_key, _ = sandbox.add_team(SMALL)
        big_key, oldest = sandbox.add_team(BIG)
        deep_cursor = oldest[LIMIT]  # the page after it holds the team's 20 oldest
        small, deep, top = [], [], []
        with requests.Session() as session:
            for _ in range(5):  # warm the connection and the sandbox's code paths
                _page(session, sandbox.url, small_key, None)
                _page(session, sandbox.url, big_key, deep_cursor)
            for _ in range(rounds):
                small.append(_page(session, sandbox.url, small_key, None))
                deep.append(_page(session, sandbox.url, big_key, deep_cursor))
                top.append(_page(session, sandbox.url, big_key, None))
    first, last, head = (statistics.median(x) for x in (small, deep, top))
    ratio = last / first
    return [
        Row(
            name="sandbox list",
            measure=(
                f"`GET /v1/characters?limit={LIMIT}`: the deepest page of a team of {BIG:,} "
                f"characters / the first page of a team of {SMALL} (medians of {rounds}, "
                "alternating, over HTTP)"
            ),
            value=f"{ratio:.2f}",
            target=f"≤ {TARGET}",
            ok=ratio <= TARGET,
            detail=(
                f"first page at {SMALL}: {first * 1000:.2f} ms; deepest page at {BIG:,}: "
                f"{last * 1000:.2f} ms; first page at {BIG:,}: {head * 1000:.2f} ms "
                f"({head / first:.2f})"
            ),
            notes=[
                "Each team's characters are kept in list order as they are created (an index "
                "per team, `aurous_nb/sandbox/state.py`); a page bisects to its cursor and "
                "reads the next 20, instead of sorting every character of the team and "
                "scanning for the cursor. Before the index, the same measurement gave 3–4× "
                "(sorting 10,000 records on every page).",
            ],
        )
    ]
