"""The magics in real kernels: tests/notebooks/magics_e2e.ipynb executed with nbclient (headless,
no stdin), and a password prompt answered over the kernel's stdin channel."""

from __future__ import annotations

import base64
import json
import os
import queue
import re
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel
from nbclient import NotebookClient

from aurous_nb.sandbox import Sandbox

pytestmark = [pytest.mark.notebook]

NOTEBOOK = Path(__file__).parent / "notebooks" / "magics_e2e.ipynb"
MAX_IMAGE_BYTES = 30_000


def kernel_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The test process's environment without Aurous settings, with a private IPYTHONDIR."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUROUS_")}
    env["IPYTHONDIR"] = str(tmp_path / "ipython")
    env.update(extra)
    return env


def history_db_text(tmp_path: Path) -> str:
    path = tmp_path / "ipython" / "profile_default" / "history.sqlite"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT source, source_raw FROM history").fetchall()
    return "\n".join(a + "\n" + b for a, b in rows)


def embedded_images(text: str) -> list[int]:
    """Decoded sizes of every base64 image embedded in ``text``."""
    found = re.findall(r"data:image/[a-z]+;base64,([A-Za-z0-9+/=]+)", text)
    return [len(base64.b64decode(chunk)) for chunk in found]


@pytest.fixture
def executed(tmp_path: Path, aurous_sandbox: Sandbox) -> Iterator[tuple[Any, Path]]:
    """The e2e notebook, executed headless; yields (notebook, saved path)."""
    env = kernel_env(
        tmp_path, AUROUS_E2E_KEY=aurous_sandbox.api_key, AUROUS_BASE_URL=aurous_sandbox.url
    )
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        nb,
        timeout=60,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute(env=env)  # passed on to the kernel manager's start_kernel
    saved = tmp_path / "magics_e2e.ipynb"
    nbformat.write(nb, saved)
    yield nb, saved


def test_notebook_end_to_end(
    executed: tuple[Any, Path], aurous_sandbox: Sandbox, tmp_path: Path
) -> None:
    nb, saved = executed
    size = saved.stat().st_size
    print(f"\nexecuted magics_e2e.ipynb: {size} bytes")  # reported by `pytest -s`
    sys.stdout.flush()
    cells = {c.source.splitlines()[0]: c for c in nb.cells if c.cell_type == "code"}

    flow = cells['%%aurous_character "Aurora the Adventurer" --out aurora']
    kinds = [o.output_type for o in flow.outputs]
    assert kinds == ["display_data", "execute_result"]  # one live display, updated in place
    assert "consumed" in flow.outputs[0].data["text/plain"]
    assert "Aurora the Adventurer" in flow.outputs[1].data["text/html"]
    assert cells['assert aurora.status == "ready"'].outputs[0].data["text/plain"] == (
        "['front', 'side', 'back', 'portrait']"
    )
    assert (
        "would send 4 init"
        in cells['%%aurous_character "Aurora" --dry-run'].outputs[0].data["text/plain"]
    )
    assert cells['assert nova.status == "ready"'].outputs

    headless = cells["%aurous_key"].outputs
    assert [o.output_type for o in headless] == ["error"]
    assert len(headless[0].traceback) == 1 and "cannot prompt" in headless[0].traceback[0]
    assert "AUROUS_API_KEY" in headless[0].traceback[0]

    assert (
        cells["%aurous_key --env AUROUS_E2E_KEY"]
        .outputs[0]
        .text.startswith(f"key {aurous_sandbox.api_key[:14]}… OK")
    )
    echo = cells['%%aurous_character "Echo"'].outputs
    assert echo[-1].output_type == "execute_result"

    # thumbnails only, and no secret, in what was saved
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            text = json.dumps(out)
            assert all(n < MAX_IMAGE_BYTES for n in embedded_images(text)), cell.source
            assert "Traceback" not in text
    # (nbclient keeps the kernel's history in memory; the prompt test checks a history file)
    assert aurous_sandbox.api_key not in saved.read_text()
    assert size < 250_000


def test_password_prompt_in_a_real_kernel(tmp_path: Path, aurous_sandbox: Sandbox) -> None:
    key = aurous_sandbox.api_key
    km, kc = start_new_kernel(kernel_name="python3", env=kernel_env(tmp_path))
    try:

        def run(code: str, *, answer: str | None = None) -> tuple[dict[str, Any], list[Any]]:
            msg_id = kc.execute(code, allow_stdin=answer is not None)
            if answer is not None:
                request = kc.get_stdin_msg(timeout=20)
                assert request["msg_type"] == "input_request"
                assert request["content"]["password"] is True
                kc.input(answer)
            outputs = []
            while True:
                try:
                    msg = kc.get_iopub_msg(timeout=20)
                except queue.Empty:
                    raise AssertionError(f"no reply to {code!r}") from None
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    break
                outputs.append(msg)
            reply = kc.get_shell_msg(timeout=20)
            return reply["content"], outputs

        run("%load_ext aurous_nb")
        run(f"%config AurousMagics.base_url = {aurous_sandbox.url!r}")
        reply, outputs = run("%aurous_key", answer=key)
        assert reply["status"] == "ok"
        shown = json.dumps([o["content"] for o in outputs], ensure_ascii=False)
        assert f"key {key[:14]}… OK" in shown and key not in shown
        reply, outputs = run("%aurous_key --status\n_ih[-1]")
        assert key not in json.dumps([o["content"] for o in outputs], ensure_ascii=False)
        # no stdin on this request (like nbclient): a one-line error, at once
        reply, outputs = run("%aurous_key")
        assert reply["status"] == "error" and len(reply["traceback"]) == 1
        run("get_ipython().history_manager.writeout_cache()")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert "%aurous_key" in history_db_text(tmp_path)
    assert key not in history_db_text(tmp_path)
