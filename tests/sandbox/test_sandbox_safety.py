"""The sandbox as a security boundary: where it listens, signed URLs, teams, rate buckets.

- It binds loopback by default (the class, the CLI and the pytest fixture), and is not
  reachable on this machine's other addresses.
- Every change to a signed URL's query (each parameter: changed, removed, doubled, emptied,
  re-cased, swapped with another URL's) is ``403 signature_invalid`` on the upload host and on
  ref storage, and changes nothing (the untampered URL still works afterwards).
- Another team gets ``404 resource_not_found`` on every route that names one of our ids, the
  same answer as for an id that never existed, and changes nothing.
- A rate bucket counts exactly under 200 concurrent requests from 8 threads: keys of one team
  share it, another team's bucket is untouched.
"""

from __future__ import annotations

import socket
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import requests

from aurous_nb.sandbox import Sandbox
from aurous_nb.sandbox.__main__ import build_parser
from tests.support.reliability import jpeg_bytes

FAKE_ID = "char_01HXMQ7Z3K8Y2NABCDEFGHJKMR"


def call(
    sandbox: Sandbox, method: str, path: str, key: str | None = None, **kw: Any
) -> requests.Response:
    headers = {"X-Api-Key": key or sandbox.api_key}
    return requests.request(method, sandbox.url + path, headers=headers, timeout=10, **kw)


def error(r: requests.Response) -> dict[str, Any]:
    return r.json()["error"]


# ---- where it listens -----------------------------------------------------------------------


def _other_addresses() -> list[str]:
    """This machine's non-loopback IPv4 addresses (none in some sandboxes)."""
    found = set()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.add(info[4][0])
    except OSError:
        pass
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))  # no packet is sent; picks the outgoing interface
        found.add(probe.getsockname()[0])
    except OSError:
        pass
    finally:
        probe.close()
    return sorted(a for a in found if not a.startswith("127."))


def test_loopback_by_default(aurous_sandbox: Sandbox) -> None:
    assert Sandbox().host == "127.0.0.1"
    assert build_parser().parse_args([]).host == "127.0.0.1"
    for box in (aurous_sandbox, Sandbox().start()):
        try:
            bound = box._server.server_address[0]
            assert bound == "127.0.0.1" and box.url.startswith("http://127.0.0.1:")
            for address in _other_addresses():
                with pytest.raises(OSError):  # refused: nothing listens there
                    socket.create_connection((address, box.port), timeout=2).close()
        finally:
            if box is not aurous_sandbox:
                box.stop()


# ---- signed URLs ------------------------------------------------------------------------------


def _with_query(url: str, pairs: list[tuple[str, str]]) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode(pairs)))


def _flip(value: str) -> str:
    last = value[-1]
    return value[:-1] + ("0" if last != "0" else "1")


def tamperings(url: str, other: str) -> dict[str, str]:
    """Every way of changing each query parameter of a signed URL (``other``: a second URL)."""
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    theirs = dict(parse_qsl(urlsplit(other).query))
    out: dict[str, str] = {}
    for i, (name, value) in enumerate(pairs):
        rest = pairs[:i] + pairs[i + 1 :]
        variants = {
            "changed": _flip(value),
            "empty": "",
            "upper": value.upper() if value.upper() != value else value + "A",
            "longer": value + "0",
            "shorter": value[:-1],
            "spaced": value + " ",
            "other-url's": theirs.get(name, value + "1"),
        }
        if name == "expires":  # also the spellings int() reads as the same number
            variants["later"] = str(int(value) + 3600)
            variants["earlier"] = str(int(value) - 1)
            variants["not-a-number"] = "soon"
            variants["leading zero"] = "0" + value
            variants["plus sign"] = "+" + value
            variants["leading space"] = " " + value
            variants["underscore"] = value[:4] + "_" + value[4:]
            variants["fullwidth digits"] = value.translate(
                str.maketrans("0123456789", "０１２３４５６７８９")
            )
        for how, new in variants.items():
            if new != value:
                out[f"{name} {how}"] = _with_query(url, [*rest[:i], (name, new), *rest[i:]])
        out[f"{name} removed"] = _with_query(url, rest)
        out[f"{name} doubled"] = _with_query(url, [*pairs, (name, value)])
        out[f"{name} doubled, changed first"] = _with_query(url, [(name, _flip(value)), *pairs])
    out["extra parameter"] = _with_query(url, [*pairs, ("admin", "1")])
    out["no query"] = _with_query(url, [])
    return out


