"""The character gallery in a real browser: JupyterLab 4, in JupyterLab Light and JupyterLab Dark.

A notebook makes 60 characters in the sandbox (each with one drawn reference image) and shows
``CharacterGallery()``. In the page: the first page is 24 cards, each with a thumbnail that
decoded; Tab reaches a card's Open button and Enter opens it; every visible text node of the
gallery is at 4.5:1 or more in both themes (``tests/support/contrast.js``); "Load more" twice
shows all 60 and goes away; a card opened with its Open button is deleted with two clicks on
Delete (the first asks to click again) and leaves 59 cards. The saved ``.ipynb`` keeps the
gallery's record: the 59 names, not the deleted one.

One server for both themes: the theme is switched from JupyterLab's Settings menu, as a person
does, with the gallery live on the page. Pictures of the gallery in each theme go to
``$AUROUS_TEST_ARTIFACTS``; with ``AUROUS_UPDATE_SCREENSHOT=1`` they also refresh ``docs/``.
"""

from __future__ import annotations

import os
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests.support.browser import (
    CHROMIUM,
    THEMES,
    open_notebook,
    run_cell,
    save_notebook,
    save_screenshot,
    start_jupyter,
    text_contrast,
    wait_for_cell_output,
    write_notebook,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing"),
]

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"

FIRST = ["Ada", "Bo", "Cleo", "Dax", "Edda", "Finn", "Gus", "Hana", "Ivo", "Juno", "Kai", "Lumi"]
ROLES = ["Pilot", "Baker", "Ranger", "Medic", "Scout"]
NAMES = [f"{first} the {role}" for role in ROLES for first in FIRST]
"""The 60 characters, oldest first (the gallery shows the newest first)."""

MAKE = """\
%load_ext aurous_nb
%aurous_key --sandbox --synth-seconds 0
import colorsys, io
from PIL import Image, ImageDraw
from aurous_nb.magics import current_client

client = current_client()
# each character takes three requests of the create class (mint, classify, create): make
# room for 60 in the sandbox behind %aurous_key --sandbox and in the client's own limiter
sandbox = get_ipython().magics_manager.registry["AurousMagics"].sandbox
sandbox.set_bucket("characters_post", 1000, 6000)
client.rate_limiter.set_bucket("characters_post", 1000, 6000)

def figure(i):
    r, g, b = colorsys.hsv_to_rgb(i / 60, 0.35, 0.95)
    image = Image.new("RGB", (96, 128), (int(r * 255), int(g * 255), int(b * 255)))
    draw = ImageDraw.Draw(image)
    draw.ellipse((33, 14, 63, 44), fill=(60, 44, 36))
    draw.rectangle((30, 48, 66, 96), fill=(40, 70, 110))
    draw.rectangle((34, 96, 46, 122), fill=(30, 30, 30))
    draw.rectangle((50, 96, 62, 122), fill=(30, 30, 30))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()

NAMES = {names!r}
for i, name in enumerate(NAMES):
    ticket = client.upload(figure(i), filename=name.split()[0].lower() + "_front.png")
    client.classify_upload(ticket.upload_id)
    client.create_character(name, upload_ids=[ticket.upload_id])
print("MADE", len(NAMES))"""
SHOW = """\
from aurous_nb import CharacterGallery
gallery = CharacterGallery()
gallery"""

CARDS = ".aurous-gallery .aurous-gallery-card"
DETAIL = ".aurous-gallery .aurous-gallery-detail"

# every card of the grid has an <img> whose data: URI decoded, and there are `n` cards
THUMBS_DECODED = """n => {
    const cards = [...document.querySelectorAll('.aurous-gallery .aurous-gallery-card')];
    return cards.length === n && cards.every(card => {
        const img = card.querySelector('img');
        return !!img && img.src.startsWith('data:image/') && img.complete && img.naturalWidth > 0;
    });
}"""


def _report(result: dict[str, Any]) -> str:
    lines = [
        f"  {f['ratio']:>5}  {f['text']!r} ({f['where']}; {f['color']} on {f['background']})"
        for f in result["failures"][:20]
    ]
    return f"{len(result['failures'])} of {result['checked']} text nodes below 4.5:1\n" + "\n".join(
        lines
    )


def _card_box(page: Any, character_id: str) -> Any:
    """The grid's box of one card: its HTML and its Open button."""
    card = page.locator(f'.aurous-gallery-card[data-character-id="{character_id}"]')
    return page.locator(".aurous-gallery .widget-box > .widget-vbox").filter(has=card)


