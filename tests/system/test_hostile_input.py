"""Hostile and bad input, table-driven: each case is one line naming the file or field, the
value and the fix; nothing is sent when a local check fails; the other refs keep their tickets.

Four tables: bad reference images (through ``CharacterFlow`` and through
``%%aurous_character`` in a real InteractiveShell), cell bodies and magic options, keys and
versions, and what the API itself refuses (expired, consumed or foreign tickets, unknown ids,
wrong states). The needles of a case are the file or field, the value and the fix; for errors
the API returns, aurous_nb passes the server's one-line message on (status, code, param, the
value it names) and the magics add the fix. What create would refuse (the name, the
attributes) and the same image twice are refused locally, before any request.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from aurous_nb import errors as E
from aurous_nb.client import AurousClient
from aurous_nb.flow import CharacterFlow
from aurous_nb.magics import AurousMagicError, AurousMagics
from aurous_nb.sandbox import Sandbox
from tests.support.reliability import http_files, jpeg_bytes, one_line, png_bytes, write_refs
from tests.support.sandbox import make_client, routes
from tests.support.shell import TestingShell, ip_fixture, magics_fixture, use_key  # noqa: F401

AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
ACCEPTED = "use JPEG, PNG, WebP, HEIC or AVIF"


def check(text: str, needles: tuple[str, ...]) -> str:
    """``text`` is one line and holds every needle (file/field, value, fix)."""
    one_line(text)
    missing = [n for n in needles if n not in text]
    assert not missing, f"{missing} not in {text!r}"
    return text


@pytest.fixture
def client(strict_client: AurousClient) -> AurousClient:
    """No retries here: a bad input must fail at once."""
    return strict_client


# ==== 1. bad reference images: through the flow and through the magic ========================


def _pil_bytes(fmt: str, size: tuple[int, int] = (12, 12), mode: str = "RGB") -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new(mode, size).save(out, fmt)
    return out.getvalue()


def _write(name: str, data: bytes | str) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        path = d / name
        if isinstance(data, str):
            path.write_text(data)
        else:
            path.write_bytes(data)
        return path

    return make


def _big(d: Path) -> Path:
    path = d / "big.jpg"
    path.write_bytes(jpeg_bytes() + b"\0" * (10 * 1024 * 1024))  # JPEG, then padding
    return path


def _bomb(d: Path) -> Path:
    return _write("bomb.png", _pil_bytes("PNG", (20000, 20000), "1"))(d)  # 400 Mpx, ~50 KB


def _directory(d: Path) -> Path:
    (d / "refs.png").mkdir()
    return d / "refs.png"


def _broken_symlink(d: Path) -> Path:
    (d / "gone.png").symlink_to(d / "deleted.png")
    return d / "gone.png"


def _unreadable(d: Path) -> Path:
    path = _write("locked.png", png_bytes())(d)
    path.chmod(0)
    return path


def _fifo(d: Path) -> Path:
    os.mkfifo(d / "pipe.png")  # opening it for reading would wait for a writer forever
    return d / "pipe.png"


def _device(d: Path) -> Path:
    (d / "dev.png").symlink_to("/dev/zero")  # endless bytes
    return d / "dev.png"


CONTROL_NAME = "bad\nname\x1b[31m.png"
HTML_NAME = "<img src=x onerror=alert(1)>.png"


@dataclass(frozen=True)
class BadRef:
    id: str
    make: Callable[[Path], Any]
    needles: tuple[str, ...]  # in the flow's error
    magic: tuple[str, ...] | None = ()  # in the magic's error (() = same; None = not a cell)
    name: str | None = None  # display name given to flow.add()
    as_root: str | None = None  # skip reason when running as root

    def magic_needles(self) -> tuple[str, ...]:
        assert self.magic is not None
        return self.magic or self.needles


BAD_REFS = [
    BadRef(
        "unknown-extension",
        _write("scan.xyz", b"\x00\x01\x02" + bytes(range(256)) * 2),
        ("scan.xyz", "not a recognised image type", ACCEPTED),
    ),
    BadRef(
        "renamed-text-file",
        _write("notes.jpg", "shopping list\n" * 20),
        ("notes.jpg", "a text file, not an image", ACCEPTED),
    ),
    BadRef(
        "heic",
        _write("photo.heic", b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + b"\0" * 64),
        ("photo.heic", "cannot be decoded as HEIC", "export it again"),
    ),
    BadRef("gif", _write("anim.gif", _pil_bytes("GIF")), ("anim.gif", "GIF", ACCEPTED)),
    BadRef(
        "svg",
        _write("logo.svg", '<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>'),
        ("logo.svg", "SVG is not accepted", ACCEPTED),
    ),
    BadRef(
        "avif-renamed-jpg",
        _write("front.jpg", b"\0\0\0\x1cftypavif\0\0\0\0avifmif1" + b"\0" * 64),
        ("front.jpg", "cannot be decoded as AVIF", "export it again"),
    ),
    BadRef("bmp", _write("old.bmp", _pil_bytes("BMP")), ("old.bmp", "BMP", ACCEPTED)),
    BadRef(
        "pdf-renamed-png",
        _write("scan.png", b"%PDF-1.7\n" + b"0" * 200),
        ("scan.png", "PDF is not accepted", ACCEPTED),
    ),
    BadRef("empty-file", _write("empty.png", b""), ("empty.png", "empty", "pick the image again")),
    BadRef(
        "truncated-jpeg",
        _write("cut.jpg", jpeg_bytes(300, 300)[:700]),
        ("cut.jpg", "cannot be decoded as JPEG", "export it again"),
    ),
    BadRef(
        "truncated-png",
        _write("cut.png", png_bytes(300, 300)[:-40]),
        ("cut.png", "cannot be decoded as PNG", "export it again"),
    ),
    BadRef(
        "wider-than-4096",
        _write("wide.png", _pil_bytes("PNG", (4100, 16), "L")),
        ("wide.png", "4100×16 px", "larger than 4096 px", "downscale=True"),
        magic=("wide.png", "4100×16 px", "larger than 4096 px", "add --downscale"),
    ),
    BadRef(
        "taller-than-4096",
        _write("tall.jpg", _pil_bytes("JPEG", (16, 5000), "L")),
        ("tall.jpg", "16×5000 px", "resize it"),
    ),
    BadRef(
        "over-10-mib",
        _big,
        ("big.jpg", "over the 10", "MiB) limit", "downscale=True"),
        magic=("big.jpg", "over the 10", "MiB) limit", "add --downscale"),
    ),
    BadRef(
        "decompression-bomb",
        _bomb,
        ("bomb.png", "20000×20000 px", "decompression bomb", "use a normal photo"),
    ),
    BadRef(
        "directory",
        _directory,
        ("refs.png", "is a directory", "pass the image files inside it"),
        magic=(
            "refs.png",
            "has no JPEG, PNG, WebP, HEIC or AVIF files",
            "add images or name files",
        ),
    ),
    BadRef(
        "broken-symlink",
        _broken_symlink,
        ("gone.png", "broken symlink", "deleted.png", "point it at an existing image"),
        magic=("gone.png", "broken symlink", "deleted.png", "point it at an image"),
    ),
    BadRef(
        "missing-file",
        lambda d: d / "missing.png",
        ("missing.png", "no such file", "check the path"),
    ),
    BadRef(
        "unreadable-chmod-000",
        _unreadable,
        ("locked.png", "permission denied", "make the file readable"),
        as_root="root reads a chmod 000 file anyway; the FIFO and device cases cover unreadable",
    ),
    BadRef(
        "unreadable-fifo",
        _fifo,
        ("pipe.png", "not a regular file (a pipe)", "name an image file"),
        magic=("pipe.png", "not a regular file", "name an image"),
    ),
    BadRef(
        "device-file",
        _device,
        ("dev.png", "not a regular file (a device)", "name an image file"),
        magic=("dev.png", "not a regular file", "name an image"),
    ),
    BadRef(
        "control-characters-in-name",
        _write(CONTROL_NAME, "not an image"),
        ("bad name\\x1b[31m.png", "a text file", ACCEPTED),
    ),
    BadRef(
        "html-in-name",
        _write(HTML_NAME, "not an image"),
        (HTML_NAME, "a text file", ACCEPTED),
    ),
    BadRef(
        "url-given-as-a-path",
        lambda d: "https://example.invalid/refs/front.png",
        ("front.png", "is a URL, not a file", "download it first"),
        magic=None,  # in a cell a URL line is downloaded: see the URL cases
    ),
    BadRef(
        "name-of-300-chars",
        lambda d: b"GIF89a" + b"\0" * 40,
        ("y" * 296 + ".png", "GIF", ACCEPTED),
        magic=None,  # no file system keeps such a name: see the cell case
        name="y" * 296 + ".png",
    ),
    BadRef(
        "text-mode-file-object",
        lambda d: _write("front.png", png_bytes())(d).open("r"),
        ("front.png", "text mode", "open it with 'rb'"),
        magic=None,
    ),
    BadRef(
        "unsupported-source-type",
        lambda d: 42,
        ("int", "unsupported source type int", "pass a path, bytes"),
        magic=None,
    ),
]


def _skip_as_root(case: BadRef) -> None:
    if case.as_root and AS_ROOT:
        pytest.skip(case.as_root)


@pytest.fixture
def made(tmp_path: Path) -> Iterator[Callable[[BadRef], Any]]:
    """Build a case's bad ref in its own folder; close file objects afterwards."""
    opened: list[Any] = []

    def build(case: BadRef) -> Any:
        folder = tmp_path / "bad"
        folder.mkdir(exist_ok=True)
        source = case.make(folder)
        if hasattr(source, "close"):
            opened.append(source)
        return source

    yield build
    for f in opened:
        f.close()
    for p in tmp_path.rglob("*"):  # let pytest clean up a chmod 000 file
        if not p.is_symlink():
            p.chmod(0o755)


