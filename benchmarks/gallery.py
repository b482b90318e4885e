"""Row "gallery page": how long a CharacterGallery takes to show a page of 24 characters with
their thumbnails, against the floor: one list call plus one parallel round of ref fetches.

The sandbox (in this process) holds 24 characters of 4 refs each and answers every request
after 100 ms. Ours: from creating the gallery (headless, as the tests drive it) until every
card carries its first ref's thumbnail, with the session's thumbnail cache emptied before each
run. The floor: plain requests, ``GET /v1/characters?limit=24`` then the 24 first refs fetched
at once from 24 threads. The two alternate; the row is the medians' ratio.
"""

from __future__ import annotations

import io
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from ._common import Config, Context, Row

TARGET = 1.5
CHARACTERS, REFS, LATENCY_MS = 24, 4, 100.0


def _png(i: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (640, 800), (i * 9 % 255, 80, 160)).save(out, "PNG")
    return out.getvalue()


def _fill(sandbox: object) -> None:
    """24 characters of 4 refs each, made through the API without latency."""
    from aurous_nb.client import AurousClient

    with AurousClient(api_key=sandbox.api_key, base_url=sandbox.url) as client:  # type: ignore[attr-defined]
        for c in range(CHARACTERS):
            ids = [
                client.upload(_png(c * REFS + r), filename=f"ref{r}.png").upload_id
                for r in range(REFS)
            ]
            client.create_character(f"Gallery {c:02d}", upload_ids=ids)


def _ours(sandbox: object) -> float:
    from aurous_nb.client import AurousClient
    from aurous_nb.widgets import CharacterGallery
    from aurous_nb.widgets._catalog import Thumbnails

    Thumbnails._cache.clear()  # cold: what a new session sees
    with AurousClient(api_key=sandbox.api_key, base_url=sandbox.url) as client:  # type: ignore[attr-defined]
        started = time.perf_counter()
        gallery = CharacterGallery(client, page_size=CHARACTERS)
        try:
            while True:
                cards = [box.children[0].value for box in gallery.grid.children]
                if len(cards) == CHARACTERS and all("data:image/" in c for c in cards):
                    return time.perf_counter() - started
                if time.perf_counter() - started > 60:
                    raise RuntimeError("the gallery never showed every thumbnail")
                time.sleep(0.002)
        finally:
            gallery.close()


def _floor(sandbox: object) -> float:
    url, key = sandbox.url, sandbox.api_key  # type: ignore[attr-defined]
    with requests.Session() as session, ThreadPoolExecutor(CHARACTERS) as pool:
        session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=CHARACTERS))
        started = time.perf_counter()
        page = session.get(
            f"{url}/v1/characters", params={"limit": CHARACTERS}, headers={"X-Api-Key": key}
        ).json()
        firsts = [c["refs"][0]["url"] for c in page["data"]]
        list(pool.map(lambda u: session.get(u).content, firsts))
        return time.perf_counter() - started


def run(config: Config, context: Context) -> list[Row]:
    from aurous_nb.sandbox import Sandbox

    repeats = 2 if config.quick else 5
    with Sandbox(synth_seconds=0) as sandbox:
        sandbox.start()
        sandbox.set_bucket("characters_post", 10_000, 100_000.0)
        _fill(sandbox)
        sandbox.configure(latency_ms=LATENCY_MS)
        _floor(sandbox)  # warm both paths once
        _ours(sandbox)
        ours, floor = [], []
        for _ in range(repeats):
            ours.append(_ours(sandbox))
            floor.append(_floor(sandbox))
    o, f = statistics.median(ours), statistics.median(floor)
    ratio = o / f
    return [
        Row(
            name="gallery page",
            measure=f"{CHARACTERS} characters × {REFS} refs, {LATENCY_MS:g} ms: every card's "
            "thumbnail shown / one list call + one parallel round of ref fetches",
            value=f"{ratio:.2f}",
            target=f"≤ {TARGET:g}",
            ok=ratio <= TARGET,
            detail=f"ours {o * 1000:.0f} ms vs floor {f * 1000:.0f} ms "
            f"(medians of {repeats}; ours {min(ours) * 1000:.0f}–{max(ours) * 1000:.0f} ms)",
            notes=[
                "The gallery lists a page (its own GET, through the rate limiter), then fetches "
                "the first ref of every card at once on up to 32 threads and makes each a "
                "256 px thumbnail before the card shows it; the floor only fetches.",
            ],
        )
    ]
