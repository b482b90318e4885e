"""Metadata surgery: location out, orientation and everything else kept, pixels untouched."""

from __future__ import annotations

import io
import random
import struct
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import ExifTags, Image, PngImagePlugin

from aurous_nb.images._metadata import exif_bytes, has_location, read_orientation, strip_location
from tests.support import photos

KINDS = ["jpeg", "png", "webp"]


def make(kind: str, tmp: Path, **kw: Any) -> bytes:
    """A small photo of ``kind`` with phone EXIF (GPS unless told otherwise)."""
    if kind == "jpeg":
        kw.setdefault("size", (640, 400))
        return photos.phone_jpeg(tmp / "p.jpg", **kw).read_bytes()
    maker: Callable[..., Path] = photos.exif_png if kind == "png" else photos.exif_webp
    kw.setdefault("size", (320, 200))
    return maker(tmp / f"p.{kind}", **kw).read_bytes()


# ---- reading the containers in the tests, independently of the module ---------------------------


def jpeg_scan(data: bytes) -> bytes:
    """Everything from the first SOS marker to the end (the entropy-coded data and EOI)."""
    pos = 2
    while data[pos + 1] != 0xDA:
        pos += 2 + struct.unpack(">H", data[pos + 2 : pos + 4])[0]
    return data[pos:]


def png_chunks(data: bytes) -> list[tuple[bytes, bytes, int]]:
    """(type, body, stored CRC) of every chunk."""
    out, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        out.append((kind, body, struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0]))
        pos += 12 + length
    return out


def riff_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    out, pos = [], 12
    while pos + 8 <= len(data):
        fourcc, (length,) = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])
        out.append((fourcc, data[pos + 8 : pos + 8 + length]))
        pos += 8 + length + (length & 1)
    return out


def pixel_payload(data: bytes, kind: str) -> bytes:
    if kind == "jpeg":
        return jpeg_scan(data)
    if kind == "png":
        return b"".join(body for k, body, _ in png_chunks(data) if k == b"IDAT")
    return b"".join(body for k, body in riff_chunks(data) if k in (b"VP8 ", b"VP8L", b"ALPH"))


def pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB").tobytes()


def exif_dicts(data: bytes) -> dict[str, dict[int, object]]:
    """Pillow's view of IFD0, the Exif IFD, IFD1 and the GPS IFD."""
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
    return {
        "ifd0": {tag: value for tag, value in exif.items() if tag != ExifTags.IFD.GPSInfo},
        "exif": dict(exif.get_ifd(ExifTags.IFD.Exif)),
        "ifd1": dict(exif.get_ifd(ExifTags.IFD.IFD1)),
        "gps": dict(exif.get_ifd(ExifTags.IFD.GPSInfo)),
    }


def ifd(tiff: bytes, offset: int) -> tuple[str, list[tuple[int, int, int, int]], int]:
    """(byte order, [(tag, type, count, entry position)], next-IFD offset) of one IFD."""
    e = "<" if tiff[:2] == b"II" else ">"
    (count,) = struct.unpack_from(e + "H", tiff, offset)
    entries = [
        (*struct.unpack_from(e + "HHI", tiff, offset + 2 + 12 * i), offset + 2 + 12 * i)
        for i in range(count)
    ]
    (next_ifd,) = struct.unpack_from(e + "I", tiff, offset + 2 + 12 * count)
    return e, entries, next_ifd


def pointer(tiff: bytes, tag: int) -> tuple[int, int]:
    """(position of the value field, value) of a LONG entry in IFD0."""
    e, entries, _ = ifd(tiff, 8)
    at = next(pos for t, _, _, pos in entries if t == tag)
    return at + 8, struct.unpack_from(e + "I", tiff, at + 8)[0]


