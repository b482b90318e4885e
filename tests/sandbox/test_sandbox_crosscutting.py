"""Contract tests: auth, scopes, versions, headers, the error envelope, rate buckets,
idempotency, team isolation, account endpoints and the request log (§1–§7, §14 rows 14,
15, 23–32)."""

from __future__ import annotations

import re
import threading

import pytest
import requests

CHARS = "/v1/characters"
INIT_BODY = {"filename": "a.png", "extension": "png", "content_type": "image/png"}
ULID_RID = re.compile(r"^req_[0-9A-HJKMNP-TV-Z]{26}$")


def _error(r: requests.Response) -> dict:
    return r.json()["error"]


# -- keys and scopes (row 30) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_api_key"),
        ({"X-Api-Key": ""}, "missing_api_key"),
        ({"X-Api-Key": "al_live_nothex"}, "invalid_api_key"),
        ({"X-Api-Key": "al_live_" + "0" * 64}, "invalid_api_key"),
        ({"X-Api-Key": "sk-something"}, "invalid_api_key"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "invalid_api_key"),
    ],
)
def test_auth_errors(sandbox_api, headers, code):
    r = sandbox_api.get("/v1/team", key=None, headers=headers)
    assert r.status_code == 401
    err = _error(r)
    assert (err["type"], err["code"]) == ("authentication", code)
    assert "param" not in err
    assert "0" * 64 not in err["message"]  # never echo a full key


def test_bearer_alias_and_legacy_keys(sandbox_api, aurous_sandbox):
    r = sandbox_api.get(
        "/v1/team", key=None, headers={"Authorization": f"Bearer {aurous_sandbox.api_key}"}
    )
    assert r.status_code == 200 and r.json()["id"] == aurous_sandbox.team_id
    legacy = aurous_sandbox.add_key(legacy=True)
    assert legacy.startswith("og_")
    assert sandbox_api.get("/v1/balance", key=legacy).status_code == 200


def test_revoked_key(sandbox_api, aurous_sandbox):
    key = aurous_sandbox.add_key()
    assert sandbox_api.get("/v1/team", key=key).status_code == 200
    aurous_sandbox.revoke_key(key)
    r = sandbox_api.get("/v1/team", key=key)
    assert (r.status_code, _error(r)["code"]) == (401, "revoked_api_key")


def test_read_scope_cannot_write(sandbox_api, aurous_sandbox):
    char = sandbox_api.create()
    read = aurous_sandbox.add_key(scope="read")
    assert sandbox_api.get(f"{CHARS}/{char['id']}", key=read).status_code == 200
    assert sandbox_api.get(CHARS, key=read).status_code == 200
    calls = [
        ("POST", "/v1/characters/uploads/init", INIT_BODY),
        ("POST", CHARS, {"name": "x", "generate": True, "attributes": {}}),
        ("PATCH", f"{CHARS}/{char['id']}", {"name": "y"}),
        ("POST", f"{CHARS}/{char['id']}/save", None),
        ("DELETE", f"{CHARS}/{char['id']}", None),
    ]
    for method, path, body in calls:
        r = sandbox_api.call(method, path, key=read, json=body)
        assert r.status_code == 403, path
        err = _error(r)
        assert (err["type"], err["code"]) == (
            "authentication",
            "missing_scope",
        ) and "param" not in err
    assert sandbox_api.get(f"{CHARS}/{char['id']}").json()["name"] == "Ada"
    write = aurous_sandbox.add_key(scope="write")
    assert (
        sandbox_api.post("/v1/characters/uploads/init", key=write, json=INIT_BODY).status_code
        == 200
    )


# -- headers on every API response (rows 23-25) --------------------------------------------


def _assert_api_headers(r: requests.Response) -> None:
    assert ULID_RID.match(r.headers["Aurous-Request-Id"]), r.headers
    assert r.headers["Aurous-Version"] == "2026-05-15"
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert r.headers[name].isdigit(), name


