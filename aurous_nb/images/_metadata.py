"""Metadata surgery on encoded JPEG, PNG and WebP bytes: the EXIF orientation, the raw EXIF
block, and finding and removing location (EXIF GPS, XMP GPS) without re-encoding a pixel.

Standard library only. Nothing here raises on odd or damaged metadata (see ``strip_location``).
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["exif_bytes", "has_location", "read_orientation", "strip_location"]

_KINDS = ("jpeg", "png", "webp")

_EXIF_PREFIX = b"Exif\0\0"
_XMP_JPEG = b"http://ns.adobe.com/xap/1.0/\0"
_XMP_JPEG_EXT = b"http://ns.adobe.com/xmp/extension/\0"
_XMP_PNG_KEYWORD = b"XML:com.adobe.xmp"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# An XMP property whose local name starts with GPS (exif:GPSLatitude, exif:GPSAltitudeRef,
# <exif:GPSLongitude>...), not the word GPS in a caption.
_XMP_GPS = re.compile(rb"(?<![A-Za-z0-9_])GPS[A-Z][A-Za-z]*")
# Compressed XMP in PNG is inflated at most this far when looking for GPS.
_MAX_XMP = 16 * 1024 * 1024

_ORIENTATION = 0x0112
_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_INTEROP_IFD = 0xA005
_SUB_IFDS = 0x014A
_IFD_POINTERS = {_EXIF_IFD, _GPS_IFD, _INTEROP_IFD, _SUB_IFDS}
# (offsets tag, byte counts tag) pairs whose data other readers need: the IFD1 thumbnail
# and strips/tiles of an embedded TIFF thumbnail.
_DATA_PAIRS = ((0x0201, 0x0202), (0x0111, 0x0117), (0x0144, 0x0145))
# bytes per value of each TIFF field type (BYTE, ASCII, SHORT, LONG, RATIONAL, SBYTE,
# UNDEFINED, SSHORT, SLONG, SRATIONAL, FLOAT, DOUBLE, IFD)
_TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
# A damaged file may chain IFDs in a loop or declare thousands of them or of thumbnail
# strips; past these the block is left as it is.
_MAX_IFDS = 64
_MAX_RANGES = 20_000

_Range = tuple[int, int]


# ---- containers: where the EXIF and XMP live ---------------------------------------------------


@dataclass(frozen=True)
class _Block:
    """One metadata carrier in a file: an APP1 segment, a PNG chunk or a RIFF chunk."""

    what: str  # "exif", "xmp" or "xmp-ext" (JPEG extended XMP)
    start: int  # the whole unit (marker/chunk header to its end, WebP padding included)
    end: int
    body_start: int  # the TIFF block (EXIF) or packet (XMP) inside it
    body_end: int
    text: bytes | None = None  # an XMP packet that is stored compressed (PNG zTXt/iTXt)


def _u16(data: bytes, at: int, e: str) -> int:
    value: int = struct.unpack_from(e + "H", data, at)[0]
    return value


def _u32(data: bytes, at: int, e: str) -> int:
    value: int = struct.unpack_from(e + "I", data, at)[0]
    return value


def _jpeg_blocks(data: bytes) -> list[_Block]:
    """EXIF and XMP APP1 segments before the first scan (SOS); stops at anything malformed."""
    blocks: list[_Block] = []
    if data[:2] != b"\xff\xd8":
        return blocks
    pos, size = 2, len(data)
    while pos + 4 <= size:
        if data[pos] != 0xFF:
            break  # not a marker: the header is damaged, trust nothing past here
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # markers without a length
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # EOI, SOS: the entropy-coded data is never touched
            break
        end = pos + 2 + _u16(data, pos + 2, ">")
        if end - pos < 4 or end > size:
            break
        if marker == 0xE1:
            body = pos + 4
            for what, head in (
                ("exif", _EXIF_PREFIX),
                ("xmp", _XMP_JPEG),
                ("xmp-ext", _XMP_JPEG_EXT),
            ):
                if data.startswith(head, body):
                    blocks.append(_Block(what, pos, end, body + len(head), end))
                    break
        pos = end
    return blocks


def _inflate(compressed: bytes) -> bytes | None:
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(compressed, _MAX_XMP)
    except zlib.error:
        return None
    return text if not inflater.unconsumed_tail else None


def _png_xmp(kind: bytes, body: bytes) -> tuple[bool, bytes | None] | None:
    """For a text chunk: None when it is not XMP; else (stored plainly, packet or None)."""
    keyword, sep, rest = body.partition(b"\0")
    if keyword != _XMP_PNG_KEYWORD or not sep:
        return None
    if kind == b"tEXt":
        return True, rest
    if kind == b"zTXt":
        return False, _inflate(rest[1:])
    # iTXt: compression flag, method, language tag, translated keyword, text
    if len(rest) < 2:
        return False, None
    compressed = rest[0] == 1
    parts = rest[2:].split(b"\0", 2)
    if len(parts) != 3:
        return False, None
    text = parts[2]
    return (False, _inflate(text)) if compressed else (True, text)


def _png_blocks(data: bytes) -> list[_Block]:
    """``eXIf`` and XMP text chunks; stops at IEND or at a chunk that runs past the end."""
    blocks: list[_Block] = []
    if not data.startswith(_PNG_SIGNATURE):
        return blocks
    pos, size = len(_PNG_SIGNATURE), len(data)
    while pos + 12 <= size:
        length = _u32(data, pos, ">")
        kind = data[pos + 4 : pos + 8]
        body, end = pos + 8, pos + 12 + length
        if end > size:
            break
        if kind == b"eXIf":
            # some writers keep the JPEG APP1 prefix in eXIf; readers skip it
            skip = len(_EXIF_PREFIX) if data.startswith(_EXIF_PREFIX, body) else 0
            blocks.append(_Block("exif", pos, end, body + skip, end - 4))
        elif kind in (b"iTXt", b"tEXt", b"zTXt") and data.startswith(_XMP_PNG_KEYWORD, body):
            found = _png_xmp(kind, data[body : end - 4])
            if found is not None:
                plain, text = found
                start = end - 4 - len(text) if plain and text is not None else body
                blocks.append(_Block("xmp", pos, end, start, end - 4, None if plain else text))
        elif kind == b"IEND":
            break
        pos = end
    return blocks


def _webp_blocks(data: bytes) -> list[_Block]:
    """``EXIF`` and ``XMP `` chunks of a RIFF WebP; stops at a chunk that runs past the end."""
    blocks: list[_Block] = []
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return blocks
    pos, size = 12, min(len(data), 8 + _u32(data, 4, "<"))
    while pos + 8 <= size:
        fourcc = data[pos : pos + 4]
        length = _u32(data, pos + 4, "<")
        body, end = pos + 8, pos + 8 + length
        if end > size:
            break
        padded = min(end + (length & 1), size)
        if fourcc == b"EXIF":
            skip = len(_EXIF_PREFIX) if data.startswith(_EXIF_PREFIX, body) else 0
            blocks.append(_Block("exif", pos, padded, body + skip, end))
        elif fourcc == b"XMP ":
            blocks.append(_Block("xmp", pos, padded, body, end))
        pos = padded
    return blocks


def _blocks(data: bytes, kind: str) -> list[_Block]:
    if kind == "jpeg":
        return _jpeg_blocks(data)
    if kind == "png":
        return _png_blocks(data)
    if kind == "webp":
        return _webp_blocks(data)
    raise ValueError(f"kind must be one of {', '.join(_KINDS)}, not {kind!r}")


# ---- TIFF structure inside an EXIF block -------------------------------------------------------


@dataclass(slots=True)
class _Entry:
    tag: int
    type: int
    count: int
    at: int  # where the 12-byte entry starts in the TIFF block

    def size(self) -> int | None:
        unit = _TYPE_SIZE.get(self.type)
        return None if unit is None else unit * self.count


def _tiff_head(tiff: bytes) -> tuple[str, int] | None:
    """(struct byte order, IFD0 offset) of a TIFF header, or None."""
    if len(tiff) < 8:
        return None
    if tiff[:4] == b"II*\0":
        return "<", _u32(tiff, 4, "<")
    if tiff[:4] == b"MM\0*":
        return ">", _u32(tiff, 4, ">")
    return None


def _ifd(tiff: bytes, offset: int, e: str, *, strict: bool) -> list[_Entry] | None:
    """The entries of the IFD at ``offset``.

    Strict: None unless the whole IFD (count, entries, next-IFD offset) lies inside the block.
    Lenient: the entries that fit, for reading a damaged block as far as it goes.
    """
    if offset < 8 or offset + 2 > len(tiff):
        return None
    count = _u16(tiff, offset, e)
    fits = (len(tiff) - offset - 2) // 12
    if strict and offset + 2 + 12 * count + 4 > len(tiff):
        return None
    start, n = offset + 2, min(count, fits)
    # one C call for the whole table: a phone's EXIF walk reads some 60 entries per photo
    rows = struct.iter_unpack(e + "HHI4x", tiff[start : start + 12 * n])
    return [_Entry(tag, kind, cnt, start + 12 * i) for i, (tag, kind, cnt) in enumerate(rows)]


def _value_at(tiff: bytes, entry: _Entry, e: str) -> int | None:
    """Where an entry's value lies: in the entry itself or at the offset it holds."""
    size = entry.size()
    if size is None:
        return None
    return entry.at + 8 if size <= 4 else _u32(tiff, entry.at + 8, e)