def _ticket(sandbox: Sandbox) -> dict[str, Any]:
    body = {"filename": "front.jpg", "extension": "jpg", "content_type": "image/jpeg"}
    r = call(sandbox, "POST", "/v1/characters/uploads/init", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_every_tampered_upload_url_is_refused_and_changes_nothing(
    aurous_sandbox: Sandbox,
) -> None:
    ticket, other = _ticket(aurous_sandbox), _ticket(aurous_sandbox)
    cases = tamperings(ticket["upload_url"], other["upload_url"])
    # the path names the ticket too: another ticket's id under this signature
    cases["upload id swapped"] = ticket["upload_url"].replace(
        ticket["upload_id"], other["upload_id"]
    )
    data = jpeg_bytes()
    refused = {}
    with requests.Session() as s:
        for how, url in cases.items():
            r = s.put(url, data=data, headers=ticket["upload_headers"], timeout=10)
            refused[how] = (r.status_code, r.json()["error"]["code"])
    assert refused == {how: (403, "signature_invalid") for how in cases}, refused
    assert len(cases) >= 30
    # nothing was stored by any of them: classify still says no bytes were uploaded
    for t in (ticket, other):
        r = call(
            aurous_sandbox,
            "POST",
            "/v1/characters/uploads/classify",
            json={"upload_id": t["upload_id"]},
        )
        assert r.status_code == 400 and "No bytes have been uploaded" in error(r)["message"]
    r = requests.put(ticket["upload_url"], data=data, headers=ticket["upload_headers"], timeout=10)
    assert r.status_code == 200  # the real URL still works


def test_every_tampered_storage_url_is_refused(aurous_sandbox: Sandbox) -> None:
    ids = []
    for _ in range(2):
        t = _ticket(aurous_sandbox)
        requests.put(t["upload_url"], data=jpeg_bytes(), headers=t["upload_headers"], timeout=10)
        ids.append(t["upload_id"])
    r = call(aurous_sandbox, "POST", "/v1/characters", json={"name": "Stored", "upload_ids": ids})
    assert r.status_code == 201, r.text
    first, second = (ref["url"] for ref in r.json()["refs"])
    cases = tamperings(first, second)
    cases["ref swapped"] = first.replace(
        urlsplit(first).path.rsplit("/", 1)[1], urlsplit(second).path.rsplit("/", 1)[1]
    )
    got = {how: requests.get(url, timeout=10) for how, url in cases.items()}
    codes = {how: (r.status_code, r.json()["error"]["code"]) for how, r in got.items()}
    assert codes == {how: (403, "signature_invalid") for how in cases}, codes
    assert requests.get(first, timeout=10).status_code == 200


# ---- teams --------------------------------------------------------------------------------------


def _ours(sandbox: Sandbox) -> dict[str, Any]:
    """A character with a spare (uploaded, unconsumed) ticket and a synthesized character."""
    t = _ticket(sandbox)
    requests.put(t["upload_url"], data=jpeg_bytes(), headers=t["upload_headers"], timeout=10)
    spare = _ticket(sandbox)
    requests.put(
        spare["upload_url"], data=jpeg_bytes(), headers=spare["upload_headers"], timeout=10
    )
    made = call(
        sandbox, "POST", "/v1/characters", json={"name": "Ours", "upload_ids": [t["upload_id"]]}
    )
    synth = call(
        sandbox,
        "POST",
        "/v1/characters",
        json={"name": "Synth", "generate": True, "attributes": {"age": 30}},
    )
    assert made.status_code == 201 and synth.status_code == 201
    return {"char": made.json()["id"], "synth": synth.json()["id"], "upload": spare["upload_id"]}


ROUTES = [
    ("get", "GET", "/v1/characters/{char}", None),
    ("patch", "PATCH", "/v1/characters/{char}", {"name": "Stolen"}),
    ("delete", "DELETE", "/v1/characters/{char}", None),
    ("save", "POST", "/v1/characters/{synth}/save", None),
    ("resynthesize", "POST", "/v1/characters/{synth}/resynthesize", {}),
    ("regenerate", "POST", "/v1/characters/{synth}/refs/regenerate", {"pose": "front"}),
    ("classify", "POST", "/v1/characters/uploads/classify", {"upload_id": "{upload}"}),
    ("create", "POST", "/v1/characters", {"name": "Mine", "upload_ids": ["{upload}"]}),
]


def _listing(sandbox: Sandbox) -> list[dict[str, Any]]:
    """Our characters, with ref URLs cut at the query (each read signs them afresh)."""
    data = call(sandbox, "GET", "/v1/characters").json()["data"]
    for char in data:
        for ref in char["refs"]:
            ref["url"] = ref["url"].split("?")[0]
    return data


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("route", "method", "path", "body"), ROUTES, ids=[r[0] for r in ROUTES])
def test_another_team_gets_404_on_every_route(
    aurous_sandbox: Sandbox, route: str, method: str, path: str, body: Any
) -> None:
    sandbox = aurous_sandbox
    ours = _ours(sandbox)
    rival = sandbox.add_team("Rivals")
    key = sandbox.add_key(rival)
    credits = (sandbox.credits(), sandbox.credits(rival))
    before = _listing(sandbox)

    kw = {} if body is None else {"json": _fill(body, ours)}
    r = call(sandbox, method, _fill(path, ours), key=key, **kw)
    assert r.status_code == 404, (route, r.status_code, r.text)
    assert error(r)["code"] == "resource_not_found" and error(r)["type"] == "not_found"
    # the same answer as for an id that does not exist: no existence leak
    fake = {"char": FAKE_ID, "synth": FAKE_ID, "upload": "upl_01HXMQ7Z3K8Y2NABCDEFGHJKMR"}
    r2 = call(
        sandbox,
        method,
        _fill(path, fake),
        key=sandbox.api_key,
        **({} if body is None else {"json": _fill(body, fake)}),
    )
    if route not in ("classify", "create"):  # an unknown upload id is 400 upload_invalid (§3.3)
        assert (r2.status_code, error(r2)["code"]) == (404, "resource_not_found")
        assert error(r)["message"].replace(_fill(path, ours).split("/")[3], "X") == error(r2)[
            "message"
        ].replace(FAKE_ID, "X")
    # nothing changed: our characters, our ticket, everyone's credits
    assert _listing(sandbox) == before
    assert (sandbox.credits(), sandbox.credits(rival)) == credits
    r = call(sandbox, "POST", "/v1/characters/uploads/classify", json={"upload_id": ours["upload"]})
    assert r.status_code == 200