@pytest.mark.parametrize("case", BAD_REFS, ids=[c.id for c in BAD_REFS])
def test_bad_ref_through_the_flow(
    case: BadRef,
    aurous_sandbox: Sandbox,
    client: AurousClient,
    tmp_path: Path,
    made: Callable[[BadRef], Any],
) -> None:
    _skip_as_root(case)
    flow = CharacterFlow(client, "Hostile", write_refs(tmp_path / "good", ["front", "side"]))
    flow.prepare().result(timeout=20)
    tickets = [r.ticket.upload_id for r in flow.refs if r.ticket]
    aurous_sandbox.clear_log()

    bad = flow.add(made(case), name=case.name)
    assert bad.state == "failed" and isinstance(bad.error, E.ImageCheckError)
    check(bad.error_message or "", case.needles)
    with pytest.raises(E.ImageCheckError) as info:
        flow.run_sync()
    check(str(info.value), case.needles)
    assert aurous_sandbox.requests == []  # nothing sent for a local failure
    # the other refs keep their tickets: dropping the bad one, only create is left to do
    assert [r.ticket.upload_id for r in flow.refs[:2] if r.ticket] == tickets
    assert [r.state for r in flow.refs[:2]] == ["classified", "classified"]
    flow.remove(bad)
    character = flow.run_sync()
    assert routes(aurous_sandbox) == {"create": 1} and len(character.refs) == 2


