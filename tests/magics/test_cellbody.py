"""Tests for aurous_nb.magics._cellbody: the %%aurous_character body parser and URL downloads."""

from __future__ import annotations

import http.server
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aurous_nb.magics._cellbody import CellBody, CellBodyError, parse_cell_body
from aurous_nb.magics._download import (
    Download,
    downloads_html,
    downloads_text,
    fetch_all,
    fetch_url,
)
from tests.support import photos

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


@pytest.fixture
def refs(tmp_path: Path) -> Path:
    for name in ("front.png", "side.png", "back.webp", "notes.txt", "take#2.png"):
        (tmp_path / name).write_bytes(PNG)
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "portrait.jpg").write_bytes(PNG)
    (tmp_path / "empty").mkdir()
    return tmp_path


def names(body: CellBody) -> list[str]:
    return [ref.name for ref in body.refs]


def test_paths_comments_and_attributes(refs: Path) -> None:
    body = parse_cell_body(
        """
        # the hero
        front.png          # trailing comment
        side.png
        take#2.png
        age: 28
        hair_color: black   # comment after a value
        additional_details: "scar: left cheek"
        """,
        cwd=refs,
    )
    assert names(body) == ["front.png", "side.png", "take#2.png"]
    assert all(ref.kind == "path" and Path(ref.value).is_absolute() for ref in body.refs)
    assert body.refs[0].lineno == 3
    assert body.attributes == {
        "age": 28,
        "hair_color": "black",
        "additional_details": "scar: left cheek",
    }


def test_glob_directory_and_home(refs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(refs))
    body = parse_cell_body("*.png\nmore\n~/back.webp", cwd=refs)
    assert names(body) == ["front.png", "side.png", "take#2.png", "portrait.jpg", "back.webp"]


def test_namespace_expansion(refs: Path) -> None:
    ns = {"d": str(refs), "many": [refs / "front.png", str(refs / "side.png")], "raw": PNG}
    body = parse_cell_body("{d}/front.png\n{many}\n{raw}\nname_hint: {d}", ns, cwd="/")
    assert names(body) == ["front.png", "front.png", "side.png", "raw"]
    assert body.refs[3].kind == "object" and body.refs[3].value is PNG
    assert body.attributes == {"name_hint": str(refs)}


def test_literal_braces_and_quoted_path(refs: Path) -> None:
    (refs / "{odd} #1.png").write_bytes(PNG)
    body = parse_cell_body('"{{odd}} #1.png"', {}, cwd=refs)
    assert names(body) == ["{odd} #1.png"]


def test_urls_are_not_attributes_and_keep_fragments() -> None:
    body = parse_cell_body("https://example.org/refs/front%20view.png#x\nhttp://h/")
    assert [(r.kind, r.name) for r in body.refs] == [("url", "front view.png"), ("url", "image-2")]
    assert body.refs[0].value == "https://example.org/refs/front%20view.png#x"


def test_url_names_come_from_the_last_meaningful_segment() -> None:
    body = parse_cell_body(
        "http://127.0.0.1:8000/\n"  # a site root: not "127.0.0.jpg"
        "https://picsum.example/800/600\n"  # no word in the last segment
        "https://a.example/users/1/img?size=large\n"
        "https://a.example/users/2/img\n"  # the same name: told apart
        "https://cdn.example/p/IMG_0042.JPG?token=abc\n"
    )
    names = [r.name for r in body.refs]
    assert names == ["image-1", "image-2", "img", "img-2", "IMG_0042.JPG"]


def test_windows_drive_is_a_path_not_an_attribute() -> None:
    with pytest.raises(CellBodyError, match=r"line 1: no such file: 'C:\\\\refs"):
        parse_cell_body(r"C:\refs\front.png")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("missing.png", r"line 1: no such file: 'missing.png' \(relative to "),
        ("\n*.gif", r"line 2: no files match '\*.gif'"),
        ("empty", r"line 1: directory 'empty' has no JPEG, PNG, WebP, HEIC or AVIF files"),
        ("{nope}/a.png", r"line 1: \{nope\} is not defined in the notebook"),
        ("{n}", r"line 1: \{n\} is a int; expected a path, URL, bytes"),
        ("{e}", r"line 1: \{e\} is an empty list"),
        ("age:", r"line 1: attribute 'age' has no value"),
        ("age: 1\nage: 2", r"line 2: attribute 'age' is given twice"),
        ('"front.png', r"line 1: missing closing \""),
        ('"front.png" side.png', r"line 1: unexpected text after the quoted path"),
        ('"more"', r"line 1: 'more' is a directory; a quoted line names one file"),
        ("{d[1}", r"line 1: cannot expand"),
    ],
)
def test_errors_name_the_line(refs: Path, text: str, message: str) -> None:
    with pytest.raises(CellBodyError, match=message):
        parse_cell_body(text, {"n": 3, "e": [], "d": {}}, cwd=refs)