def _stored_apart(tiff: bytes, entry: _Entry, e: str) -> _Range | None:
    """The range of an entry's value when it is stored apart (more than 4 bytes), else None."""
    size = entry.size()
    if size is None or size <= 4:
        return None
    start = _u32(tiff, entry.at + 8, e)
    return start, start + size


def _number(tiff: bytes, entry: _Entry, e: str, index: int = 0) -> int | None:
    """The ``index``-th SHORT/LONG/IFD value of an entry, if it lies inside the block."""
    unit = {3: 2, 4: 4, 13: 4}.get(entry.type)
    start = _value_at(tiff, entry, e)
    if unit is None or start is None or index >= entry.count:
        return None
    at = start + unit * index
    if at + unit > len(tiff):
        return None
    return _u16(tiff, at, e) if unit == 2 else _u32(tiff, at, e)


def _find(entries: Iterable[_Entry], tag: int) -> _Entry | None:
    return next((entry for entry in entries if entry.tag == tag), None)


def _orientation(tiff: bytes) -> int:
    head = _tiff_head(tiff)
    if head is None:
        return 1
    e, ifd0 = head
    entry = _find(_ifd(tiff, ifd0, e, strict=False) or [], _ORIENTATION)
    value = _number(tiff, entry, e) if entry else None
    return value if value is not None and 1 <= value <= 8 else 1


