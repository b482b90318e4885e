"""A corpus of photo-like test files, made at test time: the inputs real people bring.

Phone JPEGs (EXIF Orientation 1–8 with the pixels stored as a phone stores them, GPS, a Display
P3 or sRGB ICC profile, 12 and 24 MP), CMYK JPEG with Adobe APP14, progressive JPEG, 16-bit
grayscale PNG, palette PNG with transparency, APNG, animated WebP, HEIC (pillow-heif), AVIF,
a JPEG cut mid-scan, a 1×1 PNG, PNG ``eXIf`` and WebP EXIF with Orientation and GPS, and a
camera-roll folder with the names people's exports have. Every picture that can carry colour
carries the same orientation marker (red block top-left, blue on the bottom edge, green on the
right edge of the upright picture), so ``marker_is_upright`` can judge a thumbnail by pixels.

Each maker writes into a path it is given and returns it; output is a function of the
arguments (seeded), and nothing is cached here: callers cache. The EXIF blocks are written by
this module, not by Pillow, so tests of metadata code do not check Pillow against itself.
"""

from __future__ import annotations

import datetime as _dt
import io
import math
import os
import random
import struct
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps

if TYPE_CHECKING:  # pragma: no cover
    from PIL.ImageCms import ImageCmsProfile

__all__ = [
    "MARKER_BLUE",
    "MARKER_GREEN",
    "MARKER_RED",
    "PHONE_12MP",
    "PHONE_24MP",
    "OddFolder",
    "animated_webp",
    "apng",
    "avif",
    "cmyk_jpeg",
    "exif_block",
    "exif_orientation",
    "exif_png",
    "exif_webp",
    "gray16_png",
    "has_gps",
    "heic",
    "heif_encoder_available",
    "icc_description",
    "icc_profile",
    "marker_is_upright",
    "odd_folder",
    "open_image",
    "palette_png",
    "phone_jpeg",
    "progressive_jpeg",
    "scene",
    "tiny_png",
    "truncated_jpeg",
    "upright_size",
    "xmp_packet",
]

PHONE_12MP = (4032, 3024)
PHONE_24MP = (5712, 4284)

MARKER_RED = (220, 30, 30)
MARKER_GREEN = (30, 190, 40)
MARKER_BLUE = (30, 50, 220)

ByteOrder = Literal["II", "MM"]
IccKind = Literal["p3", "srgb"]
Location = tuple[float, float, float]

# The Eiffel Tower's public coordinates: clearly a location, clearly nobody's home.
DEFAULT_LOCATION: Location = (48.858370, 2.294481, 35.0)
DEFAULT_TAKEN = _dt.datetime(2024, 5, 1, 14, 30, 5)

# What ImageOps.exif_transpose() applies for each Orientation; the stored pixels are the
# upright picture put through the inverse (only 6 and 8 are not their own inverse).
_TRANSPOSE_FOR = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_INVERSE = {
    **_TRANSPOSE_FOR,
    6: Image.Transpose.ROTATE_90,
    8: Image.Transpose.ROTATE_270,
}

_MAKES = {"iphone": "Apple", "pixel": "Google", "galaxy": "samsung", "sm-": "samsung"}


# ---- the picture -----------------------------------------------------------------------------


def upright_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """The upright picture's size for stored pixels of ``size`` and an EXIF ``orientation``."""
    width, height = size
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _lut(amplitude: int) -> list[int]:
    """A point() table mapping 0..255 to 128 ± ``amplitude`` (a centred deviation)."""
    return [128 + (v - 128) * amplitude // 128 for v in range(256)]


def _noise(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    return Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))