def test_headers_on_success_and_errors(sandbox_api):
    responses = [
        sandbox_api.get("/v1/team"),
        sandbox_api.get("/v1/balance"),
        sandbox_api.get(CHARS),
        sandbox_api.get(f"{CHARS}/char_nope"),
        sandbox_api.get("/v1/team", key=None),
        sandbox_api.post("/v1/characters/uploads/init", json={}),
        sandbox_api.get("/v1/nothing-here"),
        sandbox_api.call("PUT", CHARS),
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 404, 401, 400, 404, 405]
    for r in responses:
        _assert_api_headers(r)
    for r in responses[3:]:
        assert _error(r)["request_id"] == r.headers["Aurous-Request-Id"]
    ids = {r.headers["Aurous-Request-Id"] for r in responses}
    assert len(ids) == len(responses)


def test_error_envelope_shape(sandbox_api):
    r = sandbox_api.post("/v1/characters/uploads/init", json={"filename": "a.png"})
    err = _error(r)
    assert set(err) == {"type", "code", "message", "param", "doc_url", "request_id"}
    assert err["doc_url"] == "https://docs.aurous-labs.com/errors#missing_field"
    r = sandbox_api.get(f"{CHARS}/char_nope")
    assert set(_error(r)) == {"type", "code", "message", "doc_url", "request_id"}


def test_version_echo_malformed_unknown(sandbox_api):
    ok = sandbox_api.get("/v1/team", headers={"Aurous-Version": "2026-05-15"})
    assert ok.status_code == 200 and ok.headers["Aurous-Version"] == "2026-05-15"
    bad = sandbox_api.get("/v1/team", headers={"Aurous-Version": "May 2026"})
    assert bad.status_code == 400
    assert (_error(bad)["code"], _error(bad)["param"]) == ("invalid_format", "Aurous-Version")
    unknown = sandbox_api.get("/v1/team", headers={"Aurous-Version": "2031-01-01"})
    assert unknown.status_code == 400
    err = _error(unknown)
    assert (err["type"], err["code"], err["param"]) == (
        "invalid_request",
        "unknown_version",
        "Aurous-Version",
    )
    _assert_api_headers(unknown)


def test_character_records_applied_version(sandbox_api):
    char = sandbox_api.synthesize(headers={"Aurous-Version": "2026-05-15"})
    assert char["aurous_version"] == "2026-05-15"


# -- rate limits (rows 15, 25) -------------------------------------------------------------


def test_bucket_headers_count_down_and_429(sandbox_api, aurous_sandbox):
    aurous_sandbox.set_bucket("characters_get", 3, 60)
    seen = [sandbox_api.get(CHARS) for _ in range(4)]
    assert [r.status_code for r in seen] == [200, 200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in seen] == ["2", "1", "0", "0"]
    assert {r.headers["X-RateLimit-Limit"] for r in seen} == {"3"}
    limited = seen[-1]
    err = _error(limited)
    assert (err["type"], err["code"]) == ("rate_limit", "too_many_requests") and "param" not in err
    assert "characters_get" in err["message"]
    assert limited.headers["Retry-After"] == "1"  # 1 token/s refill
    aurous_sandbox.advance(1)
    assert sandbox_api.get(CHARS).status_code == 200


def test_default_buckets(sandbox_api):
    assert sandbox_api.get(CHARS).headers["X-RateLimit-Limit"] == "240"
    assert (
        sandbox_api.post("/v1/characters/uploads/init", json=INIT_BODY).headers["X-RateLimit-Limit"]
        == "60"
    )
    synth = sandbox_api.post(CHARS, json={"name": "s", "generate": True, "attributes": {}})
    assert synth.headers["X-RateLimit-Limit"] == "12"
    assert sandbox_api.get("/v1/team").headers["X-RateLimit-Limit"] == "1200"  # default_get
    anonymous = sandbox_api.get(CHARS, key=None)  # no team known: a full bucket is shown
    assert anonymous.headers["X-RateLimit-Remaining"] == anonymous.headers["X-RateLimit-Limit"]


def test_reset_header_is_when_full_again(sandbox_api, aurous_sandbox):
    aurous_sandbox.set_bucket("characters_post", 10, 60)  # 1 token per second
    now = aurous_sandbox.clock.now()
    for _ in range(4):
        r = sandbox_api.post("/v1/characters/uploads/init", json=INIT_BODY)
    assert abs(int(r.headers["X-RateLimit-Reset"]) - (now + 4)) <= 2