def _gps_entries(tiff: bytes) -> int:
    """How many entries the GPS IFD declares (0 without one or when it lies outside)."""
    head = _tiff_head(tiff)
    if head is None:
        return 0
    e, ifd0 = head
    pointer = _find(_ifd(tiff, ifd0, e, strict=False) or [], _GPS_IFD)
    offset = _number(tiff, pointer, e) if pointer else None
    if offset is None or offset < 8 or offset + 2 > len(tiff):
        return 0
    return _u16(tiff, offset, e)


def _claimed(tiff: bytes, e: str, ifd0: int) -> list[_Range] | None:
    """Byte ranges every structure but the GPS IFD uses: IFDs, their values, thumbnails.

    Walks IFD0, the Exif, Interop and sub-IFDs and the IFD chain (IFD1...), each once, so a
    loop ends. None when the walk passes ``_MAX_IFDS`` IFDs or ``_MAX_RANGES`` ranges: what
    such a block claims is not worth guessing.
    """
    ranges: list[_Range] = [(0, 8)]
    todo, seen = [ifd0], set[int]()
    while todo:
        offset = todo.pop()
        if offset in seen:
            continue
        seen.add(offset)
        entries = _ifd(tiff, offset, e, strict=False)
        if entries is None:
            continue
        if len(seen) > _MAX_IFDS or len(ranges) + 2 * len(entries) > _MAX_RANGES:
            return None
        end = offset + 2 + 12 * len(entries)
        ranges.append((offset, end + 4))
        if end + 4 <= len(tiff):
            todo.append(_u32(tiff, end, e))  # next IFD (0 is refused by _ifd)
        by_tag = {entry.tag: entry for entry in entries}
        for entry in entries:
            if entry.tag == _GPS_IFD and offset == ifd0:
                continue  # the one structure being removed
            value = _stored_apart(tiff, entry, e)
            if value:
                ranges.append(value)
            if entry.tag in _IFD_POINTERS:
                count = min(entry.count, _MAX_IFDS)
                todo += [v for i in range(count) if (v := _number(tiff, entry, e, i))]
        for offsets_tag, counts_tag in _DATA_PAIRS:
            offsets, counts = by_tag.get(offsets_tag), by_tag.get(counts_tag)
            if offsets is None or counts is None:
                continue
            count = min(offsets.count, counts.count)
            if len(ranges) + count > _MAX_RANGES:
                return None
            for i in range(count):
                start, length = _number(tiff, offsets, e, i), _number(tiff, counts, e, i)
                if start is not None and length is not None:
                    ranges.append((start, start + length))
    return ranges


