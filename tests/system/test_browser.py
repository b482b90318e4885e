"""The uploader in a real browser: JupyterLab 4 and Notebook 7, driven through Debian's Chromium.

Each test starts its own Jupyter server (127.0.0.1, OS-chosen port, token), writes a notebook
whose first cell starts an in-process sandbox and displays the uploader, and plays a person:
Tab to the drop zone (its focus ring shows), Enter opens the file picker, six phone photos
(one over the API's 10 MiB, one a text file named like a photo) go in; the cards appear at
once, the text file's error is readable in full, the others are classified with countdowns
that keep ticking while a ``time.sleep`` cell blocks the kernel; Create keeps the cards,
marked as in the character, next to the character card; New character starts over; then the
review widget of a synthesized character. Screenshots go to ``$AUROUS_TEST_ARTIFACTS``
(default ``./test-artifacts``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import (
    CHROMIUM,
    JupyterServer,
    open_notebook,
    run_cell,
    start_jupyter,
    wait_for_cell_output,
    write_notebook,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"{CHROMIUM} is missing (Debian's chromium package; .ci/run installs it)",
    ),
]

XSS_NAME = "<img src=x onerror=alert(1)> side.jpg"
NOTES = "notes_front.jpg"  # a text file named like a photo: refused, with a long error
POSES = {"front": "front", "side": "side", "back": "back", "portrait": "portrait"}

SETUP_CELL = """\
from aurous_nb import AurousClient
from aurous_nb.sandbox import Sandbox
from aurous_nb.widgets import CharacterUploader

sandbox = Sandbox(synth_seconds=0).start()
sandbox.inject("upload", latency_ms=7000, times=1)  # one slow PUT: its URL countdown shows
client = AurousClient(api_key=sandbox.api_key, base_url=sandbox.url)
uploader = CharacterUploader(client=client, name="Browser Hero")
uploader"""
SLEEP_CELL = 'import time\ntime.sleep(4)\nprint("slept")'
RESULT_CELL = 'print("CHARACTER", uploader.character.id)'
REVIEW_CELL = """\
from aurous_nb.widgets import SynthesisReview

nova = client.create_character("Nova", generate=True, attributes={"hair_color": "silver"})
SynthesisReview(nova, client=client, poll=0.2)"""


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Five phone photos (EXIF orientations, GPS; one 24 MP over 10 MiB) and a text file."""
    from tests.support.photos import PHONE_12MP, PHONE_24MP, phone_jpeg

    d = tmp_path_factory.mktemp("photos")
    paths = [
        phone_jpeg(d / "IMG_front.jpg", size=PHONE_12MP, orientation=1, seed=1),
        phone_jpeg(d / "IMG_side.jpg", size=PHONE_12MP, orientation=6, seed=2),
        phone_jpeg(d / "IMG_back.jpg", size=PHONE_12MP, orientation=3, seed=3),
        phone_jpeg(d / "IMG_portrait.jpg", size=PHONE_12MP, orientation=8, seed=4),
        phone_jpeg(d / "IMG_front_big.jpg", size=PHONE_24MP, quality=97, texture=20, seed=5),
    ]
    notes = d / NOTES
    notes.write_text("shopping list: milk, bread, a new phone case\n" * 40)
    paths.append(notes)
    assert paths[4].stat().st_size > 10 * 1024 * 1024
    return paths


def _server(kind: str, tmp_path: Path, artifacts: Path) -> Iterator[JupyterServer]:
    root = tmp_path / "root"
    root.mkdir()
    write_notebook(root / "uploader.ipynb", [SETUP_CELL, SLEEP_CELL, RESULT_CELL, REVIEW_CELL])
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


