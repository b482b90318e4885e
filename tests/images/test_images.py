"""Local image checks: every bad input is refused with one line naming the file and the fix."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image

from aurous_nb._text import format_size
from aurous_nb.errors import ImageCheckError
from aurous_nb.images import THUMB_SIDE, check_image, guess_pose_from_name, sniff
from aurous_nb.limits import MAX_IMAGE_BYTES as MAX_BYTES
from aurous_nb.limits import MAX_IMAGE_SIDE as MAX_SIDE
from aurous_nb.samples import paths as sample_paths


def encode(fmt: str, size: tuple[int, int] = (64, 48), mode: str = "RGB", **kw: object) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, (200, 80, 40) if mode == "RGB" else None).save(buf, fmt, **kw)
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR declares width×height but carries almost no pixel data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))


def noise_png(width: int, height: int) -> bytes:
    """Incompressible pixels, so the PNG is about width*height*3 bytes."""
    img = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    buf = io.BytesIO()
    img.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'


# ---- the table of bad inputs ---------------------------------------------------------------


def _bad_inputs(tmp: Path) -> list[tuple[str, object, dict[str, object], str]]:
    """(case, source, kwargs, expected fragment) — each must fail naming its file."""
    text = tmp / "notes.jpg"
    text.write_text("this is not an image\n")
    heic = tmp / "front.heic"
    heic.write_bytes(HEIC)
    gif = tmp / "wave.gif"
    gif.write_bytes(encode("GIF"))
    svg = tmp / "logo.svg"
    svg.write_bytes(SVG)
    empty = tmp / "empty.png"
    empty.write_bytes(b"")
    jpeg = encode("JPEG", (400, 300))
    truncated = tmp / "cut.jpg"
    truncated.write_bytes(jpeg[: len(jpeg) // 2])
    cut_png = tmp / "cut.png"
    whole_png = encode("PNG", (400, 300))
    cut_png.write_bytes(whole_png[:-12])
    wide = tmp / "wide.png"
    wide.write_bytes(encode("PNG", (MAX_SIDE + 1, 8), mode="L"))
    bomb = tmp / "bomb.png"
    bomb.write_bytes(png_header_only(20_000, 20_000))
    mild_bomb = tmp / "mild_bomb.png"  # over Pillow's warning threshold, under its error one
    mild_bomb.write_bytes(png_header_only(10_000, 10_000))
    directory = tmp / "refs"
    directory.mkdir()
    broken = tmp / "gone.png"
    broken.symlink_to(tmp / "deleted-target.png")
    return [
        ("renamed text file", text, {}, "notes.jpg: a text file, not an image — use JPEG"),
        ("HEIC that does not decode", heic, {}, "front.heic: cannot be decoded as HEIC"),
        ("GIF", gif, {}, "wave.gif: GIF is not accepted — use JPEG, PNG, WebP, HEIC or AVIF"),
        ("SVG", svg, {}, "logo.svg: SVG is not accepted"),
        ("HEIC bytes", HEIC, {"name": "IMG_0001.HEIC"}, "IMG_0001.HEIC: cannot be decoded as HEIC"),
        ("empty", empty, {}, "empty.png: the file is empty"),
        ("empty bytes", b"", {"name": "blank.png"}, "blank.png: the file is empty"),
        ("truncated JPEG", truncated, {}, "cut.jpg: cannot be decoded as JPEG"),
        ("truncated PNG", cut_png, {}, "cut.png: cannot be decoded as PNG"),
        ("> 4096 px", wide, {}, "wide.png: 4097×8 px is larger than 4096 px per side"),
        ("bomb", bomb, {}, "bomb.png: declares 20000×20000 px, a likely decompression bomb"),
        ("bomb, downscale", bomb, {"downscale": True}, "bomb.png: declares 20000×20000 px"),
        ("mild bomb", mild_bomb, {}, "mild_bomb.png: declares 10000×10000 px"),
        ("directory", directory, {}, "refs: "),
        ("missing", tmp / "nope.png", {}, "nope.png: no such file"),
        ("broken symlink", broken, {}, "gone.png: broken symlink to"),
        ("unsupported object", 42, {}, "int: unsupported source type int"),
    ]


def test_bad_inputs_table(tmp_path: Path) -> None:
    for case, source, kwargs, expected in _bad_inputs(tmp_path):
        with pytest.raises(ImageCheckError) as info:
            check_image(source, **kwargs)  # type: ignore[arg-type]
        message = str(info.value)
        assert expected in message, f"{case}: {message}"
        assert "\n" not in message, case
        assert " — " in message, f"{case} names no fix: {message}"
        assert info.value.source and message.startswith(info.value.source), case
        assert isinstance(info.value, ValueError)


def test_over_10_mib_refused_then_downscaled(tmp_path: Path) -> None:
    big = tmp_path / "huge.png"
    big.write_bytes(noise_png(2000, 1800))
    assert big.stat().st_size > MAX_BYTES
    with pytest.raises(
        ImageCheckError, match=r"huge\.png: 1\d\.\d MiB is over the 10\.0 MiB limit"
    ):
        check_image(big)
    checked = check_image(big, downscale=True)
    assert checked.size <= MAX_BYTES
    assert checked.notice and "re-encoded as JPEG" in checked.notice
    assert (checked.kind, checked.mime, checked.extension) == ("jpeg", "image/jpeg", "jpg")
    with checked.open() as fh:
        data = fh.read()
    assert len(data) == checked.size and sniff(data) == "jpeg"


def test_over_4096_px_downscaled_with_notice() -> None:
    checked = check_image(encode("PNG", (6000, 300), mode="L"), name="pano.png", downscale=True)
    assert (checked.width, checked.height) == (4096, 204)
    assert (
        checked.notice
        == f"downscaled from 6000×300 to 4096×204 (1.8 KiB → {format_size(checked.size)})"
    )
    assert checked.kind == "png"


# ---- JPEGs decoded at a reduced DCT scale ------------------------------------------------------


def noise_jpeg(width: int, height: int, quality: int = 90, progressive: bool = False) -> bytes:
    """A sharp (hard to compress) JPEG, like a phone photo."""
    small = Image.frombytes("RGB", (width // 8, height // 8), os.urandom(width * height * 3 // 64))
    buf = io.BytesIO()
    big = small.resize((width, height), Image.Resampling.BICUBIC)
    big.save(buf, "JPEG", quality=quality, progressive=progressive)
    return buf.getvalue()


def test_jpeg_is_checked_from_its_header_and_thumbnailed_at_reduced_scale() -> None:
    from aurous_nb.images import _decode

    data = noise_jpeg(2400, 1800)
    with _decode.decoded("p.jpg", "jpeg", _decode.bytes_opener(data), draft=(256, 192)) as image:
        assert image.size == (300, 225)  # 1/8 scale: the smallest covering 256×192
    checked = check_image(data, name="p.jpg")
    assert (checked.width, checked.height) == (2400, 1800)  # from the header
    assert not checked.thumbnail_ready  # nothing decoded by the check
    with Image.open(io.BytesIO(checked.thumbnail)) as thumb:
        assert thumb.size == (256, 192)
    assert checked.thumbnail_ready
    # a JPEG that will be downscaled is decoded whole, for the re-encode
    wide = encode("JPEG", (4100, 300))
    with _decode.decoded("w.jpg", "jpeg", _decode.bytes_opener(wide)) as image:
        assert image.size == (4100, 300)


@pytest.mark.parametrize("progressive", [False, True])
def test_truncated_large_jpeg_is_still_refused(progressive: bool) -> None:
    """The draft decode reads the whole entropy-coded stream: a cut anywhere is caught."""
    data = noise_jpeg(2400, 1800, progressive=progressive)
    assert check_image(data, name="whole.jpg").width == 2400
    for cut in (len(data) // 3, len(data) - 1000, len(data) - 2):  # the last cut drops only EOI
        with pytest.raises(ImageCheckError, match=r"^cut\.jpg: cannot be decoded as JPEG"):
            check_image(data[:cut], name="cut.jpg")
        with pytest.raises(ImageCheckError, match="cannot be decoded as JPEG"):
            check_image(data[:cut], name="cut.jpg", downscale=True)


def test_wide_jpeg_is_measured_from_its_header() -> None:
    data = encode("JPEG", (4100, 300))
    with pytest.raises(ImageCheckError, match=r"wide\.jpg: 4100×300 px is larger than 4096"):
        check_image(data, name="wide.jpg")
    checked = check_image(data, name="wide.jpg", downscale=True)
    assert (checked.width, checked.height) == (4096, 299)
    assert checked.notice and checked.notice.startswith("downscaled from 4100×300 to 4096×299")


def test_decode_budget_bounds_the_pixels_held_at_once() -> None:
    import threading
    import time

    from aurous_nb.images._decode import _Budget

    budget = _Budget(100)
    peak, inside, lock = [0], [0], threading.Lock()

    def hold(amount: int) -> None:
        with budget.hold(amount):
            with lock:
                inside[0] += amount
                peak[0] = max(peak[0], inside[0])
            time.sleep(0.02)
            with lock:
                inside[0] -= amount

    threads = [threading.Thread(target=hold, args=(n,)) for n in (60, 60, 30, 500, 10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=5)
    assert not any(t.is_alive() for t in threads)
    assert peak[0] <= 500 and budget.used == 0  # 500 > capacity: it ran alone
    with budget.hold(40), budget.hold(60):  # two that fit together do not wait
        assert budget.used == 100


def test_parallel_checks_leave_the_warning_filters_alone(tmp_path: Path) -> None:
    """Pillow's bomb check warns through global filters; threads must not switch them."""
    import concurrent.futures as cf
    import warnings

    before = list(warnings.filters)
    bomb = png_header_only(10_000, 10_000)  # between Pillow's warning and error limits
    good = encode("JPEG", (640, 480))
    with cf.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(_outcome, [bomb, good] * 20))
    assert results == ["declares 10000×10000 px", "ok"] * 20
    assert warnings.filters == before


