"""Phone photos in a real browser: the uploader and ``%%aurous_character`` in JupyterLab 4, a
real kernel behind them, driven through Debian's Chromium.

Files come from the photo factory: a 12 MP portrait stored sideways (EXIF 6) with GPS, a photo
stored upside down (EXIF 3), a 24 MP portrait (EXIF 8, Display P3) that the uploader must
downscale, and a HEIC when pillow-heif can encode one. The test checks, by pixels, that every
thumbnail the page shows is upright, that the cards say what was done ("location removed",
"downscaled…", "converted from HEIC"), and, in the kernel, that the API received no GPS and
upright pictures. The same folder then goes through the magic in the same kernel. Screenshots
of both, in the light and the dark theme, go to ``$AUROUS_TEST_ARTIFACTS``.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests.support import photos as factory
from tests.support.browser import CHROMIUM, JupyterServer, run_cell, start_jupyter
from tests.system.test_browser import _wait as _wait_for_cards

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"{CHROMIUM} is missing (Debian's chromium package; .ci/run installs it)",
    ),
]

REPO = Path(__file__).resolve().parents[2]

SETUP_CELL = """\
from aurous_nb import AurousClient
from aurous_nb.sandbox import Sandbox
from aurous_nb.widgets import CharacterUploader

sandbox = Sandbox(synth_seconds=0).start()
client = AurousClient(api_key=sandbox.api_key, base_url=sandbox.url)
uploader = CharacterUploader(client=client, name="Phone Hero")
uploader"""
CREATE_CELL = "uploader.create()"
CHECK_CELL = f"""\
import json, sys, time
sys.path.insert(0, {str(REPO)!r})
from tests.support import photos
while uploader.status != "created":
    time.sleep(0.1)
got = [client.download_ref(r.url) for r in uploader.character.refs]
print("STORED", json.dumps([[photos.has_gps(d), photos.marker_is_upright(d, transpose=True)]
                            for d in got]))"""
MAGIC_CELL = """\
%load_ext aurous_nb
%aurous_key --sandbox
%config AurousMagics.display_mode = 'html'"""


@pytest.fixture(scope="module")
def roll(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The photos, in a folder with the macOS leftovers a real export has."""
    root = tmp_path_factory.mktemp("roll") / "Camera Roll"
    root.mkdir()
    factory.phone_jpeg(root / "IMG_0001.JPG", size=factory.PHONE_12MP, orientation=6, seed=1)
    factory.phone_jpeg(root / "IMG_0002.JPG", size=(1600, 1200), orientation=3, seed=2)
    factory.phone_jpeg(
        root / "IMG_0004.JPG", size=factory.PHONE_24MP, orientation=8, icc="p3", seed=4
    )
    if factory.heif_encoder_available():
        factory.heic(root / "IMG_0003.HEIC", size=(1200, 900), orientation=6, seed=3)
    (root / "._IMG_0001.JPG").write_bytes(factory.appledouble())
    return root


@pytest.fixture
def lab(tmp_path: Path, artifacts: Path, roll: Path) -> Iterator[JupyterServer]:
    root = tmp_path / "root"
    root.mkdir()
    nb = nbformat.v4.new_notebook()
    magic = f'%%aurous_character "Roll" --downscale\n{roll}'
    nb.cells = [
        nbformat.v4.new_code_cell(s)
        for s in (SETUP_CELL, CREATE_CELL, CHECK_CELL, MAGIC_CELL, magic)
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, root / "photos.ipynb")
    server = start_jupyter("lab", root, tmp_path / "state")
    try:
        yield server
    finally:
        server.stop()
        (artifacts / f"photos-{server.log_path.name}").write_bytes(server.log_path.read_bytes())


def _thumbnails(area: Any) -> list[bytes]:
    """The data-URI images inside a locator's elements, decoded."""
    srcs = area.evaluate_all("els => els.map(i => i.getAttribute('src') || '')")
    return [base64.b64decode(s.split(",", 1)[1]) for s in srcs if s.startswith("data:image/")]


