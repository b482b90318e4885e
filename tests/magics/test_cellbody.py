"""Tests for aurous_nb.magics._cellbody: the %%aurous_character body parser and URL downloads."""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from aurous_nb.magics._cellbody import CellBody, CellBodyError, fetch_url, parse_cell_body

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
    assert [(r.kind, r.name) for r in body.refs] == [("url", "front view.png"), ("url", "h")]
    assert body.refs[0].value == "https://example.org/refs/front%20view.png#x"


def test_windows_drive_is_a_path_not_an_attribute() -> None:
    with pytest.raises(CellBodyError, match=r"line 1: no such file: 'C:\\\\refs"):
        parse_cell_body(r"C:\refs\front.png")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("missing.png", r"line 1: no such file: 'missing.png' \(relative to "),
        ("\n*.gif", r"line 2: no files match '\*.gif'"),
        ("empty", r"line 1: directory 'empty' has no .jpg, .png or .webp files"),
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


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:
        if self.path == "/endless":
            self.send_response(200)
            self.end_headers()  # no Content-Length: the client must stop by itself
            try:
                for _ in range(64):
                    self.wfile.write(b"x" * 65536)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        super().do_GET()


@pytest.fixture(scope="module")
def http_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("www")
    (root / "front.png").write_bytes(PNG)
    (root / "big.png").write_bytes(PNG + b"\0" * 5000)
    (root / "empty.png").write_bytes(b"")
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a: _Handler(*a, directory=os.fspath(root))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


def test_fetch_url(http_root: tuple[str, Path]) -> None:
    url, _ = http_root
    assert fetch_url(f"{url}/front.png", max_bytes=1000, timeout=5) == PNG


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/big.png", r"big.png: 4.9 KiB is over the download limit of 1000 B"),
        ("/endless", r"endless: more than the download limit of 1000 B"),
        ("/missing.png", r"missing.png: download failed with HTTP 404"),
        ("/empty.png", r"empty.png: the URL returned an empty body"),
    ],
)
def test_fetch_url_limits(http_root: tuple[str, Path], path: str, message: str) -> None:
    url, _ = http_root
    name = path.strip("/")
    with pytest.raises(CellBodyError, match=message):
        fetch_url(url + path, max_bytes=1000, timeout=5, name=name)


def test_fetch_url_connection_refused() -> None:
    with pytest.raises(CellBodyError, match=r"x.png: download failed \(ConnectionError\)"):
        fetch_url("http://127.0.0.1:9/x.png", max_bytes=10, timeout=2, name="x.png")


def test_fetch_url_refuses_other_schemes() -> None:
    with pytest.raises(CellBodyError, match="only http and https"):
        fetch_url("file:///etc/passwd", max_bytes=10, timeout=1)
