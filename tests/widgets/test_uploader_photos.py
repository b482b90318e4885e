"""Phone photos through the uploader, headless: the browser's messages played exactly as
ipykernel delivers them, the real sandbox behind. Thumbnails upright by their pixels, sizes as
seen, HEIC converted, the location removed unless ``keep_metadata``, oversize shrunk upright."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from aurous_nb.client import AurousClient
from aurous_nb.sandbox import Sandbox
from aurous_nb.widgets import CharacterUploader
from tests.support import photos
from tests.widgets.helpers import RecordingComm, card, send_file, wait_cards


def thumb_of(u: CharacterUploader, file_id: str) -> bytes:
    uri = u.dropzone.thumbs[file_id]
    return base64.b64decode(uri.split(",", 1)[1])


def stored(api: AurousClient, character: object) -> list[bytes]:
    return [api.download_ref(ref.url) for ref in character.refs]  # type: ignore[attr-defined]


def test_phone_photos_in_the_uploader(
    client: AurousClient, comms: list[RecordingComm], aurous_sandbox: Sandbox, tmp_path: Path
) -> None:
    portrait = photos.phone_jpeg(tmp_path / "IMG_0001.JPG", size=(800, 500), orientation=6)
    big = photos.phone_jpeg(
        tmp_path / "IMG_5712.JPG", size=photos.PHONE_24MP, orientation=8, icc="p3", seed=2
    )
    files = [("a", portrait), ("b", big)]
    if photos.heif_encoder_available():
        files.append(("c", photos.heic(tmp_path / "IMG_0003.HEIC", size=(640, 480), orientation=6)))
    u = CharacterUploader(client=client, name="Phone")
    try:
        for file_id, path in files:
            send_file(u, file_id, path.name, path.read_bytes())
        wait_cards(
            u,
            lambda: (
                all(card(u, i)["state"] == "classified" for i, _ in files)
                and all(i in u.dropzone.thumbs for i, _ in files)
            ),
            "every photo classified with its thumbnail",
        )
        a, b = card(u, "a"), card(u, "b")
        assert a["pixels"] == "500×800, stored rotated" and a["notice"] == "location removed"
        assert b["pixels"] == "3072×4096"  # re-encoded upright: no longer stored rotated
        assert b["notice"].startswith("downscaled from 4284×5712 to 3072×4096 (")
        if len(files) == 3:
            c = card(u, "c")
            assert c["pixels"] == "480×640" and c["notice"].startswith("converted from HEIC")
        for file_id, _ in files:
            assert photos.marker_is_upright(thumb_of(u, file_id))
        u.create()
        wait_cards(u, lambda: u.status == "created", "created")
        character = u.character
        assert character is not None and len(character.refs) == len(files)
        for data in stored(client, character):
            assert not photos.has_gps(data)
            assert photos.marker_is_upright(data, transpose=True)
        assert photos.icc_description(stored(client, character)[1]) == "Display P3"
    finally:
        u.close()


@pytest.mark.parametrize("how", ["argument", "trait"])
def test_keep_metadata_in_the_uploader(
    client: AurousClient, comms: list[RecordingComm], tmp_path: Path, how: str
) -> None:
    path = photos.phone_jpeg(tmp_path / "front.jpg", size=(800, 500), orientation=6)
    u = CharacterUploader(client=client, name="Kept", keep_metadata=how == "argument")
    try:
        if how == "trait":
            u.set_state({"keep_metadata": True})  # as the browser's checkbox sets it
        assert u.keep_metadata and u.flow.keep_metadata
        send_file(u, "a", path.name, path.read_bytes())
        wait_cards(u, lambda: card(u, "a")["state"] == "classified", "classified")
        assert card(u, "a")["notice"] == ""
        u.create()
        wait_cards(u, lambda: u.status == "created", "created")
        assert stored(client, u.character) == [path.read_bytes()]
    finally:
        u.close()