def _outcome(data: bytes) -> str:
    try:
        check_image(data, name="x")
    except ImageCheckError as exc:
        return str(exc).split(": ")[1].split(",")[0]
    return "ok"


# ---- accepted inputs --------------------------------------------------------------------------


def test_jpg_that_is_really_png_gets_png_type(tmp_path: Path) -> None:
    liar = tmp_path / "front.jpg"
    liar.write_bytes(encode("PNG", (200, 150)))
    checked = check_image(liar)
    assert (checked.kind, checked.extension, checked.mime) == ("png", "png", "image/png")
    assert checked.name == "front.jpg" and checked.upload_filename == "front.png"
    assert checked.notice == "really a PNG, uploaded as image/png"


@pytest.mark.parametrize(
    ("fmt", "kind", "ext", "mime"),
    [
        ("JPEG", "jpeg", "jpg", "image/jpeg"),
        ("PNG", "png", "png", "image/png"),
        ("WEBP", "webp", "webp", "image/webp"),
    ],
)
def test_accepted_kinds_from_bytes(fmt: str, kind: str, ext: str, mime: str) -> None:
    checked = check_image(encode(fmt, (640, 480)), name=f"ref.{ext}")
    assert (checked.kind, checked.extension, checked.mime) == (kind, ext, mime)
    assert (checked.width, checked.height) == (640, 480)
    assert checked.notice is None
    assert checked.upload_filename == f"ref.{ext}"