MAGIC_REFS = [c for c in BAD_REFS if c.magic is not None]


@pytest.mark.parametrize("case", MAGIC_REFS, ids=[c.id for c in MAGIC_REFS])
def test_bad_ref_through_the_magic(
    case: BadRef,
    ip: TestingShell,
    magics: AurousMagics,
    aurous_sandbox: Sandbox,
    tmp_path: Path,
    made: Callable[[BadRef], Any],
) -> None:
    _skip_as_root(case)
    use_key(ip, aurous_sandbox)
    aurous_sandbox.clear_log()
    good = write_refs(tmp_path / "good", ["front"])
    ip.user_ns.update(good=str(good[0]), bad=str(made(case)))
    error = ip.run_cell('%%aurous_character "Hostile"\n{good}\n{bad}', check=False).error_in_exec
    assert isinstance(error, AurousMagicError), repr(error)
    (line,) = error._render_traceback_()  # what the notebook shows: one line, no traceback
    check(line, case.magic_needles())
    assert aurous_sandbox.requests == []


# ==== 2. cell bodies and magic options ========================================================


@dataclass(frozen=True)
class Cell:
    id: str
    cell: str  # {d}: a folder with ref_0_front.jpg ... ref_6_side.jpg; {url}: the file server
    needles: tuple[str, ...]
    sent: int = 0  # requests the sandbox may see (after the key check)
    error: type[BaseException] = AurousMagicError
    config: str = ""  # %config lines run first


SEVEN = "\n".join(f"{{d}}/ref_{i}_front.jpg" for i in range(7))
GEN = '%%aurous_character "Synth" --generate\n'

CELLS = [
    Cell(
        "zero-refs",
        '%%aurous_character "X"\n# no images here',
        ("the cell names no images", "list image paths, globs or URLs"),
        error=UsageError,
    ),
    Cell(
        "seven-refs",
        '%%aurous_character "X"\n' + SEVEN,
        ("7 reference images", "1–6", "remove 1"),
        error=UsageError,
    ),
    Cell(
        "duplicate-file",
        '%%aurous_character "X"\n{d}/ref_0_front.jpg\n{d}/./ref_0_front.jpg',
        ("ref_0_front.jpg", "listed on lines 1 and 2", "remove one of them"),
        error=UsageError,
    ),
    Cell(
        "duplicate-by-glob",
        '%%aurous_character "X"\n{d}/ref_1_front.jpg\n{d}/ref_1_*.jpg',
        ("ref_1_front.jpg", "lines 1 and 2", "remove one of them"),
        error=UsageError,
    ),
    Cell(
        "glob-matching-nothing",
        '%%aurous_character "X"\n{d}/*.nothing',
        ("*.nothing", "no files match", "check the pattern"),
    ),
    Cell(
        "name-empty",
        '%%aurous_character ""\n{d}/ref_0_front.jpg',
        ("give the character a name", '%%aurous_character "Name"'),
        error=UsageError,
    ),
    Cell(
        "name-over-100",
        "%%aurous_character " + "N" * 101 + "\n{d}/ref_0_front.jpg",
        ("the name has 101 characters", "1–100"),
        error=UsageError,
    ),
    Cell(
        "path-of-300-chars",
        '%%aurous_character "X"\n{d}/' + "y" * 296 + ".png",
        ("y" * 296 + ".png", "File name too long", "check the path"),
    ),
    Cell(
        "quoted-directory",
        '%%aurous_character "X"\n"{d}"',
        ("is a directory", "a quoted line names one file", "name a file in it"),
    ),
    Cell(
        "undefined-variable",
        '%%aurous_character "X"\n{{nope}}',
        ("line 1", "{nope} is not defined in the notebook", "{{ }}"),
    ),
    Cell(
        "variable-of-wrong-type",
        '%%aurous_character "X"\n{{number}}',
        ("{number} is a int", "expected a path, URL, bytes"),
    ),
    Cell(
        "attribute-without-value",
        '%%aurous_character "X"\n{d}/ref_0_front.jpg\nage:',
        ("line 2", "attribute 'age' has no value", "write age: ..."),
    ),
    Cell(
        "url-404",
        '%%aurous_character "X"\n{url}/missing.png',
        ("missing.png", "HTTP 404", "check the URL"),
    ),
    Cell(
        "url-not-an-image",
        '%%aurous_character "X"\n{url}/page.png',
        ("page.png", "got a web page (text/html), not an image", "use the image's own address"),
    ),
    Cell(
        "url-oversize",
        '%%aurous_character "X"\n{url}/huge.jpg',
        ("huge.jpg", "over the 2.0 KiB download limit", "save a smaller copy"),
        config="%config AurousMagics.download_max_bytes = 2048",
    ),
    Cell(
        "url-empty-body",
        '%%aurous_character "X"\n{url}/empty.png',
        ("empty.png", "empty body", "check the URL"),
    ),
    Cell(
        "url-refused",
        '%%aurous_character "X"\nhttp://127.0.0.1:9/front.png',
        ("front.png", "the connection was refused", "check the URL and the network"),
    ),
    Cell(
        "generate-unknown-attribute",
        GEN + "haircolor: red",
        ("attributes.haircolor", "'haircolor'", "did you mean 'hair_color'?", "known: gender, age"),
    ),
    Cell(
        "generate-age-zero",
        GEN + "age: 0",
        ("attributes.age", "0 is out of range", "integer age of 1–120"),
    ),
    Cell(
        "generate-age-121",
        GEN + "age: 121",
        ("attributes.age", "121 is out of range", "integer age of 1–120"),
    ),
    Cell(
        "generate-age-not-a-number",
        GEN + "age: old",
        ("attributes.age", "'old' is not an integer", "integer age of 1–120"),
    ),
    Cell(
        "generate-attribute-too-long",
        GEN + "hair_color: " + "r" * 201,
        ("attributes.hair_color", "'rrrr", "…", "201 characters", "at most 200 characters"),
    ),
    Cell(
        "generate-details-too-long",
        GEN + "additional_details: " + "d" * 1001,
        ("attributes.additional_details", "1001 characters", "at most 1000 characters"),
    ),
    Cell(
        "upload-unknown-attribute",
        '%%aurous_character "X"\n{d}/ref_0_front.jpg\neyes: green',
        ("attributes.eyes", "'eyes'", "known: gender, age"),
    ),
    Cell(
        "generate-with-an-image",
        GEN + "{d}/ref_0_front.jpg",
        ("--generate synthesizes from attributes", "line 1", "remove the image lines"),
        error=UsageError,
    ),
    Cell(
        "version-malformed",
        "%aurous_key $AUROUS_TEST_KEY",
        ("version='2026-5-15'", "not a YYYY-MM-DD date", "'2026-05-15'"),
        config="%config AurousMagics.version = '2026-5-15'",
    ),
    Cell(
        "version-unknown",
        "%aurous_key $AUROUS_TEST_KEY",
        ("unknown_version", "'2020-01-01'", "known: 2026-05-15"),
        config="%config AurousMagics.version = '2020-01-01'",
        sent=1,
    ),
]