def _card_ids(page: Any) -> list[str]:
    return [
        str(i) for i in page.locator(CARDS).evaluate_all("cs => cs.map(c => c.dataset.characterId)")
    ]


def _count_text(page: Any) -> str:
    """The gallery's "N characters" line."""
    return str(
        page.locator(".aurous-gallery .widget-html", has_text="character").first.inner_text()
    )


def _use_theme(page: Any, theme: str) -> None:
    """Pick the theme from JupyterLab's Settings → Theme menu; wait until it is applied."""
    name = THEMES[theme]
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel", has_text="Theme").first.hover()
    page.locator(".lm-Menu-itemLabel", has_text=name).first.click()
    page.wait_for_function(
        "name => document.body.dataset.jpThemeName === name",
        arg=name,
        timeout=30_000,
    )
    # the theme's stylesheet is in: the cards' surface is dark or light as the theme is
    page.wait_for_function(
        """dark => {
            const card = document.querySelector('.aurous-gallery .aurous-gallery-card');
            const [r, g, b] = getComputedStyle(card).backgroundColor.match(/\\d+/g).map(Number);
            return dark ? r + g + b < 200 : r + g + b > 600;
        }""",
        arg=theme == "dark",
        timeout=30_000,
    )


def _whole(page: Any, element: Any) -> bytes:
    """A picture of all of ``element``: the notebook scrolls inside the window, so the window
    is made tall enough to hold it for the shot."""
    viewport = page.viewport_size
    box = element.bounding_box()
    page.set_viewport_size({"width": viewport["width"], "height": int(box["height"]) + 300})
    try:
        element.scroll_into_view_if_needed()
        return bytes(element.screenshot())
    finally:
        page.set_viewport_size(viewport)


def _top(png: bytes, height: int) -> bytes:
    """The top ``height`` pixels of a screenshot."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        out = io.BytesIO()
        image.crop((0, 0, image.width, min(height, image.height))).save(out, "PNG", optimize=True)
    return out.getvalue()


def _keyboard_opens_a_card(page: Any) -> str:
    """From the name filter, Tab to the first Open button a card has; Enter opens it."""
    page.locator(".aurous-gallery input[placeholder='part of a name']").click()
    focused = None
    for _press in range(8):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => {
                const el = document.activeElement;
                if (!el || el.tagName !== 'BUTTON' || el.textContent.trim() !== 'Open') return null;
                const box = el.closest('.widget-vbox');
                const card = box && box.querySelector('.aurous-gallery-card');
                return card ? card.dataset.characterId : null;
            }"""
        )
        if focused:
            break
    assert focused, "Tab never reached a card's Open button"
    page.keyboard.press("Enter")
    page.locator(f'{DETAIL}[data-character-id="{focused}"]').wait_for(timeout=15_000)
    return str(focused)


class _RecordRows(HTMLParser):
    """The table rows (their cells' text) inside the ``data-aurous-record`` element."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.records = 0
        self._depth = 0  # open elements inside a record
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._depth:
            self._depth += 1
        elif any(k == "data-aurous-record" for k, _ in attrs):
            self.records += 1
            self._depth = 1
            return
        if not self._depth:
            return
        if tag == "tr":
            self.rows.append([])
        elif tag == "td" and self.rows:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if not self._depth:
            return
        self._depth -= 1
        if tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _saved_record_names(path: Path, cell: int) -> list[str]:
    """The names in the gallery's record, as the saved notebook keeps it."""
    saved = nbformat.read(path, as_version=4)
    html = [
        o["data"]["text/html"]
        for o in saved.cells[cell].outputs
        if "data-aurous-record" in o.get("data", {}).get("text/html", "")
    ]
    assert len(html) == 1, f"expected one record output, got {len(html)}"
    parser = _RecordRows()
    parser.feed(html[0])
    assert parser.records == 1
    return [row[0] for row in parser.rows if row]  # the header row has <th>s only


