"""``python -m aurous_nb demo``: README's first command works with no key and no network."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from aurous_nb.__main__ import demo, main
from tests.support.environ import child_env


def check_summary(text: str) -> None:
    assert re.search(r"^Created char_[0-9A-Z]{26}$", text, re.M), text
    assert "  name     Demo character" in text
    assert "  status   ready" in text
    for n, pose, name, conf in (
        (1, "front", "front.png", 95),
        (2, "side", "side.png", 93),
        (3, "back", "back.png", 92),
        (4, "portrait", "portrait.jpg", 94),
    ):
        assert re.search(rf"{n}\. {pose} +{re.escape(name)} +confidence {conf}%", text), text
    assert re.search(r"timing +\d+\.\d\d s for 4 refs in parallel \(uploaded by \d+ ms", text)
    assert "requests 13: 4 init, 4 PUT, 4 classify, 1 create" in text


def test_demo_on_a_fresh_machine(tmp_path: Path) -> None:
    """A subprocess with a hostile environment: no key, a base URL and proxy that go nowhere."""
    env = child_env()
    env.update(
        HOME=str(tmp_path),
        AUROUS_API_KEY="not-a-key",
        AUROUS_BASE_URL="http://192.0.2.1",  # TEST-NET: unroutable if anything used it
        HTTP_PROXY="http://192.0.2.1:9",
        http_proxy="http://192.0.2.1:9",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "aurous_nb", "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    out = proc.stdout
    assert out.startswith("aurous_nb ") and "in-process sandbox at http://127.0.0.1:" in out
    assert "front.png: classified — front 95%" in out  # the progress log (not a TTY)
    assert "Demo character — 4 refs — done" in out
    check_summary(out)


def test_demo_in_process_with_latency(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--latency-ms", "20", "--name", "Demo character"]) == 0
    out = capsys.readouterr().out
    assert "(no key, no network, 20 ms latency)" in out
    check_summary(out)
    total = float(re.search(r"timing +(\d+\.\d\d) s", out).group(1))  # type: ignore[union-attr]
    assert total >= 0.08  # four round trips of at least 20 ms each


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_demo_redraws_in_place_on_a_terminal() -> None:
    out = FakeTTY()
    assert demo(out=out) == 0
    text = out.getvalue()
    assert "\x1b[5F\x1b[J" in text  # the 5-line frame is redrawn in place
    assert "front.png: classified" not in text  # no log lines on a terminal
    check_summary(text)


def test_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "demo" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["demo", "--latency-ms", "-1"])
    assert info.value.code == 2
    assert "--latency-ms must be >= 0" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.startswith("aurous_nb ")


def test_journal_command_lists_and_clears(_journal_per_test: Path) -> None:
    from aurous_nb.flow import Journal

    journal = Journal(_journal_per_test)
    journal.record_upload("team_1", "http://h", "d", "upl_1", 4e9)
    journal.claim_create("team_1", "http://h", "Ada", ["d"], "key-1", ["upl_1"])
    journal.record_character("team_1", "http://h", "Ada", ["d"], "char_1")
    env = child_env()
    run = [sys.executable, "-m", "aurous_nb", "journal"]
    listed = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert f"{_journal_per_test}: 1 live ticket" in listed.stdout
    assert "'Ada' (1 ref) at http://h: char_1" in listed.stdout
    cleared = subprocess.run([*run, "--clear"], env=env, capture_output=True, text=True)
    assert cleared.returncode == 0 and "2 entries deleted" in cleared.stdout
    off = subprocess.run(
        run, env={**env, "AUROUS_NB_JOURNAL": "off"}, capture_output=True, text=True
    )
    assert "switched off" in off.stdout