def test_create_flows_use_their_own_buckets(sandbox_api, aurous_sandbox):
    aurous_sandbox.set_bucket("characters_synthesize", 1, 0)
    aurous_sandbox.set_bucket("characters_post", 3, 0)
    body = {"name": "s", "generate": True, "attributes": {}}
    assert sandbox_api.post(CHARS, json=body).status_code == 201
    r = sandbox_api.post(CHARS, json=body)
    assert r.status_code == 429 and "characters_synthesize" in _error(r)["message"]
    assert r.headers["Retry-After"] == "60"  # no refill configured
    uid = sandbox_api.upload()  # init: 1 post token
    up = sandbox_api.post(CHARS, json={"name": "u", "upload_ids": [uid]})  # 2nd post token
    assert up.status_code == 201 and up.headers["X-RateLimit-Remaining"] == "1"
    # synthesize-flow create drew nothing from characters_post
    assert sandbox_api.post(CHARS, json=body).headers["X-RateLimit-Limit"] == "1"


def test_rate_limit_is_per_team(sandbox_api, aurous_sandbox):
    aurous_sandbox.set_bucket("characters_get", 1, 0)
    other = aurous_sandbox.add_key(aurous_sandbox.add_team("B"))
    second_key = aurous_sandbox.add_key()
    assert sandbox_api.get(CHARS).status_code == 200
    assert sandbox_api.get(CHARS, key=second_key).status_code == 429  # keys of a team share
    assert sandbox_api.get(CHARS, key=other).status_code == 200


def test_upload_host_has_no_rate_limit(sandbox_api, aurous_sandbox, make_image):
    aurous_sandbox.set_bucket("characters_post", 1, 0)
    ticket = sandbox_api.init()
    for _ in range(3):
        r = sandbox_api.put(ticket, make_image())
        assert r.status_code == 200 and "X-RateLimit-Limit" not in r.headers


# -- idempotency (rows 14, 28) -------------------------------------------------------------


def test_idempotent_create_replays(sandbox_api, aurous_sandbox):
    body = {"name": "I", "generate": True, "attributes": {"age": 5}}
    first = sandbox_api.post(CHARS, json=body, headers={"Idempotency-Key": "k1"})
    second = sandbox_api.post(CHARS, json=body, headers={"Idempotency-Key": "k1"})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert "Aurous-Idempotent-Replayed" not in first.headers
    assert second.headers["Aurous-Idempotent-Replayed"] == "true"
    assert second.headers["Aurous-Request-Id"] != first.headers["Aurous-Request-Id"]
    assert aurous_sandbox.credits() == 996  # not re-billed
    assert len(sandbox_api.get(CHARS).json()["data"]) == 1


def test_idempotency_canonical_json_and_conflicts(sandbox_api):
    a = b'{"name": "I", "generate": true, "attributes": {"age": 5, "gender": "f"}}'
    same = b'{"attributes":{"gender":"f","age":5},"generate":true,"name":"I"}'
    headers = {"Idempotency-Key": "k2", "Content-Type": "application/json"}
    assert sandbox_api.post(CHARS, data=a, headers=headers).status_code == 201
    replay = sandbox_api.post(CHARS, data=same, headers=headers)
    assert replay.headers.get("Aurous-Idempotent-Replayed") == "true"
    other = sandbox_api.post(
        CHARS, data=b'{"name": "J", "generate": true, "attributes": {}}', headers=headers
    )
    assert other.status_code == 409
    err = _error(other)
    assert (err["type"], err["code"]) == ("invalid_request", "idempotency_key_in_use")
    assert "Retry-After" not in other.headers


def test_idempotency_keys_are_scoped_per_team_not_per_route(sandbox_api, aurous_sandbox):
    # §5: "same key + different body or different route -> 409"; §14 row 14 (amended).
    body = {"name": "I", "generate": True, "attributes": {}}
    h = {"Idempotency-Key": "shared"}
    assert sandbox_api.post(CHARS, json=body, headers=h).status_code == 201
    other = aurous_sandbox.add_key(aurous_sandbox.add_team("B"))
    r = sandbox_api.post(CHARS, json=body, headers=h, key=other)  # another team: its own key
    assert r.status_code == 201 and "Aurous-Idempotent-Replayed" not in r.headers
    r = sandbox_api.post("/v1/characters/uploads/init", json=INIT_BODY, headers=h)
    assert r.status_code == 409
    err = _error(r)
    assert (err["type"], err["code"], err["param"]) == (
        "invalid_request",
        "idempotency_key_in_use",
        "Idempotency-Key",
    )
    assert "POST /v1/characters" in err["message"] and "Retry-After" not in r.headers
    assert len(aurous_sandbox.state.tickets) == 0  # nothing was minted