def test_path_source_keeps_no_bytes_and_reopens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "side.png").write_bytes(encode("PNG", (300, 500)))
    checked = check_image("~/side.png")
    assert checked.name == "side.png"
    assert checked.path == str(tmp_path / "side.png")
    assert checked._data is None  # nothing retained: open() re-reads the file
    with checked.open() as fh:
        assert fh.read() == (tmp_path / "side.png").read_bytes()
    (tmp_path / "side.png").write_bytes(encode("PNG", (300, 501)))
    with pytest.raises(ImageCheckError, match=r"side\.png: the file changed since it was checked"):
        checked.open()
    (tmp_path / "side.png").unlink()
    with pytest.raises(ImageCheckError, match=r"side\.png: the file can no longer be read"):
        checked.open()


def test_file_object_and_pil_sources(tmp_path: Path) -> None:
    path = tmp_path / "back.webp"
    path.write_bytes(encode("WEBP"))
    with open(path, "rb") as fh:
        checked = check_image(fh)
    assert checked.name == "back.webp" and checked.kind == "webp"
    assert checked.open().read() == path.read_bytes()

    rgba = Image.new("RGBA", (120, 80), (0, 0, 255, 128))
    checked = check_image(rgba)
    assert (checked.name, checked.kind, checked.width) == ("image.png", "png", 120)
    assert checked.thumbnail_mime == "image/png"  # transparency survives in the thumbnail

    cmyk = Image.new("CMYK", (30, 30))
    assert check_image(cmyk, name="print.png").kind == "png"


