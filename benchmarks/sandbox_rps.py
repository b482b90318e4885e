"""Row "sandbox": requests per second the sandbox serves on loopback (init + classify mix).

The sandbox runs in its own process with a bucket too big to matter; a few client threads,
each with its own keep-alive ``requests.Session``, alternate ``uploads/init`` and
``uploads/classify`` (of tickets uploaded beforehand) for a fixed time. The clients share
the machine's cores with the server, so this is a floor of what the sandbox can serve.
"""

from __future__ import annotations

import io
import threading
import time

import requests

from ._common import Config, Context, Row
from ._server import SandboxProcess
from .baseline import VERSION, mint, put

THREADS = 4
TICKETS = 4  # per thread, uploaded before the clock starts


def _tiny_jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.linear_gradient("L").convert("RGB").resize((96, 128)).save(buf, "JPEG")
    return buf.getvalue()


def run(config: Config, context: Context) -> list[Row]:
    data = _tiny_jpeg()
    counts = [0] * THREADS
    errors: list[str] = []
    buckets = {"characters_post": (10_000_000, 10_000_000.0)}
    with SandboxProcess(synth_seconds=0, buckets=buckets) as sandbox:
        url, key = sandbox.url, sandbox.api_key
        headers = {"X-Api-Key": key, "Aurous-Version": VERSION}
        sessions = [requests.Session() for _ in range(THREADS)]
        tickets = []
        for session in sessions:
            mine = [mint(session, url, key, f"front_{i}.jpg") for i in range(TICKETS)]
            for ticket in mine:
                put(session, ticket, data)
            tickets.append([t["upload_id"] for t in mine])
        start = threading.Barrier(THREADS + 1)
        stop = threading.Event()

        def load(i: int) -> None:
            session, ids, n = sessions[i], tickets[i], 0
            init = {"filename": "front.jpg", "extension": "jpg", "content_type": "image/jpeg"}
            start.wait()
            try:
                while not stop.is_set():
                    if n % 2:
                        body = {"upload_id": ids[n % len(ids)]}
                        path = "/v1/characters/uploads/classify"
                    else:
                        body, path = init, "/v1/characters/uploads/init"
                    r = session.post(url + path, json=body, headers=headers, timeout=30)
                    if r.status_code != 200:
                        raise RuntimeError(f"{path} -> {r.status_code}: {r.text[:120]}")
                    n += 1
                    counts[i] = n
            except Exception as exc:  # reported in the row
                errors.append(f"{type(exc).__name__}: {exc}")

        threads = [threading.Thread(target=load, args=(i,), daemon=True) for i in range(THREADS)]
        for t in threads:
            t.start()
        start.wait()
        began = time.perf_counter()
        time.sleep(config.rps_seconds)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        elapsed = time.perf_counter() - began
        for session in sessions:
            session.close()
        served = sum(1 for route, status, _, _ in sandbox.log() if status == 200)
    done = sum(counts)
    rps = done / elapsed
    if errors:
        raise RuntimeError(errors[0])
    return [
        Row(
            name="sandbox",
            measure=(
                f"requests per second the sandbox serves on loopback (init + classify "
                f"alternating, {THREADS} threads with keep-alive sessions, its own process)"
            ),
            value=f"{rps:.0f} req/s",
            target="report",
            ok=None,
            detail=(
                f"{done} requests in {elapsed:.1f} s, every one 200 "
                f"(sandbox log: {served}, setup included)"
            ),
            notes=[
                "The rows above need far less: the bulk row's peak is its 60-request burst, "
                "the critical path 19 requests per character. The load generator is Python "
                "too and shares the cores, so the sandbox alone would serve more.",
            ],
        )
    ]
