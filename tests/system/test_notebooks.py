"""The demo notebooks: each runs top to bottom in a real kernel (nbclient) on the sandbox.

No key and no network: ``AUROUS_API_KEY``/``AUROUS_BASE_URL`` are removed from the
environment the kernel inherits. An executed notebook must have no error output and nothing
on stderr, must not contain an API key (neither any ``al_live_<64 hex>`` nor the key of any
sandbox its kernel started), and must stay under 250 KB. Converted to HTML with nbconvert (as
nbviewer and GitHub show a saved notebook), it must show every character it created, by name
and id. The committed notebooks carry no outputs. Executed copies (and their HTML) go to
``$AUROUS_TEST_ARTIFACTS/notebooks/`` when that is set.
"""

from __future__ import annotations

import copy
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
MAX_NOTEBOOK_BYTES = 250 * 1024
MAX_IMAGE_BYTES = 3 * 1024 * 1024
KEY_PATTERN = re.compile(r"al_live_[0-9a-f]{64}")
REAL_API_GUARD = 'os.environ.get("AUROUS_API_KEY")'

# Run before the notebook's own cells, in the same kernel, and removed from the result: it
# records the key of every sandbox the notebook starts (the magics' and its own) and every
# character the notebook creates, without changing what start() and create_character() do,
# so the test can look for those exact keys and characters in the outputs.
RECORD_KEYS = """
import aurous_nb.sandbox as _aurous_sandbox_module
from aurous_nb.client import AurousClient as _AurousTestClient
_aurous_test_keys = []
_aurous_test_made = []
_aurous_original_start = _aurous_sandbox_module.Sandbox.start
def _aurous_recording_start(self, *args, **kwargs):
    _aurous_test_keys.append(self.api_key)
    return _aurous_original_start(self, *args, **kwargs)
_aurous_sandbox_module.Sandbox.start = _aurous_recording_start
_aurous_original_create = _AurousTestClient.create_character
def _aurous_recording_create(self, *args, **kwargs):
    character = _aurous_original_create(self, *args, **kwargs)
    _aurous_test_made.append([character.name, character.id])
    return character
_AurousTestClient.create_character = _aurous_recording_create
"""
REPORT_KEYS = (
    "import json as _aurous_json\n"
    "print(_aurous_json.dumps({'keys': _aurous_test_keys, 'made': _aurous_test_made}))"
)
# 06_app is an app: run headless, nobody drops a photo, so it creates no character
MAKES_NO_CHARACTER = {"06_app.ipynb"}


def _ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