def _theme(page: Any, dark: bool) -> None:
    """Switch JupyterLab's theme as a person does: Settings → Theme → JupyterLab Dark/Light."""
    name = "JupyterLab Dark" if dark else "JupyterLab Light"
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel", has_text="Theme").first.hover()
    page.locator(".lm-Menu-itemLabel", has_text=name).first.click()
    page.wait_for_function(
        "d => document.body.dataset.jpThemeLight === (d ? 'false' : 'true')",
        arg=dark,
        timeout=15_000,
    )
    page.wait_for_timeout(500)  # the theme's stylesheet is applied after the attribute


def test_phone_photos_in_jupyterlab(
    lab: JupyterServer, browser: Any, roll: Path, artifacts: Path
) -> None:
    files = sorted(p for p in roll.iterdir() if not p.name.startswith("."))
    page = browser.new_page(viewport={"width": 1440, "height": 1100}, device_scale_factor=1)
    try:
        page.goto(lab.url("lab/tree/photos.ipynb"))
        page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
        run_cell(page, 0)
        page.locator(".aurous-uploader .aurous-drop").wait_for(timeout=60_000)
        page.set_input_files(".aurous-uploader input.aurous-file-input", [str(p) for p in files])
        n = len(files)
        _wait_for_cards(
            page,
            f"document.querySelectorAll('.aurous-card[data-state=classified]').length === {n}"
            f" && document.querySelectorAll('.aurous-card .aurous-thumb img[src^=\"data:\"]')"
            f".length === {n}",
            180_000,
            f"{n} classified cards with their thumbnails",
        )
        thumbs = _thumbnails(page.locator(".aurous-card .aurous-thumb img"))
        assert len(thumbs) == n and all(map(factory.marker_is_upright, thumbs))
        notices = {
            page.locator(".aurous-card").nth(i).locator(".aurous-name").text_content(): (
                page.locator(".aurous-card").nth(i).locator(".aurous-card-notice").text_content()
                or ""
            )
            for i in range(n)
        }
        assert notices["IMG_0001.JPG"] == "location removed"
        assert notices["IMG_0004.JPG"].startswith("downscaled from 4284×5712 to 3072×4096")
        if "IMG_0003.HEIC" in notices:
            assert notices["IMG_0003.HEIC"].startswith("converted from HEIC")
        for dark in (False, True):
            _theme(page, dark)
            page.locator(".aurous-uploader").screenshot(
                path=str(artifacts / f"photos-uploader-{'dark' if dark else 'light'}.png")
            )
        _theme(page, False)

        run_cell(page, 1)
        run_cell(page, 2)
        out = page.locator(".jp-Notebook .jp-Cell").nth(2).locator(".jp-OutputArea-output")
        out.filter(has_text="STORED").wait_for(timeout=60_000)
        stored = json.loads(re.search(r"STORED (.*)", out.text_content() or "").group(1))  # type: ignore[union-attr]
        assert stored == [[False, True]] * n  # no GPS reached the API, every picture upright

        run_cell(page, 3)
        run_cell(page, 4)
        cell = page.locator(".jp-Notebook .jp-Cell").nth(4)
        cell.locator(".jp-OutputArea-output", has_text="ready").first.wait_for(timeout=120_000)
        html = cell.locator(".jp-OutputArea-output").first.inner_html()
        assert "skipped 1 macOS ._ file" in html and "location removed" in html
        assert "3024×4032, stored rotated" in html
        shown = _thumbnails(cell.locator(".aurous-ref img"))
        assert len(shown) == n and all(map(factory.marker_is_upright, shown))
        for dark in (False, True):
            _theme(page, dark)
            cell.locator(".jp-OutputArea").screenshot(
                path=str(artifacts / f"photos-magic-{'dark' if dark else 'light'}.png")
            )
    except BaseException:
        page.screenshot(path=str(artifacts / "photos-failure.png"), full_page=True)
        raise
    finally:
        page.close()
