"""The magics without a rich frontend: terminal IPython and plain ``python`` with IPython get a
text rendering of the same progress; plus the live output's mode choice and throttling."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from aurous_nb import samples
from aurous_nb.magics._live import LiveView, frontend_mode
from aurous_nb.sandbox import Sandbox
from tests.support.environ import child_env

BIN = Path(sys.executable).parent
SAMPLES = "\n".join(str(p) for p in samples.paths())


def run_python(code: str, sandbox: Sandbox, *argv: str) -> str:
    env = child_env()
    env.update(AUROUS_API_KEY=sandbox.api_key, AUROUS_BASE_URL=sandbox.url)
    done = subprocess.run(
        [*argv, code], env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_terminal_ipython(aurous_sandbox: Sandbox, tmp_path: Path) -> None:
    code = f'%%aurous_character "Termi" --out t\n{SAMPLES}\n'
    out = run_python(
        code,
        aurous_sandbox,
        str(BIN / "ipython"),
        "--no-banner",
        "--ext=aurous_nb",
        f"--ipython-dir={tmp_path}",
        "--HistoryManager.hist_file=:memory:",
        "-c",
    )
    assert "<div" not in out and "text/html" not in out
    assert "1. front.png" in out and "in the character" in out
    assert "Termi (char_" in out and "— ready" in out


def test_terminal_line_form_explains_the_cell_form(aurous_sandbox: Sandbox, tmp_path: Path) -> None:
    out = run_python(
        '%aurous_character "Nova Star"\nprint("UPLOADER", type(_).__name__)',
        aurous_sandbox,
        str(BIN / "ipython"),
        "--no-banner",
        "--ext=aurous_nb",
        f"--ipython-dir={tmp_path}",
        "--HistoryManager.hist_file=:memory:",
        "-c",
    )
    assert "the upload widget needs a notebook front end" in out
    assert '%%aurous_character "Nova Star"' in out and "path/to/front.jpg" in out
    assert "CharacterUploader(" not in out  # no widget repr in a terminal


def test_plain_python_with_ipython(aurous_sandbox: Sandbox) -> None:
    script = "\n".join(
        [
            "from IPython.core.interactiveshell import InteractiveShell",
            "ip = InteractiveShell.instance()",
            "ip.run_cell('%load_ext aurous_nb')",
            f"cell = '%%aurous_character \"Plain\" --out c\\n' + {SAMPLES!r}",
            "ip.run_cell(cell).raise_error()",
            "print('RESULT', ip.user_ns['c'].status)",
        ]
    )
    out = run_python(script, aurous_sandbox, sys.executable, "-c")
    assert "<div" not in out
    assert "4. portrait.jpg" in out
    assert out.rstrip().endswith("RESULT ready")


# ---------------------------------------------------------------- mode and throttling


def shell_like(active: list[str], publisher: Any = None, kernel: Any = None) -> Any:
    from IPython.core.displaypub import DisplayPublisher

    return types.SimpleNamespace(
        display_formatter=types.SimpleNamespace(active_types=active),
        display_pub=publisher if publisher is not None else DisplayPublisher(),
        kernel=kernel,
    )


def test_frontend_mode() -> None:
    from IPython.core.displaypub import CapturingDisplayPublisher

    rich = ["text/plain", "text/html"]
    assert frontend_mode(shell_like(rich, kernel=object())) == "html"  # a kernel
    assert frontend_mode(shell_like(["text/plain"])) == "text"  # terminal IPython
    assert frontend_mode(shell_like(rich)) == "text"  # plain python: prints text/plain only
    assert frontend_mode(shell_like(rich, CapturingDisplayPublisher())) == "html"
    assert frontend_mode(shell_like(rich), "text") == "text"
    assert frontend_mode(shell_like(["text/plain"]), "html") == "html"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_live_view_throttles_and_skips_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    clock = FakeClock()
    state = {"text": "a.png  uploading [##........]  20%"}
    view = LiveView("text", html=str, text=lambda: state["text"], interval=0.5, clock=clock)
    view.show()
    state["text"] = "a.png  uploading [####......]  40%"
    assert not view.refresh()  # too soon
    clock.now = 1.0
    assert not view.refresh()  # only a number changed: nothing new to say
    state["text"] = "a.png  uploaded"
    clock.now = 2.0
    assert view.refresh()
    assert capsys.readouterr().out.splitlines() == [
        "a.png  uploading [##........]  20%",
        "a.png  uploaded",
    ]
    assert view.refresh(force=True) is False and view.updates == 2


def test_characters_table_in_a_terminal(
    aurous_sandbox: Sandbox, sandbox_api: Any, tmp_path: Path
) -> None:
    for name in ("Ada", "Bea", "Cy"):
        sandbox_api.create(name)
    out = run_python(
        "%aurous_characters --limit 2",
        aurous_sandbox,
        str(BIN / "ipython"),
        "--no-banner",
        "--ext=aurous_nb",
        f"--ipython-dir={tmp_path}",
        "--HistoryManager.hist_file=:memory:",
        "--TerminalInteractiveShell.term_title=False",  # older IPythons set it on start
        "-c",
    )
    lines = out.strip().splitlines()
    assert lines[0].split() == ["id", "name", "status", "refs", "created"]
    assert [line.split()[1] for line in lines[2:4]] == ["Cy", "Bea"]  # newest first
    assert "raise --limit" in lines[-1] and "<div" not in out
