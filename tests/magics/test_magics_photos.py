"""Phone photos through ``%%aurous_character`` in a real InteractiveShell against the sandbox:
upright thumbnails in the live output, what the API receives, folders that say what they
skipped, HEIC converted, --keep-metadata, fix texts in magic words, URL lines."""

from __future__ import annotations

import base64
import http.server
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.utils.capture import capture_output

from aurous_nb.client import AurousClient
from aurous_nb.magics import AurousMagicError, AurousMagics
from aurous_nb.sandbox import Sandbox
from tests.support import photos
from tests.support.sandbox import route_log
from tests.support.shell import TestingShell, ip_fixture, magics_fixture, use_key  # noqa: F401


@pytest.fixture
def keyed(ip: TestingShell, magics: AurousMagics, aurous_sandbox: Sandbox) -> Sandbox:
    use_key(ip, aurous_sandbox)
    ip.run_cell("%config AurousMagics.display_mode = 'html'")
    aurous_sandbox.clear_log()
    return aurous_sandbox


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A phone export: a portrait JPG stored sideways with GPS, a JPG, a HEIC (when one can be
    made), and the files macOS and people leave beside them."""
    root = tmp_path / "Trip 2024"
    root.mkdir()
    photos.phone_jpeg(root / "IMG_0001.JPG", size=(800, 500), orientation=6, seed=1)
    photos.phone_jpeg(root / "IMG_0002.jpeg", size=(800, 500), orientation=3, seed=2)
    if photos.heif_encoder_available():
        photos.heic(root / "IMG_0003.HEIC", size=(640, 480), orientation=8, seed=3)
    (root / "._IMG_0001.JPG").write_bytes(photos.appledouble())
    (root / ".DS_Store").write_bytes(b"\0\0\0\x01Bud1" + b"\0" * 64)
    (root / "notes.txt").write_text("the blue jacket")
    return root


def thumbnails(markup: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/\w+;base64,([^"]+)"', markup)]


def stored(client: AurousClient, character: object) -> list[bytes]:
    return [client.download_ref(ref.url) for ref in character.refs]  # type: ignore[attr-defined]


def test_a_phone_folder_through_the_magic(
    ip: TestingShell, keyed: Sandbox, folder: Path, client: AurousClient
) -> None:
    heic = (folder / "IMG_0003.HEIC").exists()
    with capture_output() as cap:
        result = ip.run_cell(f'%%aurous_character "Trip"\n{folder}')
    character = result.result
    assert len(character.refs) == (3 if heic else 2)
    final = cap.outputs[-1].data
    html, text = final["text/html"], final["text/plain"]
    # the folder line's one note, in the live output
    assert "skipped 1 macOS ._ file (AppleDouble metadata, not images); 1 hidden file " in text
    assert "notes.txt (not JPEG, PNG, WebP, HEIC or AVIF)" in html
    # every thumbnail upright by its pixels; sizes as seen, and how they are stored
    thumbs = thumbnails(html)
    assert len(thumbs) == len(character.refs) and all(map(photos.marker_is_upright, thumbs))
    assert "500×800, stored rotated" in html and "800×500, stored rotated" in html
    assert "location removed" in html
    if heic:
        assert "converted from HEIC" in html and "480×640" in html
    for data in stored(client, character):
        assert not photos.has_gps(data) and photos.marker_is_upright(data, transpose=True)
    assert character.refs[0].pose == "front"  # the sideways-stored portrait is seen tall


def test_keep_metadata_flag(
    ip: TestingShell, keyed: Sandbox, tmp_path: Path, client: AurousClient
) -> None:
    path = photos.phone_jpeg(tmp_path / "front.jpg", size=(800, 500), orientation=6)
    result = ip.run_cell(f'%%aurous_character "Kept" --keep-metadata\n{path}')
    assert stored(client, result.result) == [path.read_bytes()]
    result = ip.run_cell(f'%%aurous_character "Trimmed"\n{path}')
    (data,) = stored(client, result.result)
    assert not photos.has_gps(data) and len(data) == path.stat().st_size


def test_fix_texts_name_the_magic_flags(ip: TestingShell, keyed: Sandbox, tmp_path: Path) -> None:
    path = photos.phone_jpeg(tmp_path / "IMG_5712.JPG", size=photos.PHONE_24MP, orientation=6)
    with pytest.raises(AurousMagicError) as info:
        ip.run_cell(f'%%aurous_character "Big"\n{path}')
    message = str(info.value)
    assert "4284×5712 px (stored rotated) is larger than 4096 px per side" in message
    assert "add --downscale" in message and "downscale=True" not in message
    assert route_log(keyed) == []
    with capture_output() as cap:
        result = ip.run_cell(f'%%aurous_character "Big" --downscale\n{path}')
    assert result.result.status == "ready"
    (thumb,) = thumbnails(cap.outputs[-1].data["text/html"])
    assert photos.marker_is_upright(thumb)
    assert "downscaled from 4284×5712 to 3072×4096" in cap.outputs[-1].data["text/html"]


def test_dry_run_shows_upright_thumbnails_and_finds_damage(
    ip: TestingShell, magics: AurousMagics, aurous_sandbox: Sandbox, tmp_path: Path
) -> None:
    from tests.images.test_photos import damaged_inside

    ip.run_cell("%config AurousMagics.display_mode = 'html'")
    good = photos.phone_jpeg(tmp_path / "IMG_1.JPG", size=(800, 500), orientation=8)
    bad = tmp_path / "IMG_2.JPG"
    bad.write_bytes(
        damaged_inside(photos.phone_jpeg(tmp_path / "x.jpg", size=(800, 500)).read_bytes())
    )
    with capture_output() as cap, pytest.raises(AurousMagicError, match="IMG_2.JPG: cannot be"):
        ip.run_cell(f'%%aurous_character "Plan" --dry-run\n{good}\n{bad}')
    (out,) = cap.outputs
    assert (
        "1. IMG_1.JPG  jpeg" in out.data["text/plain"]
        and "500×800, stored rotated" in out.data["text/plain"]
    )
    assert "✗ IMG_2.JPG: cannot be decoded as JPEG" in out.data["text/plain"]
    (thumb,) = thumbnails(out.data["text/html"])
    assert photos.marker_is_upright(thumb)
    assert aurous_sandbox.requests == []


class _Photos(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def photo_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    (root / "p").mkdir(parents=True)
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a: _Photos(*a, directory=os.fspath(root))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


def test_url_lines_with_progress_and_names(
    ip: TestingShell, keyed: Sandbox, photo_server: tuple[str, Path]
) -> None:
    url, root = photo_server
    photos.phone_jpeg(root / "p" / "IMG_7.JPG", size=(800, 500), orientation=6, seed=7)
    (root / "p" / "800").mkdir()
    photos.phone_jpeg(root / "p" / "800" / "600", size=(600, 600), seed=8)  # no word in the path
    with capture_output() as cap:
        result = ip.run_cell(
            f'%%aurous_character "Web"\n{url}/p/IMG_7.JPG?token=SECRET\n{url}/p/800/600'
        )
    character = result.result
    assert len(character.refs) == 2
    first = cap.outputs[0].data["text/plain"]
    assert first.startswith("downloading 2 images") and "SECRET" not in first
    shown = "\n".join(o.data["text/plain"] for o in cap.outputs)
    assert "SECRET" not in shown and "downloaded" in shown
    final = cap.outputs[-1].data["text/html"]
    assert "IMG_7.JPG" in final and "500×800, stored rotated" in final
    assert all(map(photos.marker_is_upright, thumbnails(final)))
    names = {t.filename for t in keyed.state.tickets.values()}
    assert names == {"IMG_7.JPG", "image-2.jpg"}


def test_a_pil_image_from_a_phone_jpeg_uploads_the_jpeg(
    ip: TestingShell, keyed: Sandbox, tmp_path: Path, client: AurousClient
) -> None:
    """``{phone}`` (a PIL image opened from a 4 MB JPEG) is sent as that JPEG, not as a PNG
    several times its size that the limit would refuse."""
    from PIL import Image

    path = photos.phone_jpeg(tmp_path / "IMG_0042.JPG", size=photos.PHONE_12MP, orientation=6)
    ip.user_ns["phone"] = Image.open(path)
    with capture_output() as cap:
        result = ip.run_cell('%%aurous_character "Phone" --downscale\n{phone}')
    (data,) = stored(client, result.result)
    assert data == strip_via_check(path)
    html = cap.outputs[-1].data["text/html"]
    assert "3024×4032, stored rotated" in html and "downscaled" not in html
    assert {t.content_type for t in keyed.state.tickets.values()} == {"image/jpeg"}


def strip_via_check(path: Path) -> bytes:
    from aurous_nb.images._metadata import strip_location

    return strip_location(path.read_bytes(), "jpeg")
