"""Phone and camera photos through ``check_image``: upright everywhere, the original bytes when
nothing needs changing, the location removed in place, HEIC/AVIF converted, re-encodes upright
with their colour profile, odd formats with correct thumbnails and honest notices.

Every input comes from the photo factory (tests/support/photos.py); thumbnails are judged by
their pixels (the orientation marker), uploaded bytes by what a reader finds in them.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageStat

from aurous_nb.errors import ImageCheckError
from aurous_nb.images import MIN_USEFUL_SIDE, check_image, upload_filename
from aurous_nb.images._metadata import has_location, read_orientation, strip_location
from aurous_nb.limits import MAX_FILENAME, MAX_IMAGE_BYTES, MAX_IMAGE_SIDE
from tests.support import photos

SMALL = (800, 500)  # stored size of the small phone JPEGs (landscape as stored)


def uploaded(checked: object) -> bytes:
    with checked.open() as fh:  # type: ignore[attr-defined]
        return bytes(fh.read())


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("photos")


@pytest.fixture(scope="module")
def phone_24mp(corpus: Path) -> Path:
    """A 24 MP portrait phone photo stored on its side (EXIF 6), Display P3, with GPS."""
    return photos.phone_jpeg(
        corpus / "IMG_4284.JPG", size=photos.PHONE_24MP, orientation=6, icc="p3"
    )


# ---- orientation 1-8 ---------------------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("byte_order", ["MM", "II"])
def test_every_orientation_is_seen_upright(corpus: Path, orientation: int, byte_order: str) -> None:
    path = photos.phone_jpeg(
        corpus / f"o{orientation}{byte_order}.jpg",
        size=SMALL,
        orientation=orientation,
        byte_order=byte_order,  # type: ignore[arg-type]
    )
    checked = check_image(path)
    upright = photos.upright_size(SMALL, orientation)
    assert (checked.width, checked.height) == upright
    assert photos.marker_is_upright(checked.thumbnail)  # by pixels, not by EXIF
    rotated = orientation != 1
    assert checked.size_text.endswith(", stored rotated" if orientation not in (1, 2, 4) else "")
    assert ("stored" in checked.size_text) is rotated
    data = uploaded(checked)
    # the original bytes, with only the GPS IFD taken out: same pixels, same orientation
    assert data == strip_location(path.read_bytes(), "jpeg")
    assert len(data) == checked.size == path.stat().st_size
    assert read_orientation(data, "jpeg") == orientation
    assert not has_location(data, "jpeg") and not photos.has_gps(data)
    assert checked.notice == "location removed" and checked.location_removed
    assert photos.marker_is_upright(data, transpose=True)


def test_keep_metadata_uploads_the_file_unchanged(corpus: Path) -> None:
    path = photos.phone_jpeg(corpus / "keep.jpg", size=SMALL, orientation=6)
    checked = check_image(path, keep_metadata=True)
    assert uploaded(checked) == path.read_bytes()
    assert checked.notice is None and checked.location_kept and not checked.location_removed


def test_a_photo_without_location_is_sent_as_it_is(corpus: Path) -> None:
    path = photos.phone_jpeg(corpus / "nogps.jpg", size=SMALL, orientation=8, gps=False)
    checked = check_image(path)
    assert uploaded(checked) == path.read_bytes() and checked.notice is None


def test_xmp_location_is_removed_too(corpus: Path) -> None:
    path = photos.phone_jpeg(
        corpus / "xmp.jpg", size=SMALL, gps=False, xmp=photos.xmp_packet(gps=True)
    )
    assert has_location(path.read_bytes(), "jpeg")
    data = uploaded(check_image(path))
    assert not has_location(data, "jpeg")
    assert Image.open(io.BytesIO(data)).size == SMALL


@pytest.mark.parametrize(
    ("maker", "suffix", "kind"),
    [(photos.exif_png, ".png", "png"), (photos.exif_webp, ".webp", "webp")],
)
def test_png_and_webp_exif_orientation_and_location(
    corpus: Path, maker: object, suffix: str, kind: str
) -> None:
    path = maker(corpus / f"exif{suffix}", size=(400, 250), orientation=6)  # type: ignore[operator]
    checked = check_image(path)
    assert (checked.width, checked.height) == (250, 400)
    assert checked.size_text == "250×400, stored rotated"
    assert photos.marker_is_upright(checked.thumbnail)
    data = uploaded(checked)
    assert not has_location(data, kind) and read_orientation(data, kind) == 6
    assert photos.marker_is_upright(data, transpose=True)
    assert checked.notice == "location removed"


# ---- real sizes: 12 and 24 MP --------------------------------------------------------------------


def test_12mp_phone_photo_is_checked_from_its_header(corpus: Path) -> None:
    path = photos.phone_jpeg(corpus / "IMG_0012.JPG", size=photos.PHONE_12MP, orientation=6)
    checked = check_image(path)
    assert (checked.width, checked.height) == (3024, 4032)
    assert checked.size_text == "3024×4032, stored rotated"
    assert not checked.thumbnail_ready  # nothing decoded yet
    assert checked._prefix and len(checked._prefix) < 256 * 1024  # only the header in memory
    thumb = Image.open(io.BytesIO(checked.thumbnail))
    assert max(thumb.size) == 256 and thumb.size[0] < thumb.size[1]
    assert photos.marker_is_upright(checked.thumbnail)


def test_24mp_portrait_is_refused_upright_then_downscaled_upright(phone_24mp: Path) -> None:
    with pytest.raises(ImageCheckError) as info:
        check_image(phone_24mp)
    assert str(info.value) == (
        "IMG_4284.JPG: 4284×5712 px (stored rotated) is larger than 4096 px per side — "
        "resize it, or pass downscale=True"
    )
    with pytest.raises(ImageCheckError, match="resize it, or add --downscale$"):
        check_image(phone_24mp, fix_style="magic")
    checked = check_image(phone_24mp, downscale=True)
    assert (checked.width, checked.height) == (3072, 4096)
    assert checked.notice is not None and checked.notice.startswith(
        "downscaled from 4284×5712 to 3072×4096 ("
    )
    assert checked.notice.endswith("; location removed")
    data = uploaded(checked)
    assert len(data) == checked.size <= MAX_IMAGE_BYTES
    with Image.open(io.BytesIO(data)) as out:
        assert out.size == (3072, 4096) and max(out.size) <= MAX_IMAGE_SIDE
    assert photos.marker_is_upright(data)  # the pixels themselves are upright
    assert photos.exif_orientation(data) == 1  # ... and say so
    assert photos.icc_description(data) == "Display P3"  # colours kept
    assert not photos.has_gps(data)
    kept = uploaded(check_image(phone_24mp, downscale=True, keep_metadata=True))
    assert photos.has_gps(kept) and photos.exif_orientation(kept) == 1


def test_reencode_keeps_the_other_exif_tags(phone_24mp: Path) -> None:
    data = uploaded(check_image(phone_24mp, downscale=True))
    exif = Image.open(io.BytesIO(data)).getexif()
    assert exif.get(0x010F) == "Apple" and exif.get(0x0110) == "iPhone 15 Pro"  # Make, Model


def test_over_10_mib_photo_is_shrunk_within_the_limits(corpus: Path) -> None:
    path = photos.phone_jpeg(
        corpus / "huge.jpg", size=(4000, 3000), orientation=3, texture=150, quality=97
    )
    assert path.stat().st_size > MAX_IMAGE_BYTES
    with pytest.raises(ImageCheckError, match=r"is over the 10\.0 MiB limit — shrink it"):
        check_image(path)
    checked = check_image(path, downscale=True)
    data = uploaded(checked)
    assert len(data) <= MAX_IMAGE_BYTES and photos.marker_is_upright(data)


# ---- HEIC and AVIF ---------------------------------------------------------------------------


@pytest.mark.parametrize("orientation", [1, 6, 8])
def test_heic_is_converted_upright(corpus: Path, orientation: int) -> None:
    if not photos.heif_encoder_available():
        pytest.skip("pillow-heif with an HEVC encoder is needed to make HEIC files")
    path = photos.heic(corpus / f"IMG_{orientation}.HEIC", size=(800, 600), orientation=orientation)
    checked = check_image(path)
    assert (checked.kind, checked.mime, checked.source_kind) == ("jpeg", "image/jpeg", "heic")
    assert checked.notice is not None and checked.notice.startswith("converted from HEIC (")
    assert checked.notice.endswith("; location removed")
    assert checked.upload_filename == f"IMG_{orientation}.jpg"
    assert (checked.width, checked.height) == photos.upright_size((800, 600), orientation)
    data = uploaded(checked)
    assert data[:3] == b"\xff\xd8\xff" and not photos.has_gps(data)
    assert photos.marker_is_upright(data) and photos.marker_is_upright(checked.thumbnail)
    assert photos.exif_orientation(data) == 1  # rotated once, by libheif, not twice


@pytest.mark.parametrize("orientation", [1, 6])
def test_avif_is_converted_upright(corpus: Path, orientation: int) -> None:
    path = photos.avif(corpus / f"shot{orientation}.avif", size=(800, 600), orientation=orientation)
    checked = check_image(path)
    assert checked.kind == "jpeg" and checked.source_kind == "avif"
    assert checked.notice is not None and checked.notice.startswith("converted from AVIF (")
    data = uploaded(checked)
    assert photos.marker_is_upright(data) and not photos.has_gps(data)
    assert (checked.width, checked.height) == photos.upright_size((800, 600), orientation)


def test_a_heic_that_does_not_decode_is_refused_in_one_line(corpus: Path) -> None:
    path = corpus / "broken.heic"
    path.write_bytes(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + b"\0" * 64)
    with pytest.raises(ImageCheckError) as info:
        check_image(path)
    message = str(info.value)
    assert message.startswith("broken.heic: cannot be decoded as HEIC (")
    assert message.endswith(" — the file is damaged or truncated; export it again")
    assert "\n" not in message


# ---- other formats ----------------------------------------------------------------------------


def test_cmyk_and_progressive_jpegs(corpus: Path) -> None:
    cmyk = check_image(photos.cmyk_jpeg(corpus / "print.jpg"))
    assert cmyk.kind == "jpeg" and photos.marker_is_upright(cmyk.thumbnail)
    prog = photos.progressive_jpeg(corpus / "web.jpg", orientation=8)
    checked = check_image(prog)
    assert (checked.width, checked.height) == (500, 800)
    assert photos.marker_is_upright(checked.thumbnail)


def test_16_bit_grey_png_gets_a_grey_thumbnail_not_a_white_one(corpus: Path) -> None:
    checked = check_image(photos.gray16_png(corpus / "depth.png"))
    thumb = Image.open(io.BytesIO(checked.thumbnail)).convert("L")
    low, high = thumb.getextrema()
    assert low < 40 and high > 215  # the ramp spans the range
    assert 90 < ImageStat.Stat(thumb).mean[0] < 170
    assert thumb.getpixel((5, 5)) < 40  # the dark square top-left
    assert uploaded(checked) == (corpus / "depth.png").read_bytes()


def test_palette_png_with_transparency_keeps_it(corpus: Path) -> None:
    checked = check_image(photos.palette_png(corpus / "sticker.png"))
    thumb = Image.open(io.BytesIO(checked.thumbnail))
    assert thumb.format == "PNG" and thumb.mode == "RGBA"
    assert thumb.getpixel((thumb.width - 3, 3))[3] == 0  # the transparent corner
    assert photos.marker_is_upright(thumb.convert("RGB"))


@pytest.mark.parametrize(
    ("maker", "suffix"), [(photos.apng, ".png"), (photos.animated_webp, ".webp")]
)
def test_animations_are_sent_as_they_are_with_a_notice(
    corpus: Path, maker: object, suffix: str
) -> None:
    path = maker(corpus / f"wave{suffix}", frames=3)  # type: ignore[operator]
    checked = check_image(path)
    assert checked.frames == 3
    assert checked.notice == "animated (3 frames): only the first frame is used"
    assert uploaded(checked) == path.read_bytes()


def test_tiny_images_get_a_warning(corpus: Path) -> None:
    checked = check_image(photos.tiny_png(corpus / "dot.png"))
    assert checked.notice == (
        f"only 1×1 px: under {MIN_USEFUL_SIDE} px on the short side, too small to be a useful "
        "reference"
    )


def test_truncated_phone_jpeg_is_refused_from_its_end(corpus: Path) -> None:
    path = photos.truncated_jpeg(corpus / "cut.jpg")
    with pytest.raises(ImageCheckError, match=r"^cut\.jpg: cannot be decoded as JPEG"):
        check_image(path)


def test_damage_inside_is_found_by_the_thumbnail_decode(corpus: Path) -> None:
    """A second frame header in the middle of the scan: the header and the end are fine (the
    cheap check passes), the pixel data is not."""
    bad = corpus / "bitrot.jpg"
    bad.write_bytes(damaged_inside(photos.phone_jpeg(corpus / "ok.jpg", size=SMALL).read_bytes()))
    checked = check_image(bad)
    assert not checked.thumbnail_ready
    with pytest.raises(ImageCheckError, match=r"^bitrot\.jpg: cannot be decoded as JPEG"):
        checked.make_thumbnail()
    with pytest.raises(ImageCheckError, match="cannot be decoded"):  # the failure is kept
        checked.thumbnail_data_uri()


def damaged_inside(data: bytes) -> bytes:
    """``data`` (a JPEG) with an SOF segment spliced into the middle of its scan."""
    sos = data.index(b"\xff\xda")
    middle = sos + (len(data) - sos) // 2
    sof = b"\xff\xc0\x00\x11\x08\x01\xf4\x03\x20\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return data[:middle] + sof + data[middle:]


# ---- PIL images, names, duplicates ------------------------------------------------------------


def test_pil_image_from_a_file_keeps_the_files_bytes(corpus: Path) -> None:
    path = photos.phone_jpeg(corpus / "phone.jpg", size=(1600, 1200), orientation=6, gps=False)
    with Image.open(path) as opened:
        checked = check_image(opened)
        assert checked.kind == "jpeg" and checked.name == "phone.jpg"
        assert uploaded(checked) == path.read_bytes()
        opened.load()  # decoded but unchanged: still the file
        assert uploaded(check_image(opened)) == path.read_bytes()
        ImageDraw.Draw(opened).rectangle((0, 0, 50, 50), fill=(0, 0, 0))  # now it differs
        edited = check_image(opened, name="edited.png")
        assert edited.kind == "png" and uploaded(edited) != path.read_bytes()
        assert photos.marker_is_upright(uploaded(edited))  # pixels turned upright, then saved


@pytest.mark.parametrize(
    ("name", "kind", "expected"),
    [
        ("2024.05.01 front", "jpeg", "2024.05.01 front.jpg"),
        ("2024.05.01 front.JPG", "jpeg", "2024.05.01 front.JPG"),
        ("IMG_0003.HEIC", "jpeg", "IMG_0003.jpg"),
        ("photo.jfif", "jpeg", "photo.jfif"),
        ("photo2.jpe", "jpeg", "photo2.jpe"),
        ("front.jpg", "png", "front.png"),
        ("v1.2.final", "webp", "v1.2.final.webp"),
        ("caf\udce9.jpg", "jpeg", "caf\ufffd.jpg"),
        ("   ", "png", "image.png"),
    ],
)
def test_upload_filenames(name: str, kind: str, expected: str) -> None:
    ext = {"jpeg": "jpg", "png": "png", "webp": "webp"}[kind]
    assert upload_filename(name, kind, ext) == expected
    assert upload_filename(name, kind, ext).encode("utf-8")


def test_long_names_keep_their_extension_and_pose_word() -> None:
    long = "IMG_20240501_143005_" + "x" * 100 + "_front.jpg"
    assert len(long) == 130
    short = upload_filename(long, "jpeg", "jpg")
    assert len(short) == MAX_FILENAME and short.endswith("_front.jpg")
    assert short.startswith("IMG_20240501_143005_x")
    plain = upload_filename("a" * 130 + ".png", "png", "png")
    assert plain == "a" * 116 + ".png"


def test_same_bytes_found_even_when_only_the_middle_differs(corpus: Path) -> None:
    a = corpus / "dup_a.jpg"
    a.write_bytes(photos.phone_jpeg(corpus / "src.jpg", size=(1600, 1200), gps=False).read_bytes())
    b = corpus / "dup_b.jpg"
    b.write_bytes(a.read_bytes())
    data = bytearray(a.read_bytes())
    middle = len(data) // 2
    data[middle] ^= 0x01  # same size, same first and last 64 KiB, one bit apart
    c = corpus / "dup_c.jpg"
    c.write_bytes(bytes(data))
    one, two, three = (check_image(p) for p in (a, b, c))
    assert one.same_bytes(two) and not one.same_bytes(three)


def test_symlink_loop_and_non_utf8_names(corpus: Path) -> None:
    loop = corpus / "loop.jpg"
    if not loop.is_symlink():
        os.symlink(loop, loop)
    with pytest.raises(ImageCheckError, match=r"^loop\.jpg: a symlink loop"):
        check_image(loop)
    raw = os.path.join(os.fsencode(corpus), b"caf\xe9.jpg")
    try:
        with open(raw, "wb") as out:
            out.write(photos.phone_jpeg(corpus / "plain.jpg", size=SMALL).read_bytes())
    except OSError:
        pytest.skip("this file system insists on UTF-8 names")
    checked = check_image(os.fsdecode(raw))
    assert checked.name == "caf\ufffd.jpg" and checked.upload_filename == "caf\ufffd.jpg"


# ---- the embedded EXIF thumbnail (the gallery's cards) --------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_the_embedded_thumbnail_is_used_upright(corpus: Path, orientation: int) -> None:
    from aurous_nb.images import embedded_thumbnail

    path = photos.phone_jpeg(
        corpus / f"thumb{orientation}.jpg", size=(2000, 1500), orientation=orientation
    )
    small = embedded_thumbnail(path.read_bytes(), 128)
    assert small is not None
    with Image.open(io.BytesIO(small)) as image:
        assert image.format == "JPEG"
        assert image.size == photos.upright_size((160, 120), orientation)
    assert photos.marker_is_upright(small)


def test_the_embedded_thumbnail_keeps_the_photos_colour_profile(corpus: Path) -> None:
    from aurous_nb.images import embedded_thumbnail

    path = photos.phone_jpeg(corpus / "p3.jpg", size=(2000, 1500), icc="p3")
    small = embedded_thumbnail(path.read_bytes(), 128)
    assert small is not None
    with Image.open(io.BytesIO(small)) as image, Image.open(path) as photo:
        assert image.info.get("icc_profile") == photo.info["icc_profile"]


def test_no_embedded_thumbnail_when_it_is_missing_small_or_of_another_shape(
    corpus: Path,
) -> None:
    from aurous_nb.images import embedded_thumbnail

    bare = photos.phone_jpeg(corpus / "bare.jpg", size=(2000, 1500), exif_thumbnail=False)
    assert embedded_thumbnail(bare.read_bytes(), 128) is None
    with_one = photos.phone_jpeg(corpus / "one.jpg", size=(2000, 1500))
    assert embedded_thumbnail(with_one.read_bytes(), 161) is None  # 160 px is too small
    # an editor cropped the photo to a square and left the old 4:3 thumbnail in its EXIF
    with Image.open(with_one) as photo:
        exif = photo.info["exif"]
        square = io.BytesIO()
        photo.crop((0, 0, 1500, 1500)).save(square, "JPEG", exif=exif)
    assert embedded_thumbnail(square.getvalue(), 128) is None
    png = io.BytesIO()
    Image.new("RGB", (400, 300)).save(png, "PNG")
    assert embedded_thumbnail(png.getvalue(), 128) is None
    assert embedded_thumbnail(b"not an image", 128) is None