def test_a_resynthesize_key_reused_on_regenerate_is_409_and_not_charged(
    sandbox_api, aurous_sandbox
):
    first = sandbox_api.synthesize("One")
    second = sandbox_api.synthesize("Two")
    credits = aurous_sandbox.credits()
    h = {"Idempotency-Key": "paid-once"}
    ok = sandbox_api.post(f"{CHARS}/{first['id']}/resynthesize", json={}, headers=h)
    assert ok.status_code == 200 and aurous_sandbox.credits() == credits - 4
    sandbox_api.get(f"{CHARS}/{first['id']}")  # settles (synth_seconds=0)
    for path, payload in (
        (f"{CHARS}/{first['id']}/refs/regenerate", {"pose": "front"}),  # another route
        (f"{CHARS}/{second['id']}/resynthesize", {}),  # the same route, another character
    ):
        r = sandbox_api.post(path, json=payload, headers=h)
        assert (r.status_code, _error(r)["code"]) == (409, "idempotency_key_in_use"), path
    assert aurous_sandbox.credits() == credits - 4  # neither reuse was processed
    assert _get_status(sandbox_api, second["id"]) == "reviewing"
    replay = sandbox_api.post(f"{CHARS}/{first['id']}/resynthesize", json={}, headers=h)
    assert replay.headers["Aurous-Idempotent-Replayed"] == "true"  # the original still replays


def _get_status(api, cid: str) -> str:
    return api.get(f"{CHARS}/{cid}").json()["status"]


def test_idempotency_4xx_not_replayed_and_expires(sandbox_api, aurous_sandbox):
    char = sandbox_api.synthesize()
    aurous_sandbox.set_credits(0)
    h = {"Idempotency-Key": "k3"}
    path = f"{CHARS}/{char['id']}/resynthesize"
    assert sandbox_api.post(path, json={}, headers=h).status_code == 402
    aurous_sandbox.set_credits(10)
    ok = sandbox_api.post(path, json={}, headers=h)
    assert ok.status_code == 200 and "Aurous-Idempotent-Replayed" not in ok.headers
    assert (
        sandbox_api.post(path, json={}, headers=h).headers["Aurous-Idempotent-Replayed"] == "true"
    )
    assert aurous_sandbox.credits() == 6
    aurous_sandbox.advance(86401)
    fresh = sandbox_api.post(path, json={}, headers=h)
    assert "Aurous-Idempotent-Replayed" not in fresh.headers


def test_idempotency_5xx_never_cached(sandbox_api, aurous_sandbox):
    aurous_sandbox.inject("create", status=500)
    body = {"name": "I", "generate": True, "attributes": {}}
    h = {"Idempotency-Key": "k5"}
    assert sandbox_api.post(CHARS, json=body, headers=h).status_code == 500
    r = sandbox_api.post(CHARS, json=body, headers=h)
    assert r.status_code == 201 and "Aurous-Idempotent-Replayed" not in r.headers


def test_idempotency_in_flight_conflict(sandbox_api, aurous_sandbox):
    char = sandbox_api.synthesize()
    aurous_sandbox.inject("regenerate", latency_ms=600)
    path = f"{CHARS}/{char['id']}/refs/regenerate"
    h = {"Idempotency-Key": "slow"}
    results: list[requests.Response] = []
    worker = threading.Thread(
        target=lambda: results.append(sandbox_api.post(path, json={"pose": "front"}, headers=h))
    )
    worker.start()
    for _ in range(500):  # wait until the slow request holds the key
        if len(aurous_sandbox.state.idempotency):
            break
        threading.Event().wait(0.005)
    r = sandbox_api.post(path, json={"pose": "front"}, headers=h)
    worker.join()
    assert r.status_code == 409 and _error(r)["code"] == "idempotency_key_in_use"
    assert "Retry-After" not in r.headers
    assert results[0].status_code == 200
    replay = sandbox_api.post(path, json={"pose": "front"}, headers=h)
    assert replay.headers["Aurous-Idempotent-Replayed"] == "true"
    assert aurous_sandbox.credits() == 995


