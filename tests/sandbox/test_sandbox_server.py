"""Sandbox lifecycle: start/stop, the pytest plugin, the CLI, the clock, import weight."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
import requests

from aurous_nb.sandbox import Sandbox, SandboxClock


def test_context_manager_binds_a_free_loopback_port():
    with Sandbox(synth_seconds=0) as sb:
        assert sb.url.startswith("http://127.0.0.1:") and sb.port > 0
        r = requests.get(sb.url + "/v1/team", headers={"X-Api-Key": sb.api_key}, timeout=10)
        assert r.status_code == 200
        url = sb.url
    assert not sb.running
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/v1/team", timeout=2)
    with pytest.raises(RuntimeError):
        _ = sb.url
    sb.stop()  # idempotent


def test_fixed_api_key_and_bad_key_rejected():
    key = "al_live_" + "ab" * 32
    assert Sandbox(api_key=key).api_key == key
    with pytest.raises(ValueError):
        Sandbox(api_key="sk-nope")
    with pytest.raises(TypeError):
        Sandbox(no_such_option=1)


def test_non_loopback_host_warns(caplog):
    with caplog.at_level(logging.WARNING, logger="aurous_nb.sandbox"):
        with Sandbox(host="0.0.0.0") as sb:
            assert sb.url.startswith("http://127.0.0.1:")
    assert "reachable from other machines" in caplog.text


def test_fixture_is_shared_and_reset(aurous_sandbox, sandbox_api):
    assert aurous_sandbox.running and aurous_sandbox.options.synth_seconds == 0
    assert sandbox_api.get("/v1/characters").json()["data"] == []
    sandbox_api.create()


def test_fixture_state_does_not_leak_between_tests(aurous_sandbox, sandbox_api):
    assert sandbox_api.get("/v1/characters").json()["data"] == []
    assert aurous_sandbox.requests[-1].route == "list"


def test_clock_advance_freeze_and_speed():
    frozen = SandboxClock(start=1_000_000, speed=0)
    assert frozen.now() == 1_000_000
    frozen.advance(90)
    assert frozen.now() == 1_000_090 and frozen.offset == 90
    with pytest.raises(ValueError):
        frozen.advance(-1)
    frozen.reset()
    assert frozen.now() == 1_000_000
    fast = SandboxClock(speed=1000)
    t0 = fast.now()
    import time

    time.sleep(0.01)
    assert fast.now() - t0 >= 5


def test_shared_frozen_clock_drives_expiry():
    clock = SandboxClock(speed=0)
    with Sandbox(clock=clock, url_ttl=60) as sb:
        h = {"X-Api-Key": sb.api_key}
        body = {"filename": "a.png", "extension": "png", "content_type": "image/png"}
        ticket = requests.post(
            sb.url + "/v1/characters/uploads/init", json=body, headers=h, timeout=10
        ).json()
        clock.advance(61)
        r = requests.put(ticket["upload_url"], data=b"x", timeout=10)
        assert r.json()["error"]["code"] == "upload_url_expired"


def test_synthesis_completes_in_real_time():
    with Sandbox(synth_seconds=0.2, clock=SandboxClock(speed=10)) as sb:
        h = {"X-Api-Key": sb.api_key}
        body = {"name": "rt", "generate": True, "attributes": {}}
        cid = requests.post(sb.url + "/v1/characters", json=body, headers=h, timeout=10).json()[
            "id"
        ]
        import time

        time.sleep(0.05)  # 0.5 s of sandbox time at speed 10
        got = requests.get(f"{sb.url}/v1/characters/{cid}", headers=h, timeout=10).json()
        assert got["status"] == "reviewing"


def test_import_stays_light():
    code = (
        "import sys, aurous_nb, aurous_nb.sandbox;"
        "heavy = [m for m in ('werkzeug', 'PIL', 'IPython', 'ipywidgets') if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


def test_cli_prints_url_and_key_and_serves():
    key = "al_live_" + "cd" * 32
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aurous_nb.sandbox",
            "--port",
            "0",
            "--api-key",
            key,
            "--synth-seconds",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("Aurous sandbox at http://127.0.0.1:")
        url = first.split(" at ", 1)[1].strip()
        lines = [proc.stdout.readline().strip() for _ in range(2)]
        assert lines == [f"AUROUS_BASE_URL={url}", f"AUROUS_API_KEY={key}"]
        r = requests.get(url + "/v1/balance", headers={"X-Api-Key": key}, timeout=10)
        assert r.status_code == 200
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_cli_rejects_bad_key():
    out = subprocess.run(
        [sys.executable, "-m", "aurous_nb.sandbox", "--api-key", "nope"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "api_key" in out.stderr


def test_keep_alive_session_survives_unread_bodies_and_errors(aurous_sandbox, make_image):
    h = {"X-Api-Key": aurous_sandbox.api_key}
    body = {"filename": "a.png", "extension": "png", "content_type": "image/png"}
    with requests.Session() as s:
        ticket = s.post(
            aurous_sandbox.url + "/v1/characters/uploads/init", json=body, headers=h
        ).json()
        forged = ticket["upload_url"].replace("signature=", "signature=00")
        assert s.put(forged, data=b"x" * 200_000, timeout=10).status_code == 403  # body unread
        r = s.put(ticket["upload_url"], data=make_image(), headers=ticket["upload_headers"])
        assert r.status_code == 200
        assert s.get(aurous_sandbox.url + "/v1/team", headers=h).status_code == 200
        aurous_sandbox.inject("team", drop=True)
        with pytest.raises(requests.ConnectionError):
            s.get(aurous_sandbox.url + "/v1/team", headers=h)
        assert s.get(aurous_sandbox.url + "/v1/team", headers=h).status_code == 200
    assert [q.status for q in aurous_sandbox.requests] == [200, 403, 200, 200, None, 200]


def test_plugin_fixture_works_in_a_users_project(tmp_path):
    """The fixture arrives through the ``pytest11`` entry point, with no conftest."""
    (tmp_path / "test_user.py").write_text(
        "import requests\n"
        "def test_team(aurous_sandbox):\n"
        "    h = {'X-Api-Key': aurous_sandbox.api_key}\n"
        "    r = requests.get(aurous_sandbox.url + '/v1/team', headers=h, timeout=10)\n"
        "    assert r.status_code == 200\n"
        "def test_reset_between_tests(aurous_sandbox):\n"
        "    assert aurous_sandbox.requests == []\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 passed" in out.stdout


def test_idle_keep_alive_timeout_prints_nothing(monkeypatch, caplog):
    """An idle connection timing out is routine; in a notebook its log line would land in
    whatever cell runs next."""
    import socket
    import time

    from aurous_nb.sandbox.handler import KeepAliveHandler

    monkeypatch.setattr(KeepAliveHandler, "timeout", 0.3)
    with Sandbox() as sandbox:
        host, port = sandbox.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as sock:
            time.sleep(0.8)  # the server gives up on the idle connection
            assert sock.recv(1) == b""  # ... and closes it
    assert not [r for r in caplog.records if "timed out" in r.getMessage()]
