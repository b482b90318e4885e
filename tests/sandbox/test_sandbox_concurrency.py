"""Thread safety: 200 concurrent requests are served, bucket counting is atomic, and
parallel upload flows never mix tickets up."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests

CHARS = "/v1/characters"


def test_200_concurrent_requests_exactly_burst_succeed(sandbox_api, aurous_sandbox):
    aurous_sandbox.set_bucket("characters_get", 37, 0)  # burst 37, no refill
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda _: sandbox_api.get(CHARS), range(200)))
    assert Counter(r.status_code for r in responses) == {200: 37, 429: 163}
    # §14 row 31: the limit is always too_many_requests, never concurrency_limit_exceeded
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 429} == {
        "too_many_requests"
    }
    assert aurous_sandbox.handler_errors == []
    assert len([q for q in aurous_sandbox.requests if q.route == "list"]) == 200


def test_200_concurrent_requests_all_served(sandbox_api, aurous_sandbox):
    aurous_sandbox.set_bucket("default_get", 1200, 0)  # no refill: remaining counts exactly
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda _: sandbox_api.get("/v1/balance"), range(200)))
    assert {r.status_code for r in responses} == {200}
    remaining = sorted(int(r.headers["X-RateLimit-Remaining"]) for r in responses)
    assert remaining == list(range(1000, 1200))  # every request took exactly one token


def test_200_simultaneous_connections(aurous_sandbox):
    """All 200 connect at once (one thread each), which needs a deep listen backlog."""
    import threading

    barrier = threading.Barrier(200)
    results: list[int] = []
    lock = threading.Lock()

    def hit() -> None:
        barrier.wait()
        r = requests.get(
            aurous_sandbox.url + "/v1/team",
            headers={"X-Api-Key": aurous_sandbox.api_key},
            timeout=30,
        )
        with lock:
            results.append(r.status_code)

    threads = [threading.Thread(target=hit) for _ in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 200


def test_parallel_upload_flows_keep_tickets_apart(sandbox_api, aurous_sandbox, make_image):
    aurous_sandbox.set_bucket("characters_post", 1000, 0)

    def flow(i: int) -> tuple[str, list[str]]:
        poses = ["front", "side", "back"]
        ids = [
            sandbox_api.upload(make_image(10 + i, 10), filename=f"{p}.png", classify=True)
            for p in poses
        ]
        r = sandbox_api.post(CHARS, json={"name": f"c{i}", "upload_ids": ids})
        assert r.status_code == 201, r.text
        return r.json()["id"], [ref["pose"] for ref in r.json()["refs"]]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(flow, range(16)))
    assert {tuple(poses) for _, poses in results} == {("front", "side", "back")}
    assert len({cid for cid, _ in results}) == 16
    assert aurous_sandbox.handler_errors == []


def test_concurrent_create_consumes_a_ticket_once(sandbox_api, aurous_sandbox):
    uid = sandbox_api.upload()
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(
            pool.map(
                lambda _: (
                    sandbox_api.post(CHARS, json={"name": "race", "upload_ids": [uid]}).status_code
                ),
                range(8),
            )
        )
    assert Counter(statuses) == {201: 1, 400: 7}