def test_identity_is_stable_across_parses(refs: Path) -> None:
    ns = {"raw": PNG}
    first = parse_cell_body("front.png\n{raw}", ns, cwd=refs)
    again = parse_cell_body("front.png\n{raw}", ns, cwd=refs)
    assert first.identity == again.identity
    assert first.identity != parse_cell_body("side.png\n{raw}", ns, cwd=refs).identity
    assert "PNG" not in repr(first.refs[1])  # objects are not dumped into reprs


# ------------------------------------------------------------------ downloads

BIG = 3_400_000


class _Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # keep pytest output clean
        pass

    def _head(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        try:
            if path == "/endless":
                self._head(200, {"Content-Type": "image/png", "Connection": "close"})
                for _ in range(64):  # no Content-Length: the client must stop by itself
                    self.wfile.write(b"x" * 65536)
            elif path == "/drip.png":  # one byte at a time: never a gap long enough to time out
                self._head(200, {"Content-Type": "image/png", "Content-Length": "100000"})
                for _ in range(100_000):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.02)
            elif path == "/cut.jpg":  # says 3.2 MiB, sends 1.2 MB, hangs up
                self._head(200, {"Content-Type": "image/jpeg", "Content-Length": str(BIG)})
                self.wfile.write(b"\xff" * 1_200_000)
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
            elif path == "/to-file":
                self._head(302, {"Location": "file:///etc/passwd", "Content-Length": "0"})
            elif path.startswith("/loop"):
                n = int(path[5:] or 0)
                self._head(302, {"Location": f"/loop{n + 1}", "Content-Length": "0"})
            elif path == "/page.png":
                body = b"<html><body>Sign in to see this photo</body></html>"
                self._head(
                    200,
                    {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(body))},
                )
                self.wfile.write(body)
            else:
                super().do_GET()
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass


@pytest.fixture(scope="module")
def http_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("www")
    (root / "front.png").write_bytes(PNG)
    (root / "big.png").write_bytes(PNG + b"\0" * 5000)
    (root / "empty.png").write_bytes(b"")
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a: _Handler(*a, directory=os.fspath(root))
    )
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


def test_fetch_url(http_root: tuple[str, Path]) -> None:
    url, _ = http_root
    item = Download(f"{url}/front.png", "front.png")
    assert fetch_url(item.url, max_bytes=1000, timeout=5, download=item) == PNG
    assert (item.state, item.received, item.total) == ("done", len(PNG), len(PNG))


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (
            "/big.png",
            r"big.png: download of http://127\.0\.0\.1:\d+/big\.png failed: 4\.9 KiB is "
            r"over the 1000 B download limit — save a smaller copy",
        ),
        (
            "/endless",
            r"endless: download of .*/endless failed: more than the 1000 B download limit",
        ),
        (
            "/missing.png",
            r"missing.png: download of .*/missing\.png failed: HTTP 404 .* — check the URL",
        ),
        (
            "/empty.png",
            r"empty.png: download of .*/empty\.png failed: the server sent an empty body",
        ),
        (
            "/to-file",
            r"to-file: download of .*/to-file failed: redirected to a file:// URL, which is "
            r"not downloaded — use the image's final http\(s\) address",
        ),
        ("/loop", r"loop: download of .*/loop failed: more than 10 redirects"),
        (
            "/page.png",
            r"page.png: download of .*/page\.png failed: got a web page \(text/html\), "
            r"not an image — use the image's own address",
        ),
        (
            "/cut.jpg",
            r"cut.jpg: download of .*/cut\.jpg failed: the server closed the connection "
            r"after 1\.1 MiB of 3\.2 MiB — try again",
        ),
    ],
)
def test_fetch_url_failures_say_what_happened(
    http_root: tuple[str, Path], path: str, message: str
) -> None:
    url, _ = http_root
    name = path.strip("/")
    with pytest.raises(CellBodyError, match=message) as info:
        fetch_url(url + path, max_bytes=1000 if "cut" not in path else BIG, timeout=5, name=name)
    assert "\n" not in str(info.value)