@pytest.fixture
def file_server() -> Iterator[str]:
    html = b"<!doctype html><html><body>Not found, but 200</body></html>"
    replies = {
        "/page.png": (200, html, {"Content-Type": "text/html"}),
        "/huge.jpg": (200, jpeg_bytes(200, 200) + b"\0" * 8000, {"Content-Type": "image/jpeg"}),
        "/empty.png": (200, b"", {"Content-Type": "image/png"}),
    }
    with http_files(replies) as url:
        yield url


@pytest.mark.parametrize("case", CELLS, ids=[c.id for c in CELLS])
def test_bad_cell(
    case: Cell,
    ip: TestingShell,
    magics: AurousMagics,
    aurous_sandbox: Sandbox,
    tmp_path: Path,
    file_server: str,
) -> None:
    use_key(ip, aurous_sandbox)
    write_refs(tmp_path, ["front"] * 7)
    ip.user_ns.update(number=42, AUROUS_TEST_KEY=aurous_sandbox.api_key)
    ip.run_cell(f"%config AurousMagics.base_url = {aurous_sandbox.url!r}")
    for line in case.config.splitlines():
        ip.run_cell(line)
    aurous_sandbox.clear_log()
    cell = case.cell.format(d=tmp_path, url=file_server)
    error = ip.run_cell(cell, check=False).error_in_exec
    assert isinstance(error, case.error), repr(error)
    shown = error._render_traceback_()[0] if isinstance(error, AurousMagicError) else str(error)
    if isinstance(error, AurousMagicError):
        assert len(error._render_traceback_()) == 1
    check(shown, case.needles)
    assert len(aurous_sandbox.requests) == case.sent, routes(aurous_sandbox)
    assert aurous_sandbox.api_key not in shown


# ==== 3. keys =====================================================================================


@dataclass(frozen=True)
class Key:
    id: str
    key: Callable[[Sandbox], str | None]  # None: no key anywhere
    needles: tuple[str, ...]
    sent: int


KEYS = [
    Key("missing", lambda s: None, ("no API key", "cannot prompt", "set AUROUS_API_KEY"), 0),
    Key(
        "malformed",
        lambda s: "al_live_123",
        ("malformed key", "$AUROUS_TEST_KEY", "got 3 hex digits", "copy the whole key"),
        0,
    ),
    Key(
        "malformed-with-space",
        lambda s: s.api_key[:30] + " " + s.api_key[30:],
        ("malformed key", "contains whitespace", "copy the whole key"),
        0,
    ),
    Key(
        "invalid",
        lambda s: "al_live_" + "0" * 64,
        ("al_live_000000…", "invalid_api_key", "check the key on the dashboard"),
        1,
    ),
    Key(
        "revoked",
        lambda s: _revoked(s),
        ("was revoked", "revoked_api_key", "create a new key"),
        1,
    ),
]


