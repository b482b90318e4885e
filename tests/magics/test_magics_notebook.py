"""The magics in real kernels: tests/magics/notebooks/magics_e2e.ipynb executed with nbclient
(headless, no stdin), and a password prompt answered over the kernel's stdin channel."""

from __future__ import annotations

import base64
import json
import queue
import re
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel
from nbclient import NotebookClient

from aurous_nb.sandbox import Sandbox
from tests.support.environ import child_env
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.notebook]

NOTEBOOK = Path(__file__).parent / "notebooks" / "magics_e2e.ipynb"
MAX_IMAGE_BYTES = 30_000


def kernel_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The test process's environment without Aurous settings, with a private IPYTHONDIR."""
    env = child_env()
    env["IPYTHONDIR"] = str(tmp_path / "ipython")
    env.update(extra)
    return env


def history_db_text(tmp_path: Path) -> str:
    path = tmp_path / "ipython" / "profile_default" / "history.sqlite"
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
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
    assert "in the character" in flow.outputs[0].data["text/plain"]
    assert "Aurora the Adventurer" in flow.outputs[1].data["text/html"]
    # the character's card is shown once: as the cell's result, not also in the live output
    cards = [o.data.get("text/html", "").count('class="aurous-character"') for o in flow.outputs]
    assert cards == [0, 1]
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


class Kernel:
    """A real ipykernel driven over its channels, as a frontend would."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.km, self.kc = start_new_kernel(kernel_name="python3", env=kernel_env(tmp_path))

    def send(self, code: str, *, stdin: bool = False) -> str:
        return self.kc.execute(code, allow_stdin=stdin)

    def answer(self, text: str) -> dict[str, Any]:
        """Answer the kernel's next input request; returns the request's content."""
        request = self.kc.get_stdin_msg(timeout=20)
        assert request["msg_type"] == "input_request"
        self.kc.input(text)
        return request["content"]

    def collect(self, msg_id: str) -> tuple[dict[str, Any], str]:
        """The execute reply and everything shown on iopub, as text."""
        shown = []
        while True:
            try:
                msg = self.kc.get_iopub_msg(timeout=30)
            except queue.Empty:
                raise AssertionError("the kernel did not finish the cell") from None
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
            shown.append(msg["content"])
        while True:
            reply = self.kc.get_shell_msg(timeout=30)
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply["content"], json.dumps(shown, ensure_ascii=False)

    def run(self, code: str) -> tuple[dict[str, Any], str]:
        return self.collect(self.send(code))

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    k = Kernel(tmp_path_factory.mktemp("kernel"))
    try:
        yield k
    finally:
        k.close()


def test_password_prompt_in_a_real_kernel(kernel: Kernel, aurous_sandbox: Sandbox) -> None:
    key = aurous_sandbox.api_key
    kernel.run("%reload_ext aurous_nb")
    kernel.run(f"%config AurousMagics.base_url = {aurous_sandbox.url!r}")
    msg_id = kernel.send("%aurous_key", stdin=True)
    assert kernel.answer(key)["password"] is True
    reply, shown = kernel.collect(msg_id)
    assert reply["status"] == "ok"
    assert f"key {key[:14]}… OK" in shown and key not in shown
    reply, shown = kernel.run("%aurous_key --status\n_ih[-1]")
    assert key not in shown
    # no stdin on this request (like nbclient): a one-line error, at once
    reply, shown = kernel.run("%aurous_key")
    assert reply["status"] == "error" and len(reply["traceback"]) == 1
    assert "cannot prompt" in reply["traceback"][0]
    kernel.run("get_ipython().history_manager.writeout_cache()")
    history = history_db_text(kernel.tmp_path)
    assert "%aurous_key" in history and key not in history


def test_kernel_interrupt_then_resume(kernel: Kernel, aurous_sandbox: Sandbox) -> None:
    kernel.run("%reload_ext aurous_nb")
    kernel.run(f"%config AurousMagics.base_url = {aurous_sandbox.url!r}")
    msg_id = kernel.send("%aurous_key", stdin=True)
    kernel.answer(aurous_sandbox.api_key)
    assert kernel.collect(msg_id)[0]["status"] == "ok"
    kernel.run("from aurous_nb import samples; paths = samples.paths()")
    # each of the four classify requests spends its rule as it arrives, then is held 1.5 s
    aurous_sandbox.inject("classify", latency_ms=1500, times=4)
    cell = '%%aurous_character "Vega" --out vega\n{paths}'

    msg_id = kernel.send(cell)
    wait_for(lambda: not aurous_sandbox.faults.rules, 20, "the four classify requests")
    kernel.km.interrupt_kernel()  # SIGINT, as the notebook's stop button sends
    reply, _ = kernel.collect(msg_id)
    assert reply["status"] == "error"
    assert reply["traceback"] == [
        "KeyboardInterrupt: interrupted — re-run the cell to resume (finished uploads are kept)"
    ]

    aurous_sandbox.clear_faults()
    aurous_sandbox.clear_log()
    reply, shown = kernel.run(cell)
    assert reply["status"] == "ok" and "ready" in shown
    routes = [r.route for r in aurous_sandbox.requests]
    assert "init" not in routes and "upload" not in routes  # finished uploads were kept
    assert routes.count("create") == 1
