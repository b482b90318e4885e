"""AurousClient against the real sandbox over a real socket: every method, the error mapping,
retries, idempotency, URL re-mint, ticket expiry, the rate limiter, and the key's secrecy.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from aurous_nb import errors as E
from aurous_nb.client import AurousClient, RetryPolicy
from aurous_nb.client.ratelimit import RateLimiter
from aurous_nb.models import Balance, Character, Classification, Page, Team, UploadTicket
from aurous_nb.sandbox import Sandbox
from tests.support.sandbox import FAST, image_bytes, make_client, requests_to

SAMPLES = Path(__file__).resolve().parents[2] / "aurous_nb" / "samples"


def png(width: int = 24, height: int = 32, color: tuple[int, int, int] = (10, 120, 200)) -> bytes:
    return image_bytes(width, height, "PNG", color)


@pytest.fixture
def sandbox(aurous_sandbox: Sandbox) -> Sandbox:
    return aurous_sandbox


def upload_id(client: AurousClient, name: str = "front.png") -> str:
    return client.upload(png(), filename=name).upload_id


def characters_of(sandbox: Sandbox) -> list[Character]:
    with make_client(sandbox, rate_limit=False) as c:
        return list(c.iter_characters())


# -- configuration --------------------------------------------------------------------------


def test_missing_key_names_argument_and_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUROUS_API_KEY", raising=False)
    with pytest.raises(E.ConfigurationError) as info:
        AurousClient()
    assert "api_key" in str(info.value) and "AUROUS_API_KEY" in str(info.value)


def test_environment_resolution(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUROUS_API_KEY", sandbox.api_key)
    monkeypatch.setenv("AUROUS_BASE_URL", sandbox.url + "/")
    with AurousClient() as c:
        assert c.base_url == sandbox.url
        assert c.team().id == sandbox.team_id
    monkeypatch.delenv("AUROUS_BASE_URL")
    with AurousClient() as c:
        assert c.base_url == "https://api.aurous-labs.com"
    # the argument beats the variable
    with AurousClient(base_url="http://127.0.0.1:9/v1") as c:
        assert c.base_url == "http://127.0.0.1:9"


def test_bad_configuration_is_reported_locally_with_the_key_masked(sandbox: Sandbox) -> None:
    secret = "al_live_" + "ab" * 31 + "zz"  # 64 chars but not hex
    with pytest.raises(E.ConfigurationError) as info:
        AurousClient(api_key=secret)
    assert secret not in str(info.value) and secret[:14] + "…" in str(info.value)
    short = "sk-12345678"
    with pytest.raises(E.ConfigurationError) as info:
        AurousClient(api_key=short)
    assert short not in str(info.value)
    key = sandbox.api_key
    for kwargs in (
        {"base_url": "api.aurous-labs.com"},
        {"base_url": "ftp://x"},
        {"base_url": "https://x/?a=1"},
        {"version": "May 2026"},
        {"timeout": 0},
        {"deadline": 0},
        {"deadline": -5},
        {"deadline": "soon"},
        {"max_retries": -1},
    ):
        with pytest.raises(E.ConfigurationError):
            AurousClient(api_key=key, **kwargs)


def test_the_deadline_defaults_to_four_timeouts(sandbox: Sandbox) -> None:
    with AurousClient(api_key=sandbox.api_key, base_url=sandbox.url) as c:
        assert (c.timeout, c.deadline) == (30.0, 120.0)
    with AurousClient(api_key=sandbox.api_key, base_url=sandbox.url, timeout=2.5) as c:
        assert c.deadline == 10.0
    with AurousClient(api_key=sandbox.api_key, base_url=sandbox.url, deadline=7) as c:
        assert c.deadline == 7.0
    with AurousClient(api_key=sandbox.api_key, base_url=sandbox.url, deadline=math.inf) as c:
        assert c.deadline is None
        c.team()


def test_repr_and_masked_key(client: AurousClient, sandbox: Sandbox) -> None:
    key = sandbox.api_key
    assert client.masked_key == key[:14] + "…"
    assert repr(client) == f"AurousClient(base_url={sandbox.url!r}, api_key={key[:14] + '…'!r})"
    assert key not in repr(client) and key not in str(client)
    assert "X-Api-Key" not in client.session.headers
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(client)


def test_legacy_key_and_version_header(sandbox: Sandbox) -> None:
    legacy = sandbox.add_key(legacy=True)
    with make_client(sandbox, api_key=legacy) as c:
        assert c.team().id == sandbox.team_id
    with make_client(sandbox, version=None) as c:
        c.balance()
    with make_client(sandbox) as c:
        c.balance()
    balance = requests_to(sandbox, "balance")
    assert "Aurous-Version" not in balance[-2].headers
    assert balance[-1].headers["Aurous-Version"] == "2026-05-15"
    with make_client(sandbox, version="2020-01-01") as c, pytest.raises(E.UnknownVersionError):
        c.team()


# -- endpoints --------------------------------------------------------------------------------


def test_team_and_balance(client: AurousClient, sandbox: Sandbox) -> None:
    team = client.team()
    assert isinstance(team, Team) and team.id == sandbox.team_id
    balance = client.balance()
    assert isinstance(balance, Balance)
    assert balance.credits == pytest.approx(sandbox.credits())
    assert balance.billing_mode == "metered"
    sandbox.configure(billing_mode="exempt")
    assert client.balance().billing_mode == "exempt"


def test_init_put_classify_create(client: AurousClient, sandbox: Sandbox) -> None:
    ticket = client.init_upload("front.png", "png", "image/png")
    assert isinstance(ticket, UploadTicket)
    assert ticket.upload_id.startswith("upl_")
    assert ticket.upload_headers == {"Content-Type": "image/png"}
    assert 0 < ticket.url_seconds_left() <= 15 * 60 + 1
    assert "signature" not in repr(ticket)
    data = png()
    seen: list[tuple[int, int]] = []
    etag = client.put_upload(
        ticket, data, on_progress=lambda sent, total: seen.append((sent, total))
    )
    assert etag == hashlib.md5(data).hexdigest()
    assert seen[-1] == (len(data), len(data))
    put = requests_to(sandbox, "upload")[-1]
    assert put.status == 200
    assert put.headers["Content-Length"] == str(len(data))
    assert "Transfer-Encoding" not in put.headers
    assert put.headers["Content-Type"] == "image/png"

    cls = client.classify_upload(ticket.upload_id)
    assert cls == Classification(ticket.upload_id, "front", 0.95)

    side = client.upload(png(), filename="side.png")
    client.classify_upload(side.upload_id)
    char = client.create_character(
        "Aurora",
        upload_ids=[ticket.upload_id, side.upload_id],
        attributes={"age": 28},
        client_reference_id="crm-1",
    )
    assert char.status == "ready" and char.name == "Aurora"
    assert char.poses == ("front", "side")
    assert char.client_reference_id == "crm-1"
    assert char.aurous_version == "2026-05-15"
    create = requests_to(sandbox, "create")[-1]
    assert len(create.headers["Idempotency-Key"]) == 36  # a uuid4
    assert client.get_character(char.id) == char


def test_put_file_objects(client: AurousClient, sandbox: Sandbox, tmp_path: Path) -> None:
    data = png(300, 400)  # a few chunks? no: small, but read through the stream path
    path = tmp_path / "back.png"
    path.write_bytes(data)
    ticket = client.init_upload("back.png", "png", "image/png")
    progress: list[int] = []
    with path.open("rb") as fh:
        client.put_upload(ticket, fh, on_progress=lambda sent, total: progress.append(sent))
    assert progress[-1] == len(data) and progress == sorted(progress)

    # a stream that cannot seek nor tell its size: give size=
    class Pipe(io.RawIOBase):
        def __init__(self, payload: bytes) -> None:
            self._buf = io.BytesIO(payload)

        def readable(self) -> bool:
            return True

        def readinto(self, b: Any) -> int:
            chunk = self._buf.read(len(b))
            b[: len(chunk)] = chunk
            return len(chunk)

    ticket2 = client.init_upload("back.png", "png", "image/png")
    with pytest.raises(ValueError, match="size="):
        client.put_upload(ticket2, Pipe(data))  # type: ignore[arg-type]
    client.put_upload(ticket2, Pipe(data), size=len(data))  # type: ignore[arg-type]
    puts = [r for r in requests_to(sandbox, "upload") if r.status == 200]
    assert [p.body_size for p in puts] == [len(data), len(data)]
    assert all("Transfer-Encoding" not in p.headers for p in puts)
    # upload() from a path and from a file object
    assert client.upload(path).upload_id.startswith("upl_")
    with path.open("rb") as fh:
        client.upload(fh, filename="x.png")
    assert client.upload(bytearray(data), content_type="image/png").upload_id
    with pytest.raises(ValueError):
        client.upload(data)  # neither filename nor content_type


def test_a_slow_upload_is_not_cut_by_the_deadline(sandbox: Sandbox) -> None:
    # A slow uplink, played by a progress callback that holds each 64 KiB chunk for 0.1 s:
    # 1.6 s of sending against a 1 s deadline. Sending is progress, not a stalled server.
    data = png(1200, 900, color=(1, 2, 3)) + bytes(1024 * 1024)
    chunks: list[int] = []

    def slow_link(sent: int, total: int) -> None:
        chunks.append(sent)
        time.sleep(0.1)

    with make_client(sandbox, timeout=1.0, deadline=1.0, max_retries=0) as c:
        ticket = c.init_upload("big.png", "png", "image/png")
        started = time.monotonic()
        etag = c.put_upload(ticket, data, on_progress=slow_link)
        took = time.monotonic() - started
    assert etag == hashlib.md5(data).hexdigest()
    assert len(chunks) >= 16 and took > 1.0  # the PUT really outlived the deadline
    assert requests_to(sandbox, "upload")[-1].body_size == len(data)


def test_list_iter_update_delete(client: AurousClient, sandbox: Sandbox) -> None:
    made = [client.synthesize_character(f"C{i}", {"age": 20 + i}, wait=False) for i in range(5)]
    page = client.list_characters(limit=2)
    assert isinstance(page, Page) and len(page) == 2 and page.has_more
    assert [c.id for c in page] == [made[4].id, made[3].id]  # newest first
    nxt = client.list_characters(limit=2, starting_after=page.next_cursor)
    assert [c.id for c in nxt] == [made[2].id, made[1].id]
    everything = list(client.iter_characters(limit=2))
    assert [c.id for c in everything] == [c.id for c in reversed(made)]
    assert len(requests_to(sandbox, "list")) == 2 + 3

    renamed = client.update_character(made[0].id, name="Renamed", attributes={"age": 99})
    assert renamed.name == "Renamed" and renamed.attributes == {"age": 99}
    assert renamed.updated_at >= made[0].updated_at

    gone = client.delete_character(made[0].id)
    assert gone.id == made[0].id and gone.deleted
    with pytest.raises(E.NotFoundError) as info:
        client.get_character(made[0].id)
    assert info.value.code == "resource_not_found" and info.value.request_id


def test_synthesize_wait_save_resynthesize_regenerate(
    client: AurousClient, sandbox: Sandbox
) -> None:
    char = client.synthesize_character("Bea", {"hair_color": "red"}, save=True)
    assert char.status == "ready"
    assert set(char.poses) == {"portrait", "front", "side", "back"}
    assert requests_to(sandbox, "create")[-1].headers["Idempotency-Key"]

    again = client.resynthesize_character(char.id, force_all=True)
    assert again.status == "synthesizing"
    done = client.wait_for_character(char.id)
    assert done.status == "reviewing"
    saved = client.save_character(char.id)
    assert saved.status == "ready"
    assert client.save_character(char.id).status == "ready"  # idempotent

    regen = client.regenerate_ref(char.id, "front", prompt_override="smile")
    assert regen.status == "synthesizing"
    keys = [
        r.headers["Idempotency-Key"]
        for r in sandbox.requests
        if r.route in ("resynthesize", "regenerate")
    ]
    assert len(keys) == 2 and len(set(keys)) == 2

    sandbox.configure(synth_end_state="ready")
    ready = client.synthesize_character("Cy", {"age": 30})
    assert ready.status == "ready"
    pending = client.synthesize_character("Di", {"age": 30}, wait=False)
    assert pending.status in ("synthesizing", "ready")


def test_upload_flow_characters_are_resynthesized_from_their_attributes(
    client: AurousClient, sandbox: Sandbox
) -> None:
    ids = [upload_id(client, "front.png"), upload_id(client, "side.png")]
    with_attributes = client.create_character("Up", upload_ids=ids, attributes={"age": 30})
    again = client.resynthesize_character(with_attributes.id)
    assert again.status == "synthesizing"
    done = client.wait_for_character(with_attributes.id)
    assert done.status == "reviewing" and done.poses == ("portrait", "front", "side", "back")
    client.save_character(done.id)
    client.regenerate_ref(done.id, "front")
    assert client.wait_for_character(done.id).poses == ("portrait", "front", "side", "back")

    bare = client.create_character("Bare", upload_ids=[upload_id(client)])
    credits = sandbox.credits()
    for call in (
        lambda: client.resynthesize_character(bare.id),
        lambda: client.regenerate_ref(bare.id, "front"),
    ):
        with pytest.raises(E.BadRequestError) as info:
            call()
        assert (info.value.code, info.value.param) == ("invalid_request_error", "attributes")
        assert f"{bare.id} has no attributes to" in str(info.value)
    assert sandbox.credits() == credits
    client.update_character(bare.id, attributes={"hair_color": "red"})  # the fix it names
    assert client.resynthesize_character(bare.id).status == "synthesizing"


def test_a_key_reused_on_another_route_is_a_conflict_and_charged_once(
    sandbox: Sandbox,
) -> None:
    with make_client(sandbox, max_retries=1) as c:
        char = c.synthesize_character("Once", {"age": 30})
        credits = sandbox.credits()
        c.resynthesize_character(char.id, idempotency_key="one-call")
        c.wait_for_character(char.id)
        with pytest.raises(E.ConflictError) as info:
            c.regenerate_ref(char.id, "front", idempotency_key="one-call")
    assert info.value.code == "idempotency_key_in_use"
    assert f"already used for POST /v1/characters/{char.id}/resynthesize" in str(info.value)
    assert sandbox.credits() == credits - 4  # the regenerate was never processed
    assert {r.status for r in requests_to(sandbox, "regenerate")} == {409}


def test_wait_for_character_polls_with_backoff(client: AurousClient, sandbox: Sandbox) -> None:
    sandbox.configure(synth_seconds=20)
    char = client.synthesize_character("Eve", {"age": 40}, wait=False)
    assert char.status == "synthesizing"
    with pytest.raises(E.WaitTimeoutError):
        client.wait_for_character(char.id, timeout=0)
    naps: list[float] = []

    def sandbox_sleep(seconds: float) -> None:  # time passes on the sandbox clock only
        naps.append(seconds)
        sandbox.advance(seconds)

    done = client.wait_for_character(char.id, poll=2.0, sleep=sandbox_sleep)
    assert done.status == "reviewing"
    assert naps[:3] == [2.0, 3.0, 4.5] and sum(naps) >= 20


def test_create_character_from_files(client: AurousClient, sandbox: Sandbox) -> None:
    files = [SAMPLES / "front.png", SAMPLES / "side.png", SAMPLES / "back.png"]
    char = client.create_character_from_files("From files", files)
    assert char.status == "ready" and char.poses == ("front", "side", "back")
    assert len(characters_of(sandbox)) == 1


# -- error mapping ------------------------------------------------------------------------


def test_error_mapping_against_the_sandbox(client: AurousClient, sandbox: Sandbox) -> None:
    with pytest.raises(E.ParameterCombinationError) as combo:
        client.create_character("Nobody")
    assert combo.value.status == 400 and combo.value.code == "parameter_invalid_combination"
    with pytest.raises(E.UploadInvalidError) as bad:
        client.create_character("X", upload_ids=["upl_00000000000000000000000000"])
    assert bad.value.param == "upload_ids[0]"
    assert str(bad.value).startswith("400 upload_invalid: ")
    assert f"request_id={bad.value.request_id}" in str(bad.value)
    with pytest.raises(E.BadRequestError) as missing:
        client.init_upload("", "png", "image/png")
    assert missing.value.param == "filename"
    with pytest.raises(E.ParameterCombinationError):
        client.init_upload("a.png", "png", "image/jpeg")
    with pytest.raises(E.NotFoundError):
        client.get_character("char_does_not_exist")

    unknown = "al_live_" + "0" * 64
    with make_client(sandbox, api_key=unknown) as c, pytest.raises(E.AuthenticationError) as auth:
        c.team()
    assert auth.value.code == "invalid_api_key" and unknown not in str(auth.value)
    revoked = sandbox.add_key()
    sandbox.revoke_key(revoked)
    with make_client(sandbox, api_key=revoked) as c, pytest.raises(E.AuthenticationError) as rev:
        c.balance()
    assert rev.value.code == "revoked_api_key"
    reader = sandbox.add_key(scope="read")
    with make_client(sandbox, api_key=reader) as c:
        c.list_characters()
        with pytest.raises(E.MissingScopeError):
            c.init_upload("a.png", "png", "image/png")

    sandbox.set_credits(0)
    with pytest.raises(E.InsufficientCreditsError) as credits:
        client.synthesize_character("Poor", {"age": 30})
    assert credits.value.status == 402

    ticket = client.upload(png(), filename="front.png")
    client.create_character("Used", upload_ids=[ticket.upload_id])
    with pytest.raises(E.ConflictError) as consumed:
        client.put_upload(ticket, png())
    assert consumed.value.code == "upload_consumed"

    fresh = client.init_upload("big.png", "png", "image/png")
    with pytest.raises(E.PayloadTooLargeError):
        client.put_upload(fresh, b"\0" * (10 * 1024 * 1024 + 1))
    forged = UploadTicket(
        fresh.upload_id,
        fresh.upload_url.replace("signature=", "signature=00"),
        fresh.upload_headers,
        fresh.expires_at,
    )
    with pytest.raises(E.SignatureInvalidError):
        client.put_upload(forged, png())
    # none of those 4xx were retried
    assert all(r.fault is None for r in sandbox.requests)
    assert len(requests_to(sandbox, "create")) == 4


def test_key_in_use_with_another_body_is_a_conflict_not_retried(
    client: AurousClient, sandbox: Sandbox
) -> None:
    uid = upload_id(client)
    client.create_character("One", upload_ids=[uid], idempotency_key="fixed-key-1")
    again = client.create_character("One", upload_ids=[uid], idempotency_key="fixed-key-1")
    assert requests_to(sandbox, "create")[-1].status == 201  # replayed, not re-created
    assert len(characters_of(sandbox)) == 1 and again.name == "One"
    with pytest.raises(E.ConflictError) as info:
        client.create_character("Two", upload_ids=[uid], idempotency_key="fixed-key-1")
    assert info.value.code == "idempotency_key_in_use"
    # a 409 with another body never becomes a success, but the policy may retry it while
    # the original could still be running: it must end as a ConflictError either way
    assert len(characters_of(sandbox)) == 1


# -- retries, idempotency -------------------------------------------------------------------


def test_5xx_is_retried_with_a_logged_reason(
    client: AurousClient, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aurous_nb")
    sandbox.inject("team", status=503, times=2)
    assert client.team().id == sandbox.team_id
    assert [r.status for r in requests_to(sandbox, "team")] == [503, 503, 200]
    retries = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retrying")]
    assert len(retries) == 2
    assert retries[0].startswith("retrying GET /v1/team (attempt 2 of 5) in ")
    assert "after 503 provider_unavailable (request_id=req_" in retries[0]
    assert all(
        r.name == "aurous_nb" and r.levelno == logging.DEBUG
        for r in caplog.records
        if r.getMessage().startswith("retrying")
    )


def test_retries_give_up_after_max_retries(sandbox: Sandbox) -> None:
    sandbox.inject("balance", status=500, times=None)
    with make_client(sandbox, max_retries=2) as c, pytest.raises(E.InternalServerError) as info:
        c.balance()
    assert info.value.code == "internal_error"
    assert len(requests_to(sandbox, "balance")) == 3
    with make_client(sandbox, max_retries=0) as c, pytest.raises(E.InternalServerError):
        c.balance()
    assert len(requests_to(sandbox, "balance")) == 4


def test_429_is_retried_after_retry_after(client: AurousClient, sandbox: Sandbox) -> None:
    sandbox.inject("init", status=429, retry_after=0)
    ticket = client.init_upload("front.png", "png", "image/png")
    assert ticket.upload_id
    assert [r.status for r in requests_to(sandbox, "init")] == [429, 200]


@pytest.mark.parametrize(
    "fault",
    [
        {"drop": True, "times": 2},
        {"status": 502, "times": 2},
        {"status": 500, "times": 1},
        {"status": 429, "retry_after": 0, "times": 2},
    ],
    ids=["dropped", "502", "500", "429"],
)
def test_create_retried_makes_exactly_one_character(
    client: AurousClient, sandbox: Sandbox, fault: dict[str, Any]
) -> None:
    ids = [upload_id(client, "front.png"), upload_id(client, "side.png")]
    sandbox.inject("create", **fault)
    char = client.create_character("Once", upload_ids=ids)
    assert char.status == "ready"
    creates = requests_to(sandbox, "create")
    assert len(creates) == fault["times"] + 1
    assert creates[-1].status == 201
    keys = {r.headers["Idempotency-Key"] for r in creates}
    assert len(keys) == 1  # the same key on every attempt of the call
    assert [c.id for c in characters_of(sandbox)] == [char.id]


def test_create_whose_response_was_lost_makes_one_character(sandbox: Sandbox) -> None:
    # The first attempt is processed after 600 ms but the client gives up at 250 ms; the
    # retry, with the same key, meets the original in flight (409 in use) or its replay.
    with make_client(sandbox) as setup:
        ids = [upload_id(setup)]
    sandbox.inject("create", latency_ms=600, times=1)
    patient = RetryPolicy(base_delay=0.01, conflict_base_delay=0.2, conflict_max_delay=0.4)
    with make_client(sandbox, timeout=0.25, deadline=10, max_retries=8, retry_policy=patient) as c:
        char = c.create_character("Lost", upload_ids=ids)
    creates = requests_to(sandbox, "create")
    print("create attempts:", [(r.status, r.fault) for r in creates])
    assert len(creates) >= 2
    assert len({r.headers["Idempotency-Key"] for r in creates}) == 1
    assert 409 in [r.status for r in creates]  # the retry met the original still running
    assert [c.id for c in characters_of(sandbox)] == [char.id]


def test_resynthesize_and_regenerate_keep_their_key_across_retries(
    client: AurousClient, sandbox: Sandbox
) -> None:
    char = client.synthesize_character("Key", {"age": 30})
    sandbox.inject("resynthesize", drop=True, times=1)
    sandbox.inject("regenerate", status=503, times=1)
    credits = sandbox.credits()
    client.resynthesize_character(char.id)
    client.wait_for_character(char.id)
    client.regenerate_ref(char.id, "side")
    for route in ("resynthesize", "regenerate"):
        sent = requests_to(sandbox, route)
        assert len(sent) == 2 and len({r.headers["Idempotency-Key"] for r in sent}) == 1
    assert sandbox.credits() == pytest.approx(credits - 4 - 1)  # billed once each


def test_connection_errors_never_leak_requests_exceptions(sandbox: Sandbox) -> None:
    with socket_closed_port() as port:
        c = AurousClient(
            api_key=sandbox.api_key,
            base_url=f"http://127.0.0.1:{port}",
            max_retries=1,
            retry_policy=FAST,
        )
        with c, pytest.raises(E.APIConnectionError) as info:
            c.team()
    assert isinstance(info.value.__cause__, requests.ConnectionError)
    assert info.value.__cause__.request is None  # the prepared request held the key
    assert sandbox.api_key not in str(info.value)

    sandbox.inject("team", latency_ms=400, times=1)
    with make_client(sandbox, timeout=0.1, max_retries=0) as c:
        with pytest.raises(E.APITimeoutError) as timeout:
            c.team()
    assert isinstance(timeout.value.__cause__, requests.Timeout)
    assert "timed out" in str(timeout.value)

    sandbox.inject("team", drop=True, times=1)
    with make_client(sandbox, max_retries=0) as c, pytest.raises(E.APIConnectionError):
        c.team()


class socket_closed_port:
    """A port on 127.0.0.1 with nothing listening."""

    def __enter__(self) -> int:
        import socket

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port: int = s.getsockname()[1]
        s.close()
        return self.port

    def __exit__(self, *exc: object) -> None:
        return None


def test_upload_put_retries_and_expired_url(client: AurousClient, sandbox: Sandbox) -> None:
    sandbox.inject("upload", drop=True, times=1)
    sandbox.inject("upload", status=503, times=1)
    data = png()
    with io.BytesIO(b"junk" + data) as fh:
        fh.seek(4)
        ticket = client.upload(fh, filename="front.png")
    puts = requests_to(sandbox, "upload")
    assert [p.status for p in puts] == [None, 503, 200]
    assert puts[-1].body_size == len(data)
    client.classify_upload(ticket.upload_id)  # the bytes that landed decode

    # an expired URL is not retried by put_upload: the caller re-mints
    stale = client.init_upload("front.png", "png", "image/png")
    sandbox.advance(16 * 60)
    with pytest.raises(E.UploadURLExpiredError) as info:
        client.put_upload(stale, data)
    assert info.value.status == 403 and info.value.code == "upload_url_expired"


def test_upload_remints_an_expired_url_once(sandbox: Sandbox) -> None:
    # Between init and PUT, 16 minutes pass on the sandbox clock (a response hook moves it).
    session = requests.Session()
    fired: list[str] = []

    def after_init(resp: requests.Response, *args: Any, **kwargs: Any) -> None:
        if resp.request.path_url.endswith("/uploads/init") and not fired:
            fired.append(resp.json()["upload_id"])
            sandbox.advance(16 * 60)

    session.hooks["response"].append(after_init)
    with session, make_client(sandbox, session=session) as c:
        ticket = c.upload(png(), filename="front.png")
        assert fired and ticket.upload_id != fired[0]
        assert [r.status for r in requests_to(sandbox, "init")] == [200, 200]
        assert [r.status for r in requests_to(sandbox, "upload")] == [403, 200]
        char = c.create_character("Reminted", upload_ids=[ticket.upload_id])
        assert char.status == "ready"

        # only once: a URL that is always expired fails after one re-mint
        sandbox.configure(url_ttl=-1)
        sandbox.clear_log()
        with pytest.raises(E.UploadURLExpiredError):
            c.upload(png(), filename="front.png")
        assert len(requests_to(sandbox, "init")) == 2


def test_ticket_expiry_after_24_hours(client: AurousClient, sandbox: Sandbox) -> None:
    ticket = client.upload(png(), filename="front.png")
    sandbox.advance(24 * 3600 + 1)
    with pytest.raises(E.UploadInvalidError) as info:
        client.create_character("Late", upload_ids=[ticket.upload_id])
    assert info.value.param == "upload_ids[0]"
    with pytest.raises(E.UploadInvalidError):
        client.classify_upload(ticket.upload_id)
    assert characters_of(sandbox) == []


# -- rate limiting ----------------------------------------------------------------------------


def test_limiter_keeps_a_60_ref_burst_free_of_429s(sandbox: Sandbox) -> None:
    # documented sizes (60 burst) on both sides: 60 parallel inits, no 429
    with make_client(sandbox) as c, ThreadPoolExecutor(8) as pool:
        tickets = list(
            pool.map(lambda i: c.init_upload(f"r{i}.png", "png", "image/png"), range(60))
        )
        first = c.rate_limiter.bucket("characters_post")  # type: ignore[union-attr]
    assert first is not None and first.waits == 0  # the burst itself never waited
    assert len({t.upload_id for t in tickets}) == 60
    assert [r.status for r in requests_to(sandbox, "init")] == [200] * 60

    # scaled down 20x for speed (60 burst, 20/s): the next burst waits instead of 429ing
    sandbox.set_bucket("characters_post", 60, 1200)
    sandbox.clear_log()
    limiter = RateLimiter({"characters_post": (60, 1200)})
    with make_client(sandbox, rate_limit=limiter) as c, ThreadPoolExecutor(8) as pool:
        started = time.monotonic()
        list(pool.map(lambda i: c.init_upload(f"r{i}.png", "png", "image/png"), range(80)))
        elapsed = time.monotonic() - started
    statuses = [r.status for r in requests_to(sandbox, "init")]
    assert statuses == [200] * 80
    bucket = limiter.bucket("characters_post")
    assert bucket is not None and bucket.waits > 0
    assert elapsed >= 0.7  # 20 tokens beyond the burst at 20/s


def test_limiter_learns_a_smaller_server_bucket(sandbox: Sandbox) -> None:
    sandbox.set_bucket("characters_post", 4, 600)  # 4 burst, 10/s; the client assumes 60
    with make_client(sandbox) as c:
        for i in range(7):
            c.init_upload(f"r{i}.png", "png", "image/png")
        bucket = c.rate_limiter.bucket("characters_post")  # type: ignore[union-attr]
    assert [r.status for r in requests_to(sandbox, "init")] == [200] * 7
    assert bucket is not None and bucket.capacity == 4


def test_rate_limit_off_relies_on_server_429s(sandbox: Sandbox) -> None:
    sandbox.set_bucket("characters_post", 2, 120)  # 2 burst, 2/s
    policy = RetryPolicy(base_delay=0.01, max_delay=0.05)  # Retry-After honoured as sent
    with make_client(sandbox, rate_limit=False, retry_policy=policy) as c:
        assert c.rate_limiter is None
        for i in range(3):
            c.init_upload(f"r{i}.png", "png", "image/png")
    statuses = [r.status for r in requests_to(sandbox, "init")]
    assert statuses[:2] == [200, 200] and 429 in statuses and statuses[-1] == 200


def test_upload_host_is_not_rate_limited(sandbox: Sandbox) -> None:
    limiter = RateLimiter({"characters_post": (3, 6000)})
    with make_client(sandbox, rate_limit=limiter) as c:
        ticket = c.init_upload("front.png", "png", "image/png")
        for _ in range(10):
            c.put_upload(ticket, png())
        bucket = limiter.bucket("characters_post")
        assert bucket is not None and bucket.waits == 0


# -- the key stays secret ---------------------------------------------------------------------


def test_the_key_never_reaches_the_upload_host(sandbox: Sandbox) -> None:
    key = sandbox.api_key
    session = requests.Session()
    session.headers["X-Api-Key"] = key  # even a careless session default must not leak
    session.headers["Authorization"] = f"Bearer {key}"
    session.auth = ("user", key)
    with session, make_client(sandbox, session=session) as c:
        ticket = c.upload(png(), filename="front.png")
        sandbox.inject("upload", status=500, times=1)
        c.put_upload(ticket, png())
        c.classify_upload(ticket.upload_id)
    uploads = requests_to(sandbox, "upload")
    assert len(uploads) == 3
    for r in uploads:
        assert "X-Api-Key" not in r.headers and "Authorization" not in r.headers
        assert key not in repr(dict(r.headers))
        assert set(h.lower() for h in r.headers) <= {
            "host",
            "content-type",
            "content-length",
            "user-agent",
            "accept-encoding",
            "accept",
            "connection",
        }
    assert requests_to(sandbox, "init")[-1].headers["X-Api-Key"] == key


def test_the_key_never_appears_in_logs_reprs_or_errors(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    key = sandbox.api_key
    caplog.set_level(logging.DEBUG)  # every logger, urllib3 included
    texts: list[str] = []
    with make_client(sandbox) as c:
        texts.append(repr(c))
        sandbox.inject("init", status=500, times=1)
        sandbox.inject("upload", drop=True, times=1)
        ticket = c.upload(png(), filename="front.png")
        texts += [repr(ticket), str(ticket)]
        sandbox.inject("create", drop=True, times=1)
        char = c.create_character("Secret", upload_ids=[ticket.upload_id])
        texts += [repr(char), str(char._repr_html_()) if _has_display() else ""]
        calls: list[Callable[[], object]] = [
            lambda: c.get_character("char_nope"),
            lambda: c.create_character("x"),
            lambda: c.put_upload(ticket, png()),
        ]
        for call in calls:
            try:
                call()
            except E.APIStatusError as exc:
                texts += [str(exc), repr(exc), repr(exc.body), repr(dict(exc.headers))]
        sandbox.inject("team", drop=True, times=1)
        with make_client(sandbox, max_retries=0) as c0:
            try:
                c0.team()
            except E.APIConnectionError as exc:
                texts += [str(exc), repr(exc)]
    assert any(
        r.levelno == logging.DEBUG and r.name == "urllib3.connectionpool" for r in caplog.records
    )
    assert any("retrying" in r.getMessage() for r in caplog.records)
    assert key not in caplog.text
    for text in texts:
        assert key not in text


def _has_display() -> bool:
    try:
        import aurous_nb.display  # noqa: F401
    except ImportError:
        return False
    return True


def test_threads_share_one_client(client: AurousClient, sandbox: Sandbox) -> None:
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            t = client.upload(png(color=(i, i, i)), filename=f"front{i}.png")
            client.classify_upload(t.upload_id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(requests_to(sandbox, "classify")) == 6