def _merged(ranges: Iterable[_Range], limit: int) -> list[_Range]:
    """``ranges`` clipped to ``0..limit``, sorted, overlapping ones joined."""
    out: list[_Range] = []
    for start, end in sorted((max(0, s), min(e, limit)) for s, e in ranges):
        if start >= end:
            continue
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _subtract(wanted: Iterable[_Range], claimed: Iterable[_Range], limit: int) -> list[_Range]:
    """Parts of ``wanted`` (clipped to ``0..limit``) that no ``claimed`` range covers."""
    keep = _merged(claimed, limit)
    out: list[_Range] = []
    i = 0
    for start, end in _merged(wanted, limit):
        while i < len(keep) and keep[i][1] <= start:
            i += 1
        j = i
        while start < end:
            if j >= len(keep) or keep[j][0] >= end:
                out.append((start, end))
                break
            if keep[j][0] > start:
                out.append((start, keep[j][0]))
            start = max(start, keep[j][1])
            j += 1
    return out


def _strip_gps(tiff: bytes) -> bytes | None:
    """The TIFF block without its GPS IFD, same length, every other offset unchanged; None when
    there is none or IFD0 cannot be edited safely."""
    head = _tiff_head(tiff)
    if head is None:
        return None
    e, ifd0 = head
    entries = _ifd(tiff, ifd0, e, strict=True)
    pointer = _find(entries or [], _GPS_IFD)
    if entries is None or pointer is None:
        return None
    count = len(entries)
    table_end = ifd0 + 2 + 12 * count
    for entry in entries:
        value = _stored_apart(tiff, entry, e)
        if value and value[0] < table_end + 4 and value[1] > ifd0:
            return None  # a value inside IFD0's own table: its count is wrong, shift nothing
    claimed = _claimed(tiff, e, ifd0)
    if claimed is None:
        return None
    gps_at = _number(tiff, pointer, e)
    gps = _ifd(tiff, gps_at, e, strict=False) if gps_at is not None else None
    doomed: list[_Range] = []
    if gps_at is not None and gps is not None:
        doomed.append((gps_at, gps_at + 2 + 12 * len(gps) + 4))
        for entry in gps:
            value = _stored_apart(tiff, entry, e)
            if value and value[1] <= len(tiff):  # a count past the end is not a value
                doomed.append(value)
    out = bytearray(tiff)
    for start, end in _subtract(doomed, claimed, len(tiff)):
        out[start:end] = bytes(end - start)
    # IFD0 loses one entry: the later ones move up, the next-IFD offset follows them, and the
    # freed 12 bytes after it become zeros, so nothing stored after IFD0 moves.
    rest = tiff[pointer.at + 12 : table_end + 4]  # later entries and the next-IFD offset
    out[pointer.at : table_end + 4] = rest + bytes(12)
    out[ifd0 : ifd0 + 2] = struct.pack(e + "H", count - 1)
    return bytes(out)


# ---- XMP -----------------------------------------------------------------------------------------


def _xmp_text(data: bytes, block: _Block) -> bytes:
    return block.text if block.text is not None else data[block.body_start : block.body_end]


def _xmp_has_gps(data: bytes, blocks: list[_Block]) -> bool:
    """Whether the XMP (the main packet and, in JPEG, its extension segments) names GPS."""
    texts = [_xmp_text(data, b) for b in blocks if b.what == "xmp"]
    # extended XMP: 32-byte GUID, full length, offset, then a piece of the packet
    pieces = sorted(
        (_u32(data, b.body_start + 36, ">"), data[b.body_start + 40 : b.body_end])
        for b in blocks
        if b.what == "xmp-ext" and b.body_end - b.body_start >= 40
    )
    texts.append(b"".join(piece for _, piece in pieces))
    return any(_XMP_GPS.search(text) for text in texts)


# ---- the API -------------------------------------------------------------------------------------


def exif_bytes(data: bytes, kind: str) -> bytes | None:
    """The raw EXIF block (a TIFF header and its IFDs, without ``Exif\\0\\0``), or None.

    From the first JPEG APP1 ``Exif`` segment, PNG ``eXIf`` chunk or WebP ``EXIF`` chunk; None
    when there is none or it does not start with a TIFF header (II or MM).

    Raises:
        ValueError: ``kind`` is not ``"jpeg"``, ``"png"`` or ``"webp"``.
    """
    for block in _blocks(data, kind):
        if block.what == "exif":
            tiff = bytes(data[block.body_start : block.body_end])
            return tiff if _tiff_head(tiff) else None
    return None


