"""Row "sandbox rps": requests per second the sandbox serves, against a bare werkzeug server.

The same request mix goes to three servers, each in its own process: the sandbox
(``uploads/init`` and ``uploads/classify`` of tickets uploaded beforehand, alternating, a
bucket too big to matter), and two bare werkzeug servers that answer those requests with
the sandbox's own canned response bodies (``benchmarks/_bare.py``): werkzeug's server as it
ships, and werkzeug's server with the sandbox's keep-alive request handler. The load comes
from ``benchmarks/_load.py`` (raw sockets, one thread, four connections, its own process),
cheap enough that the server is what is measured. Runs alternate, sandbox, bare, bare, ...
"""

from __future__ import annotations

import io
import json
import statistics
import subprocess
import sys
from pathlib import Path

import requests

from ._common import Config, Context, Row, subprocess_env
from ._server import SandboxProcess
from .baseline import VERSION, mint, put

TARGET = 0.9
CONNECTIONS = 4
TICKETS = 4
REPO = Path(__file__).resolve().parent.parent
INIT = {"filename": "front.jpg", "extension": "jpg", "content_type": "image/jpeg"}


def _tiny_jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.linear_gradient("L").convert("RGB").resize((96, 128)).save(buf, "JPEG")
    return buf.getvalue()


def _raw(host: str, key: str, path: str, body: dict) -> str:
    data = json.dumps(body, separators=(",", ":"))
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: benchmarks-load\r\n"
        f"Accept: application/json\r\nX-Api-Key: {key}\r\nAurous-Version: {VERSION}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n{data}"
    )


def _load(port: int, texts: list[str], seconds: float) -> tuple[float, int]:
    args = {
        "host": "127.0.0.1",
        "port": port,
        "requests": texts,
        "seconds": seconds,
        "connections": CONNECTIONS,
    }
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks._load", json.dumps(args)],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        cwd=REPO,
        timeout=seconds + 60,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"the load generator failed: {out.stderr.strip()[-400:]}")
    result = json.loads(out.stdout)
    return result["requests"] / result["seconds"], int(result["errors"])


def _bare(kind: str, bodies: dict[str, str]) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks._bare", kind, json.dumps(bodies)],
        stdout=subprocess.PIPE,
        text=True,
        env=subprocess_env(),
        cwd=REPO,
    )
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def run(config: Config, context: Context) -> list[Row]:
    data = _tiny_jpeg()
    buckets = {"characters_post": (10**9, 10.0**9)}
    rates: dict[str, list[float]] = {"sandbox": [], "stock": [], "keep-alive": []}
    errors = 0
    procs: list[subprocess.Popen[str]] = []
    with SandboxProcess(synth_seconds=0, buckets=buckets) as sandbox:
        url, key = sandbox.url, sandbox.api_key
        host = url.split("//", 1)[1]
        with requests.Session() as session:
            tickets = [mint(session, url, key, f"front_{i}.jpg") for i in range(TICKETS)]
            for ticket in tickets:
                put(session, ticket, data)
            headers = {"X-Api-Key": key, "Aurous-Version": VERSION}
            init = session.post(f"{url}/v1/characters/uploads/init", json=INIT, headers=headers)
            classify = session.post(
                f"{url}/v1/characters/uploads/classify",
                json={"upload_id": tickets[0]["upload_id"]},
                headers=headers,
            )
        bodies = {"/init": init.text, "/classify": classify.text}
        texts = []
        for ticket in tickets:
            texts.append(_raw(host, key, "/v1/characters/uploads/init", INIT))
            body = {"upload_id": ticket["upload_id"]}
            texts.append(_raw(host, key, "/v1/characters/uploads/classify", body))
        try:
            ports = {"sandbox": int(host.rsplit(":", 1)[1])}
            for kind in ("stock", "keep-alive"):
                proc, ports[kind] = _bare(kind, bodies)
                procs.append(proc)
            for _ in range(config.rps_rounds):
                for name, port in ports.items():
                    rps, failed = _load(port, texts, config.rps_seconds)
                    rates[name].append(rps)
                    errors += failed
                sandbox.clear_log()
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()
                if proc.stdout is not None:
                    proc.stdout.close()
    if errors:
        raise RuntimeError(f"{errors} requests of the load were not answered 200")
    ours, stock, floor = (statistics.median(rates[k]) for k in ("sandbox", "stock", "keep-alive"))
    ratio = ours / stock
    app_us = (1 / ours - 1 / floor) * 1e6
    return [
        Row(
            name="sandbox rps",
            measure=(
                "requests per second on loopback (init + classify alternating, "
                f"{CONNECTIONS} connections): the sandbox / werkzeug's server answering the "
                "same requests with canned bodies"
            ),
            value=f"{ratio:.2f}",
            target=f"≥ {TARGET}",
            ok=ratio >= TARGET,
            detail=(
                f"sandbox {ours:.0f} req/s, werkzeug as shipped {stock:.0f} req/s, werkzeug "
                f"with the sandbox's keep-alive handler {floor:.0f} req/s "
                f"({ours / floor:.2f}); medians of {config.rps_rounds}"
            ),
            notes=[
                "werkzeug's own request handler closes the connection after every response, "
                "so each request pays a TCP handshake and a new thread; the sandbox's handler "
                "keeps HTTP/1.1 connections open, which is most of the difference. With that "
                "handler under a canned answer (the third server) the rest is the sandbox's "
                f"application work: {app_us:.0f} µs per request on this machine (key check, "
                "rate bucket, JSON, ids, signing the upload URL, the request log).",
            ],
        )
    ]
