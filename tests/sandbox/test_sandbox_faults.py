"""Injected faults (§14 "Faults"): statuses, probabilities, latency, dropped connections —
and the promise that a faulted request changes no state but is still logged."""

from __future__ import annotations

import time

import pytest
import requests

CHARS = "/v1/characters"
INIT_BODY = {"filename": "a.png", "extension": "png", "content_type": "image/png"}


def _error(r: requests.Response) -> dict:
    return r.json()["error"]


def _snapshot(sandbox) -> tuple:
    """Everything a request could change, compared before and after faults."""
    state = sandbox.state
    with state.lock:
        chars = {
            cid: (c.status, c.name, c.attributes, [r.id for r in c.refs], c.updated_at)
            for cid, c in state.characters.items()
        }
        tickets = {tid: (t.data, t.classification, t.consumed) for tid, t in state.tickets.items()}
        credits = {tid: t.credits for tid, t in state.teams.items()}
        # tokens refill with time; what a request would change is how many were *taken*
        buckets = state.buckets.taken()
    return chars, tickets, credits, buckets, len(state.idempotency)


@pytest.mark.parametrize(
    ("status", "code", "etype"),
    [
        (429, "too_many_requests", "rate_limit"),
        (500, "internal_error", "server_error"),
        (502, "provider_unavailable", "server_error"),
        (503, "provider_unavailable", "server_error"),
        (504, "provider_timeout", "server_error"),
    ],
)
def test_injected_status_is_one_shot(sandbox_api, aurous_sandbox, status, code, etype):
    aurous_sandbox.inject("list", status=status)
    r = sandbox_api.get(CHARS)
    assert r.status_code == status
    err = _error(r)
    assert (err["code"], err["type"]) == (code, etype)
    assert err["request_id"] == r.headers["Aurous-Request-Id"]
    assert "X-RateLimit-Limit" in r.headers
    if status == 429:
        assert r.headers["Retry-After"] == "1" and r.headers["X-RateLimit-Remaining"] == "0"
        assert "characters_get" in err["message"]
    assert sandbox_api.get(CHARS).status_code == 200


def test_injected_times_retry_after_and_wildcard(sandbox_api, aurous_sandbox):
    aurous_sandbox.inject("*", status=503, times=2, retry_after=7)
    first, second = sandbox_api.get("/v1/team"), sandbox_api.get(CHARS)
    assert (first.status_code, second.status_code) == (503, 503)
    assert first.headers["Retry-After"] == "7"
    assert sandbox_api.get("/v1/team").status_code == 200


def test_injected_probability_is_seeded_and_persistent(sandbox_api, aurous_sandbox):
    def run() -> list[int]:
        aurous_sandbox.reset()
        aurous_sandbox.inject("team", status=500, probability=0.5)
        return [sandbox_api.get("/v1/team").status_code for _ in range(12)]

    first = run()
    assert first == run()
    assert set(first) == {200, 500}
    aurous_sandbox.clear_faults()
    assert {sandbox_api.get("/v1/team").status_code for _ in range(3)} == {200}


def test_drop_surfaces_as_connection_error(sandbox_api, aurous_sandbox):
    aurous_sandbox.inject("get", drop=True)
    with pytest.raises(requests.ConnectionError):
        sandbox_api.get(f"{CHARS}/char_x")
    last = aurous_sandbox.requests[-1]
    assert (last.route, last.status, last.fault) == ("get", None, "drop")
    assert sandbox_api.get(f"{CHARS}/char_x").status_code == 404


def test_drop_on_upload_host(sandbox_api, aurous_sandbox, make_image):
    ticket = sandbox_api.init()
    aurous_sandbox.inject("upload", drop=True)
    with pytest.raises(requests.ConnectionError):
        sandbox_api.put(ticket, make_image())
    assert aurous_sandbox.state.tickets[ticket["upload_id"]].data is None
    assert sandbox_api.put(ticket, make_image()).status_code == 200


def test_injected_status_on_upload_and_storage(sandbox_api, aurous_sandbox, make_image):
    ticket = sandbox_api.init()
    aurous_sandbox.inject("upload", status=503)
    r = sandbox_api.put(ticket, make_image())
    assert r.status_code == 503 and "X-RateLimit-Limit" not in r.headers
    url = sandbox_api.create()["refs"][0]["url"]
    aurous_sandbox.inject("storage", status=500)
    assert requests.get(url, timeout=10).status_code == 500
    assert requests.get(url, timeout=10).status_code == 200


