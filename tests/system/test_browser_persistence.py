"""Outputs that last: what a saved notebook shows once its kernel is gone, in a real browser.

In JupyterLab 4 and Notebook 7: an uploader creates a character through the browser (the record
output under it is updated from the widget's worker thread, after the cell finished) and a
review saves one. A kernel restart turns each live view into its one-line message (the
uploader then refuses drops) and brings the records back. The notebook is saved, the server
stopped, and the notebook opened again in a new server on the same machine (the notebook is
trusted there) and on another machine (a fresh state directory: untrusted): no "Error
displaying widget" is visible, and the character's name, id and views are. With JupyterLab's
"save widget state" on, the reopened uploader is a restored model with no kernel: it says so
in one line and a drop on it adds nothing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests.support.browser import (
    CHROMIUM,
    JupyterServer,
    open_notebook,
    run_cell,
    save_notebook,
    start_jupyter,
    wait_for_cell_output,
    write_notebook,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing"),
]

OFFLINE = "The kernel restarted or this notebook was reopened — run this cell again."
UPLOADER_CELL = """\
from aurous_nb import AurousClient
from aurous_nb.sandbox import Sandbox
from aurous_nb.widgets import CharacterUploader, SynthesisReview

sandbox = Sandbox(synth_seconds=0).start()
client = AurousClient(api_key=sandbox.api_key, base_url=sandbox.url)
uploader = CharacterUploader(client=client, name="Lasting Lena")
uploader"""
REVIEW_CELL = """\
nova = client.create_character("Nova Keep", generate=True, attributes={"hair_color": "teal"})
review = SynthesisReview(nova, client=client, poll=0.2)
review"""
IDS_CELL = 'print("IDS", uploader.characters[-1].id, nova.id)'


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    from tests.support.photos import phone_jpeg

    d = tmp_path_factory.mktemp("photos")
    return [
        phone_jpeg(d / "lena_front.jpg", size=(1600, 1200), orientation=1, seed=11),
        phone_jpeg(d / "lena_side.jpg", size=(1600, 1200), orientation=6, seed=12),
    ]


def _visible_text(page: Any) -> str:
    return str(page.evaluate("() => document.body.innerText"))


def _restart_kernel(page: Any) -> None:
    """Restart the kernel from the front end's Kernel menu, as a person does.

    (A restart behind the front end's back, through the REST API or from another tab, is seen
    only if the new kernel's "starting" status reaches the page; the server's connection to
    the new kernel can miss it, and then neither JupyterLab nor Notebook 7 knows of the
    restart. tests/widgets/js/connection.test.mjs covers what the view does with it.)
    """
    page.locator(".lm-MenuBar-itemLabel", has_text="Kernel").click()
    page.locator(".lm-Menu-itemLabel", has_text="Restart Kernel").first.click()
    page.locator(".jp-Dialog button.jp-mod-accept").click()


def _make_results(page: Any, server: JupyterServer, photos: list[Path]) -> tuple[str, str]:
    """Create a character through the uploader and save a reviewed one; return both ids."""
    open_notebook(page, server, "lasting.ipynb")
    run_cell(page, 0)
    page.locator(".aurous-uploader .aurous-drop").wait_for(timeout=60_000)
    page.set_input_files(".aurous-uploader input.aurous-file-input", [str(p) for p in photos])
    page.wait_for_function(
        "document.querySelectorAll('.aurous-card[data-state=classified]').length === 2",
        timeout=60_000,
    )
    page.locator(".aurous-uploader button", has_text="Create character").click()
    page.locator(".aurous-result .aurous-character").wait_for(timeout=30_000)
    # the person moves on to the next character: the drop zone is open again
    page.locator(".aurous-uploader button", has_text="New character").click()
    page.locator(".aurous-uploader .aurous-drop").wait_for(state="visible", timeout=10_000)
    run_cell(page, 1)
    review = page.locator(".aurous-review")
    review.locator(".aurous-refs img").nth(3).wait_for(timeout=30_000)
    review.locator("button", has_text="Save").click()
    review.locator(".aurous-status", has_text="ready").wait_for(timeout=15_000)
    run_cell(page, 2)
    wait_for_cell_output(page, 2, "IDS")
    out = page.locator(".jp-Notebook .jp-Cell").nth(2).locator(".jp-OutputArea-output")
    match = re.search(r"IDS (char_\w+) (char_\w+)", out.text_content() or "")
    assert match, out.text_content()
    return match.group(1), match.group(2)


def _drop(page: Any, name: str = "late_front.jpg") -> None:
    """What dropping a file on the drop zone sends it: dragenter, dragover, drop."""
    page.evaluate(
        """name => {
            const dt = new DataTransfer();
            dt.items.add(new File([new Uint8Array([255, 216, 255, 224, 0, 16])], name,
                                  {type: 'image/jpeg'}));
            const zone = document.querySelector('.aurous-uploader .aurous-drop');
            for (const type of ['dragenter', 'dragover', 'drop']) {
                zone.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true,
                                                        dataTransfer: dt}));
            }
        }""",
        name,
    )


def _records_shown(page: Any) -> list[bool]:
    return list(
        page.evaluate(
            "() => [...document.querySelectorAll('[data-aurous-record]')]"
            ".map(r => r.checkVisibility())"
        )
    )


def _check_kernel_restart(page: Any) -> None:
    """A restarted kernel: one line on each live view, no drop accepted, records shown."""
    assert _records_shown(page) == [False, False]  # hidden while the widgets are live
    _restart_kernel(page)
    line = page.locator(".aurous-uploader .aurous-offline-line")
    line.wait_for(state="visible", timeout=30_000)
    assert line.text_content() == OFFLINE
    page.locator(".aurous-review .aurous-offline-line").wait_for(state="visible", timeout=10_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-aurous-record]')]"
        ".every(r => r.checkVisibility())",
        timeout=10_000,
    )
    zone = page.locator(".aurous-uploader .aurous-drop")
    assert zone.get_attribute("aria-disabled") == "true"
    assert page.locator(".aurous-card").count() == 0
    _drop(page)
    page.wait_for_timeout(500)  # a drop's card appears at once, before any kernel reply
    assert page.locator(".aurous-card").count() == 0  # refused: nothing added


def _check_reopened(page: Any, server: JupyterServer, ids: tuple[str, str], shot: Path) -> None:
    """The saved notebook in a new server: the results visible, no widget error visible."""
    uploader_id, review_id = ids
    open_notebook(page, server, "lasting.ipynb")
    try:
        # an untrusted notebook's HTML is sanitized (no data- attributes, fewer styles): look
        # for what a person reads
        page.wait_for_function(
            "ids => ids.every(id => document.body.innerText.includes(id))",
            arg=list(ids),
            timeout=60_000,
        )
        page.wait_for_timeout(2_000)  # let the widget manager give up on the missing models
    finally:
        page.screenshot(path=str(shot), full_page=True)
    text = _visible_text(page)
    assert "Error displaying widget" not in text
    assert "Lasting Lena" in text and "Nova Keep" in text
    views = page.locator(".jp-OutputArea img[src^='data:image/']")
    assert views.count() >= 2 + 4  # the uploader's two cards, the review's four views


@pytest.mark.parametrize("kind", ["lab", "notebook"])
def test_results_survive_restart_save_and_reopen(
    kind: str, browser: Any, photos: list[Path], tmp_path: Path, artifacts: Path
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    path = write_notebook(root / "lasting.ipynb", [UPLOADER_CELL, REVIEW_CELL, IDS_CELL])
    state = tmp_path / "state"
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    server = start_jupyter(kind, root, state)
    try:
        ids = _make_results(page, server, photos)
        _check_kernel_restart(page)
        page.screenshot(path=str(artifacts / f"{kind}-restarted.png"), full_page=True)
        save_notebook(page)
    except BaseException:
        page.screenshot(path=str(artifacts / f"{kind}-persistence-failure.png"), full_page=True)
        raise
    finally:
        page.close()
        server.stop()

    saved = nbformat.read(path, as_version=4)
    html = [
        o["data"]["text/html"]
        for cell in saved.cells
        for o in cell.outputs
        if "text/html" in o.get("data", {})
    ]
    assert any(ids[0] in h for h in html) and any(ids[1] in h for h in html), "records not saved"

    for where, state_dir in (("same-machine", state), ("another-machine", tmp_path / "other")):
        server = start_jupyter(kind, root, state_dir)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        try:
            _check_reopened(page, server, ids, artifacts / f"{kind}-reopened-{where}.png")
        finally:
            page.close()
            server.stop()


def test_restored_widget_state_without_a_kernel_refuses_drops(
    browser: Any, photos: list[Path], tmp_path: Path, artifacts: Path
) -> None:
    """JupyterLab with "save widget state" on: the reopened uploader is a model with no comm."""
    root = tmp_path / "root"
    root.mkdir()
    write_notebook(root / "lasting.ipynb", [UPLOADER_CELL, REVIEW_CELL, IDS_CELL])
    state = tmp_path / "state"
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    server = start_jupyter("lab", root, state, save_widget_state=True)
    try:
        ids = _make_results(page, server, photos)
        save_notebook(page)
    finally:
        page.close()
        server.stop()
    assert "widgets" in nbformat.read(root / "lasting.ipynb", as_version=4).metadata

    server = start_jupyter("lab", root, state, save_widget_state=True)
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        open_notebook(page, server, "lasting.ipynb")
        line = page.locator(".aurous-uploader .aurous-offline-line")
        line.wait_for(state="visible", timeout=60_000)
        assert line.text_content() == OFFLINE
        assert ids[0] in _visible_text(page)  # the record, shown again
        assert page.locator(".aurous-card").count() == 0
        _drop(page)
        page.wait_for_timeout(500)
        assert page.locator(".aurous-card").count() == 0
        assert "waiting for the kernel" not in _visible_text(page)
        page.screenshot(path=str(artifacts / "lab-restored-state.png"), full_page=True)
    finally:
        page.close()
        server.stop()