def read_orientation(data: bytes, kind: str) -> int:
    """The EXIF Orientation (1..8) of an encoded image; 1 when absent or invalid.

    Only EXIF counts (both byte orders), not an XMP ``tiff:Orientation`` (Pillow's
    ``getexif()`` falls back to that one when the EXIF has none).

    Raises:
        ValueError: ``kind`` is not ``"jpeg"``, ``"png"`` or ``"webp"``.
    """
    tiff = exif_bytes(data, kind)
    return _orientation(tiff) if tiff else 1


def has_location(data: bytes, kind: str) -> bool:
    """Whether the file carries a location: a GPS IFD with any entries, or GPS XMP properties.

    Reads damaged EXIF as far as it goes, so it can say True for a file ``strip_location``
    had to leave unchanged; a GPS pointer that leads outside the EXIF block finds nothing.

    Raises:
        ValueError: ``kind`` is not ``"jpeg"``, ``"png"`` or ``"webp"``.
    """
    blocks = _blocks(data, kind)
    for block in blocks:
        if block.what == "exif" and _gps_entries(data[block.body_start : block.body_end]):
            return True
    return _xmp_has_gps(data, blocks)


def strip_location(data: bytes, kind: str) -> bytes:
    """The same file without its location; the compressed pixels are not touched.

    EXIF: the GPSInfo pointer leaves IFD0 (later entries shift up, the count drops by one,
    the next-IFD offset follows them and the freed 12 bytes become zeros) and the GPS IFD's
    bytes, its values included, are zeroed; every other tag, Orientation included, stays
    where it was. XMP: a packet that names any GPS property is dropped whole (with JPEG's
    extended-XMP segments); one that does not is kept. Other location hints (IPTC city or
    country, a maker note) are left as they are.

    PNG chunks that change get a new CRC; a WebP's RIFF size shrinks by what is dropped, and
    its VP8X XMP flag is cleared when no XMP chunk is left.

    Never raises on odd or damaged metadata: an EXIF block whose IFD0 does not lie wholly
    inside it is left unchanged (``has_location`` still reports what it can read), bytes of
    the GPS IFD that another structure also uses are kept, and a container that stops
    making sense is edited only up to that point. Check ``has_location`` on the result
    when a location must not get through.

    Returns:
        ``data`` itself (the same object) when there is nothing to remove, else new bytes.

    Raises:
        ValueError: ``kind`` is not ``"jpeg"``, ``"png"`` or ``"webp"``.
    """
    blocks = _blocks(data, kind)
    edits: list[tuple[int, int, bytes]] = []  # (start, end, replacement), in file order
    for block in blocks:
        if block.what != "exif":
            continue
        stripped = _strip_gps(bytes(data[block.body_start : block.body_end]))
        if stripped is None:
            continue
        if kind == "png":  # the whole chunk, for its new CRC
            body = data[block.start + 8 : block.body_start] + stripped
            crc = zlib.crc32(data[block.start + 4 : block.start + 8] + body)
            edits.append((block.start + 8, block.end, body + struct.pack(">I", crc)))
        else:
            edits.append((block.body_start, block.body_end, stripped))
    if _xmp_has_gps(data, blocks):
        edits += [(b.start, b.end, b"") for b in blocks if b.what in ("xmp", "xmp-ext")]
    if not edits:
        return data
    edits.sort()
    pieces, pos = [], 0
    for start, end, replacement in edits:
        pieces += [data[pos:start], replacement]
        pos = end
    pieces.append(data[pos:])
    out = b"".join(pieces)
    if kind == "webp":
        out = _fix_riff(out, removed=len(data) - len(out))
    return out


def _fix_riff(data: bytes, removed: int) -> bytes:
    """The RIFF size less ``removed`` bytes, and the VP8X XMP flag only if XMP is left."""
    out = bytearray(data)
    struct.pack_into("<I", out, 4, max(0, _u32(data, 4, "<") - removed))
    if data[12:16] == b"VP8X" and len(out) > 20:
        if not any(b.what == "xmp" for b in _webp_blocks(bytes(out))):
            out[20] &= ~0x04 & 0xFF
    return bytes(out)