def _revoked(sandbox: Sandbox) -> str:
    key = sandbox.add_key()
    sandbox.revoke_key(key)
    return key


@pytest.mark.parametrize("case", KEYS, ids=[c.id for c in KEYS])
def test_bad_key_through_the_magic(
    case: Key, ip: TestingShell, magics: AurousMagics, aurous_sandbox: Sandbox
) -> None:
    key = case.key(aurous_sandbox)
    aurous_sandbox.clear_log()
    ip.run_cell(f"%config AurousMagics.base_url = {aurous_sandbox.url!r}")
    ip.user_ns["AUROUS_TEST_KEY"] = key
    line = "%aurous_key" if key is None else "%aurous_key $AUROUS_TEST_KEY"
    error = ip.run_cell(line, check=False).error_in_exec
    assert isinstance(error, AurousMagicError), repr(error)
    (shown,) = error._render_traceback_()
    check(shown, case.needles)
    if key:
        assert key not in shown and key[:30] not in shown
    assert len(aurous_sandbox.requests) == case.sent
    assert magics.client is None


def test_read_only_key_says_which_scope_is_needed(
    ip: TestingShell, magics: AurousMagics, aurous_sandbox: Sandbox, tmp_path: Path
) -> None:
    use_key(ip, aurous_sandbox, aurous_sandbox.add_key(scope="read"))  # reading works
    aurous_sandbox.clear_log()
    ip.user_ns["good"] = str(write_refs(tmp_path, ["front"])[0])
    error = ip.run_cell('%%aurous_character "X"\n{good}', check=False).error_in_exec
    assert isinstance(error, AurousMagicError)
    check(str(error), ("403 missing_scope", "read scope", "needs a key with write or full scope"))
    assert routes(aurous_sandbox) == {"init": 1}  # the first write was refused, nothing else


def test_no_key_then_a_cell(ip: TestingShell, magics: AurousMagics, tmp_path: Path) -> None:
    ip.user_ns["good"] = str(write_refs(tmp_path, ["front"])[0])
    error = ip.run_cell('%%aurous_character "X"\n{good}', check=False).error_in_exec
    assert isinstance(error, AurousMagicError)
    check(str(error), ("no API key", "run %aurous_key first", "AUROUS_API_KEY"))


# ==== 4. the Python API: configuration and what the API refuses =============================


@dataclass
class Ctx:
    sandbox: Sandbox
    client: AurousClient
    tmp_path: Path
    last: str = ""
    """The id or key a case's message must name."""

    def ticket(self, *, put: bool = True, client: AurousClient | None = None) -> Any:
        c = client or self.client
        if put:
            return c.upload(jpeg_bytes(), filename="front.jpg")
        return c.init_upload("front.jpg", "jpg", "image/jpeg")

    def other_client(self) -> AurousClient:
        team = self.sandbox.add_team("Rivals")
        return make_client(self.sandbox, api_key=self.sandbox.add_key(team), max_retries=0)


@dataclass(frozen=True)
class Api:
    id: str
    setup: Callable[[Ctx], Callable[[], Any]]  # requests here are not counted
    error: type[BaseException]
    needles: Callable[[Ctx], tuple[str, ...]] | tuple[str, ...]
    sent: int


def _expired_url(ctx: Ctx) -> Callable[[], Any]:
    ticket = ctx.ticket(put=False)
    ctx.sandbox.advance(16 * 60)
    return lambda: ctx.client.put_upload(ticket, jpeg_bytes())


def _expired_ticket(ctx: Ctx) -> Callable[[], Any]:
    ticket = ctx.ticket()
    ctx.sandbox.advance(25 * 3600)
    ctx.last = ticket.upload_id
    return lambda: ctx.client.classify_upload(ticket.upload_id)


def _consumed(ctx: Ctx) -> Callable[[], Any]:
    ticket = ctx.ticket()
    ctx.client.create_character("First", upload_ids=[ticket.upload_id])
    ctx.last = ticket.upload_id
    return lambda: ctx.client.create_character("Second", upload_ids=[ticket.upload_id])


def _consumed_put(ctx: Ctx) -> Callable[[], Any]:
    ticket = ctx.ticket()
    ctx.client.create_character("First", upload_ids=[ticket.upload_id])
    ctx.last = ticket.upload_id
    return lambda: ctx.client.put_upload(ticket, jpeg_bytes())


def _foreign_upload(route: str) -> Callable[[Ctx], Callable[[], Any]]:
    def setup(ctx: Ctx) -> Callable[[], Any]:
        other = ctx.other_client()
        ticket = ctx.ticket(client=other)
        other.close()
        ctx.last = ticket.upload_id
        if route == "classify":
            return lambda: ctx.client.classify_upload(ticket.upload_id)
        return lambda: ctx.client.create_character("Mine", upload_ids=[ticket.upload_id])

    return setup


def _foreign_character(ctx: Ctx) -> Callable[[], Any]:
    other = ctx.other_client()
    character = other.create_character("Theirs", upload_ids=[ctx.ticket(client=other).upload_id])
    other.close()
    ctx.last = character.id
    return lambda: ctx.client.get_character(character.id)


def _synthesizing(ctx: Ctx) -> Callable[[], Any]:
    ctx.sandbox.configure(synth_seconds=3600)
    character = ctx.client.create_character("Slow", generate=True, attributes={"age": 30})
    ctx.last = character.id
    return lambda: ctx.client.save_character(character.id)