def _wait(page: Any, script: str, timeout_ms: int, what: str, arg: Any = None) -> None:
    """page.wait_for_function(script); on timeout fail with the cards as they stand."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(script, arg=arg, timeout=timeout_ms)
    except PlaywrightTimeout:
        raise AssertionError(
            f"timed out after {timeout_ms / 1000:g} s waiting for {what}; saw {_cards_seen(page)}"
        ) from None


def _active(page: Any) -> str:
    return str(page.evaluate("() => document.activeElement?.className?.toString() || ''"))


def _tab_to_drop_zone(page: Any) -> int:
    """Focus the uploader's cell, then press Tab until the drop zone has the focus."""
    page.locator(".jp-Notebook .jp-Cell").first.locator(".jp-InputPrompt").click()
    page.keyboard.press("Escape")
    for presses in range(1, 9):
        page.keyboard.press("Tab")
        if "aurous-drop" in _active(page):
            return presses
    raise AssertionError(f"Tab never reached the drop zone; focus is on {_active(page)!r}")


def _countdown_of(page: Any, name: str) -> str:
    card = page.locator(".aurous-card", has=page.locator(".aurous-name", has_text=name))
    return str(card.locator(".aurous-countdown").text_content() or "")


def _keyboard_and_drag(page: Any, shots: Path, tag: str) -> None:
    """Focus ring, Enter/Space, and a drag highlight that survives crossing the prompt."""
    zone = page.locator(".aurous-uploader .aurous-drop")
    unfocused = zone.screenshot(path=str(shots / f"{tag}-zone.png"))
    presses = _tab_to_drop_zone(page)
    print(f"[{tag}] Tab reached the drop zone after {presses} presses")
    focused = zone.screenshot(path=str(shots / f"{tag}-zone-focused.png"))
    assert focused != unfocused, "the focused drop zone looks the same as the unfocused one"
    outline = page.evaluate(
        "() => getComputedStyle(document.querySelector('.aurous-drop')).outlineStyle"
    )
    assert outline == "solid", outline
    assert zone.get_attribute("role") == "button"
    assert "press Enter" in (zone.get_attribute("aria-label") or "")

    # dragenter on the zone, dragenter on the prompt inside it, dragleave from the zone (what
    # crossing the prompt text sends): the highlight stays until the pointer leaves the zone
    highlighted = page.evaluate(
        """() => {
            const zone = document.querySelector('.aurous-drop');
            const child = zone.querySelector('strong');
            const fire = (node, type) => node.dispatchEvent(
                new DragEvent(type, {bubbles: true, cancelable: true,
                                     dataTransfer: new DataTransfer()}));
            const seen = [];
            fire(zone, 'dragenter'); seen.push(zone.classList.contains('aurous-over'));
            fire(child, 'dragenter'); fire(zone, 'dragleave');
            seen.push(zone.classList.contains('aurous-over'));
            fire(child, 'dragleave'); seen.push(zone.classList.contains('aurous-over'));
            return seen;
        }"""
    )
    assert highlighted == [True, True, False], highlighted