def with_exif(tiff: bytes) -> bytes:
    """A small JPEG without EXIF, with ``tiff`` spliced in as its APP1 Exif segment."""
    buf = io.BytesIO()
    photos.scene((64, 48)).save(buf, "JPEG", quality=80)
    plain = buf.getvalue()
    payload = b"Exif\0\0" + tiff
    return plain[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + plain[2:]


# ---- the happy path ------------------------------------------------------------------------------


@pytest.mark.parametrize("byte_order", ["II", "MM"])
@pytest.mark.parametrize("kind", KINDS)
def test_location_goes_and_everything_else_stays(
    tmp_path: Path, kind: str, byte_order: str
) -> None:
    data = make(kind, tmp_path, orientation=6, byte_order=byte_order)
    assert has_location(data, kind) and read_orientation(data, kind) == 6
    before = exif_dicts(data)
    assert before["gps"]

    out = strip_location(data, kind)
    assert not has_location(out, kind) and not photos.has_gps(out)
    assert read_orientation(out, kind) == 6 and photos.exif_orientation(out) == 6
    after = exif_dicts(out)
    assert after["gps"] == {}
    for name in ("ifd0", "exif", "ifd1"):
        assert after[name] == before[name], name
    assert after["ifd0"][0x010F] == "Apple" and after["ifd0"][0x0110] == "iPhone 15 Pro"

    assert len(out) == len(data)  # EXIF edited in place
    assert pixel_payload(out, kind) == pixel_payload(data, kind)
    assert pixels(out) == pixels(data)
    assert photos.marker_is_upright(out, transpose=True)
    assert strip_location(out, kind) is out  # nothing left to remove


@pytest.mark.parametrize("byte_order", ["II", "MM"])
def test_only_ifd0_and_the_gps_ifd_change(tmp_path: Path, byte_order: str) -> None:
    data = make("jpeg", tmp_path, byte_order=byte_order)
    tiff = exif_bytes(data, "jpeg")
    assert tiff is not None and tiff[:2] == byte_order.encode()
    e, entries, next_ifd = ifd(tiff, 8)
    _, gps_at = pointer(tiff, 0x8825)
    _, gps_entries, _ = ifd(tiff, gps_at)
    gps_ranges = [(gps_at, gps_at + 2 + 12 * len(gps_entries) + 4)]
    for _tag, kind, count, pos in gps_entries:
        size = {1: 1, 2: 1, 5: 8}[kind] * count
        if size > 4:
            (start,) = struct.unpack_from(e + "I", tiff, pos + 8)
            gps_ranges.append((start, start + size))

    new = exif_bytes(strip_location(data, "jpeg"), "jpeg")
    assert new is not None and len(new) == len(tiff)
    _, new_entries, new_next = ifd(new, 8)
    assert [t for t, *_ in new_entries] == [t for t, *_ in entries if t != 0x8825]
    assert new_next == next_ifd != 0  # IFD1 is still found where it was
    table_end = 8 + 2 + 12 * len(entries) + 4
    assert new[table_end - 12 : table_end] == bytes(12)  # the freed entry, zeroed
    for start, end in gps_ranges:
        assert new[start:end] == bytes(end - start)
    changed = [i for i in range(len(tiff)) if tiff[i] != new[i]]
    inside = [(8, table_end), *gps_ranges]
    assert all(any(start <= i < end for start, end in inside) for i in changed)


@pytest.mark.parametrize("kind", KINDS)
def test_orientation_is_read_for_every_value(tmp_path: Path, kind: str) -> None:
    for orientation in range(1, 9):
        data = make(kind, tmp_path, orientation=orientation, gps=False)
        assert read_orientation(data, kind) == orientation


@pytest.mark.parametrize("value", [0, 9, 0xFFFF])
def test_an_invalid_orientation_reads_as_1(value: int) -> None:
    tiff = bytearray(photos.exif_block(orientation=3, byte_order="II"))
    e, entries, _ = ifd(bytes(tiff), 8)
    at = next(pos for tag, *_, pos in entries if tag == 0x0112)
    struct.pack_into("<H", tiff, at + 8, value)
    assert read_orientation(with_exif(bytes(tiff)), "jpeg") == 1


def test_orientation_stored_as_a_long_is_read() -> None:
    tiff = bytearray(photos.exif_block(orientation=1, byte_order="MM"))
    _, entries, _ = ifd(bytes(tiff), 8)
    at = next(pos for tag, *_, pos in entries if tag == 0x0112)
    struct.pack_into(">HHII", tiff, at, 0x0112, 4, 1, 8)
    assert read_orientation(with_exif(bytes(tiff)), "jpeg") == 8


@pytest.mark.parametrize("kind", KINDS)
def test_nothing_to_remove_returns_the_same_object(tmp_path: Path, kind: str) -> None:
    no_gps = make(kind, tmp_path, orientation=3, gps=False, xmp=photos.xmp_packet(gps=False))
    assert not has_location(no_gps, kind)
    assert strip_location(no_gps, kind) is no_gps
    buf = io.BytesIO()
    photos.scene((64, 48)).save(buf, {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}[kind])
    bare = buf.getvalue()
    assert strip_location(bare, kind) is bare
    assert read_orientation(bare, kind) == 1 and exif_bytes(bare, kind) is None
    assert not has_location(bare, kind)


def test_a_bare_phone_jpeg_keeps_its_icc_profile(tmp_path: Path) -> None:
    data = photos.phone_jpeg(tmp_path / "p.jpg", size=(640, 400), icc="p3").read_bytes()
    out = strip_location(data, "jpeg")
    assert photos.icc_description(out) == "Display P3" and not has_location(out, "jpeg")


# ---- XMP -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_xmp_with_gps_is_dropped(tmp_path: Path, kind: str) -> None:
    data = make(kind, tmp_path, gps=False, xmp=photos.xmp_packet(gps=True), orientation=5)
    assert has_location(data, kind)
    out = strip_location(data, kind)
    assert out is not data and not has_location(out, kind)
    assert b"GPSLatitude" not in out and b"ns.adobe.com/xap" not in out
    assert read_orientation(out, kind) == 5
    assert pixel_payload(out, kind) == pixel_payload(data, kind)
    assert pixels(out) == pixels(data)
    with Image.open(io.BytesIO(out)) as image:
        assert "xmp" not in image.info and image.getexif()[0x0110] == "iPhone 15 Pro"


def test_webp_sizes_and_flags_stay_consistent(tmp_path: Path) -> None:
    data = photos.exif_webp(
        tmp_path / "p.webp", icc="p3", xmp=photos.xmp_packet(gps=True), orientation=7
    ).read_bytes()
    assert data[20] & 0x2C == 0x2C  # ICC, EXIF and XMP flags
    out = strip_location(data, "webp")
    assert struct.unpack("<I", out[4:8])[0] == len(out) - 8
    assert [k for k, _ in riff_chunks(out)] == [k for k, _ in riff_chunks(data) if k != b"XMP "]
    assert out[20] & 0x2C == 0x28  # XMP flag cleared, ICC and EXIF kept
    assert photos.icc_description(out) == "Display P3"
    assert read_orientation(out, "webp") == 7 and not has_location(out, "webp")


@pytest.mark.parametrize("compressed", [False, True])
def test_png_xmp_in_itxt_and_crcs(tmp_path: Path, compressed: bool) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", photos.xmp_packet(gps=True).decode(), zip=compressed)
    buf = io.BytesIO()
    exif = photos.exif_block(orientation=6, byte_order="II")
    photos.scene((200, 120)).save(buf, "PNG", pnginfo=info, exif=exif)
    data = buf.getvalue()
    assert has_location(data, "png")
    out = strip_location(data, "png")
    chunks = png_chunks(out)
    assert [k for k, *_ in chunks] == [k for k, *_ in png_chunks(data) if k != b"iTXt"]
    for kind, body, crc in chunks:
        assert zlib.crc32(kind + body) == crc, kind
    with Image.open(io.BytesIO(out)) as image:
        image.verify()
    assert not has_location(out, "png") and read_orientation(out, "png") == 6


def test_xmp_without_gps_is_kept_when_exif_gps_goes(tmp_path: Path) -> None:
    packet = photos.xmp_packet(gps=False, orientation=6)
    data = photos.phone_jpeg(tmp_path / "p.jpg", size=(320, 200), xmp=packet).read_bytes()
    out = strip_location(data, "jpeg")
    assert packet in out and not has_location(out, "jpeg")


def jpeg_with_xmp(packet: bytes) -> bytes:
    buf = io.BytesIO()
    photos.scene((64, 48)).save(buf, "JPEG", xmp=packet)
    return buf.getvalue()


def test_the_word_gps_in_a_caption_is_not_a_location() -> None:
    caption = jpeg_with_xmp(b'<rdf:Description dc:description="GPS was off, sorry"/>')
    assert not has_location(caption, "jpeg") and strip_location(caption, "jpeg") is caption
    for packet in (
        b'<rdf:Description exif:GPSLatitude="48,51.5N"/>',
        b"<exif:GPSLongitude>2,17.7E</exif:GPSLongitude>",
    ):
        assert has_location(jpeg_with_xmp(packet), "jpeg")


def test_jpeg_extended_xmp_goes_with_its_main_packet() -> None:
    main = photos.xmp_packet(gps=False)
    piece = b'<rdf:Description exif:GPSLatitude="48,51.5N"/>'
    guid = b"0123456789ABCDEF0123456789ABCDEF"
    extension = (
        b"http://ns.adobe.com/xmp/extension/\0" + guid + struct.pack(">II", len(piece), 0) + piece
    )
    data = jpeg_with_xmp(main)
    app1 = b"\xff\xe1" + struct.pack(">H", len(extension) + 2) + extension
    data = data[:2] + app1 + data[2:]
    assert has_location(data, "jpeg")
    out = strip_location(data, "jpeg")
    assert b"ns.adobe.com/xmp/extension" not in out and b"ns.adobe.com/xap" not in out
    assert jpeg_scan(out) == jpeg_scan(data)


# ---- exif_bytes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_exif_bytes_is_the_tiff_block_pillow_can_write_back(tmp_path: Path, kind: str) -> None:
    data = make(kind, tmp_path, orientation=8, byte_order="MM")
    tiff = exif_bytes(data, kind)
    assert tiff is not None and tiff.startswith(b"MM\0*")
    with Image.open(io.BytesIO(data)) as image:
        decoded = image.convert("RGB")
    # Pillow's JPEG writer puts the bytes into APP1 as given: it needs the Exif prefix there;
    # its PNG and WebP writers take the raw block.
    exif = b"Exif\0\0" + tiff if kind == "jpeg" else tiff
    buf = io.BytesIO()
    decoded.save(buf, {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}[kind], exif=exif)
    again = buf.getvalue()
    assert read_orientation(again, kind) == 8 and photos.exif_orientation(again) == 8
    assert has_location(again, kind)


# ---- damaged metadata ----------------------------------------------------------------------------


def damaged_blocks() -> dict[str, bytes]:
    """EXIF blocks broken the ways real files are, each with a GPS IFD before the damage."""
    thumb = io.BytesIO()
    photos.scene((32, 24)).save(thumb, "JPEG")
    good = photos.exif_block(orientation=6, byte_order="II", thumbnail=thumb.getvalue())
    field_at, gps_at = pointer(good, 0x8825)
    exif_field, _ = pointer(good, 0x8769)
    _, entries, _ = ifd(good, 8)
    next_at = 8 + 2 + 12 * len(entries)
    _, gps_entries, _ = ifd(good, gps_at)

    def patched(at: int, fmt: str, *values: int, base: bytes = good) -> bytes:
        out = bytearray(base)
        struct.pack_into(fmt, out, at, *values)
        return bytes(out)

    values_far = bytearray(good)
    for _tag, kind, _count, pos in gps_entries:
        if kind == 5:
            struct.pack_into("<I", values_far, pos + 8, 0xFFFFFF00)
    return {
        "ifd0 offset past the end": patched(4, "<I", 0x7FFFFFF0),
        "gps pointer past the end": patched(field_at, "<I", 0xFFFFFFF0),
        "gps values past the end": bytes(values_far),
        "gps count past the end": patched(gps_at, "<H", 0xFFFF),
        "gps ifd is ifd0": patched(field_at, "<I", 8),
        "truncated inside ifd0": good[: 8 + 2 + 12 * 3 + 5],
        "truncated inside the gps ifd": good[: gps_at + 2 + 12 * 2],
        "ifd0 count too big": patched(8, "<H", len(entries) + 4),
        "ifd0 count 65535": patched(8, "<H", 0xFFFF),
        "ifd chain loops to ifd0": patched(next_at, "<I", 8),
        "exif ifd is ifd0": patched(exif_field, "<I", 8),
        "gps pointer of unknown type": patched(field_at - 8, "<HHI", 0x8825, 0x77, 1),
        "not a tiff header": b"XX*\0" + good[4:],
        "header only": good[:8],
        "empty": b"",
    }


@pytest.mark.parametrize("case", list(damaged_blocks()))
def test_damaged_exif_never_raises(case: str) -> None:
    data = with_exif(damaged_blocks()[case])
    orientation = read_orientation(data, "jpeg")
    assert 1 <= orientation <= 8
    has_location(data, "jpeg")
    exif_bytes(data, "jpeg")
    out = strip_location(data, "jpeg")
    assert jpeg_scan(out) == jpeg_scan(data) and len(out) == len(data)
    if out is data:
        return
    # whatever was edited is still a readable file with the location gone
    assert not has_location(out, "jpeg")
    assert read_orientation(out, "jpeg") == orientation
    assert pixels(out) == pixels(data)


def test_a_block_too_odd_to_edit_is_left_and_still_reported() -> None:
    data = with_exif(damaged_blocks()["ifd0 count too big"])
    assert has_location(data, "jpeg")
    assert strip_location(data, "jpeg") is data  # the caller sees has_location still True


def test_a_gps_pointer_past_the_end_is_removed_and_nothing_else_moves() -> None:
    tiff = damaged_blocks()["gps pointer past the end"]
    data = with_exif(tiff)
    assert not has_location(data, "jpeg")  # nothing is stored out there
    out = exif_bytes(strip_location(data, "jpeg"), "jpeg")
    assert out is not None and 0x8825 not in [t for t, *_ in ifd(out, 8)[1]]
    after_ifd0 = 8 + 2 + 12 * len(ifd(tiff, 8)[1]) + 4
    assert out[after_ifd0:] == tiff[after_ifd0:]


def metadata_end(data: bytes, kind: str) -> int:
    """Where the pixel data starts: everything before it is headers and metadata."""
    if kind == "jpeg":
        return len(data) - len(jpeg_scan(data))
    return data.index(b"IDAT") if kind == "png" else data.index(b"VP8 ")


@pytest.mark.parametrize("kind", KINDS)
def test_random_damage_never_raises(tmp_path: Path, kind: str) -> None:
    good = make(kind, tmp_path, size=(64, 48), xmp=photos.xmp_packet(gps=True))
    end = metadata_end(good, kind)
    rng = random.Random(7)
    for _ in range(400):
        data = bytearray(good)
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(8, end - 4)
            if rng.random() < 0.5:
                data[at] = rng.randrange(256)
            else:  # the values that break offset and count arithmetic
                value = rng.choice([0, 1, 8, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF])
                struct.pack_into(rng.choice("<>") + "I", data, at, value)
        if rng.random() < 0.1:
            data = data[: rng.randrange(len(data))]
        damaged = bytes(data)
        assert 1 <= read_orientation(damaged, kind) <= 8
        has_location(damaged, kind)
        exif_bytes(damaged, kind)
        # edits are in place or drop whole segments/chunks, never add bytes
        assert len(strip_location(damaged, kind)) <= len(damaged)


@pytest.mark.parametrize("kind", KINDS)
def test_damaged_containers_never_raise(tmp_path: Path, kind: str) -> None:
    data = make(kind, tmp_path, xmp=photos.xmp_packet(gps=True))
    for cut in (1, 3, 11, 20, 40, 100, 300, len(data) // 2, len(data) - 5):
        piece = data[:cut]
        read_orientation(piece, kind)
        has_location(piece, kind)
        exif_bytes(piece, kind)
        strip_location(piece, kind)
    # a chunk or segment length that runs past the end of the file
    out = bytearray(data)
    if kind == "jpeg":
        struct.pack_into(">H", out, 4, 0xFFFF)
    elif kind == "png":
        struct.pack_into(">I", out, 8, 0x7FFFFFFF)
    else:
        struct.pack_into("<I", out, 16, 0x7FFFFFFF)
    strip_location(bytes(out), kind)
    has_location(bytes(out), kind)


def test_an_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="kind"):
        strip_location(b"", "gif")


# ---- speed ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_stripping_a_24mp_jpeg_takes_milliseconds(tmp_path: Path) -> None:
    data = photos.phone_jpeg(tmp_path / "p.jpg", size=photos.PHONE_24MP, orientation=6)
    raw = data.read_bytes()
    times = []
    for _ in range(5):
        start = time.perf_counter()
        out = strip_location(raw, "jpeg")
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    has_location(raw, "jpeg")
    check = time.perf_counter() - start
    print(
        f"\nstrip_location, 24 MP JPEG ({len(raw) / 1e6:.1f} MB): best {min(times) * 1000:.2f} ms"
        f" of 5; has_location {check * 1000:.3f} ms"
    )
    assert not has_location(out, "jpeg") and jpeg_scan(out) == jpeg_scan(raw)