def test_text_mode_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(encode("PNG"))
    with open(path) as fh, pytest.raises(ImageCheckError, match="a.png: file opened in text mode"):
        check_image(fh)


def test_thumbnail_is_small_and_a_data_uri() -> None:
    checked = check_image(encode("JPEG", (3000, 2000)), name="big.jpg")
    thumb = Image.open(io.BytesIO(checked.thumbnail))
    assert max(thumb.size) == THUMB_SIDE and thumb.format == "JPEG"
    assert checked.thumbnail_data_uri().startswith("data:image/jpeg;base64,/9j/")
    assert "thumbnail" not in repr(checked)


def test_bundled_samples_pass_and_are_small() -> None:
    files = sample_paths()
    assert [p.name for p in files] == ["front.png", "side.png", "back.png", "portrait.jpg"]
    assert sum(p.stat().st_size for p in files) < 200 * 1024
    for p in files:
        checked = check_image(p)
        assert checked.notice is None
        assert guess_pose_from_name(p.name) == p.stem


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00", "png"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp"),
        (HEIC, "heic"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1", "avif"),
        (b"GIF89a\x01\x00", "gif"),
        (b"BM\x00\x00", "bmp"),
        (b"II*\x00", "tiff"),
        (b"%PDF-1.7", "pdf"),
        (SVG, "svg"),
        (b"  <svg viewBox='0 0 1 1'/>", "svg"),
        (b"name,pose\nfront.png,front\n", "text"),
        (b"\x00\x01\x02\x03", None),
        (b"", None),
    ],
)
def test_sniff(data: bytes, kind: str | None) -> None:
    assert sniff(data) == kind


@pytest.mark.parametrize(
    ("name", "pose"),
    [
        ("front.png", "front"),
        ("/x/hero_side_2.JPG", "side"),
        ("Back-View.webp", "back"),
        ("headshot.jpg", "portrait"),
        ("profile-left.png", "side"),
        ("frontier.png", None),
        ("IMG_0001.jpg", None),
    ],
)
def test_guess_pose_from_name(name: str, pose: str | None) -> None:
    assert guess_pose_from_name(name) == pose


def test_importing_images_does_not_import_pillow() -> None:
    code = "import sys, aurous_nb.images; assert 'PIL' not in sys.modules, 'PIL imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def _seeded_jpeg(seed: int, width: int = 480, height: int = 360) -> bytes:
    import random

    grain = random.Random(seed).randbytes(width * height * 3 // 64)
    small = Image.frombytes("RGB", (width // 8, height // 8), grain)
    buf = io.BytesIO()
    small.resize((width, height), Image.Resampling.BICUBIC).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def test_a_jpeg_cut_just_before_its_eoi_is_refused_though_its_pixels_decode() -> None:
    # with this seed every scan is complete without the last two bytes, so a full decode
    # succeeds (about 1 photo in 30 ends that way); only the missing EOI tells it is cut
    cut = _seeded_jpeg(1)[:-2]
    with Image.open(io.BytesIO(cut)) as image:
        image.load()  # Pillow alone does not notice
    with pytest.raises(
        ImageCheckError, match=r"^cut\.jpg: cannot be decoded as JPEG \(the end-of-image marker"
    ):
        check_image(cut, name="cut.jpg")


def test_a_cameras_trailer_after_the_eoi_is_accepted() -> None:
    # Samsung phones write a trailer after the image's EOI: the file does not end in FF D9
    data = _seeded_jpeg(1) + b"\x00" * 16 + b"SEFHtrailer data\xff" + b"SEFT"
    checked = check_image(data, name="samsung.jpg")
    assert (checked.width, checked.height) == (480, 360)