def test_there_are_six_demo_notebooks() -> None:
    assert _ids(NOTEBOOKS) == [
        "01_quickstart.ipynb",
        "02_upload_widget.ipynb",
        "03_synthesize.ipynb",
        "04_bulk.ipynb",
        "05_python_api.ipynb",
        "06_app.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_committed_notebook_has_no_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; clear them before committing"
    assert "widgets" not in nb.metadata, f"{path.name}: saved widget state; clear it"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_uses_the_real_api_only_behind_the_guard(path: Path) -> None:
    """The tutorials end with the guarded switch to the real API; the app chooses its key
    behind the same guard before it shows anything."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    if path.name == "06_app.ipynb":
        (key_cell,) = [c for c in code if "%aurous_key" in c.source]
        assert REAL_API_GUARD in key_cell.source and "--sandbox" in key_cell.source
        return
    assert REAL_API_GUARD in code[-1].source, f"{path.name}: last code cell is not the switch"


def test_sample_images_are_small_and_licensed() -> None:
    images = NOTEBOOK_DIR / "images"
    files = [p for p in images.rglob("*") if p.suffix in {".png", ".jpg", ".webp"}]
    assert len(files) >= 30
    assert sum(p.stat().st_size for p in files) <= MAX_IMAGE_BYTES
    assert "CC0" in (images / "README.md").read_text(encoding="utf-8")


def test_binder_badge_and_requirements() -> None:
    """The README's badge opens an existing notebook; Binder installs this package."""
    readme = (NOTEBOOK_DIR.parent / "README.md").read_text(encoding="utf-8")
    target = re.search(r"mybinder\.org/v2/gh/[^)\s]*urlpath=lab/tree/([^)\s&]+)", readme)
    assert target, "no launch-binder badge in README.md"
    assert (NOTEBOOK_DIR.parent / target.group(1)).is_file(), target.group(1)
    requirements = (NOTEBOOK_DIR.parent / "binder" / "requirements.txt").read_text("utf-8")
    lines = [line.split("#")[0].strip() for line in requirements.splitlines()]
    # repo2docker runs pip from the repository root, so "." is this package
    assert "." in lines


def _execute(path: Path) -> tuple[Any, dict[str, Any], float]:
    """Run ``path`` in a fresh kernel; return the executed notebook, the sandbox keys and the
    characters it made (``{"keys": [...], "made": [[name, id], ...]}``), and the seconds."""
    nb = nbformat.read(path, as_version=4)
    runnable = copy.deepcopy(nb)
    runnable.cells.insert(0, nbformat.v4.new_code_cell(RECORD_KEYS))
    runnable.cells.append(nbformat.v4.new_code_cell(REPORT_KEYS))
    client = NotebookClient(
        runnable,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    started = time.monotonic()
    client.execute()
    elapsed = time.monotonic() - started
    probe = runnable.cells.pop()
    runnable.cells.pop(0)
    report = "".join(o.get("text", "") for o in probe.outputs if o.output_type == "stream")
    return runnable, json.loads(report), elapsed


def _as_html(nb: Any) -> str:
    """The notebook as ``jupyter nbconvert --to html`` writes it (the lab template)."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nb)
    return str(body)


def html_text(html: str) -> str:
    """The text of an HTML page, markup and scripts dropped (what a reader sees)."""
    from html.parser import HTMLParser

    class Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.parts: list[str] = []
            self.skip = 0

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.skip += tag in ("script", "style")

        def handle_endtag(self, tag: str) -> None:
            self.skip -= tag in ("script", "style") and self.skip > 0

        def handle_data(self, data: str) -> None:
            if not self.skip:
                self.parts.append(data)

    parser = Text()
    parser.feed(html)
    return " ".join(parser.parts)


def _outputs(nb: Any) -> list[tuple[int, Any]]:
    return [(i, o) for i, c in enumerate(nb.cells) if c.cell_type == "code" for o in c.outputs]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs_clean_on_the_sandbox(
    path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AUROUS_API_KEY", raising=False)
    monkeypatch.delenv("AUROUS_BASE_URL", raising=False)
    executed, report, elapsed = _execute(path)
    keys, made = report["keys"], report["made"]
    text = nbformat.writes(executed)
    size = len(text.encode("utf-8"))
    html = _as_html(executed)

    artifacts = os.environ.get("AUROUS_TEST_ARTIFACTS")
    if artifacts:
        out = Path(artifacts) / "notebooks" / path.name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        out.with_suffix(".html").write_text(html, encoding="utf-8")
    with capsys.disabled():
        print(f"\n  {path.name}: executed in {elapsed:.1f} s, {size / 1024:.1f} KiB with outputs")

    errors = [(i, o) for i, o in _outputs(executed) if o.output_type == "error"]
    assert not errors, f"{path.name}: error output in cells {[i for i, _ in errors]}"
    stderr = [
        (i, o.text[:300])
        for i, o in _outputs(executed)
        if o.output_type == "stream" and o.name == "stderr"
    ]
    assert not stderr, f"{path.name}: something was written to stderr: {stderr}"

    assert keys, "the notebook started no sandbox (it must run on the sandbox)"
    leaked = KEY_PATTERN.findall(text)
    assert not leaked, f"{path.name}: a full API key is in the executed notebook"
    for key in keys:
        secret = key.split("_")[-1]  # the 64 hex after al_live_
        assert key not in text and secret not in text, f"{path.name}: the sandbox key leaked"

    assert size < MAX_NOTEBOOK_BYTES, f"{path.name}: {size} bytes executed (limit 250 KB)"

    # what nbviewer, GitHub and `jupyter nbconvert --to html` show: every character made here
    if path.name in MAKES_NO_CHARACTER:
        assert made == []
        return
    assert made, f"{path.name}: created no character"
    shown = html_text(html)
    missing = [(name, cid) for name, cid in made if name not in shown or cid not in shown]
    assert not missing, f"{path.name}: the HTML does not show {missing}"
    for secret in keys:
        assert secret not in html
