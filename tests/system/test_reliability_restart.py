"""The sandbox stopped (and restarted on the same port) while a flow is running.

Each test runs its own sandbox, since it stops it. A stopped server must drop its open
keep-alive connections too; the client must then report one clear line (an
``APIConnectionError`` naming the host, no signature, no key) within a bounded time, keep
every ticket it holds, and finish the flow once a server answers on that port again.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from aurous_nb.client import AurousClient
from aurous_nb.errors import APIConnectionError, FlowError
from aurous_nb.flow import CharacterFlow
from aurous_nb.sandbox import Sandbox
from tests.support.reliability import one_line, write_refs
from tests.support.sandbox import FAST, make_client, puts_per_upload
from tests.support.waiting import wait_for

WORDS = ["front", "side", "back", "portrait"]
BOUND_S = 10.0  # the longest a caller may wait for a verdict once the server is gone


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox(synth_seconds=0.0).start()
    try:
        yield box
    finally:
        box.stop()
        assert box.handler_errors == []


def _connection_error(exc: BaseException) -> APIConnectionError:
    """The APIConnectionError behind what a flow raised (itself, or a FlowError's cause)."""
    if isinstance(exc, FlowError):
        assert isinstance(exc.__cause__, APIConnectionError), repr(exc)
        return exc.__cause__
    assert isinstance(exc, APIConnectionError), repr(exc)
    return exc


def _hold(sandbox: Sandbox, route: str, n: int, ms: float = 1500) -> None:
    """Hold the next ``n`` requests of ``route`` for ``ms`` (call before starting the flow)."""
    sandbox.inject(route, latency_ms=ms, times=n)


def _held(sandbox: Sandbox) -> None:
    """Return once every held request has arrived (each spends the rule as it arrives)."""
    wait_for(lambda: not sandbox.faults.rules, 10, "the held requests to arrive", interval=0.005)


def test_a_stopped_sandbox_closes_kept_alive_connections(sandbox: Sandbox) -> None:
    """Otherwise a client with a pooled connection keeps talking to a server that is gone."""
    with requests.Session() as session:
        headers = {"X-Api-Key": sandbox.api_key}
        assert session.get(sandbox.url + "/v1/team", headers=headers, timeout=5).ok
        url = sandbox.url
        sandbox.stop()
        with pytest.raises(requests.ConnectionError):
            session.get(url + "/v1/team", headers=headers, timeout=5)


def test_stop_mid_flow_is_one_clear_line_within_a_bound(sandbox: Sandbox, tmp_path: Path) -> None:
    client = make_client(sandbox, max_retries=3, timeout=5)
    flow = CharacterFlow(client, "Stranded", write_refs(tmp_path, WORDS))
    _hold(sandbox, "classify", 4)
    future = flow.start()
    _held(sandbox)  # four classify requests are in flight
    host = sandbox.url.split("//", 1)[1]
    t0 = time.monotonic()
    sandbox.stop()
    with pytest.raises((APIConnectionError, FlowError)) as info:
        future.result(timeout=BOUND_S)
    took = time.monotonic() - t0
    text = one_line(str(info.value))
    error = _connection_error(info.value)
    assert host in str(error) and "classify" in str(error)
    assert sandbox.api_key not in text and "signature=" not in text
    assert took < 5, f"{took:.1f} s to report a dead server"
    assert flow.state == "failed" and flow.character is None
    # nothing lost: every ref keeps its uploaded ticket for a re-run
    assert all(r.ticket is not None and r.uploaded for r in flow.refs)

    # a plain call says the same kind of thing, at once
    t0 = time.monotonic()
    with pytest.raises(APIConnectionError) as plain:
        client.team()
    assert time.monotonic() - t0 < 2
    assert one_line(str(plain.value)).startswith(f"GET http://{host}/v1/team failed: ")
    assert "refused" in str(plain.value).lower()
    client.close()


def test_restart_on_the_same_port_resumes_without_reuploading(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Like a real API restart: connections drop, state stays; a re-run finishes the flow."""
    client = make_client(sandbox, max_retries=1, timeout=5)
    flow = CharacterFlow(client, "Phoenix", write_refs(tmp_path, WORDS))
    _hold(sandbox, "classify", 4)
    future = flow.start()
    _held(sandbox)
    port = sandbox.port
    sandbox.stop()
    with pytest.raises((APIConnectionError, FlowError)) as info:
        future.result(timeout=BOUND_S)
    _connection_error(info.value)

    sandbox.clear_faults()
    sandbox.start()  # same object: same state, same port
    assert sandbox.port == port
    character = flow.run_sync()
    assert character.status == "ready" and len(character.refs) == 4
    puts = puts_per_upload(sandbox)
    assert len(puts) == 4 and set(puts.values()) == {1}  # no ref uploaded twice
    assert sum(r.route == "init" for r in sandbox.requests) == 4
    client.close()


def test_restart_while_create_is_in_flight_makes_one_character(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """The server finishes the create it was given; the client's retry (same key) meets it."""
    policy = dataclasses.replace(FAST, base_delay=0.2, max_delay=1.0)
    client = make_client(sandbox, retry_policy=policy, max_retries=8, timeout=5)
    flow = CharacterFlow(client, "Lazarus", write_refs(tmp_path, WORDS[:2]))
    _hold(sandbox, "create", 1)
    future = flow.start()
    _held(sandbox)  # the create request is being held by the server
    sandbox.stop()
    time.sleep(0.3)  # the client's retries are refused meanwhile
    sandbox.start()
    character = future.result(timeout=BOUND_S)

    creates = Counter(r.status for r in sandbox.requests if r.route == "create")
    assert creates[201] >= 1 and set(creates) <= {201, 409}, creates
    listed = list(client.iter_characters())
    assert [c.id for c in listed] == [character.id]  # one character, not two
    client.close()


def test_a_new_sandbox_on_the_same_port_gets_the_refs_again(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A fresh server (state lost) on the same port: tickets it never minted are re-uploaded."""
    client = make_client(sandbox, max_retries=1, timeout=5)
    flow = CharacterFlow(client, "Reborn", write_refs(tmp_path, WORDS))
    _hold(sandbox, "classify", 4)
    future = flow.start()
    _held(sandbox)
    sandbox.stop()
    with pytest.raises((APIConnectionError, FlowError)):
        future.result(timeout=BOUND_S)
    old = {r.ticket.upload_id for r in flow.refs if r.ticket}

    fresh = Sandbox(port=sandbox.port, api_key=sandbox.api_key, synth_seconds=0.0).start()
    try:
        character = flow.run_sync()
        assert character.status == "ready" and len(character.refs) == 4
        new = {r.path.rsplit("/", 1)[-1] for r in fresh.requests if r.route == "upload"}
        assert len(new) == 4 and not new & old
        assert [c.id for c in client.iter_characters()] == [character.id]
        assert fresh.handler_errors == []
    finally:
        fresh.stop()
        client.close()


def test_client_call_to_a_dead_port_is_bounded(sandbox: Sandbox) -> None:
    """With the documented retry count and real backoff shape, still a bounded, clear failure."""
    client: AurousClient = make_client(sandbox, max_retries=4, timeout=2)
    sandbox.stop()
    t0 = time.monotonic()
    with pytest.raises(APIConnectionError) as info:
        client.balance()
    assert time.monotonic() - t0 < BOUND_S
    assert one_line(str(info.value)).startswith("GET ")
    client.close()
