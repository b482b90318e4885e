"""Phone photos through the Python API, end to end on the sandbox: what the API receives (the
refs' stored bytes, the init filenames, the poses) and what is sent when a check fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from aurous_nb.client import AurousClient
from aurous_nb.errors import ImageCheckError
from aurous_nb.flow import CharacterFlow
from aurous_nb.images._metadata import has_location, read_orientation, strip_location
from aurous_nb.sandbox import Sandbox
from tests.images.test_photos import damaged_inside
from tests.support import photos
from tests.support.sandbox import route_log, routes

SMALL = (800, 500)


def stored(client: AurousClient, character: object) -> list[bytes]:
    """The bytes the API kept for each ref (what was uploaded)."""
    return [client.download_ref(ref.url) for ref in character.refs]  # type: ignore[attr-defined]


def init_filenames(sandbox: Sandbox) -> list[str]:
    return [t.filename for t in sandbox.state.tickets.values()]


def test_portrait_phone_photos_arrive_as_taken(
    aurous_sandbox: Sandbox, client: AurousClient, tmp_path: Path
) -> None:
    paths = [
        photos.phone_jpeg(tmp_path / f"IMG_000{o}.JPG", size=SMALL, orientation=o, seed=o)
        for o in (1, 3, 6, 8)
    ]
    character = client.create_character_from_files("Phone", paths)
    for path, data in zip(paths, stored(client, character), strict=True):
        assert data == strip_location(path.read_bytes(), "jpeg")  # original pixels, no GPS
        assert not has_location(data, "jpeg")
        assert read_orientation(data, "jpeg") == read_orientation(path.read_bytes(), "jpeg")
        assert photos.marker_is_upright(data, transpose=True)
    # the sandbox's classifier sees them upright: portrait-stored-sideways is tall, so "front"
    assert [ref.pose for ref in character.refs] == ["other", "other", "front", "front"]
    assert sorted(init_filenames(aurous_sandbox)) == sorted(p.name for p in paths)


def test_keep_metadata_uploads_the_location(
    aurous_sandbox: Sandbox, client: AurousClient, tmp_path: Path
) -> None:
    path = photos.phone_jpeg(tmp_path / "front.jpg", size=SMALL, orientation=6)
    character = CharacterFlow(client, "Kept", [path], keep_metadata=True).run_sync()
    assert stored(client, character) == [path.read_bytes()]


def test_iphone_folder_of_jpg_and_heic(client: AurousClient, tmp_path: Path) -> None:
    """Two .JPG and three .HEIC make five refs (the HEICs converted), not two."""
    if not photos.heif_encoder_available():
        pytest.skip("pillow-heif with an HEVC encoder is needed to make HEIC files")
    paths = [photos.phone_jpeg(tmp_path / f"IMG_10{i}.JPG", size=SMALL, seed=i) for i in (1, 2)]
    paths += [
        photos.heic(tmp_path / f"IMG_20{i}.HEIC", size=(600, 450), orientation=6, seed=i)
        for i in (1, 2, 3)
    ]
    flow = CharacterFlow(client, "Mixed", paths)
    assert [r.image.notice.split(" (")[0] for r in flow.refs if r.image and r.image.notice] == [
        "location removed",
        "location removed",
        "converted from HEIC",
        "converted from HEIC",
        "converted from HEIC",
    ]
    character = flow.run_sync()
    assert len(character.refs) == 5
    for data in stored(client, character)[2:]:
        assert data[:3] == b"\xff\xd8\xff" and photos.marker_is_upright(data)
        assert not photos.has_gps(data)


def test_downscaled_24mp_arrives_upright_with_its_profile(
    aurous_sandbox: Sandbox, client: AurousClient, tmp_path: Path
) -> None:
    path = photos.phone_jpeg(
        tmp_path / "IMG_5712.JPG", size=photos.PHONE_24MP, orientation=6, icc="p3"
    )
    with pytest.raises(ImageCheckError, match=r"4284×5712 px \(stored rotated\).*downscale=True$"):
        CharacterFlow(client, "Big", [path]).run_sync()
    assert route_log(aurous_sandbox) == []  # refused before any request
    character = client.create_character_from_files("Big", [path], downscale=True)
    (data,) = stored(client, character)
    assert photos.marker_is_upright(data) and photos.exif_orientation(data) == 1
    assert photos.icc_description(data) == "Display P3" and not photos.has_gps(data)


def test_a_cheap_check_failure_sends_nothing(
    aurous_sandbox: Sandbox, client: AurousClient, tmp_path: Path
) -> None:
    good = photos.phone_jpeg(tmp_path / "front.jpg", size=SMALL)
    cut = photos.truncated_jpeg(tmp_path / "side.jpg")
    with pytest.raises(ImageCheckError, match=r"^side\.jpg: cannot be decoded as JPEG"):
        CharacterFlow(client, "Cut", [good, cut]).run_sync()
    assert route_log(aurous_sandbox) == []


def test_damage_inside_costs_an_init_and_a_put_never_a_character(
    aurous_sandbox: Sandbox, client: AurousClient, tmp_path: Path
) -> None:
    """With thumbnails (the magic's and the uploader's flows) the decode runs beside the
    upload, and classify waits for it."""
    good = photos.phone_jpeg(tmp_path / "front.jpg", size=SMALL, seed=1)
    bad = tmp_path / "side.jpg"
    bad.write_bytes(damaged_inside(photos.phone_jpeg(tmp_path / "x.jpg", size=SMALL).read_bytes()))
    flow = CharacterFlow(client, "Rot", [good, bad], thumbnails=True)
    with pytest.raises(ImageCheckError, match=r"^side\.jpg: cannot be decoded as JPEG"):
        flow.run_sync()
    counts = routes(aurous_sandbox)
    assert counts["init"] == 2 and counts["upload"] == 2
    assert counts["classify"] == 1 and counts["create"] == 0  # only the good one classified
    assert flow.refs[0].state == "classified" and flow.refs[0].ticket is not None
    assert flow.refs[0].image is not None and flow.refs[0].image.thumbnail_ready


def test_damage_inside_without_local_decode_is_explained_locally(
    aurous_sandbox: Sandbox, client: AurousClient, tmp_path: Path
) -> None:
    """Without thumbnails nothing is decoded locally; the API refuses the bytes at classify,
    and the error is the same one line the magic gives."""
    bad = tmp_path / "back.jpg"
    bad.write_bytes(damaged_inside(photos.phone_jpeg(tmp_path / "x.jpg", size=SMALL).read_bytes()))
    flow = CharacterFlow(client, "Rot", [bad])
    assert flow.refs[0].image is not None and not flow.refs[0].image.thumbnail_ready
    with pytest.raises(ImageCheckError, match=r"^back\.jpg: cannot be decoded as JPEG"):
        flow.run_sync()
    counts = routes(aurous_sandbox)
    assert counts["classify"] == 1 and counts["create"] == 0


def test_init_filenames_keep_dots_pose_words_and_utf8(
    aurous_sandbox: Sandbox, client: AurousClient, tmp_path: Path
) -> None:
    long = "IMG_20240501_143005_" + "x" * 100 + "_front.jpg"
    names = ["2024.05.01 front.jpg", long, "IMG_0003.HEIC", "take #2.jpg", "front [1].jpg"]
    if not photos.heif_encoder_available():
        names.remove("IMG_0003.HEIC")
    paths = []
    for i, name in enumerate(names):
        if name.endswith(".HEIC"):
            paths.append(photos.heic(tmp_path / name, size=(320, 240)))
        else:
            paths.append(photos.phone_jpeg(tmp_path / name, size=(320, 240), seed=i))
    character = client.create_character_from_files("Names", paths)
    sent = set(init_filenames(aurous_sandbox))
    assert "2024.05.01 front.jpg" in sent
    (shortened,) = [n for n in sent if n.startswith("IMG_2024")]
    assert len(shortened) == 120 and shortened.endswith("_front.jpg")
    if "IMG_0003.HEIC" in names:
        assert "IMG_0003.jpg" in sent
    assert "take #2.jpg" in sent and "front [1].jpg" in sent
    assert character.refs[0].pose == "front" and character.refs[1].pose == "front"


def test_what_was_done_to_a_photo_stays_on_its_card_after_a_re_upload(
    aurous_sandbox: Sandbox, client: AurousClient, tmp_path: Path
) -> None:
    path = photos.phone_jpeg(tmp_path / "front.jpg", size=SMALL, orientation=6)
    flow = CharacterFlow(client, "Again", [path])
    flow.prepare().result(timeout=10)
    aurous_sandbox.advance(25 * 3600)  # the ticket is past its 24 h: create refuses it
    flow.run_sync()
    assert flow.refs[0].notice == "location removed; ticket rejected at create; uploading again"


def test_refs_reused_from_an_earlier_run_are_done_with_their_thumbnails(
    aurous_sandbox: Sandbox, client: AurousClient, tmp_path: Path
) -> None:
    """A ref an earlier run uploaded (found in the journal) needs no request at all; with
    ``thumbnails`` it is still done only once its thumbnail is made, so the last redraw of a
    live view shows it (a reused ref used to be done before its decode had started)."""
    paths = [
        photos.phone_jpeg(tmp_path / f"IMG_{i}.JPG", size=photos.PHONE_12MP, seed=i)
        for i in range(3)
    ]
    CharacterFlow(client, "Earlier", paths, classify=True).prepare().result(60)
    before = routes(aurous_sandbox)
    flow = CharacterFlow(client, "Later", paths, classify=True, thumbnails=True)
    flow.prepare().result(60)
    assert routes(aurous_sandbox) == before  # all three reused: no init, PUT or classify
    assert [ref.reused for ref in flow.refs] == [True, True, True]
    assert all(ref.done for ref in flow.refs)
    assert [ref.image.thumbnail_ready for ref in flow.refs if ref.image] == [True, True, True]
