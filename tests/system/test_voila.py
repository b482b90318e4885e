"""``notebooks/06_app.ipynb`` as an app in Voilà, end to end in Chromium, light and dark.

Voilà (its server extension, as ``voila notebooks/06_app.ipynb`` runs it) executes the
notebook on the sandbox with no key and shows only its widgets. A person picks three phone
photos with the keyboard, names the character, creates it, sees it listed under "Made in this
session", presses New character and makes a second one; both are listed, newest first, and
the team's gallery under them shows both with their thumbnails. No
code and no error shows, and every text node of ours has a contrast of 4.5:1 or more.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import (
    CHROMIUM,
    save_screenshot,
    start_jupyter,
    text_contrast,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing"),
]

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "notebooks" / "06_app.ipynb"
OURS = ".aurous-uploader, .aurous-made, .aurous-gallery"


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    from tests.support.photos import phone_jpeg

    d = tmp_path_factory.mktemp("voila")
    names = ("vera_front", "vera_side", "vera_back", "vic_front", "vic_portrait")
    return [
        phone_jpeg(d / f"{n}.jpg", size=(2000, 1500), orientation=(1, 6, 3, 8, 1)[i], seed=40 + i)
        for i, n in enumerate(names)
    ]


def _make(page: Any, name: str, files: list[Path]) -> str:
    """Pick ``files`` through the keyboard, name the character, create it; return its id."""
    zone = page.locator(".aurous-uploader .aurous-drop")
    zone.wait_for(state="visible", timeout=30_000)
    zone.focus()
    with page.expect_file_chooser(timeout=10_000) as chooser:
        page.keyboard.press("Enter")
    chooser.value.set_files([str(p) for p in files])
    page.wait_for_function(
        "n => document.querySelectorAll('.aurous-card[data-state=classified]').length === n",
        arg=len(files),
        timeout=90_000,
    )
    page.locator(".aurous-uploader input[type=text]").first.fill(name)
    create = page.locator(".aurous-uploader button", has_text="Create character")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.aurous-uploader button')]"
        ".some(b => b.textContent.includes('Create character') && !b.disabled)",
        timeout=10_000,
    )
    create.click()
    card = page.locator(".aurous-result .aurous-character")
    card.wait_for(timeout=30_000)
    assert name in (card.text_content() or "")
    character_id = card.get_attribute("data-character-id") or ""
    assert re.fullmatch(r"char_[0-9A-Z]{26}", character_id), character_id
    return character_id


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_app_makes_characters_one_after_another(
    theme: str,
    browser: Any,
    photos: list[Path],
    tmp_path: Path,
    artifacts: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(APP, root / APP.name)
    monkeypatch.delenv("AUROUS_API_KEY", raising=False)  # the app must run on the sandbox
    monkeypatch.delenv("AUROUS_BASE_URL", raising=False)
    server = start_jupyter("voila", root, tmp_path / "state", theme=theme)
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.on("filechooser", lambda _chooser: None)  # intercept choosers from the start
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)) if "blob:" in (e.stack or "") else None)
    try:
        page.goto(server.url(f"voila/render/{APP.name}"))
        page.locator(".aurous-uploader .aurous-drop").wait_for(timeout=120_000)
        text = page.evaluate("() => document.body.innerText")
        assert "%aurous_key" not in text and "import ipywidgets" not in text  # no code
        assert "Traceback" not in text and "Error" not in text, text[:2000]
        assert "None yet" in page.locator(".aurous-made").inner_text()

        first = _make(page, "Voila Vera", photos[:3])
        made = page.locator(".aurous-made")
        made.locator(f"[data-character-id='{first}']").wait_for(timeout=10_000)
        contrast = text_contrast(page, OURS)
        assert contrast["checked"] > 25, contrast
        assert not contrast["failures"], contrast["failures"]
        page.screenshot(path=str(artifacts / f"voila-{theme}-first.png"), full_page=True)

        page.locator(".aurous-uploader button", has_text="New character").click()
        page.wait_for_function("document.querySelectorAll('.aurous-card').length === 0")
        second = _make(page, "Voila Vic", photos[3:])
        made.locator(f"[data-character-id='{second}']").wait_for(timeout=10_000)
        listed = made.locator(".aurous-character").evaluate_all(
            "cards => cards.map(c => c.dataset.characterId)"
        )
        assert listed == [second, first]  # newest first
        assert "Voila Vic" in made.inner_text() and "Voila Vera" in made.inner_text()
        # the team's gallery under it was refreshed after each: both there, newest first
        gallery = page.locator(".aurous-gallery")
        for character_id in (first, second):
            gallery.locator(
                f".aurous-gallery-card[data-character-id='{character_id}'] img"
            ).wait_for(timeout=15_000)
        in_gallery = gallery.locator(".aurous-gallery-card").evaluate_all(
            "cards => cards.map(c => c.dataset.characterId)"
        )
        assert in_gallery[:2] == [second, first], in_gallery
        page.screenshot(path=str(artifacts / f"voila-{theme}.png"), full_page=True)
        if os.environ.get("AUROUS_UPDATE_SCREENSHOT") == "1":
            save_screenshot(REPO / "docs" / f"screenshot-app-{theme}.png", page.screenshot())
        assert errors == []
    except BaseException:
        page.screenshot(path=str(artifacts / f"voila-{theme}-failure.png"), full_page=True)
        raise
    finally:
        page.close()
        server.stop()