@pytest.mark.parametrize(("key", "ok"), [("", False), ("x" * 256, True), ("x" * 257, False)])
def test_idempotency_key_length(sandbox_api, key, ok):
    r = sandbox_api.post(
        "/v1/characters/uploads/init", json=INIT_BODY, headers={"Idempotency-Key": key}
    )
    assert r.status_code == (200 if ok else 400)
    if not ok:
        assert (_error(r)["code"], _error(r)["param"]) == ("value_out_of_range", "Idempotency-Key")


@pytest.mark.parametrize("action", ["save", "classify", "init"])
def test_idempotency_accepted_on_every_post(sandbox_api, action):
    if action == "save":
        path, body = f"{CHARS}/{sandbox_api.create()['id']}/save", None
    elif action == "classify":
        path, body = "/v1/characters/uploads/classify", {"upload_id": sandbox_api.upload()}
    else:
        path, body = "/v1/characters/uploads/init", INIT_BODY
    h = {"Idempotency-Key": "every-post"}
    first = sandbox_api.post(path, json=body, headers=h)
    second = sandbox_api.post(path, json=body, headers=h)
    assert first.status_code == 200 and second.headers["Aurous-Idempotent-Replayed"] == "true"
    assert first.json() == second.json()


# -- team isolation and account endpoints --------------------------------------------------


def test_team_isolation(sandbox_api, aurous_sandbox):
    mine = sandbox_api.create()
    other = aurous_sandbox.add_key(aurous_sandbox.add_team("B"))
    assert sandbox_api.get(f"{CHARS}/{mine['id']}", key=other).status_code == 404
    assert sandbox_api.get(CHARS, key=other).json()["data"] == []


def test_team_and_balance(sandbox_api, aurous_sandbox):
    team = sandbox_api.get("/v1/team").json()
    assert team["id"] == aurous_sandbox.team_id and team["id"].startswith("team_")
    assert set(team) >= {"id", "name", "credits", "created_at", "billing_email"}
    assert team["credits"] == 1000
    sandbox_api.synthesize()
    assert sandbox_api.get("/v1/balance").json() == {
        "credits": 996.0,
        "held_credits": 0,
        "available_credits": 996.0,
        "currency": "credit",
        "billing_mode": "metered",  # §1: required on the newer page; an open enum
    }
    aurous_sandbox.configure(billing_mode="exempt")
    assert sandbox_api.get("/v1/balance").json()["billing_mode"] == "exempt"
    with pytest.raises(ValueError, match="billing_mode"):
        aurous_sandbox.configure(billing_mode="free")
    b = aurous_sandbox.add_team("B", credits=5)
    assert sandbox_api.get("/v1/team", key=aurous_sandbox.add_key(b)).json()["credits"] == 5


# -- request log ---------------------------------------------------------------------------


def test_request_log_records_everything(sandbox_api, aurous_sandbox, make_image):
    ticket = sandbox_api.init()
    sandbox_api.put(ticket, make_image())
    sandbox_api.get(CHARS, params={"limit": 5})
    sandbox_api.get("/v1/team", key=None)
    log = aurous_sandbox.requests
    assert [(q.method, q.route, q.status) for q in log] == [
        ("POST", "init", 200),
        ("PUT", "upload", 200),
        ("GET", "list", 200),
        ("GET", "team", 401),
    ]
    assert log[0].headers["x-api-key"] == aurous_sandbox.api_key
    assert "X-Api-Key" not in log[1].headers and log[1].body_size == len(make_image())
    assert log[1].path == f"/_upload/{ticket['upload_id']}" and set(log[1].query) == {
        "expires",
        "signature",
    }
    assert log[2].query == {"limit": "5"}
    assert log[0].request_id and log[0].time <= log[3].time
    aurous_sandbox.clear_log()
    assert aurous_sandbox.requests == []