def _uploaded_character(ctx: Ctx) -> Callable[[], Any]:
    character = ctx.client.create_character("Up", upload_ids=[ctx.ticket().upload_id])
    ctx.last = character.id
    return lambda: ctx.client.regenerate_ref(character.id, "front")


def _bad_pose(ctx: Ctx) -> Callable[[], Any]:
    character = ctx.client.synthesize_character("Syn", {"age": 30})
    return lambda: ctx.client.regenerate_ref(character.id, "upside-down")  # type: ignore[arg-type]


def _client(**kw: Any) -> Callable[[Ctx], Callable[[], Any]]:
    def setup(ctx: Ctx) -> Callable[[], Any]:
        options = {"api_key": ctx.sandbox.api_key, "base_url": ctx.sandbox.url, **kw}
        if options["api_key"] is None:
            del options["api_key"]
        return lambda: AurousClient(**options).team()

    return setup


def _key(make: Callable[[Sandbox], str]) -> Callable[[Ctx], Callable[[], Any]]:
    def setup(ctx: Ctx) -> Callable[[], Any]:
        key = make(ctx.sandbox)
        ctx.last = key[:14] + "…"
        c = make_client(ctx.sandbox, api_key=key, max_retries=0)
        return lambda: c.team()

    return setup


def _read_only_flow(ctx: Ctx) -> Callable[[], Any]:
    c = make_client(ctx.sandbox, api_key=ctx.sandbox.add_key(scope="read"), max_retries=0)
    flow = CharacterFlow(c, "Reader", write_refs(ctx.tmp_path, ["front"]))
    return flow.run_sync


def _flow(n: int) -> Callable[[Ctx], Callable[[], Any]]:
    def setup(ctx: Ctx) -> Callable[[], Any]:
        paths = write_refs(ctx.tmp_path, ["front"] * max(n, 1))[:n]
        return lambda: CharacterFlow(ctx.client, "Count", paths).run_sync()

    return setup


def _seventh_add(ctx: Ctx) -> Callable[[], Any]:
    paths = write_refs(ctx.tmp_path, ["front"] * 7)
    flow = CharacterFlow(ctx.client, "Count", paths[:6])
    return lambda: flow.add(paths[6])


def _last(ctx: Ctx) -> str:
    return ctx.last


APIS = [
    Api(
        "key-missing",
        _client(api_key=None),
        E.ConfigurationError,
        ("No Aurous API key", "pass api_key=", "AUROUS_API_KEY"),
        0,
    ),
    Api(
        "key-malformed",
        _client(api_key="al_live_123"),
        E.ConfigurationError,
        ("The API key al_li…", "not an Aurous key", "al_live_ followed by 64 hex"),
        0,
    ),
    Api(
        "key-invalid",
        _key(lambda s: "al_live_" + "f" * 64),
        E.AuthenticationError,
        lambda ctx: ("401 invalid_api_key", _last(ctx)),
        1,
    ),
    Api(
        "key-revoked",
        _key(_revoked),
        E.AuthenticationError,
        lambda ctx: ("401 revoked_api_key", _last(ctx), "has been revoked"),
        1,
    ),
    Api(
        "key-read-only-scope",
        _read_only_flow,
        E.MissingScopeError,
        ("403 missing_scope", "read scope", "needs write"),
        1,
    ),
    Api(
        "version-malformed",
        _client(version="2026-5-15"),
        E.ConfigurationError,
        ("version='2026-5-15'", "YYYY-MM-DD", "'2026-05-15'"),
        0,
    ),
    Api(
        "version-unknown",
        _client(version="2020-01-01", max_retries=0),
        E.UnknownVersionError,
        ("400 unknown_version", "'2020-01-01'", "known: 2026-05-15", "param=Aurous-Version"),
        1,
    ),
    Api(
        "base-url-not-http",
        _client(base_url="ftp://example.com"),
        E.ConfigurationError,
        ("base_url='ftp://example.com'", "not an http(s) URL", "https://api.aurous-labs.com"),
        0,
    ),
    Api(
        "timeout-negative",
        _client(timeout=-1),
        E.ConfigurationError,
        ("timeout=-1", "positive number of seconds"),
        0,
    ),
    Api("zero-refs", _flow(0), E.FlowError, ("no reference images", "add 1–6"), 0),
    Api("seven-refs", _flow(7), E.FlowError, ("7 reference images", "1–6", "remove 1"), 0),
    Api("seventh-add", _seventh_add, E.FlowError, ("7 reference images", "remove 1"), 0),
    Api(
        "expired-url",
        _expired_url,
        E.UploadURLExpiredError,
        ("403 upload_url_expired", "expired at", "mint a new one"),
        1,
    ),
    Api(
        "expired-ticket",
        _expired_ticket,
        E.UploadInvalidError,
        lambda ctx: (_last(ctx), "expired at", "upload the image again", "param=upload_id"),
        1,
    ),
    Api(
        "consumed-ticket",
        _consumed,
        E.UploadInvalidError,
        lambda ctx: (_last(ctx), "already used by a character", "param=upload_ids[0]"),
        1,
    ),
    Api(
        "consumed-ticket-put",
        _consumed_put,
        E.ConflictError,
        lambda ctx: ("409 upload_consumed", _last(ctx), "already used"),
        1,
    ),
    Api(
        "other-teams-upload-classify",
        _foreign_upload("classify"),
        E.NotFoundError,
        lambda ctx: ("404 resource_not_found", _last(ctx)),
        1,
    ),
    Api(
        "other-teams-upload-create",
        _foreign_upload("create"),
        E.NotFoundError,
        lambda ctx: ("404 resource_not_found", _last(ctx)),
        1,
    ),
    Api(
        "unknown-upload-id",
        lambda ctx: lambda: ctx.client.classify_upload("upl_01HXMQ7Z3K8Y2NABCDEFGHJKMR"),
        E.UploadInvalidError,
        ("400 upload_invalid", "'upl_01HXMQ7Z3K8Y2NABCDEFGHJKMR'", "param=upload_id"),
        1,
    ),
    Api(
        "unknown-character-id",
        lambda ctx: lambda: ctx.client.get_character("char_01HXMQ7Z3K8Y2NABCDEFGHJKMR"),
        E.NotFoundError,
        ("404 resource_not_found", "'char_01HXMQ7Z3K8Y2NABCDEFGHJKMR'"),
        1,
    ),
    Api(
        "other-teams-character",
        _foreign_character,
        E.NotFoundError,
        lambda ctx: ("404 resource_not_found", _last(ctx)),
        1,
    ),
    Api(
        "save-while-synthesizing",
        _synthesizing,
        E.BadRequestError,
        lambda ctx: (_last(ctx), "is synthesizing", "only reviewing can be saved"),
        1,
    ),
    Api(
        "regenerate-an-uploaded-character",
        _uploaded_character,
        E.BadRequestError,
        lambda ctx: (_last(ctx), "has no attributes to regenerate from", "param=attributes"),
        1,
    ),
    Api(
        "regenerate-unknown-pose",
        _bad_pose,
        E.BadRequestError,
        ("'upside-down'", "is not one of portrait, front", "param=pose"),
        1,
    ),
    Api(
        "list-limit-out-of-range",
        lambda ctx: lambda: ctx.client.list_characters(limit=500),
        E.BadRequestError,
        ("400 value_out_of_range", "limit must be 1-100", "got 500"),
        1,
    ),
]