def scene(size: tuple[int, int], *, seed: int = 0, texture: int = 12) -> Image.Image:
    """The upright picture: sky, ground, a figure, luminance texture and the orientation marker.

    Colour changes only in smooth, muted areas (channels within ~50 of each other) and the
    texture is luminance only, so nothing but the marker blocks is strongly red, green or blue.

    Args:
        size: the upright picture's (width, height).
        seed: picks the cloud pattern, texture and noise.
        texture: the fine grain's amplitude in levels; it sets most of a JPEG's byte size.
    """
    width, height = size
    rng = random.Random(seed)
    # The base colours are drawn at 1/8 scale and blown up: soft edges for free, and every
    # full-resolution step is a single C-level resize, point or add (no Python per pixel).
    sw, sh = max(1, -(-width // 8)), max(1, -(-height // 8))
    base = Image.new("RGB", (sw, sh))
    horizon = int(sh * 0.62)
    sky_top, sky_low = (150, 170, 200), (200, 205, 210)
    ground_top, ground_low = (130, 125, 95), (95, 85, 60)
    draw = ImageDraw.Draw(base)
    for y in range(sh):
        if y < horizon:
            t, (top, low) = y / max(1, horizon), (sky_top, sky_low)
        else:
            t, (top, low) = (y - horizon) / max(1, sh - horizon), (ground_top, ground_low)
        draw.line(
            [(0, y), (sw, y)],
            fill=tuple(round(a + (b - a) * t) for a, b in zip(top, low, strict=True)),
        )
    hill = [(0, horizon)] + [
        (x, horizon - int(sh * 0.08 * (1 + math.sin(x / max(1, sw) * 5 + seed)))) for x in range(sw)
    ]
    draw.polygon(hill + [(sw, horizon), (sw, sh), (0, sh)], fill=(120, 120, 90))
    cx = sw // 2
    body_w, body_h, head = sw // 7, sh // 3, max(1, sh // 9)
    draw.rounded_rectangle(
        (cx - body_w, sh - body_h, cx + body_w, sh + body_w),
        radius=max(1, body_w // 2),
        fill=(85, 90, 120),
    )
    draw.ellipse((cx - head, sh - body_h - 2 * head, cx + head, sh - body_h), fill=(185, 155, 135))
    base = base.filter(ImageFilter.GaussianBlur(0.8)).resize(size, Image.Resampling.BICUBIC)

    # Clouds and shading (big soft blobs), a mid-scale texture and a fine grain, all luminance.
    clouds = _noise(rng, (12, 9)).resize(size, Image.Resampling.BICUBIC).point(_lut(28))
    mid = _noise(rng, (max(1, width // 6), max(1, height // 6)))
    mid = mid.resize(size, Image.Resampling.BILINEAR).point(_lut(texture))
    grain = _noise(rng, size).point(_lut(texture))

    luma = ImageChops.add(ImageChops.add(clouds, mid, 1.0, -128), grain, 1.0, -128)
    picture = ImageChops.add(base, Image.merge("RGB", (luma, luma, luma)), 1.0, -128)
    _draw_marker(picture)
    return picture


def _marker_boxes(size: tuple[int, int]) -> dict[str, tuple[int, int, int, int]]:
    width, height = size
    side = max(1, round(min(width, height) * 0.2))
    return {
        "red": (0, 0, side, side),
        "blue": ((width - side) // 2, height - side, (width + side) // 2, height),
        "green": (width - side, (height - side) // 2, width, (height + side) // 2),
    }


def _draw_marker(picture: Image.Image) -> None:
    colours = {"red": MARKER_RED, "green": MARKER_GREEN, "blue": MARKER_BLUE}
    for name, box in _marker_boxes(picture.size).items():
        picture.paste(colours[name], box)


def _stored(upright: Image.Image, orientation: int) -> Image.Image:
    """The pixels a phone stores so that applying ``orientation`` shows ``upright``."""
    method = _INVERSE.get(orientation)
    return upright if method is None else upright.transpose(method)


def _photo(size: tuple[int, int], orientation: int, seed: int, texture: int = 12) -> Image.Image:
    """Stored pixels of ``size`` for a picture whose EXIF says ``orientation``."""
    if orientation not in range(1, 9):
        raise ValueError(f"EXIF orientation must be 1..8, not {orientation!r}")
    return _stored(scene(upright_size(size, orientation), seed=seed, texture=texture), orientation)


# ---- EXIF (written here, in either byte order) -----------------------------------------------

_BYTE, _ASCII, _SHORT, _LONG, _RATIONAL, _UNDEFINED = 1, 2, 3, 4, 5, 7
_Entry = tuple[int, int, int, bytes]  # tag, type, count, value bytes in the file's byte order


class _Values:
    """Packs EXIF values in one byte order."""

    def __init__(self, byte_order: ByteOrder) -> None:
        self.e = "<" if byte_order == "II" else ">"

    def ascii(self, tag: int, text: str) -> _Entry:
        raw = text.encode("ascii") + b"\0"
        return tag, _ASCII, len(raw), raw

    def short(self, tag: int, value: int) -> _Entry:
        return tag, _SHORT, 1, struct.pack(self.e + "H", value)

    def long(self, tag: int, value: int) -> _Entry:
        return tag, _LONG, 1, struct.pack(self.e + "I", value)

    def rationals(self, tag: int, *pairs: tuple[int, int]) -> _Entry:
        raw = b"".join(struct.pack(self.e + "II", n, d) for n, d in pairs)
        return tag, _RATIONAL, len(pairs), raw

    def raw(self, tag: int, kind: int, raw: bytes) -> _Entry:
        return tag, kind, len(raw), raw


def _dms(value: float) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """Degrees, minutes and seconds (to 1/100 s) as EXIF rationals."""
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60 * 100)
    return (degrees, 1), (minutes, 1), (seconds, 100)


def _ifd_size(entries: Sequence[_Entry]) -> int:
    return 2 + 12 * len(entries) + 4 + sum(len(v) + len(v) % 2 for *_, v in entries if len(v) > 4)


def _ifd(entries: Sequence[_Entry], offset: int, next_ifd: int, e: str) -> bytes:
    """One IFD at ``offset`` (from the TIFF header), its out-of-line values right after it."""
    table, extra = [], b""
    values_at = offset + 2 + 12 * len(entries) + 4
    for tag, kind, count, value in sorted(entries):
        if len(value) <= 4:
            field_ = value.ljust(4, b"\0")
        else:
            field_ = struct.pack(e + "I", values_at + len(extra))
            extra += value + b"\0" * (len(value) % 2)  # values start on a word boundary
        table.append(struct.pack(e + "HHI", tag, kind, count) + field_)
    return (
        struct.pack(e + "H", len(entries))
        + b"".join(table)
        + struct.pack(e + "I", next_ifd)
        + extra
    )


def exif_block(
    *,
    orientation: int = 1,
    make: str = "Apple",
    model: str = "iPhone 15 Pro",
    taken: _dt.datetime = DEFAULT_TAKEN,
    gps: bool = True,
    location: Location = DEFAULT_LOCATION,
    byte_order: ByteOrder = "MM",
    pixel_size: tuple[int, int] | None = None,
    thumbnail: bytes | None = None,
    colour_space: int = 1,
) -> bytes:
    """A raw EXIF block (a TIFF header and IFDs, no ``Exif\\0\\0`` prefix), laid out as phones do.

    IFD0 (Make, Model, Orientation, resolution, Software, DateTime, pointers), the Exif IFD
    (ExifVersion, DateTimeOriginal, ColorSpace, pixel size), the GPS IFD when ``gps`` is set
    (version, latitude/longitude/altitude with their refs, time and date stamps), then IFD1
    with the embedded JPEG ``thumbnail`` when one is given: so the GPS IFD sits between other
    structures, and code that removes it must not move them.

    Args:
        byte_order: ``"MM"`` (big-endian, what iPhones write) or ``"II"`` (most Android).
        colour_space: EXIF ColorSpace, 1 for sRGB, 65535 (uncalibrated) as for Display P3.
    """
    v = _Values(byte_order)
    e = v.e
    stamp = taken.strftime("%Y:%m:%d %H:%M:%S")
    ifd0 = [
        v.ascii(0x010F, make),
        v.ascii(0x0110, model),
        v.short(0x0112, orientation),
        v.rationals(0x011A, (72, 1)),
        v.rationals(0x011B, (72, 1)),
        v.short(0x0128, 2),
        v.ascii(0x0131, "17.4.1"),
        v.ascii(0x0132, stamp),
        v.long(0x8769, 0),  # Exif IFD pointer, filled in below
    ]
    if gps:
        ifd0.append(v.long(0x8825, 0))
    exif_ifd = [
        v.raw(0x9000, _UNDEFINED, b"0232"),
        v.ascii(0x9003, stamp),
        v.ascii(0x9004, stamp),
        v.ascii(0x9011, "+02:00"),
        v.short(0xA001, colour_space),
        v.ascii(0xA434, f"{model} back triple camera 6.765mm f/1.78"),
    ]
    if pixel_size:
        exif_ifd += [v.long(0xA002, pixel_size[0]), v.long(0xA003, pixel_size[1])]
    lat, lon, alt = location
    gps_ifd = [
        v.raw(0x0000, _BYTE, b"\x02\x02\x00\x00"),
        v.ascii(0x0001, "N" if lat >= 0 else "S"),
        v.rationals(0x0002, *_dms(lat)),
        v.ascii(0x0003, "E" if lon >= 0 else "W"),
        v.rationals(0x0004, *_dms(lon)),
        v.raw(0x0005, _BYTE, b"\x00" if alt >= 0 else b"\x01"),
        v.rationals(0x0006, (round(abs(alt) * 1000), 1000)),
        v.rationals(0x0007, (12, 1), (30, 1), (5, 1)),
        v.ascii(0x001D, taken.strftime("%Y:%m:%d")),
    ]
    ifd1 = []
    if thumbnail:
        ifd1 = [
            v.short(0x0103, 6),
            v.rationals(0x011A, (72, 1)),
            v.rationals(0x011B, (72, 1)),
            v.short(0x0128, 2),
            v.long(0x0201, 0),
            v.long(0x0202, len(thumbnail)),
        ]

    # Sizes do not depend on the pointer values, so lay out first, then write.
    at_ifd0 = 8
    at_exif = at_ifd0 + _ifd_size(ifd0)
    at_gps = at_exif + _ifd_size(exif_ifd)
    at_ifd1 = at_gps + (_ifd_size(gps_ifd) if gps else 0)
    at_thumb = at_ifd1 + (_ifd_size(ifd1) if ifd1 else 0)

    def point(entries: list[_Entry], tag: int, target: int) -> None:
        entries[:] = [v.long(tag, target) if t[0] == tag else t for t in entries]

    point(ifd0, 0x8769, at_exif)
    if gps:
        point(ifd0, 0x8825, at_gps)
    if ifd1:
        point(ifd1, 0x0201, at_thumb)
    head = (b"II*\0" if byte_order == "II" else b"MM\0*") + struct.pack(e + "I", at_ifd0)
    out = head + _ifd(ifd0, at_ifd0, at_ifd1 if ifd1 else 0, e) + _ifd(exif_ifd, at_exif, 0, e)
    if gps:
        out += _ifd(gps_ifd, at_gps, 0, e)
    if ifd1:
        out += _ifd(ifd1, at_ifd1, 0, e) + (thumbnail or b"")
    return out


def xmp_packet(*, gps: bool, orientation: int | None = None) -> bytes:
    """An XMP packet like a photo editor writes, with GPS properties when ``gps`` is set."""
    lat, lon, alt = DEFAULT_LOCATION
    props = [
        'xmlns:xmp="http://ns.adobe.com/xap/1.0/"',
        'xmlns:tiff="http://ns.adobe.com/tiff/1.0/"',
        'xmlns:exif="http://ns.adobe.com/exif/1.0/"',
        'xmp:CreatorTool="Photos 9.0"',
        'xmp:CreateDate="2024-05-01T14:30:05+02:00"',
    ]
    if orientation is not None:
        props.append(f'tiff:Orientation="{orientation}"')
    if gps:
        props += [
            f'exif:GPSLatitude="{int(lat)},{(lat % 1) * 60:.4f}N"',
            f'exif:GPSLongitude="{int(lon)},{(lon % 1) * 60:.4f}E"',
            f'exif:GPSAltitude="{round(alt * 10)}/10"',
            'exif:GPSAltitudeRef="0"',
        ]
    body = "\n    ".join(props)
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        f'  <rdf:Description rdf:about=""\n    {body}/>\n'
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    ).encode()


def _make_for(camera: str) -> str:
    lowered = camera.lower()
    return next((make for key, make in _MAKES.items() if key in lowered), "Unknown")


def _exif_thumbnail(stored: Image.Image) -> bytes:
    """The small JPEG phones put in IFD1, stored in the same orientation as the photo."""
    thumb = (
        stored.copy()
        if stored.width <= 160 and stored.height <= 160
        else stored.reduce(max(1, min(stored.width // 160, stored.height // 120)))
    )
    thumb.thumbnail((160, 160), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    thumb.save(buf, "JPEG", quality=70)
    return buf.getvalue()


# ---- ICC profiles ----------------------------------------------------------------------------

_D50 = (0.9642, 1.0, 0.8249)
_D65_XY = (0.3127, 0.3290)
_P3_PRIMARIES = ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060))
_BRADFORD = (
    (0.8951, 0.2664, -0.1614),
    (-0.7502, 1.7135, 0.0367),
    (0.0389, -0.0685, 1.0296),
)

Matrix = tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]]
Vector = tuple[float, float, float]


def _mul(m: Matrix, x: Vector) -> Vector:
    return (
        m[0][0] * x[0] + m[0][1] * x[1] + m[0][2] * x[2],
        m[1][0] * x[0] + m[1][1] * x[1] + m[1][2] * x[2],
        m[2][0] * x[0] + m[2][1] * x[1] + m[2][2] * x[2],
    )


def _matmul(a: Matrix, b: Matrix) -> Matrix:
    cols = [_mul(a, (b[0][j], b[1][j], b[2][j])) for j in range(3)]
    return (
        (cols[0][0], cols[1][0], cols[2][0]),
        (cols[0][1], cols[1][1], cols[2][1]),
        (cols[0][2], cols[1][2], cols[2][2]),
    )


def _inverse(m: Matrix) -> Matrix:
    (a, b, c), (d, e, f), (g, h, i) = m
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    return (
        ((e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det),
        ((f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det),
        ((d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det),
    )


def _xyz(xy: tuple[float, float]) -> Vector:
    x, y = xy
    return (x / y, 1.0, (1 - x - y) / y)


def rgb_to_xyz(primaries: Sequence[tuple[float, float]], white: tuple[float, float]) -> Matrix:
    """The linear-RGB→XYZ matrix of a colour space from its primaries' and white's xy."""
    cols = [_xyz(p) for p in primaries]
    p: Matrix = (
        (cols[0][0], cols[1][0], cols[2][0]),
        (cols[0][1], cols[1][1], cols[2][1]),
        (cols[0][2], cols[1][2], cols[2][2]),
    )
    s = _mul(_inverse(p), _xyz(white))
    return (
        (p[0][0] * s[0], p[0][1] * s[1], p[0][2] * s[2]),
        (p[1][0] * s[0], p[1][1] * s[1], p[1][2] * s[2]),
        (p[2][0] * s[0], p[2][1] * s[1], p[2][2] * s[2]),
    )


def _adapt_to_d50(m: Matrix, white: tuple[float, float]) -> Matrix:
    """``m`` with its white moved to D50 by the Bradford transform (what ICC colorants hold)."""
    src, dst = _mul(_BRADFORD, _xyz(white)), _mul(_BRADFORD, _D50)
    gain: Matrix = ((dst[0] / src[0], 0, 0), (0, dst[1] / src[1], 0), (0, 0, dst[2] / src[2]))
    return _matmul(_matmul(_inverse(_BRADFORD), _matmul(gain, _BRADFORD)), m)


def _s15f16(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz_tag(xyz: Sequence[float]) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(_s15f16(c) for c in xyz)


def _desc_tag(text: str) -> bytes:
    # ICC v2 textDescriptionType: ASCII, then empty Unicode and ScriptCode parts
    ascii_ = text.encode("ascii") + b"\0"
    return (
        b"desc\0\0\0\0"
        + struct.pack(">I", len(ascii_))
        + ascii_
        + struct.pack(">II", 0, 0)
        + struct.pack(">HB", 0, 0)
        + b"\0" * 67
    )


def _srgb_curve_tag(points: int = 1024) -> bytes:
    """A ``curv`` table of the sRGB transfer function (encoded value → linear)."""
    values = []
    for i in range(points):
        c = i / (points - 1)
        linear = c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
        values.append(round(linear * 65535))
    return b"curv\0\0\0\0" + struct.pack(f">I{points}H", points, *values)


def _display_p3() -> bytes:
    """A Display P3 ICC v2.4 display profile: P3-D65 primaries adapted to D50, sRGB curves."""
    to_xyz = _adapt_to_d50(rgb_to_xyz(_P3_PRIMARIES, _D65_XY), _D65_XY)
    column = [tuple(to_xyz[row][col] for row in range(3)) for col in range(3)]
    curve = _srgb_curve_tag()
    tags: list[tuple[bytes, bytes]] = [
        (b"desc", _desc_tag("Display P3")),
        (b"cprt", b"text\0\0\0\0No copyright, use freely (generated by aurous_nb tests)\0"),
        (b"wtpt", _xyz_tag(_D50)),
        (b"rXYZ", _xyz_tag(column[0])),
        (b"gXYZ", _xyz_tag(column[1])),
        (b"bXYZ", _xyz_tag(column[2])),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    # The three TRCs share one stored curve, as many real profiles do.
    table_size = 4 + 12 * len(tags)
    body, offsets = b"", {}
    at = 128 + table_size
    entries = []
    for sig, data in tags:
        if data not in offsets:
            offsets[data] = at + len(body)
            body += data + b"\0" * (-len(data) % 4)
        entries.append(struct.pack(">4sII", sig, offsets[data], len(data)))
    size = 128 + table_size + len(body)
    header = (
        struct.pack(">I", size)
        + b"\0\0\0\0"  # preferred CMM: none
        + struct.pack(">I", 0x02400000)  # version 2.4
        + b"mntrRGB XYZ "
        + struct.pack(">6H", 2024, 5, 1, 0, 0, 0)
        + b"acsp"
        + b"\0\0\0\0"  # primary platform: none
        + struct.pack(">I", 0)  # flags
        + b"\0\0\0\0" * 2  # device manufacturer and model
        + b"\0" * 8  # device attributes
        + struct.pack(">I", 0)  # rendering intent: perceptual
        + b"".join(_s15f16(c) for c in _D50)
        + b"\0\0\0\0"  # creator
        + b"\0" * 16  # profile ID (v4 only)
        + b"\0" * 28
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + b"".join(entries) + body


def icc_profile(kind: IccKind) -> bytes:
    """An ICC profile's bytes: ``"p3"`` is built here (license-clean), ``"srgb"`` by LittleCMS."""
    if kind == "p3":
        return _display_p3()
    if kind == "srgb":
        from PIL import ImageCms

        return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    raise ValueError(f"unknown ICC profile kind {kind!r} (use 'p3' or 'srgb')")


# ---- makers ----------------------------------------------------------------------------------


def _write(path: str | os.PathLike[str], data: bytes) -> Path:
    out = Path(path)
    out.write_bytes(data)
    return out


def _encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **params)
    return buf.getvalue()


def phone_jpeg(
    path: str | os.PathLike[str],
    *,
    size: tuple[int, int] = PHONE_12MP,
    orientation: int = 1,
    gps: bool = True,
    icc: IccKind | None = None,
    progressive: bool = False,
    quality: int = 90,
    camera: str = "iPhone 15 Pro",
    make: str | None = None,
    byte_order: ByteOrder = "MM",
    exif: bool = True,
    exif_thumbnail: bool = True,
    xmp: bytes | None = None,
    texture: int = 12,
    seed: int = 0,
) -> Path:
    """A JPEG as a phone writes it; ``size`` is the *stored* size, as its SOF header says.

    The stored pixels are the upright picture (see :func:`scene`) put through the inverse of
    ``orientation``, so ``ImageOps.exif_transpose`` shows it upright, of
    ``upright_size(size, orientation)``. EXIF (IFD0, Exif IFD, GPS IFD, IFD1 with a thumbnail)
    comes from :func:`exif_block`. With the defaults a 12 MP file is about 3.5 MB and takes
    ~0.3 s to make; 24 MP, about 7 MB in ~0.65 s.

    Args:
        size: stored (width, height): 4032×3024 (12 MP), 5712×4284 (24 MP) or small.
        orientation: EXIF Orientation 1..8.
        gps: add the GPS IFD.
        icc: embed a Display P3 (``"p3"``) or sRGB ICC profile; the pixels are not converted.
        byte_order: the EXIF's byte order.
        exif: ``False`` writes no EXIF at all (then orientation must be 1).
        exif_thumbnail: put a 160 px JPEG thumbnail in IFD1, as phones do.
        xmp: an XMP packet (see :func:`xmp_packet`) for an APP1 XMP segment.
        texture: grain amplitude; the byte size follows it.
        seed: the picture's seed; equal arguments give equal bytes.
    """
    if not exif and orientation != 1:
        raise ValueError("an orientation other than 1 needs EXIF")
    stored = _photo(size, orientation, seed, texture)
    params: dict[str, Any] = {"quality": quality, "progressive": progressive}
    if exif:
        params["exif"] = b"Exif\0\0" + exif_block(
            orientation=orientation,
            make=make or _make_for(camera),
            model=camera,
            gps=gps,
            byte_order=byte_order,
            pixel_size=size,
            thumbnail=_exif_thumbnail(stored) if exif_thumbnail else None,
            colour_space=0xFFFF if icc == "p3" else 1,
        )
    if icc:
        params["icc_profile"] = icc_profile(icc)
    if xmp:
        params["xmp"] = xmp
    return _write(path, _encode(stored, "JPEG", **params))


def progressive_jpeg(
    path: str | os.PathLike[str], *, size: tuple[int, int] = (800, 500), **kw: Any
) -> Path:
    """A progressive phone JPEG (as web exports and some Android cameras write)."""
    return phone_jpeg(path, size=size, progressive=True, **kw)


def cmyk_jpeg(
    path: str | os.PathLike[str], *, size: tuple[int, int] = (800, 500), seed: int = 0
) -> Path:
    """A CMYK JPEG as Photoshop writes it: inverted CMYK and an Adobe APP14 segment.

    libjpeg adds the APP14 ``Adobe`` segment (transform 0) to every CMYK JPEG, and Pillow
    stores the channels inverted, as Adobe's software does.
    """
    data = _encode(scene(size, seed=seed).convert("CMYK"), "JPEG", quality=90)
    if data[2:4] != b"\xff\xee" or data[6:11] != b"Adobe":  # pragma: no cover - depends on libjpeg
        raise RuntimeError("this libjpeg wrote no Adobe APP14 segment for CMYK")
    return _write(path, data)


def gray16_png(path: str | os.PathLike[str], *, size: tuple[int, int] = (640, 400)) -> Path:
    """A 16-bit grayscale PNG (mode ``I;16``) whose values span 0..65535.

    Almost every value is above 255, so a conversion that clips to 8 bits instead of
    scaling turns the picture white. A diagonal ramp with a dark square top-left (no colour,
    so no colour marker): ``marker_is_upright`` does not apply.
    """
    width, height = size
    rows = []
    span = max(1, width + height - 2)
    for y in range(height):
        row = [(x + y) * 65535 // span for x in range(width)]
        if y < height // 5:
            row[: width // 5] = [4096] * (width // 5)
        rows.append(struct.pack(f"<{width}H", *row))
    image = Image.frombytes("I;16", size, b"".join(rows))
    return _write(path, _encode(image, "PNG"))


def palette_png(
    path: str | os.PathLike[str], *, size: tuple[int, int] = (400, 250), seed: int = 0
) -> Path:
    """A palette (mode ``P``) PNG with a transparent index (``tRNS``) over its top-right area."""
    image = scene(size, seed=seed).quantize(colors=63, method=Image.Quantize.MEDIANCUT)
    palette = image.getpalette() or []
    palette = (palette + [0] * 768)[: 63 * 3] + [0, 0, 0]
    image.putpalette(palette)
    width, height = size
    image.paste(63, (width * 3 // 5, 0, width, height // 4))
    return _write(path, _encode(image, "PNG", transparency=63))


def _frames(size: tuple[int, int], count: int, seed: int) -> list[Image.Image]:
    # Each frame has its own seed: different clouds and grain, the same marker.
    return [scene(size, seed=seed + i) for i in range(count)]


def apng(
    path: str | os.PathLike[str],
    *,
    size: tuple[int, int] = (320, 200),
    frames: int = 3,
    seed: int = 0,
) -> Path:
    """An animated PNG of ``frames`` different frames, 100 ms each."""
    first, *rest = _frames(size, max(2, frames), seed)
    data = _encode(first, "PNG", save_all=True, append_images=rest, duration=100, loop=0)
    return _write(path, data)


def animated_webp(
    path: str | os.PathLike[str],
    *,
    size: tuple[int, int] = (320, 200),
    frames: int = 3,
    seed: int = 0,
) -> Path:
    """An animated WebP of ``frames`` different frames, 100 ms each."""
    first, *rest = _frames(size, max(2, frames), seed)
    data = _encode(
        first, "WEBP", save_all=True, append_images=rest, duration=100, loop=0, quality=80
    )
    return _write(path, data)


def heif_encoder_available() -> bool:
    """Whether pillow-heif is importable here with an HEVC encoder (to make HEIC files)."""
    try:
        import pillow_heif
    except ImportError:
        return False
    return bool(pillow_heif.libheif_info().get("HEIF"))


def heic(
    path: str | os.PathLike[str],
    *,
    size: tuple[int, int] = (800, 600),
    orientation: int = 1,
    gps: bool = True,
    quality: int = 80,
    camera: str = "iPhone 15 Pro",
    preset: str = "ultrafast",
    seed: int = 0,
) -> Path:
    """An HEIC photo encoded by pillow-heif (x265) with phone EXIF; ``size`` is stored size.

    pillow-heif turns an EXIF Orientation into HEIF's ``irot``/``imir`` transforms, and
    libheif applies them when decoding: decoded pixels come out upright and the EXIF says 1
    (``info["original_orientation"]`` keeps the old value).

    Args:
        preset: x265's speed preset; ``"ultrafast"`` encodes 12 MP in ~1.5 s here, x265's own
            default (``"medium"``) takes 5–10 s, for an equally decodable file.

    Raises:
        ImportError: pillow-heif is not installed (tests use ``pytest.importorskip``).
    """
    import pillow_heif

    stored = _photo(size, orientation, seed)
    heif = pillow_heif.from_pillow(stored)
    heif.info["exif"] = b"Exif\0\0" + exif_block(
        orientation=orientation, make=_make_for(camera), model=camera, gps=gps, pixel_size=size
    )
    buf = io.BytesIO()
    heif.save(buf, quality=quality, enc_params={"preset": preset})
    return _write(path, buf.getvalue())


def avif(
    path: str | os.PathLike[str],
    *,
    size: tuple[int, int] = (800, 600),
    orientation: int = 1,
    gps: bool = True,
    quality: int = 75,
    speed: int = 8,
    seed: int = 0,
) -> Path:
    """An AVIF encoded by Pillow, with phone EXIF; ``size`` is the stored size.

    Pillow moves the EXIF Orientation into AVIF's ``irot``/``imir`` on save and back into the
    EXIF on open, without applying it: as with JPEG, ``exif_transpose`` shows it upright.
    (An Orientation of 1 is dropped on save, so such a file reads back with none.) ``speed``
    8 encodes 12 MP in ~1 s; Pillow's default, 6, takes 4–7 s.
    """
    stored = _photo(size, orientation, seed)
    exif = exif_block(orientation=orientation, gps=gps, pixel_size=size)
    return _write(
        path, _encode(stored, "AVIF", quality=quality, speed=speed, exif=b"Exif\0\0" + exif)
    )


def truncated_jpeg(
    path: str | os.PathLike[str], *, size: tuple[int, int] = (800, 500), seed: int = 0
) -> Path:
    """A phone JPEG cut halfway through its entropy-coded scan (no EOI)."""
    data = _encode(_photo(size, 1, seed), "JPEG", quality=90)
    sos = data.index(b"\xff\xda")
    return _write(path, data[: sos + (len(data) - sos) // 2])


def tiny_png(path: str | os.PathLike[str], colour: tuple[int, int, int] = MARKER_RED) -> Path:
    """A 1×1 RGB PNG."""
    return _write(path, _encode(Image.new("RGB", (1, 1), colour), "PNG"))


def exif_png(
    path: str | os.PathLike[str],
    *,
    size: tuple[int, int] = (400, 250),
    orientation: int = 1,
    gps: bool = True,
    byte_order: ByteOrder = "MM",
    xmp: bytes | None = None,
    seed: int = 0,
) -> Path:
    """A PNG with an ``eXIf`` chunk (Orientation, Make/Model, GPS) as iOS screenshots/exports
    carry; ``size`` is the stored size. ``xmp`` goes into an ``iTXt XML:com.adobe.xmp`` chunk.
    """
    from PIL import PngImagePlugin

    stored = _photo(size, orientation, seed)
    params: dict[str, Any] = {
        "exif": exif_block(orientation=orientation, gps=gps, byte_order=byte_order, pixel_size=size)
    }
    if xmp:
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", xmp.decode())
        params["pnginfo"] = info
    return _write(path, _encode(stored, "PNG", **params))


def exif_webp(
    path: str | os.PathLike[str],
    *,
    size: tuple[int, int] = (400, 250),
    orientation: int = 1,
    gps: bool = True,
    byte_order: ByteOrder = "II",
    lossless: bool = False,
    xmp: bytes | None = None,
    icc: IccKind | None = None,
    seed: int = 0,
) -> Path:
    """A WebP (VP8X with an ``EXIF`` chunk: Orientation, Make/Model, GPS); ``size`` is the
    stored size. ``xmp`` adds an ``XMP `` chunk, ``icc`` an ``ICCP`` chunk."""
    stored = _photo(size, orientation, seed)
    params: dict[str, Any] = {
        "exif": exif_block(
            orientation=orientation, gps=gps, byte_order=byte_order, pixel_size=size
        ),
        "lossless": lossless,
        "quality": 85,
    }
    if xmp:
        params["xmp"] = xmp
    if icc:
        params["icc_profile"] = icc_profile(icc)
    return _write(path, _encode(stored, "WEBP", **params))


# ---- a camera-roll folder ---------------------------------------------------------------------


@dataclass
class OddFolder:
    """What :func:`odd_folder` wrote, by what a careful lister should do with each entry."""

    directory: Path
    images: list[Path] = field(default_factory=list)
    """Pictures a user meant (any extension case, odd names; HEIC included)."""
    skipped: list[Path] = field(default_factory=list)
    """Hidden files, AppleDouble ``._`` companions and ``.DS_Store``: never offer these."""
    other: list[Path] = field(default_factory=list)
    """Ordinary files that are not images (``notes.txt``)."""
    heic_decodable: bool = False
    """True when the HEIC entries are real HEIC (pillow-heif was there to encode them);
    otherwise they are just an ``ftyp heic`` header, recognisable but not decodable."""
    undecodable_name: Path | None = None
    """The entry whose name is not valid UTF-8 (surrogate-escaped), when one could be made."""

    @property
    def entries(self) -> list[Path]:
        return self.images + self.skipped + self.other


# AppleDouble (RFC 1740 layout, as macOS writes for files copied to a non-Mac volume): the
# header, a Finder Info entry and an empty resource fork.
_APPLEDOUBLE_MAGIC = 0x00051607
_APPLEDOUBLE_VERSION = 0x00020000


def _empty_resource_fork() -> bytes:
    header = struct.pack(">IIII", 0x100, 0x100, 0, 0x1E)
    note = b"This resource fork intentionally left blank   "
    fork = header + b"\0" * 112 + note
    fork += b"\0" * (0x100 - len(fork))
    # resource map: header copy, next-map handle, file ref, attributes, list offsets, no types
    return fork + header + b"\0" * 8 + struct.pack(">HHH", 0x1C, 0x1E, 0xFFFF)


def appledouble(file_type: bytes = b"JPEG", creator: bytes = b"8BIM") -> bytes:
    """The bytes of a macOS ``._name`` AppleDouble file (Finder Info + empty resource fork)."""
    finder_info = file_type + creator + b"\0" * 24
    fork = _empty_resource_fork()
    entries = 2
    first = 26 + 12 * entries
    return (
        struct.pack(">II", _APPLEDOUBLE_MAGIC, _APPLEDOUBLE_VERSION)
        + b"Mac OS X        "
        + struct.pack(">H", entries)
        + struct.pack(">III", 9, first, len(finder_info))
        + struct.pack(">III", 2, first + len(finder_info), len(fork))
        + finder_info
        + fork
    )


def _ds_store() -> bytes:
    # The buddy-allocator header a Finder .DS_Store starts with; the rest is left empty.
    return struct.pack(">I4sIII", 1, b"Bud1", 0x1000, 0x800, 0x1000) + b"\0" * 4076


def odd_folder(
    directory: str | os.PathLike[str], *, size: tuple[int, int] = (320, 240)
) -> OddFolder:
    """A folder like a real camera-roll export, with the names that trip listers up.

    Images: ``IMG_0001.JPG``, ``IMG_0002.jpeg``, ``IMG_0003.HEIC``, ``IMG_0004.heic``,
    ``photo.jfif``, ``photo2.jpe``, ``take #2.jpg``, ``front [1].jpg``,
    ``2024.05.01 front.jpg``, a 130-character name ending in ``_front.jpg`` and, on Linux, a
    name that is not valid UTF-8 (``b"caf\\xe9.jpg"``). Skipped: ``._IMG_0001.JPG``
    (AppleDouble), ``.DS_Store``, ``.hidden.jpg``. Other: ``notes.txt``.
    """
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    folder = OddFolder(root)
    first = phone_jpeg(root / "IMG_0001.JPG", size=size, orientation=6, seed=1)
    folder.images.append(first)

    def picture(name: str, seed: int) -> Path:
        return phone_jpeg(root / name, size=size, seed=seed, exif_thumbnail=False)

    folder.images.append(picture("IMG_0002.jpeg", 2))
    folder.heic_decodable = heif_encoder_available()
    for name in ("IMG_0003.HEIC", "IMG_0004.heic"):
        if folder.heic_decodable:
            folder.images.append(heic(root / name, size=size, orientation=6))
        else:
            stub = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + b"\0" * 64
            folder.images.append(_write(root / name, stub))
    long_name = "IMG_20240501_143005_" + "x" * (130 - 20 - len("_front.jpg")) + "_front.jpg"
    assert len(long_name) == 130
    names = ["photo.jfif", "photo2.jpe", "take #2.jpg", "front [1].jpg", "2024.05.01 front.jpg"]
    for seed, name in enumerate([*names, long_name], start=3):
        folder.images.append(picture(name, seed))
    if sys.platform.startswith("linux"):
        raw = os.path.join(os.fsencode(root), b"caf\xe9.jpg")
        try:
            with open(raw, "wb") as out:
                out.write(first.read_bytes())
        except OSError:  # a file system that insists on UTF-8 names
            pass
        else:
            folder.undecodable_name = Path(os.fsdecode(raw))
            folder.images.append(folder.undecodable_name)

    folder.skipped.append(_write(root / "._IMG_0001.JPG", appledouble()))
    folder.skipped.append(_write(root / ".DS_Store", _ds_store()))
    folder.skipped.append(picture(".hidden.jpg", 20))
    folder.other.append(_write(root / "notes.txt", b"front, left, right; the blue jacket\n"))
    return folder


# ---- inspection ------------------------------------------------------------------------------

Source = bytes | str | os.PathLike[str] | Image.Image


def _is_heif(head: bytes) -> bool:
    return head[4:8] == b"ftyp" and head[8:12] in {b"heic", b"heix", b"mif1", b"msf1", b"hevc"}


def open_image(source: Source) -> Image.Image:
    """A decoded image from bytes, a path or an image (returned as is).

    HEIC goes through pillow-heif directly, without registering its opener with Pillow (that
    would change ``Image.open`` for every other test in the process).
    """
    if isinstance(source, Image.Image):
        return source
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    if _is_heif(data[:16]):
        import pillow_heif

        return pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True).to_pillow()
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _classify(pixel: tuple[int, ...]) -> str | None:
    r, g, b = pixel[:3]
    if r > 140 and r - max(g, b) > 80:
        return "red"
    if g > 120 and g - max(r, b) > 60:
        return "green"
    if b > 140 and b - max(r, g) > 80:
        return "blue"
    return None


def marker_is_upright(source: Source, *, transpose: bool = False) -> bool:
    """Whether the orientation marker shows the picture upright, from pixels alone.

    Upright means: red blob in the top-left, blue on the bottom edge near the middle, green on
    the right edge near the middle. Of the eight ways to store a picture only the upright one
    passes. EXIF is ignored unless ``transpose`` is set (then ``exif_transpose`` is applied
    first). Works on full photos and on thumbnails down to a few dozen pixels.
    """
    image = open_image(source)
    if transpose:
        image = ImageOps.exif_transpose(image)
    if image.mode not in ("RGB", "RGBA", "P", "PA", "CMYK", "YCbCr", "LA", "L"):
        return False  # 16-bit and float images carry no colour marker
    rgb = image.convert("RGB")
    scale = max(1, max(rgb.size) // 48)
    small = rgb.reduce(scale) if scale > 1 else rgb
    width, height = small.size
    points: dict[str, list[tuple[float, float]]] = {"red": [], "green": [], "blue": []}
    pixels = small.load()
    assert pixels is not None
    for y in range(height):
        for x in range(width):
            pixel = pixels[x, y]
            assert isinstance(pixel, tuple)
            colour = _classify(pixel)
            if colour:
                points[colour].append(((x + 0.5) / width, (y + 0.5) / height))
    if not all(points.values()):
        return False
    centre = {
        name: (sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts))
        for name, pts in points.items()
    }
    red, blue, green = centre["red"], centre["blue"], centre["green"]
    return (
        red[0] < 0.35
        and red[1] < 0.35
        and blue[1] > 0.65
        and 0.3 < blue[0] < 0.7
        and green[0] > 0.65
        and 0.3 < green[1] < 0.7
    )


def _exif(source: Source) -> Image.Exif:
    return open_image(source).getexif()


def exif_orientation(source: Source) -> int | None:
    """The EXIF Orientation as Pillow reads it, or None when there is none."""
    value = _exif(source).get(0x0112)
    return int(value) if value is not None else None


def has_gps(source: Source) -> bool:
    """Whether Pillow finds a GPS IFD with any entries in the image's EXIF."""
    return bool(_exif(source).get_ifd(0x8825))


def icc_description(source: Source) -> str | None:
    """The embedded ICC profile's description (``desc``), or None when there is no profile."""
    from PIL import ImageCms

    data = open_image(source).info.get("icc_profile")
    if not data:
        return None
    profile: ImageCmsProfile = ImageCms.ImageCmsProfile(io.BytesIO(data))
    return str(profile.profile.profile_description or "") or None
