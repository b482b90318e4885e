"""aurous_nb._text: the only formatters, checked against the table the browser code shares."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aurous_nb._text import (
    body_text,
    error_line,
    format_duration,
    format_size,
    one_line,
    plural,
)
from aurous_nb.display import expiry_text

FORMATS = json.loads((Path(__file__).parent / "fixtures" / "formats.json").read_text("utf-8"))


@pytest.mark.parametrize(("n", "text"), FORMATS["size"])
def test_format_size(n: int, text: str) -> None:
    assert format_size(n) == text


@pytest.mark.parametrize(("seconds", "text"), FORMATS["duration"])
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(("kind", "seconds", "text"), FORMATS["expiry"])
def test_expiry_text(kind: str, seconds: float, text: str) -> None:
    assert expiry_text(kind, seconds) == text


def test_one_line_collapses_whitespace_and_escapes_controls() -> None:
    assert one_line("a\n  b\tc") == "a b c"
    assert one_line("evil\x1b[31mred\x00") == "evil\\x1b[31mred\\x00"
    assert one_line("C1 \x9b here") == "C1 \\x9b here"


def test_error_line_falls_back_to_the_class_name() -> None:
    assert error_line(ValueError("bad\nthing")) == "bad thing"
    assert error_line(KeyboardInterrupt()) == "KeyboardInterrupt"


def test_plural() -> None:
    assert [plural(n, "ref") for n in (0, 1, 2)] == ["0 refs", "1 ref", "2 refs"]
    assert plural(2, "index", "indices") == "2 indices"


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ("upstream connect error\nreset", "upstream connect error reset"),
        (
            "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
            "</h1></center><hr><center>nginx</center></body></html>",
            "HTML page: 502 Bad Gateway nginx",
        ),
        (
            "<!DOCTYPE html><html><head><title>Sign in</title><style>p{}</style>"
            "<script>x()</script></head><body><p>Wi-Fi &amp; more</p></body></html>",
            "HTML page: Sign in: Wi-Fi & more",
        ),
        ("<title>Only\x1b[31m a title</title>", "HTML page: Only\\x1b[31m a title"),
        ("x" * 500, "x" * 120),
    ],
)
def test_body_text(body: str, text: str) -> None:
    assert body_text(body) == text


def test_the_table_holds_the_phrases_python_sends_to_the_browser() -> None:
    from aurous_nb.display import EXPIRY_PHRASES

    assert {kind: tuple(pair) for kind, pair in FORMATS["phrases"].items()} == EXPIRY_PHRASES
