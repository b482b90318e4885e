"""The photo corpus factory makes what it promises: each kind decodes, orientation, GPS, ICC."""

from __future__ import annotations

import io
import os
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageCms, ImageOps

from tests.support import photos

SMALL = (800, 500)


def jpeg_segments(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, payload) of each JPEG segment before the scan."""
    out, pos = [], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        out.append((marker, data[pos + 4 : pos + 2 + length]))
        if marker == 0xDA:
            break
        pos += 2 + length
    return out


# ---- phone JPEGs -----------------------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_round_trips_to_an_upright_marker(tmp_path: Path, orientation: int) -> None:
    path = photos.phone_jpeg(tmp_path / "p.jpg", size=SMALL, orientation=orientation)
    with Image.open(path) as image:
        assert image.size == SMALL  # the stored size, as the header says
        assert photos.exif_orientation(path) == orientation
        upright = ImageOps.exif_transpose(image)
    assert upright.size == photos.upright_size(SMALL, orientation)
    assert photos.marker_is_upright(upright)
    # the stored pixels are upright only when there is nothing to apply
    assert photos.marker_is_upright(path) is (orientation == 1)
    # and the marker survives a 128 px thumbnail
    upright.thumbnail((128, 128))
    assert photos.marker_is_upright(upright)


@pytest.mark.parametrize("method", list(Image.Transpose))
def test_marker_accepts_only_the_upright_picture(method: Image.Transpose) -> None:
    picture = photos.scene((240, 160))
    assert photos.marker_is_upright(picture)
    assert not photos.marker_is_upright(picture.transpose(method))


def test_marker_survives_a_tiny_jpeg_thumbnail() -> None:
    thumb = photos.scene((1200, 900)).resize((48, 36), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    thumb.save(buf, "JPEG", quality=50)
    assert photos.marker_is_upright(buf.getvalue())


@pytest.mark.parametrize("byte_order", ["II", "MM"])
def test_exif_fields_and_gps(tmp_path: Path, byte_order: photos.ByteOrder) -> None:
    path = photos.phone_jpeg(
        tmp_path / "p.jpg", size=SMALL, orientation=6, byte_order=byte_order, camera="Pixel 8"
    )
    data = path.read_bytes()
    app1 = next(p for m, p in jpeg_segments(data) if m == 0xE1 and p.startswith(b"Exif\0\0"))
    assert app1[6:8] == byte_order.encode()
    with Image.open(path) as image:
        exif = image.getexif()
    assert (exif[0x010F], exif[0x0110], exif[0x0112]) == ("Google", "Pixel 8", 6)
    assert exif.get_ifd(0x8769)[0x9003] == "2024:05:01 14:30:05"
    gps = exif.get_ifd(0x8825)
    assert (gps[1], gps[3], gps[5]) == ("N", "E", b"\x00")
    lat = sum(float(v) / 60**i for i, v in enumerate(gps[2]))
    lon = sum(float(v) / 60**i for i, v in enumerate(gps[4]))
    assert lat == pytest.approx(photos.DEFAULT_LOCATION[0], abs=1e-5)
    assert lon == pytest.approx(photos.DEFAULT_LOCATION[1], abs=1e-5)
    assert float(gps[6]) == pytest.approx(35.0)
    assert photos.has_gps(data)
    # IFD1 holds a decodable thumbnail, stored like the photo
    thumb = exif.get_ifd(ExifTags.IFD.IFD1)  # Pillow's key for IFD1 is -1
    assert thumb[0x0103] == 6
    start, length = thumb[0x0201], thumb[0x0202]
    tiff = app1[6:]
    with Image.open(io.BytesIO(tiff[start : start + length])) as small:
        assert small.format == "JPEG" and max(small.size) == 160


def test_gps_absent_when_not_asked(tmp_path: Path) -> None:
    path = photos.phone_jpeg(tmp_path / "p.jpg", size=SMALL, gps=False)
    assert not photos.has_gps(path)
    assert photos.exif_orientation(path) == 1
    bare = photos.phone_jpeg(tmp_path / "bare.jpg", size=SMALL, exif=False)
    assert photos.exif_orientation(bare) is None and not photos.has_gps(bare)


def test_same_arguments_same_bytes(tmp_path: Path) -> None:
    a = photos.phone_jpeg(tmp_path / "a.jpg", size=SMALL, orientation=5, icc="p3")
    b = photos.phone_jpeg(tmp_path / "b.jpg", size=SMALL, orientation=5, icc="p3")
    c = photos.phone_jpeg(tmp_path / "c.jpg", size=SMALL, orientation=5, icc="p3", seed=1)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()


def test_progressive_jpeg(tmp_path: Path) -> None:
    path = photos.progressive_jpeg(tmp_path / "p.jpg", orientation=3)
    with Image.open(path) as image:
        assert image.info.get("progressive") and image.size == (800, 500)
    markers = [m for m, _ in jpeg_segments(path.read_bytes())]
    assert 0xC2 in markers and 0xC0 not in markers
    assert photos.marker_is_upright(path, transpose=True)


def test_a_12mp_photo_has_a_phone_photo_byte_size(tmp_path: Path) -> None:
    start = time.perf_counter()
    path = photos.phone_jpeg(tmp_path / "p.jpg", orientation=6, icc="p3")
    seconds = time.perf_counter() - start
    size = path.stat().st_size
    print(f"\n12 MP phone JPEG: {size / 1e6:.2f} MB in {seconds * 1000:.0f} ms")
    assert 2_000_000 < size < 8_000_000
    with Image.open(path) as image:
        assert image.size == photos.PHONE_12MP
        image.draft("RGB", (504, 378))  # a 1/8-scale decode is enough for the marker
        assert photos.marker_is_upright(ImageOps.exif_transpose(image))


@pytest.mark.slow
def test_a_24mp_photo(tmp_path: Path) -> None:
    start = time.perf_counter()
    path = photos.phone_jpeg(tmp_path / "p.jpg", size=photos.PHONE_24MP, orientation=8)
    seconds = time.perf_counter() - start
    print(f"\n24 MP phone JPEG: {path.stat().st_size / 1e6:.2f} MB in {seconds * 1000:.0f} ms")
    with Image.open(path) as image:
        assert image.size == photos.PHONE_24MP
        image.draft("RGB", (714, 536))
        upright = ImageOps.exif_transpose(image)
    assert upright.height > upright.width and photos.marker_is_upright(upright)


# ---- ICC -------------------------------------------------------------------------------------


def srgb_encode(linear: float) -> float:
    linear = min(1.0, max(0.0, linear))
    return 12.92 * linear if linear <= 0.0031308 else 1.055 * linear ** (1 / 2.4) - 0.055


def srgb_decode(value: float) -> float:
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def test_the_p3_profile_is_valid_and_converts_to_srgb() -> None:
    data = photos.icc_profile("p3")
    assert struct.unpack(">I", data[:4])[0] == len(data) and data[36:40] == b"acsp"
    profile = ImageCms.ImageCmsProfile(io.BytesIO(data))
    assert profile.profile.profile_description == "Display P3"
    # the published D50-adapted Display P3 colorants
    colorants = [
        profile.profile.red_colorant,
        profile.profile.green_colorant,
        profile.profile.blue_colorant,
    ]
    red, green, blue = (c[0] for c in colorants if c is not None)  # (XYZ, xyY) each
    assert red == pytest.approx((0.5151, 0.2412, -0.0011), abs=2e-4)
    assert green == pytest.approx((0.2920, 0.6922, 0.0419), abs=2e-4)
    assert blue == pytest.approx((0.1571, 0.0666, 0.7841), abs=2e-4)

    to_srgb = ImageCms.buildTransform(profile, ImageCms.createProfile("sRGB"), "RGB", "RGB")
    p3_to_xyz = photos.rgb_to_xyz(photos._P3_PRIMARIES, photos._D65_XY)
    srgb_primaries = ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06))
    xyz_to_srgb = photos._inverse(photos.rgb_to_xyz(srgb_primaries, photos._D65_XY))
    for colour in [(128, 128, 128), (200, 100, 50), (60, 180, 90), (255, 255, 255)]:
        converted = ImageCms.applyTransform(Image.new("RGB", (1, 1), colour), to_srgb)
        assert converted is not None
        r, g, b = (srgb_decode(c / 255) for c in colour)
        linear = photos._mul(p3_to_xyz, (r, g, b))
        expected = [round(srgb_encode(c) * 255) for c in photos._mul(xyz_to_srgb, linear)]
        got = converted.getpixel((0, 0))
        assert isinstance(got, tuple)
        assert all(abs(g - e) <= 2 for g, e in zip(got, expected, strict=True)), (got, expected)


def test_srgb_profile_and_embedding(tmp_path: Path) -> None:
    srgb = ImageCms.ImageCmsProfile(io.BytesIO(photos.icc_profile("srgb")))
    assert "sRGB" in (srgb.profile.profile_description or "")
    p3 = photos.phone_jpeg(tmp_path / "p3.jpg", size=SMALL, icc="p3")
    assert photos.icc_description(p3) == "Display P3"
    assert photos.icc_description(photos.phone_jpeg(tmp_path / "n.jpg", size=SMALL)) is None
    with pytest.raises(ValueError):
        photos.icc_profile("adobe")  # type: ignore[arg-type]


# ---- the other kinds -------------------------------------------------------------------------


def test_cmyk_jpeg_has_adobe_app14(tmp_path: Path) -> None:
    path = photos.cmyk_jpeg(tmp_path / "c.jpg")
    app14 = [p for m, p in jpeg_segments(path.read_bytes()) if m == 0xEE]
    assert app14 and app14[0].startswith(b"Adobe")
    with Image.open(path) as image:
        assert image.mode == "CMYK" and image.info["adobe_transform"] == 0
        assert photos.marker_is_upright(image)


def test_gray16_png_turns_white_when_clipped_to_8_bits(tmp_path: Path) -> None:
    path = photos.gray16_png(tmp_path / "g.png")
    with Image.open(path) as image:
        assert image.mode == "I;16" and image.size == (640, 400)
        low, high = image.getextrema()
        assert low < 5000 and high == 65535
        clipped = image.convert("L")  # what a naive conversion does
        assert clipped.getextrema() == (255, 255)
        scaled = image.point(lambda v: v / 257).convert("L")
        assert scaled.getextrema()[0] < 20


def test_palette_png_with_transparency(tmp_path: Path) -> None:
    path = photos.palette_png(tmp_path / "p.png")
    with Image.open(path) as image:
        assert image.mode == "P" and image.info["transparency"] == 63
        rgba = image.convert("RGBA")
        assert rgba.getpixel((399, 0))[3] == 0
        assert rgba.getpixel((200, 200))[3] == 255
        assert photos.marker_is_upright(image)


@pytest.mark.parametrize("maker", [photos.apng, photos.animated_webp])
def test_animations_have_different_frames(tmp_path: Path, maker: Callable[..., Path]) -> None:
    path = maker(tmp_path / "anim")
    with Image.open(path) as image:
        assert image.n_frames == 3 and image.is_animated
        frames = []
        for index in range(image.n_frames):
            image.seek(index)
            frames.append(image.convert("RGB"))
            assert photos.marker_is_upright(frames[-1])
    assert frames[0].tobytes() != frames[1].tobytes() != frames[2].tobytes()


@pytest.mark.parametrize("orientation", [1, 6, 7])
def test_heic(tmp_path: Path, orientation: int) -> None:
    pytest.importorskip("pillow_heif")
    if not photos.heif_encoder_available():
        pytest.skip("pillow-heif has no HEVC encoder here")
    path = photos.heic(tmp_path / "p.heic", orientation=orientation)
    assert path.read_bytes()[4:12] == b"ftypheic"
    image = photos.open_image(path)
    # libheif applies the irot/imir that pillow-heif wrote for the orientation
    assert image.size == photos.upright_size((800, 600), orientation)
    assert photos.marker_is_upright(image)
    assert photos.has_gps(image) and image.getexif()[0x0110] == "iPhone 15 Pro"


@pytest.mark.parametrize("orientation", [1, 6])
def test_avif(tmp_path: Path, orientation: int) -> None:
    path = photos.avif(tmp_path / "p.avif", orientation=orientation, gps=False)
    with Image.open(path) as image:
        assert image.format == "AVIF" and image.size == (800, 600)
        # Pillow keeps the orientation in irot/imir and puts it back into the EXIF on open,
        # but not when it is 1: then the EXIF it writes has no Orientation at all
        assert photos.exif_orientation(image) == (None if orientation == 1 else orientation)
        assert not photos.has_gps(image)
        assert photos.marker_is_upright(image, transpose=True)


def test_truncated_jpeg_is_cut_mid_scan(tmp_path: Path) -> None:
    path = photos.truncated_jpeg(tmp_path / "t.jpg")
    data = path.read_bytes()
    assert b"\xff\xda" in data and not data.endswith(b"\xff\xd9")
    with Image.open(path) as image:
        assert image.size == (800, 500)  # the header is whole
        with pytest.raises(OSError, match="truncated"):
            image.load()


def test_tiny_png(tmp_path: Path) -> None:
    with Image.open(photos.tiny_png(tmp_path / "1.png")) as image:
        assert image.size == (1, 1) and image.getpixel((0, 0)) == photos.MARKER_RED


@pytest.mark.parametrize("byte_order", ["II", "MM"])
@pytest.mark.parametrize("maker", [photos.exif_png, photos.exif_webp])
def test_png_and_webp_exif(tmp_path: Path, maker: Callable[..., Path], byte_order: str) -> None:
    path = maker(tmp_path / "e", orientation=8, byte_order=byte_order)
    data = path.read_bytes()
    chunk = b"eXIf" if data.startswith(b"\x89PNG") else b"EXIF"
    at = data.index(chunk) + 8 if chunk == b"EXIF" else data.index(chunk) + 4
    assert data[at : at + 2] == byte_order.encode()
    assert photos.exif_orientation(data) == 8 and photos.has_gps(data)
    assert photos.marker_is_upright(data, transpose=True)
    no_gps = maker(tmp_path / "n", gps=False, byte_order=byte_order)
    assert not photos.has_gps(no_gps) and photos.exif_orientation(no_gps) == 1


def test_xmp_goes_where_each_format_keeps_it(tmp_path: Path) -> None:
    packet = photos.xmp_packet(gps=True)
    assert b"exif:GPSLatitude" in packet
    assert b"GPS" not in photos.xmp_packet(gps=False)
    jpeg = photos.phone_jpeg(tmp_path / "x.jpg", size=SMALL, xmp=packet).read_bytes()
    assert any(p.startswith(b"http://ns.adobe.com/xap/1.0/\0") for m, p in jpeg_segments(jpeg))
    png = photos.exif_png(tmp_path / "x.png", xmp=packet).read_bytes()
    assert b"iTXtXML:com.adobe.xmp" in png
    webp = photos.exif_webp(tmp_path / "x.webp", xmp=packet).read_bytes()
    assert b"XMP " in webp
    for data in (jpeg, png, webp):
        with Image.open(io.BytesIO(data)) as image:
            assert b"GPSLatitude" in image.info["xmp"]


# ---- the camera-roll folder ------------------------------------------------------------------


def test_odd_folder(tmp_path: Path) -> None:
    folder = photos.odd_folder(tmp_path / "roll")
    on_disk = {os.fsdecode(name) for name in os.listdir(os.fsencode(folder.directory))}
    assert on_disk == {p.name for p in folder.entries}
    names = {p.name for p in folder.images}
    assert {"IMG_0001.JPG", "IMG_0002.jpeg", "IMG_0003.HEIC", "photo.jfif", "take #2.jpg"} <= names
    assert any(len(n) == 130 and n.endswith("_front.jpg") for n in names)
    assert {p.name for p in folder.skipped} == {"._IMG_0001.JPG", ".DS_Store", ".hidden.jpg"}
    assert [p.name for p in folder.other] == ["notes.txt"]

    double = (folder.directory / "._IMG_0001.JPG").read_bytes()
    assert struct.unpack(">II", double[:8]) == (0x00051607, 0x00020000)
    assert (folder.directory / ".DS_Store").read_bytes()[4:8] == b"Bud1"

    if sys.platform.startswith("linux"):
        assert folder.undecodable_name is not None
        raw = os.fsencode(folder.undecodable_name)
        assert raw.endswith(b"caf\xe9.jpg")
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
    for path in folder.images:
        if path.suffix.lower() == ".heic" and not folder.heic_decodable:
            continue
        image = photos.open_image(path)
        assert image.size in {(320, 240), (240, 320)}