def test_reset_keeps_identity_and_forgets_state(sandbox_api, aurous_sandbox):
    key, team = aurous_sandbox.api_key, aurous_sandbox.team_id
    extra = aurous_sandbox.add_key()
    sandbox_api.create()
    aurous_sandbox.set_bucket("characters_get", 1, 0)
    aurous_sandbox.advance(1000)
    aurous_sandbox.reset()
    assert (aurous_sandbox.api_key, aurous_sandbox.team_id) == (key, team)
    assert aurous_sandbox.clock.offset == 0
    assert sandbox_api.get(CHARS).json()["data"] == []
    assert sandbox_api.get(CHARS).headers["X-RateLimit-Limit"] == "240"
    assert sandbox_api.get("/v1/team", key=extra).status_code == 401


def test_error_types_follow_row_26(sandbox_api, aurous_sandbox, make_image):
    """§14 row 26, in one place: the envelope ``type`` of every character-surface code."""
    seen: dict[str, tuple[int, str]] = {}

    def note(r: requests.Response) -> None:
        err = _error(r)
        seen[err["code"]] = (r.status_code, err["type"])

    aurous_sandbox.configure(synth_seconds=60)
    busy = sandbox_api.synthesize()
    note(sandbox_api.post(f"{CHARS}/{busy['id']}/save"))  # invalid_request_error
    aurous_sandbox.configure(synth_seconds=0)
    done = sandbox_api.synthesize()
    aurous_sandbox.set_credits(0)
    note(sandbox_api.post(f"{CHARS}/{done['id']}/resynthesize"))  # insufficient_credits
    note(sandbox_api.post(CHARS, json={"name": "x", "generate": True, "attributes": {}}))
    note(sandbox_api.post(CHARS, json={"name": "x", "upload_ids": ["upl_nope"]}))
    note(sandbox_api.post(CHARS, json={"name": "x"}))  # parameter_invalid_combination
    note(sandbox_api.post("/v1/characters/uploads/init", key=aurous_sandbox.add_key(scope="read")))
    ticket = sandbox_api.init()
    note(requests.put(ticket["upload_url"] + "0", data=b"x", timeout=10))  # signature_invalid
    note(sandbox_api.put(ticket, b""))  # empty_body
    note(sandbox_api.put(ticket, b"x", headers={"Content-Type": "image/webp"}))
    aurous_sandbox.configure(max_upload_bytes=10)
    note(sandbox_api.put(ticket, b"x" * 11))  # payload_too_large
    aurous_sandbox.configure(max_upload_bytes=10 * 1024 * 1024)
    sandbox_api.put(ticket, make_image())
    aurous_sandbox.set_credits(100)
    sandbox_api.post(CHARS, json={"name": "x", "upload_ids": [ticket["upload_id"]]})
    note(sandbox_api.put(ticket, make_image()))  # upload_consumed
    aurous_sandbox.advance(901)
    note(requests.put(ticket["upload_url"], data=b"x", timeout=10))  # upload_url_expired
    assert seen == {
        "invalid_request_error": (400, "invalid_request"),
        "insufficient_credits": (402, "invalid_request"),
        "balance_too_low": (402, "invalid_request"),
        "upload_invalid": (400, "invalid_request"),
        "parameter_invalid_combination": (400, "invalid_request"),
        "missing_scope": (403, "authentication"),
        "signature_invalid": (403, "authentication"),
        "empty_body": (400, "invalid_request"),
        "content_type_mismatch": (400, "invalid_request"),
        "payload_too_large": (413, "invalid_request"),
        "upload_consumed": (409, "invalid_request"),
        "upload_url_expired": (403, "authentication"),
    }


def test_idempotency_empty_body_equals_empty_object(sandbox_api):
    path = f"{CHARS}/{sandbox_api.create()['id']}/save"
    h = {"Idempotency-Key": "empty"}
    assert sandbox_api.post(path, headers=h).status_code == 200
    replay = sandbox_api.post(path, json={}, headers=h)
    assert replay.headers["Aurous-Idempotent-Replayed"] == "true"
    other = sandbox_api.post(path, data=b"not json", headers=h)
    assert other.status_code == 409