@pytest.mark.parametrize("case", APIS, ids=[c.id for c in APIS])
def test_bad_call_through_the_python_api(
    case: Api,
    aurous_sandbox: Sandbox,
    client: AurousClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AUROUS_API_KEY", raising=False)
    ctx = Ctx(aurous_sandbox, client, tmp_path)
    call = case.setup(ctx)
    aurous_sandbox.clear_log()
    with pytest.raises(case.error) as info:
        call()
    needles = case.needles(ctx) if callable(case.needles) else case.needles
    text = check(str(info.value), needles)
    assert len(aurous_sandbox.requests) == case.sent, routes(aurous_sandbox)
    assert aurous_sandbox.api_key not in text and not re.search(r"al_live_[0-9a-f]{20}", text)


# ==== 5. refused late, nothing lost; and gaps of the flow =====================================


def test_name_refused_at_create_keeps_every_ticket(
    aurous_sandbox: Sandbox, client: AurousClient, tmp_path: Path
) -> None:
    """The widget's order: refs uploaded first, the name typed (badly) later; nothing is lost."""
    flow = CharacterFlow(client, "", write_refs(tmp_path, ["front", "side", "back"]))
    flow.prepare().result(timeout=30)
    tickets = [r.ticket.upload_id for r in flow.refs if r.ticket]
    assert len(tickets) == 3 and [r.state for r in flow.refs] == ["classified"] * 3
    aurous_sandbox.clear_log()
    bad = [("N" * 101, None, ("name", "101 characters", "1–100")), ("  ", None, ("name", "blank"))]
    bad.append(("Named", {"age": 500}, ("attributes.age", "500", "1–120")))
    bad.append(("Named", {"age": True}, ("attributes.age", "True is not an integer")))
    for name, attributes, needles in bad:
        flow.name, flow.attributes = name, attributes
        with pytest.raises(E.ValidationError) as info:
            flow.create()
        check(str(info.value), needles)
        assert aurous_sandbox.requests == []  # refused locally, before any request
        assert [r.ticket.upload_id for r in flow.refs if r.ticket] == tickets
        assert [r.state for r in flow.refs] == ["classified"] * 3 and flow.character is None
    flow.name, flow.attributes = "Renamed", {"age": 50}
    character = flow.run_sync()
    assert routes(aurous_sandbox) == {"create": 1}  # nothing uploaded again
    assert character.name == "Renamed" and len(character.refs) == 3


def test_bad_attribute_in_an_upload_cell_keeps_every_ticket(
    ip: TestingShell, magics: AurousMagics, aurous_sandbox: Sandbox, tmp_path: Path
) -> None:
    ip.run_cell("%config AurousMagics.max_retries = 0")
    use_key(ip, aurous_sandbox)
    ip.user_ns["refs"] = [str(p) for p in write_refs(tmp_path, ["front", "side"])]
    aurous_sandbox.clear_log()
    error = ip.run_cell('%%aurous_character "A"\n{refs}\nage: 500', check=False).error_in_exec
    assert isinstance(error, AurousMagicError)
    check(str(error), ("attributes.age", "500 is out of range", "integer age of 1–120"))
    assert aurous_sandbox.requests == []  # refused before any request
    # a run that uploaded both refs and then failed at create keeps its flow ...
    aurous_sandbox.inject("create", status=500, times=1)
    error = ip.run_cell('%%aurous_character "A"\n{refs}\nage: 50', check=False).error_in_exec
    assert isinstance(error, AurousMagicError) and routes(aurous_sandbox)["upload"] == 2
    aurous_sandbox.clear_log()
    # ... which a bad attribute, refused locally, does not spend
    error = ip.run_cell('%%aurous_character "A"\n{refs}\nage: 500', check=False).error_in_exec
    assert isinstance(error, AurousMagicError) and aurous_sandbox.requests == []
    character = ip.run_cell('%%aurous_character "A"\n{refs}\nage: 50').result
    assert routes(aurous_sandbox) == {"create": 1} and character.attributes == {"age": 50}


def test_hostile_names_that_are_valid_go_through_escaped(
    ip: TestingShell, magics: AurousMagics, aurous_sandbox: Sandbox, tmp_path: Path
) -> None:
    """HTML in the character name and in a file name is data: created, and escaped on screen."""
    use_key(ip, aurous_sandbox)
    ip.run_cell("%config AurousMagics.display_mode = 'html'")
    folder = tmp_path / "x"
    folder.mkdir()
    (folder / HTML_NAME).write_bytes(png_bytes())
    ip.user_ns["odd"] = str(folder / HTML_NAME)
    with capture_output() as captured:
        character = ip.run_cell('%%aurous_character "<b>Eve</b>" --out eve\n{odd}').result
    assert character.name == "<b>Eve</b>" and character.status == "ready"
    markup = "".join(o.data.get("text/html", "") for o in captured.outputs)
    assert "&lt;img src=x onerror=alert(1)&gt;" in markup and "<img src=x" not in markup
    assert "&lt;b&gt;Eve&lt;/b&gt;" in markup and "<b>Eve</b>" not in markup


def test_a_300_character_name_is_shortened_for_the_api(
    aurous_sandbox: Sandbox, client: AurousClient
) -> None:
    flow = CharacterFlow(client, "Long")
    long_name = "z" * 296 + ".png"
    flow.add(png_bytes(), name=long_name)
    character = flow.run_sync()
    assert character.status == "ready" and flow.refs[0].name == long_name


@pytest.mark.parametrize("name", ["", "N" * 101])
def test_flow_refuses_a_bad_name_before_any_upload(
    aurous_sandbox: Sandbox, client: AurousClient, tmp_path: Path, name: str
) -> None:
    flow = CharacterFlow(client, name, write_refs(tmp_path, ["front"]))
    with pytest.raises(E.AurousError) as info:
        flow.run_sync()
    assert aurous_sandbox.requests == []
    check(str(info.value), ("name", "100"))


@pytest.mark.parametrize(
    ("attributes", "needles"),
    [
        ({"haircolor": "red"}, ("attributes.haircolor", "'haircolor'", "hair_color")),
        ({"age": 0}, ("attributes.age", "0 is out of range", "1–120")),
        ({"age": 121}, ("attributes.age", "121", "1–120")),
        ({"age": True}, ("attributes.age", "True is not an integer", "1–120")),
        ({"age": "28"}, ("attributes.age", "'28' is not an integer", "1–120")),
        ({"age": 28.0}, ("attributes.age", "28.0 is not an integer", "1–120")),
        ({"eye_color": "g" * 201}, ("attributes.eye_color", "201 characters", "at most 200")),
        ({"eye_color": 3}, ("attributes.eye_color", "3 is an int", "as text")),
        ({"additional_details": "x" * 1001}, ("additional_details", "1001", "at most 1000")),
    ],
)
def test_flow_refuses_bad_attributes_before_any_upload(
    aurous_sandbox: Sandbox,
    client: AurousClient,
    tmp_path: Path,
    attributes: dict[str, Any],
    needles: tuple[str, ...],
) -> None:
    flow = CharacterFlow(client, "Attr", write_refs(tmp_path, ["front"]), attributes=attributes)
    with pytest.raises(E.ValidationError) as info:
        flow.run_sync()
    assert aurous_sandbox.requests == []
    check(str(info.value), needles)


def test_flow_takes_attributes_at_the_limits(
    aurous_sandbox: Sandbox, client: AurousClient, tmp_path: Path
) -> None:
    attributes = {"age": 120, "eye_color": "g" * 200, "additional_details": "x" * 1000}
    attributes["gender"] = None  # an attribute left unset
    flow = CharacterFlow(client, "N" * 100, write_refs(tmp_path, ["front"]), attributes=attributes)
    assert flow.run_sync().name == "N" * 100


def test_flow_refuses_the_same_file_twice(
    aurous_sandbox: Sandbox, client: AurousClient, tmp_path: Path
) -> None:
    (path,) = write_refs(tmp_path, ["front"])
    with pytest.raises(E.AurousError) as info:
        CharacterFlow(client, "Twice", [path, path]).run_sync()
    assert aurous_sandbox.requests == []
    check(str(info.value), (path.name, "twice"))


def test_table_has_at_least_forty_cases() -> None:
    cases = len(BAD_REFS) + len(CELLS) + len(KEYS) + len(APIS)
    print(f"\nhostile input: {cases} table cases ({len(MAGIC_REFS)} bad refs also as cells)")
    assert cases >= 40