def test_download_timeout_is_a_deadline_for_the_whole_download(
    http_root: tuple[str, Path],
) -> None:
    """A server that sends a byte every 20 ms never leaves a gap, and is still cut off."""
    url, _ = http_root
    item = Download(f"{url}/drip.png?sig=SECRET", "drip.png")
    started = time.monotonic()
    with pytest.raises(CellBodyError) as info:
        fetch_url(item.url, max_bytes=BIG, timeout=1.0, name="drip.png", download=item)
    took = time.monotonic() - started
    assert took < 4.0  # the deadline (1 s) plus teardown, not 100000 × 20 ms
    message = str(info.value)
    assert re.match(
        r"drip\.png: download of http://127\.0\.0\.1:\d+/drip\.png failed: not finished within "
        r"1 s \(received \d+ B of 97\.7 KiB\) — try again, raise %config "
        r"AurousMagics\.download_timeout",
        message,
    ), message
    assert "SECRET" not in message and "sig=" not in message  # no query in what is shown
    assert 0 < item.received < 100_000 and item.total == 100_000


def test_downloads_are_shown_with_their_progress(http_root: tuple[str, Path]) -> None:
    url, _ = http_root
    items = [Download(f"{url}/front.png?x=1", "front.png"), Download(f"{url}/nope.png", "nope")]
    ticks: list[str] = []
    with pytest.raises(CellBodyError, match="nope: download of .* failed: HTTP 404"):
        fetch_all(
            items, max_bytes=1000, timeout=5, tick=lambda: ticks.append(downloads_text(items))
        )
    text = downloads_text(items)
    assert "front.png  http://127.0.0.1:" in text and "/front.png  downloaded 40 B" in text
    assert "x=1" not in text and "nope: download of" in text
    html = downloads_html(items)
    assert 'data-state="done"' in html and 'data-state="failed"' in html


def test_fetch_url_connection_refused() -> None:
    with pytest.raises(
        CellBodyError,
        match=r"x.png: download of http://127\.0\.0\.1:9/x\.png failed: the connection was "
        r"refused \(nothing listens there\) — check the URL and the network",
    ):
        fetch_url("http://127.0.0.1:9/x.png", max_bytes=10, timeout=2, name="x.png")


def test_fetch_url_refuses_other_schemes() -> None:
    with pytest.raises(CellBodyError, match="only http and https"):
        fetch_url("file:///etc/passwd", max_bytes=10, timeout=1)


# ------------------------------------------------------------------ real folders


@pytest.fixture(scope="module")
def roll(tmp_path_factory: pytest.TempPathFactory) -> photos.OddFolder:
    return photos.odd_folder(tmp_path_factory.mktemp("roll") / "Camera Roll")


def test_a_camera_roll_folder_lists_every_picture_and_says_what_it_skipped(
    roll: photos.OddFolder,
) -> None:
    body = parse_cell_body(str(roll.directory))
    listed = {ref.value for ref in body.refs}
    assert listed == {str(p.resolve()) for p in roll.images}  # .JPG, .jfif, .jpe, .HEIC...
    (note,) = body.notes
    assert note.startswith(f"line 1: {roll.directory}: skipped ")
    assert "1 macOS ._ file (AppleDouble metadata, not images)" in note
    assert "2 hidden files (.DS_Store, .hidden.jpg)" in note
    assert "notes.txt (not JPEG, PNG, WebP, HEIC or AVIF)" in note
    if roll.undecodable_name is not None:  # a name that is not UTF-8 is shown, not lost
        assert "caf\ufffd.jpg" in {ref.name for ref in body.refs}


def test_glob_lines_skip_appledouble_and_name_other_files(roll: photos.OddFolder) -> None:
    body = parse_cell_body("*", cwd=roll.directory)
    assert "notes.txt" not in {r.name for r in body.refs}
    assert body.notes == ("line 1: *: skipped notes.txt (not JPEG, PNG, WebP, HEIC or AVIF)",)
    with pytest.raises(CellBodyError, match=r"'\.\*' matches no images \(1 macOS \._ file"):
        parse_cell_body(".*", cwd=roll.directory)  # hidden files are named, not offered
    assert parse_cell_body(".hidden.jpg", cwd=roll.directory).refs  # named: used


def test_real_names_with_hash_and_brackets(roll: photos.OddFolder) -> None:
    body = parse_cell_body(
        "front [1].jpg\n'take #2.jpg'\nphoto.jfif  # the jfif", cwd=roll.directory
    )
    assert [r.name for r in body.refs] == ["front [1].jpg", "take #2.jpg", "photo.jfif"]
    with pytest.raises(CellBodyError) as info:
        parse_cell_body("take #2.jpg", cwd=roll.directory)
    assert str(info.value) == (
        f"line 1: no such file: 'take' (relative to {roll.directory}) — check the path; "
        "'take #2.jpg' exists — a # after a space starts a comment: if it is part of the name, "
        'quote the line: "take #2.jpg"'
    )
    with pytest.raises(CellBodyError, match=r"quote the line: \"back \[2\].jpg\"$"):
        parse_cell_body("back [2].jpg", cwd=roll.directory)