def test_latency_only_rule_delays_then_processes(sandbox_api, aurous_sandbox):
    aurous_sandbox.inject("team", latency_ms=150)
    start = time.monotonic()
    r = sandbox_api.get("/v1/team")
    assert r.status_code == 200 and time.monotonic() - start >= 0.15
    start = time.monotonic()
    sandbox_api.get("/v1/team")
    assert time.monotonic() - start < 0.15


def test_global_latency_option(sandbox_api, aurous_sandbox):
    aurous_sandbox.configure(latency_ms=120)
    start = time.monotonic()
    sandbox_api.get("/v1/balance")
    assert time.monotonic() - start >= 0.12


def test_faulted_requests_change_no_state(sandbox_api, aurous_sandbox, make_image):
    aurous_sandbox.configure(synth_seconds=0)
    ready = sandbox_api.create()
    review = sandbox_api.synthesize()
    sandbox_api.get(f"{CHARS}/{review['id']}")  # settle to reviewing
    ticket = sandbox_api.init()
    sandbox_api.put(ticket, make_image())
    fresh = sandbox_api.init()
    before = _snapshot(aurous_sandbox)
    log_before = len(aurous_sandbox.requests)
    h = {"Idempotency-Key": "faulted"}
    calls = [
        (
            "init",
            lambda: sandbox_api.post("/v1/characters/uploads/init", json=INIT_BODY, headers=h),
        ),
        ("upload", lambda: sandbox_api.put(fresh, make_image())),
        ("upload", lambda: sandbox_api.put(ticket, make_image(9, 9))),
        (
            "classify",
            lambda: sandbox_api.post(
                "/v1/characters/uploads/classify", json={"upload_id": ticket["upload_id"]}
            ),
        ),
        (
            "create",
            lambda: sandbox_api.post(
                CHARS, json={"name": "x", "upload_ids": [ticket["upload_id"]]}, headers=h
            ),
        ),
        (
            "create",
            lambda: sandbox_api.post(CHARS, json={"name": "x", "generate": True, "attributes": {}}),
        ),
        ("get", lambda: sandbox_api.get(f"{CHARS}/{ready['id']}")),
        ("list", lambda: sandbox_api.get(CHARS)),
        ("patch", lambda: sandbox_api.patch(f"{CHARS}/{ready['id']}", json={"name": "changed"})),
        ("save", lambda: sandbox_api.post(f"{CHARS}/{review['id']}/save")),
        (
            "resynthesize",
            lambda: sandbox_api.post(f"{CHARS}/{review['id']}/resynthesize", headers=h),
        ),
        (
            "regenerate",
            lambda: sandbox_api.post(
                f"{CHARS}/{review['id']}/refs/regenerate", json={"pose": "front"}
            ),
        ),
        ("delete", lambda: sandbox_api.delete(f"{CHARS}/{review['id']}")),
        ("delete", lambda: sandbox_api.delete(f"{CHARS}/{ready['id']}")),
        ("team", lambda: sandbox_api.get("/v1/team")),
        ("balance", lambda: sandbox_api.get("/v1/balance")),
    ]
    for kind in ("status", "drop"):
        for route, call in calls:
            if kind == "status":
                aurous_sandbox.inject(route, status=503)
                assert call().status_code == 503, route
            else:
                aurous_sandbox.inject(route, drop=True)
                with pytest.raises(requests.ConnectionError):
                    call()
    assert _snapshot(aurous_sandbox) == before
    log = aurous_sandbox.requests[log_before:]
    assert len(log) == 2 * len(calls)
    assert {q.fault for q in log} == {"status", "drop"}
    assert [q.route for q in log[: len(calls)]] == [route for route, _ in calls]


def test_inject_validates_arguments(aurous_sandbox):
    with pytest.raises(ValueError):
        aurous_sandbox.inject("nope", status=500)
    with pytest.raises(ValueError):
        aurous_sandbox.inject("get", status=200)
    with pytest.raises(ValueError):
        aurous_sandbox.inject("get")
    with pytest.raises(ValueError):
        aurous_sandbox.inject("get", status=500, drop=True)