def test_another_team_cannot_list_or_page_through_ours(aurous_sandbox: Sandbox) -> None:
    ours = _ours(aurous_sandbox)
    key = aurous_sandbox.add_key(aurous_sandbox.add_team("Rivals"))
    r = call(aurous_sandbox, "GET", "/v1/characters", key=key)
    assert r.status_code == 200 and r.json()["data"] == []
    r = call(aurous_sandbox, "GET", f"/v1/characters?starting_after={ours['char']}", key=key)
    assert (r.status_code, error(r)["code"]) == (400, "invalid_format")  # §14 row 29


# ---- rate buckets -------------------------------------------------------------------------------


def test_bucket_is_exact_under_200_concurrent_requests_from_8_threads(
    aurous_sandbox: Sandbox,
) -> None:
    sandbox = aurous_sandbox
    burst = 57
    sandbox.set_bucket("characters_post", burst, 0)  # no refill: every token is counted
    keys = [sandbox.api_key, sandbox.add_key(), sandbox.add_key(legacy=True)]  # one team
    rival = sandbox.add_key(sandbox.add_team("Rivals"))
    body = {"filename": "front.jpg", "extension": "jpg", "content_type": "image/jpeg"}

    def hit(i: int) -> requests.Response:
        return call(sandbox, "POST", "/v1/characters/uploads/init", key=keys[i % 3], json=body)

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(hit, range(200)))
    assert Counter(r.status_code for r in responses) == {200: burst, 429: 200 - burst}
    granted = sorted(int(r.headers["X-RateLimit-Remaining"]) for r in responses if r.ok)
    assert granted == list(range(burst))  # each token handed out exactly once
    refused = [r for r in responses if r.status_code == 429]
    assert {r.headers["X-RateLimit-Remaining"] for r in refused} == {"0"}
    assert {error(r)["code"] for r in refused} == {"too_many_requests"}
    assert all(int(r.headers["Retry-After"]) >= 1 for r in refused)
    assert len(sandbox.state.tickets) == burst  # only the granted requests did anything
    # the other team's bucket is its own
    r = call(sandbox, "POST", "/v1/characters/uploads/init", key=rival, json=body)
    assert r.status_code == 200 and r.headers["X-RateLimit-Remaining"] == str(burst - 1)
    assert sandbox.handler_errors == []