def test_gallery_pages_opens_deletes_and_reads_well_in_both_themes(
    browser: Any, tmp_path: Path, artifacts: Path
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    path = write_notebook(root / "gallery.ipynb", [MAKE.format(names=NAMES), SHOW])
    server = start_jupyter("lab", root, tmp_path / "state", theme="light")
    page = browser.new_page(viewport={"width": 1280, "height": 1000}, device_scale_factor=1)
    contrast: dict[str, list[dict[str, Any]]] = {"light": [], "dark": []}
    update_docs = os.environ.get("AUROUS_UPDATE_SCREENSHOT") == "1"
    try:
        open_notebook(page, server, "gallery.ipynb")
        run_cell(page, 0)
        wait_for_cell_output(page, 0, "MADE 60", timeout_ms=120_000)
        run_cell(page, 1)

        # the first page: 24 cards, newest first, each with a thumbnail that decoded
        page.wait_for_function(THUMBS_DECODED, arg=24, timeout=60_000)
        shown = [str(t) for t in page.locator(f"{CARDS} > div:nth-of-type(1)").all_inner_texts()]
        assert shown == NAMES[::-1][:24]
        assert "24 characters (more below)" in _count_text(page)
        load_more = page.locator(".aurous-gallery button", has_text="Load more")
        assert load_more.is_visible()
        opens = page.locator(".aurous-gallery .widget-box > .widget-vbox button", has_text="Open")
        assert opens.evaluate_all("bs => bs.filter(b => b.checkVisibility()).length") == 24

        # the keyboard: Tab reaches an Open button, Enter opens that character
        opened = _keyboard_opens_a_card(page)
        assert opened == _card_ids(page)[0]
        assert NAMES[-1] in page.locator(DETAIL).inner_text()

        output = page.locator(".jp-OutputArea-output").filter(has=page.locator(".aurous-gallery"))
        for theme in ("light", "dark"):
            if theme == "dark":
                _use_theme(page, "dark")
            page.locator(f"{CARDS} img").first.hover()  # a hover state too
            contrast[theme].append(text_contrast(page, ".aurous-gallery", 4.5))
            shot = _whole(page, output)
            (artifacts / f"gallery-{theme}.png").write_bytes(shot)
            if update_docs:  # the README's: the controls, the open character, three rows
                save_screenshot(DOCS / f"screenshot-gallery-{theme}.png", _top(shot, 1100))

        # "Load more" twice: all 60, and no more button
        page.locator(".aurous-gallery button", has_text="Close").click()
        page.locator(DETAIL).wait_for(state="hidden", timeout=15_000)
        load_more.click()
        page.wait_for_function(f"document.querySelectorAll('{CARDS}').length === 48")
        load_more.click()
        page.wait_for_function(THUMBS_DECODED, arg=60, timeout=60_000)
        load_more.wait_for(state="hidden", timeout=15_000)
        assert "60 characters" in _count_text(page)
        ids = _card_ids(page)
        assert len(set(ids)) == 60

        # open one with its Open button; Delete, then Delete again
        deleted = ids[30]
        _card_box(page, deleted).locator("button", has_text="Open").click()
        detail = page.locator(f'{DETAIL}[data-character-id="{deleted}"]')
        detail.wait_for(timeout=15_000)
        assert NAMES[29] in detail.inner_text()
        delete = page.locator(".aurous-gallery button", has_text="Delete")
        delete.click()
        page.locator(".aurous-gallery button", has_text="Click again to delete").wait_for(
            timeout=15_000
        )
        assert page.locator(CARDS).count() == 60  # nothing deleted yet
        contrast["dark"].append(text_contrast(page, ".aurous-gallery", 4.5))
        page.locator(".aurous-gallery button", has_text="Click again to delete").click()
        page.wait_for_function(
            f"document.querySelectorAll('{CARDS}').length === 59", timeout=15_000
        )
        assert deleted not in _card_ids(page)
        page.locator(DETAIL).wait_for(state="hidden", timeout=15_000)
        page.locator(".aurous-gallery .widget-html", has_text="59 characters").wait_for(
            timeout=15_000
        )
        contrast["dark"].append(text_contrast(page, ".aurous-gallery", 4.5))

        # the record under the gallery (hidden while it is live) follows, then is saved
        page.wait_for_function(
            """gone => {
                const record = document.querySelector('[data-aurous-record]');
                return !!record && record.querySelectorAll('tr td:first-child').length === 59
                    && !record.textContent.includes(gone);
            }""",
            arg=deleted,
            timeout=15_000,
        )
        save_notebook(page)
    except BaseException:
        page.screenshot(path=str(artifacts / "gallery-failure.png"), full_page=True)
        raise
    finally:
        page.close()
        server.stop()

    reports = []
    for theme, results in contrast.items():
        for result in results:
            print(f"[gallery-{theme}] {result['checked']} text nodes measured")
            assert result["checked"] > 100, result
            if result["failures"]:
                reports.append(f"{theme}: " + _report(result))
    assert not reports, "\n".join(reports)

    names = _saved_record_names(path, 1)
    assert sorted(names) == sorted(n for n in NAMES if n != NAMES[29])
    assert NAMES[29] not in names
