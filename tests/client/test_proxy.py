"""Proxies: a request to this machine never goes through one, so the sandbox works with
``HTTP_PROXY``/``HTTPS_PROXY`` set and no ``NO_PROXY`` -- through ``AurousClient``,
``%aurous_key --sandbox`` and the widgets' default client -- while requests to other hosts
keep honouring the environment, as ``requests`` does.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import requests

from aurous_nb import errors as E
from aurous_nb import samples
from aurous_nb.client import AurousClient
from aurous_nb.magics import AurousMagics
from aurous_nb.models import Character
from aurous_nb.sandbox import Sandbox
from aurous_nb.widgets import CharacterUploader
from tests.support.hostile import HostileServer, Reply
from tests.support.sandbox import make_client, requests_to
from tests.support.shell import TestingShell, ip_fixture, magics_fixture  # noqa: F401
from tests.support.waiting import wait_for

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")
KEY = "al_live_" + "ab" * 32


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _set_proxy(monkeypatch: pytest.MonkeyPatch, proxy: str) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.setenv(name, proxy)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def dead_proxy(monkeypatch: pytest.MonkeyPatch, aurous_sandbox: Sandbox) -> str:
    """Every proxy variable points at a port nothing listens on; no NO_PROXY."""
    proxy = f"http://127.0.0.1:{_closed_port()}"
    _set_proxy(monkeypatch, proxy)
    # the premise: plain requests, honouring the environment, cannot reach the sandbox
    with pytest.raises(requests.exceptions.ProxyError):
        requests.get(aurous_sandbox.url + "/v1/team", timeout=5)
    return proxy


@pytest.fixture(scope="module")
def proxy_server() -> Iterator[HostileServer]:
    """A stand-in for a corporate proxy: it answers what it is asked for plain http, and
    refuses https tunnels."""
    server = HostileServer()

    @server.route("proxy")
    def _(reply: Reply, hit: int) -> None:
        if reply.seen.method == "CONNECT":
            reply.send(403, b"", {})
        else:
            reply.json(200, {"id": "team_via_proxy", "name": "Proxied", "credits": 1})

    yield server.start()
    server.stop()


def test_the_client_reaches_the_sandbox_past_a_dead_proxy(
    dead_proxy: str, aurous_sandbox: Sandbox
) -> None:
    with make_client(aurous_sandbox) as c:
        character = c.create_character_from_files("Direct", samples.paths()[:2])
        assert character.status == "ready" and len(character.refs) == 2
        assert c.download_ref(character.refs[0].url)[:4] == b"\x89PNG"  # ref storage too
        assert c.balance().billing_mode == "metered"
    assert [r.status for r in requests_to(aurous_sandbox, "upload")] == [200, 200]
    local = aurous_sandbox.url.replace("127.0.0.1", "localhost")
    with make_client(aurous_sandbox, base_url=local) as c:
        assert c.team().id == aurous_sandbox.team_id


def test_the_magic_and_the_widget_work_on_the_sandbox_past_a_dead_proxy(
    dead_proxy: str, ip: TestingShell, magics: AurousMagics
) -> None:
    ip.run_cell("%aurous_key --sandbox --synth-seconds 0")
    assert magics.sandbox is not None and magics.client is not None
    ip.run_cell("%aurous_key --status")
    paths = [str(p) for p in samples.paths()[:2]]
    made = ip.run_cell('%%aurous_character "Proxied"\n' + "\n".join(paths)).result
    assert isinstance(made, Character) and made.status == "ready"

    uploader = CharacterUploader(name="Widget")  # the session's client, from %aurous_key
    try:
        uploader.add(*samples.paths()[:1])
        wait_for(
            lambda: [c["state"] for c in uploader.cards] == ["classified"],
            what="the card classified",
            show=lambda: uploader.cards,
        )
        uploader.create()
        wait_for(
            lambda: uploader.character is not None or uploader.error,
            what="the character",
            show=lambda: uploader.error,
        )
        assert uploader.error == "" and uploader.character is not None
    finally:
        uploader.close()
    created = [r for r in magics.sandbox.requests if r.route == "create"]
    assert [r.status for r in created] == [201, 201]


def test_other_hosts_keep_honouring_the_environment(
    monkeypatch: pytest.MonkeyPatch, proxy_server: HostileServer
) -> None:
    _set_proxy(monkeypatch, proxy_server.url)
    with AurousClient(api_key=KEY, base_url="http://api.aurous-labs.invalid") as c:
        assert c.team().id == "team_via_proxy"
    asked = proxy_server.seen("proxy")[-1]
    assert asked.target == "http://api.aurous-labs.invalid/v1/team"  # the absolute form
    assert asked.headers["X-Api-Key"] == KEY  # plain http through a proxy: it sees all

    with AurousClient(api_key=KEY, base_url="https://api.aurous-labs.invalid", max_retries=0) as c:
        with pytest.raises(E.APIConnectionError) as info:
            c.team()
    tunnel = proxy_server.seen("proxy")[-1]
    assert (tunnel.method, tunnel.target) == ("CONNECT", "api.aurous-labs.invalid:443")
    assert "X-Api-Key" not in tunnel.headers  # https: the key stays inside the tunnel
    assert KEY not in str(info.value) and "\n" not in str(info.value)
