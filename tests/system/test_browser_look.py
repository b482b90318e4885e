"""How the outputs read, measured in a real browser: every text node of ours at 4.5:1 or more.

JupyterLab 4 and Notebook 7, each in JupyterLab Light and JupyterLab Dark, show the uploader
(classified cards, a refused file with its error, a downscale notice, a coverage hint), the
``%%aurous_character`` live output with its character card, a ``--dry-run`` plan and the
review widget. For every visible text node under them the contrast of its computed colour
against the colour behind it is measured (``tests/support/contrast.js``, WCAG 2 ratio; text of
inactive controls is exempt, as WCAG has it). The same outputs converted with
nbconvert's ``basic`` HTML template (no ``--jp-*`` variables: the fallbacks) are measured too.

The uploader's picture in each theme goes to ``$AUROUS_TEST_ARTIFACTS``; with
``AUROUS_UPDATE_SCREENSHOT=1`` the JupyterLab ones also refresh ``docs/`` (the README's).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import (
    CHROMIUM,
    open_notebook,
    run_cell,
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
OURS = (
    ".aurous-uploader, .aurous-review, .aurous-flow, .aurous-character, .aurous-plan, "
    ".aurous-record"
)

SETUP = """\
%load_ext aurous_nb
%aurous_key --sandbox --synth-seconds 0
from aurous_nb import CharacterUploader, SynthesisReview, samples
from aurous_nb.magics import current_client
client = current_client()"""
UPLOADER = """\
uploader = CharacterUploader(name="Contrast Cleo")
uploader.add(*PHOTOS)
uploader"""
MAGIC = """\
%%aurous_character "Magic Milo"
{front}
{side}"""
PLAN = """\
%%aurous_character "Plan Pia" --dry-run
{front}
{notes}"""
REVIEW = """\
nova = client.create_character("Nova Look", generate=True, attributes={"hair_color": "red"})
SynthesisReview(nova)"""


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from tests.support.photos import phone_jpeg

    d = tmp_path_factory.mktemp("look")
    out = {
        "front": phone_jpeg(d / "cleo_front.jpg", size=(2400, 1800), orientation=1, seed=21),
        "side": phone_jpeg(d / "cleo_side.jpg", size=(2400, 1800), orientation=6, seed=22),
        "back": phone_jpeg(d / "cleo_back.jpg", size=(2400, 1800), orientation=3, seed=23),
        # over 4096 px: the uploader shrinks it, and its card says so
        "big": phone_jpeg(d / "cleo_portrait_big.jpg", size=(5712, 4284), seed=24),
    }
    notes = d / "notes_front.jpg"
    notes.write_text("not a photo at all: the shopping list\n" * 20)
    out["notes"] = notes
    return out


def _cells(photos: dict[str, Path]) -> list[str]:
    files = [photos[k] for k in ("front", "side", "back", "big", "notes")]
    return [
        SETUP + f"\nPHOTOS = {[str(p) for p in files]!r}",
        UPLOADER,
        MAGIC.format(front=photos["front"], side=photos["side"]),
        PLAN.format(front=photos["front"], notes=photos["notes"]),
        REVIEW,
    ]


def _report(result: dict[str, Any]) -> str:
    lines = [
        f"  {f['ratio']:>5}  {f['text']!r} ({f['where']}; {f['color']} on {f['background']})"
        for f in result["failures"][:20]
    ]
    return f"{len(result['failures'])} of {result['checked']} text nodes below 4.5:1\n" + "\n".join(
        lines
    )


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("kind", ["lab", "notebook"])
def test_every_text_of_ours_has_contrast(
    kind: str,
    theme: str,
    browser: Any,
    photos: dict[str, Path],
    tmp_path: Path,
    artifacts: Path,
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    write_notebook(root / "look.ipynb", _cells(photos))
    server = start_jupyter(kind, root, tmp_path / "state", theme=theme)
    page = browser.new_page(viewport={"width": 1280, "height": 1000}, device_scale_factor=1)
    tag = f"{kind}-{theme}"
    try:
        open_notebook(page, server, "look.ipynb")
        run_cell(page, 0)
        wait_for_cell_output(page, 0, "sandbox", timeout_ms=60_000)
        run_cell(page, 1)
        page.wait_for_function(
            "document.querySelectorAll('.aurous-card[data-state=classified]').length === 4"
            " && document.querySelector('.aurous-card.aurous-failed')",
            timeout=90_000,
        )
        # the big photo's card says it was shrunk
        page.locator(".aurous-card-notice", has_text="downscaled").wait_for(timeout=30_000)
        for i in (2, 3, 4):
            run_cell(page, i)
        # the magic's character card: the cell's result, under its live output
        magic = page.locator(".jp-Notebook .jp-Cell").nth(2)
        magic.locator(".aurous-flow").wait_for(timeout=60_000)
        magic.locator(".aurous-character").wait_for(timeout=60_000)
        page.locator(".aurous-plan").wait_for(timeout=30_000)
        page.locator(".aurous-review .aurous-refs img").nth(3).wait_for(timeout=30_000)
        page.locator(".aurous-card .aurous-countdown").first.hover()  # a hover state too

        result = text_contrast(page, OURS)
        print(f"[{tag}] {result['checked']} text nodes measured")
        assert result["checked"] > 60, result
        assert not result["failures"], _report(result)

        shot = page.locator(".aurous-uploader").screenshot()
        (artifacts / f"look-{tag}-uploader.png").write_bytes(shot)
        page.screenshot(path=str(artifacts / f"look-{tag}.png"), full_page=True)
        if kind == "lab" and os.environ.get("AUROUS_UPDATE_SCREENSHOT") == "1":
            save_screenshot(DOCS / f"screenshot-uploader-{theme}.png", shot)
            magic = page.locator(".aurous-flow").first.screenshot()
            save_screenshot(DOCS / f"screenshot-magic-{theme}.png", magic)
    except BaseException:
        page.screenshot(path=str(artifacts / f"look-{tag}-failure.png"), full_page=True)
        raise
    finally:
        page.close()
        server.stop()


def test_static_html_reads_well_without_the_theme(
    browser: Any, photos: dict[str, Path], tmp_path: Path, artifacts: Path
) -> None:
    """The same notebook through nbconvert's ``basic`` template (no stylesheet, no ``--jp-*``
    variables, as a bare static page has): the fallbacks alone."""
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    nb = nbformat.v4.new_notebook()
    cells = _cells(photos)
    # the uploader is driven from code here: no browser is sending files
    cells[1] = """\
import time
uploader = CharacterUploader(name="Static Sam")
display(uploader)
uploader.add(*PHOTOS[:4])
while len(uploader.cards) < 4 or any(c["state"] not in ("classified", "failed")
                                     for c in uploader.cards):
    time.sleep(0.05)
uploader.create()
while uploader.status != "created":
    time.sleep(0.05)"""
    nb.cells = [nbformat.v4.new_code_cell(c) for c in [*cells, "time.sleep(0.5)"]]
    NotebookClient(nb, timeout=180, kernel_name="python3", allow_errors=True).execute()
    html, _ = HTMLExporter(template_name="basic").from_notebook_node(nb)
    path = tmp_path / "look.html"
    path.write_text(html, "utf-8")
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        page.goto(path.as_uri())
        page.locator(".aurous-record .aurous-character").first.wait_for(timeout=10_000)
        result = text_contrast(page, OURS)
        page.screenshot(path=str(artifacts / "look-static-html.png"), full_page=True)
        assert result["checked"] > 40, result
        assert not result["failures"], _report(result)
        assert "Static Sam" in page.locator(".aurous-record").first.inner_text()
    finally:
        page.close()