def _exercise_uploader(
    page: Any, server: JupyterServer, files: list[Path], shots: Path, tag: str
) -> str:
    """The whole user story in one front end; returns the created character's id."""
    dialogs: list[str] = []
    errors: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    # intercept file choosers from the start: one only asked for at the key press can lose
    # the race with the picker the press opens (Chromium then shows none, headless)
    page.on("filechooser", lambda _chooser: None)
    # errors thrown by this project's browser code (anywidget loads it from a blob: URL);
    # the front end's own are printed (Notebook 7 throws one reading its settings schema)
    page.on(
        "pageerror",
        lambda e: errors.append(str(e)) if "blob:" in (e.stack or "") else print("page:", e),
    )
    open_notebook(page, server, "uploader.ipynb")

    run_cell(page, 0)
    page.locator(".aurous-uploader .aurous-drop").wait_for(timeout=60_000)
    # the no-JS fallback is hidden as soon as the drop zone's code runs
    page.locator(".aurous-uploader .aurous-nojs").wait_for(state="hidden", timeout=10_000)
    _keyboard_and_drag(page, shots, tag)

    # Enter on the focused zone opens the picker; the files go in through it
    page.locator(".aurous-drop").focus()
    assert "aurous-drop" in _active(page), _active(page)
    started = time.monotonic()
    with page.expect_file_chooser(timeout=5_000) as chooser:
        page.keyboard.press("Enter")
    chooser.value.set_files([str(p) for p in files])
    # a card per file at once (before the kernel has the bytes)
    _wait(page, "document.querySelectorAll('.aurous-card').length === 6", 5_000, "six cards")

    # the text file is refused, and its error is there in full, wrapped, not cut
    notes = page.locator(".aurous-card", has=page.locator(".aurous-name", has_text=NOTES))
    error = notes.locator(".aurous-error")
    error.wait_for(timeout=30_000)
    text = error.text_content() or ""
    assert text == "a text file, not an image — use JPEG, PNG, WebP, HEIC or AVIF", text
    box = error.evaluate(
        "e => ({sw: e.scrollWidth, cw: e.clientWidth, sh: e.scrollHeight, ch: e.clientHeight,"
        " overflow: getComputedStyle(e).textOverflow})"
    )
    assert box["sw"] <= box["cw"] and box["sh"] <= box["ch"] + 1, box
    assert box["overflow"] != "ellipsis"
    assert notes.locator(".aurous-retry").is_hidden()  # nothing to retry: only Remove
    assert notes.locator(".aurous-remove").get_attribute("aria-label") == f"Remove {NOTES}"

    # the slow PUT: its upload-URL countdown ticks in the browser while the kernel sleeps
    # (the one PUT still going once every other card is past its upload: the slow one; a card
    # picked earlier could be a quick PUT about to finish, whose countdown then leaves the URL)
    _wait(
        page,
        """() => {
            const cards = [...document.querySelectorAll('.aurous-card')];
            const before = ['receiving', 'queued', 'checked', 'minted', 'uploading'];
            const sending = cards.filter(c => before.includes(c.dataset.state));
            const countdown = sending.length === 1
                && sending[0].querySelector('.aurous-countdown')?.textContent;
            return !!countdown && /^upload URL expires in 1[45] min \\d+ s$/.test(countdown);
        }""",
        60_000,
        "one card still uploading, with its upload URL countdown",
    )
    run_cell(page, 1)
    busy = page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".jp-InputPrompt")
    assert "*" in (busy.text_content() or "")
    slow = page.evaluate(
        "() => [...document.querySelectorAll('.aurous-card')].find(c => /upload URL/"
        ".test(c.querySelector('.aurous-countdown').textContent))"
        ".querySelector('.aurous-name').textContent"
    )
    before = _countdown_of(page, slow)
    _wait(
        page,
        "([n, t]) => [...document.querySelectorAll('.aurous-card')].some(c =>"
        " c.querySelector('.aurous-name').textContent === n &&"
        " /upload URL/.test(c.querySelector('.aurous-countdown').textContent) &&"
        " c.querySelector('.aurous-countdown').textContent !== t)",
        5_000,
        "the countdown to move",
        arg=[slow, before],
    )
    assert "*" in (busy.text_content() or ""), "the kernel was not busy during the check"
    assert "15 minutes" in (
        page.locator(".aurous-countdown", has_text="upload URL").first.get_attribute("title") or ""
    )
    wait_for_cell_output(page, 1, "slept")

    _wait(
        page,
        "document.querySelectorAll('.aurous-card[data-state=classified]').length === 5",
        120_000,
        "five classified cards",
    )
    print(f"[{tag}] six files sent, five classified in {time.monotonic() - started:.1f} s")
    cards = page.locator(".aurous-card[data-state=classified]")
    for i in range(5):
        card = cards.nth(i)
        name = card.locator(".aurous-name").text_content() or ""
        pose = card.locator(".aurous-pose").text_content() or ""
        assert re.fullmatch(r"\w+ · \d+%", pose), pose
        word = next(p for p in POSES if p in name)
        assert pose.split(" · ")[0] == POSES[word], (name, pose)
        bar = card.locator("[role=progressbar]")
        assert bar.get_attribute("aria-valuenow") == "100"
        assert bar.get_attribute("aria-valuetext") == "classified"
        assert (card.locator(".aurous-thumb img").get_attribute("src") or "").startswith(
            "data:image/"
        )
        countdown = card.locator(".aurous-countdown").text_content() or ""
        assert re.fullmatch(r"upload usable for 2[34] h \d+ min", countdown), countdown
    big = page.locator(".aurous-card", has=page.locator(".aurous-name", has_text="big"))
    notice = big.locator(".aurous-card-notice").text_content() or ""
    assert "MiB" in notice, notice  # the > 10 MiB photo was shrunk, and the card says so
    page.locator(".aurous-uploader").screenshot(path=str(shots / f"{tag}-cards.png"))

    notes.locator(".aurous-remove").click()
    _wait(page, "document.querySelectorAll('.aurous-card').length === 5", 10_000, "five cards")
    button = page.locator(".aurous-uploader button", has_text="Create character")
    assert button.is_enabled()
    button.click()
    result = page.locator(".aurous-result .aurous-character")
    result.wait_for(timeout=30_000)
    character_id = result.get_attribute("data-character-id") or ""
    assert re.fullmatch(r"char_[0-9A-Z]{26}", character_id), character_id
    assert character_id in (result.text_content() or "")
    # the cards stay, marked as in the character; nothing can be removed any more
    _wait(
        page,
        "document.querySelectorAll('.aurous-card.aurous-in-character').length === 5",
        10_000,
        "five cards marked as in the character",
    )
    assert set(page.locator(".aurous-card .aurous-state").all_text_contents()) == {
        "in the character"
    }
    assert page.locator(".aurous-card .aurous-remove:visible").count() == 0
    assert page.locator(".aurous-drop").is_hidden()
    # the live region said so, politely
    region = page.locator(".aurous-uploader [aria-live=polite]")
    assert region.count() == 1
    _wait(
        page,
        "() => /Created Browser Hero/.test("
        "document.querySelector('.aurous-uploader [aria-live=polite]').textContent)",
        5_000,
        "the announcement",
    )
    page.locator(".aurous-uploader").screenshot(path=str(shots / f"{tag}-created.png"))

    run_cell(page, 2)
    wait_for_cell_output(page, 2, f"CHARACTER {character_id}")

    # New character: the cards go, the drop zone and the form come back
    page.locator(".aurous-uploader button", has_text="New character").click()
    _wait(page, "document.querySelectorAll('.aurous-card').length === 0", 10_000, "no cards")
    page.locator(".aurous-drop").wait_for(state="visible", timeout=10_000)
    assert page.locator(".aurous-uploader input[type=text]").first.input_value() == ""
    assert page.locator(".aurous-uploader button", has_text="Create character").is_visible()
    # Space opens the picker as Enter does; cancelled, it adds nothing
    page.locator(".aurous-drop").focus()
    with page.expect_file_chooser(timeout=5_000) as chooser:
        page.keyboard.press(" ")
    chooser.value.set_files([])
    assert page.locator(".aurous-card").count() == 0

    # the review widget of a synthesized character: four thumbnails, then Save
    run_cell(page, 3)
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
    # the records of both widgets are in the page, hidden while the widgets are live
    hidden = page.evaluate(
        "() => [...document.querySelectorAll('[data-aurous-record]')].map(r => r.checkVisibility())"
    )
    assert hidden == [False, False], hidden
    assert dialogs == [] and errors == [], (dialogs, errors)
    return character_id


def test_uploader_in_jupyterlab(
    lab: JupyterServer, browser: Any, photos: list[Path], artifacts: Path
) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, device_scale_factor=1)
    try:
        _exercise_uploader(page, lab, photos, artifacts, "lab")
    except BaseException:
        page.screenshot(path=str(artifacts / "lab-failure.png"), full_page=True)
        raise
    finally:
        page.close()


def test_uploader_in_notebook7(
    notebook7: JupyterServer, browser: Any, photos: list[Path], artifacts: Path, tmp_path: Path
) -> None:
    # one file carries markup in its name: it must show up as text, never as an element
    hostile = tmp_path / XSS_NAME
    hostile.write_bytes(photos[1].read_bytes())
    files = [photos[0], hostile, *photos[2:]]
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, device_scale_factor=1)
    try:
        _exercise_uploader(page, notebook7, files, artifacts, "nb7")
        assert page.locator("img[src='x']").count() == 0
    except BaseException:
        page.screenshot(path=str(artifacts / "nb7-failure.png"), full_page=True)
        raise
    finally:
        page.close()
