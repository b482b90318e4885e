"""HTML/text renderings: escaping, thumbnails only, countdowns with absolute expiry, hints."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

from PIL import Image

from aurous_nb.display import (
    character_html,
    character_text,
    coverage_hints,
    flow_html,
    flow_text,
)
from aurous_nb.flow import CharacterFlow, RefUpload
from aurous_nb.models import Character, Classification, Ref, UploadTicket

EVIL = "<img src=x onerror=alert(1)>.png"
T0 = datetime(2026, 5, 8, 10, 0, 0, tzinfo=timezone.utc)


class Tags(HTMLParser):
    """Collects every start tag, to prove no injected element exists."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(markup: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(markup)
    return parser.tags


def jpeg(size: tuple[int, int], red: int = 10) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (red, 120, 200)).save(buf, "JPEG")
    return buf.getvalue()


def ticket(upload_id: str = "upl_1", minted: datetime = T0) -> UploadTicket:
    return UploadTicket(
        upload_id=upload_id,
        upload_url=f"http://127.0.0.1/_upload/{upload_id}?expires=1&signature=SECRET",
        upload_headers={"Content-Type": "image/jpeg"},
        expires_at=minted + timedelta(minutes=15),
        minted_at=minted,
    )


def classified(ref: RefUpload, pose: str, confidence: float) -> None:
    ref.ticket = ticket(f"upl_{ref.index}")
    ref.uploaded = True
    ref.classification = Classification(f"upl_{ref.index}", pose, confidence)  # type: ignore[arg-type]
    ref.state = "classified"


def make_flow(tmp_path: Path, names: list[str], side: int = 1200) -> CharacterFlow:
    sources = []
    for i, name in enumerate(names):
        path = tmp_path / name
        path.write_bytes(jpeg((side, side), red=10 + 20 * i))  # the same image twice is refused
        sources.append(path)
    flow = CharacterFlow(None, "Aurora <b>", sources)  # type: ignore[arg-type]
    flow.check(deep=True)  # the thumbnails, as the magic's flow makes them beside the upload
    return flow


def test_a_live_view_never_decodes_a_thumbnail(tmp_path: Path) -> None:
    """Before a ref's thumbnail is made the card shows a placeholder; rendering decodes nothing."""
    path = tmp_path / "front.jpg"
    path.write_bytes(jpeg((1200, 900)))
    flow = CharacterFlow(None, "Lazy", [path])  # type: ignore[arg-type]
    image = flow.refs[0].image
    assert image is not None and not image.thumbnail_ready
    markup = flow_html(flow, now=T0)
    assert not [a for t, a in tags(markup) if t == "img"] and "1200×900" in markup
    assert not image.thumbnail_ready
    flow.check(deep=True)
    (src,) = [a["src"] for t, a in tags(flow_html(flow, now=T0)) if t == "img"]
    assert src.startswith("data:image/jpeg;base64,")


def test_evil_filename_renders_as_text(tmp_path: Path) -> None:
    flow = make_flow(tmp_path, [EVIL])
    ref = flow.refs[0]
    ref.error = ValueError("<script>alert('x')</script>")
    ref.state = "failed"
    markup = flow_html(flow, now=T0)
    assert "<img src=x" not in markup and "<script>" not in markup
    assert "&lt;img src=x onerror=alert(1)&gt;.png" in markup
    assert "Aurora &lt;b&gt;" in markup
    imgs = [attrs for tag, attrs in tags(markup) if tag == "img"]
    assert len(imgs) == 1  # the thumbnail, nothing injected
    assert all(tag != "script" for tag, _ in tags(markup))
    assert "onerror" not in {k for _, attrs in tags(markup) for k in attrs}
    assert imgs[0]["alt"] == EVIL  # the parser un-escapes the attribute: it was text


def test_control_characters_in_names_cannot_drive_the_terminal(tmp_path: Path) -> None:
    hostile = "bad\nname\x1b[2J\x07\x9b.jpg"  # newline, clear screen, bell, C1 CSI
    flow = make_flow(tmp_path, [hostile, "b.jpg"])
    flow.name = "Eve\x1b]0;pwned\x07"
    flow.refs[1].notice = "re-minted\x1b[31m"
    classified(flow.refs[0], "side", 0.9)
    classified(flow.refs[1], "side", 0.8)
    flow.error, flow.state = ValueError("boom\x1b[5m"), "failed"
    character = Character(
        id="char_\x1b[1m",
        name="Eve\x1b[2J",
        status="failed",
        refs=(Ref("front", "https://x/\x1b[3m?token=secret"),),
        created_at=T0,
        updated_at=T0,
        error_message="synthesis\x00failed\r\nagain",
    )
    for text in (flow_text(flow, now=T0), character_text(character)):
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", text), repr(text)
        assert "\\x1b" in text
    text = flow_text(flow, now=T0)
    assert text.splitlines()[0] == "Eve\\x1b]0;pwned\\x07 — 2 refs — failed"
    assert "1. bad name\\x1b[2J\\x07\\x9b.jpg" in text  # the newline is a space: one line per ref
    assert "(re-minted\\x1b[31m)" in text and "failed: boom\\x1b[5m" in text
    assert "hint: two refs classified as side (bad name\\x1b[2J\\x07\\x9b.jpg, b.jpg)" in text
    lines = character_text(character).splitlines()
    assert lines[0] == "Eve\\x1b[2J (char_\\x1b[1m) — failed"
    assert (
        lines[1] == "  1. front    https://x/\\x1b[3m"
        and lines[2] == "  error: synthesis\\x00failed again"
    )


def test_thumbnail_only_in_output(tmp_path: Path) -> None:
    flow = make_flow(tmp_path, ["front.jpg"], side=3000)
    markup = flow_html(flow, now=T0)
    (src,) = [a["src"] for t, a in tags(markup) if t == "img"]
    assert src and src.startswith("data:image/jpeg;base64,")
    assert len(markup) < 20_000  # a 3000 px photo, but only a 256 px thumbnail inside
    assert "3000×3000" in markup and "front.jpg" in markup


def test_thumb_size(tmp_path: Path) -> None:
    flow = make_flow(tmp_path, ["a.jpg", "b.jpg"])
    flow.add(tmp_path / "missing.jpg")  # a failed ref shows a placeholder of the same size

    def sizes(markup: str) -> list[str]:
        return re.findall(r"max-width:(\d+)px;max-height:(\d+)px", markup)

    assert sizes(flow_html(flow, now=T0)) == [("128", "128")] * 2  # the default
    markup = flow_html(flow, now=T0, thumb_size=64)
    assert sizes(markup) == [("64", "64")] * 2 and "width:64px;height:48px" in markup
    assert "<style" not in markup
    assert sizes(flow_html(flow, now=T0, thumb_size=240)) == [("240", "240")] * 2
    assert 'style="width:258px' in flow_html(flow, now=T0, thumb_size=240)  # the card grows
    assert sizes(flow_html(flow, now=T0, thumb_size=1000)) == [("256", "256")] * 2  # stored size
    assert sizes(flow_html(flow, now=T0, thumb_size=0)) == [("128", "128")] * 2


def test_countdowns_url_then_ticket(tmp_path: Path) -> None:
    flow = make_flow(tmp_path, ["front.jpg"])
    ref = flow.refs[0]
    ref.ticket = ticket()
    ref.state = "minted"
    now = T0 + timedelta(minutes=1, seconds=28)
    markup = flow_html(flow, now=now)
    assert "upload URL expires in 13 min 32 s" in markup
    url_epoch = int((T0 + timedelta(minutes=15)).timestamp())
    assert f'data-kind="url" data-expires="{url_epoch}"' in markup
    assert "upload URL expires in 13 min 32 s" in flow_text(flow, now=now)
    assert "SECRET" not in markup and "SECRET" not in flow_text(flow, now=now)

    ref.uploaded, ref.state = True, "uploaded"
    now = T0 + timedelta(hours=1)
    markup = flow_html(flow, now=now.timestamp())  # an epoch works too
    assert "upload usable for 23 h 0 min" in markup
    assert f'data-expires="{int((T0 + timedelta(hours=24)).timestamp())}"' in markup

    assert "upload expired" in flow_text(flow, now=T0 + timedelta(hours=25))
    ref.state = "consumed"
    assert "data-expires" not in flow_html(flow, now=now)


def test_progress_and_pose_badges(tmp_path: Path) -> None:
    flow = make_flow(tmp_path, ["a.jpg", "b.jpg"])
    up, done = flow.refs
    up.ticket, up.state = ticket(), "uploading"
    up.total_bytes, up.bytes_sent = 1000, 420
    classified(done, "side", 0.93)
    markup = flow_html(flow, now=T0)
    assert 'style="width:42%' in markup and "side 93%" in markup
    text = flow_text(flow, now=T0)
    assert "[####......]  42%" in text
    assert re.search(r"2\. b\.jpg .* classified +side 93%", text)


def test_coverage_hints(tmp_path: Path) -> None:
    flow = make_flow(tmp_path, ["a.jpg", "b.jpg", "c.jpg"])
    a, b, c = flow.refs
    classified(a, "side", 0.9)
    classified(b, "side", 0.8)
    assert coverage_hints(flow.refs) == []  # c is still being classified
    classified(c, "back", 0.9)
    assert coverage_hints(flow.refs) == [
        "no front view — add a front-facing image for the best results",
        "two refs classified as side (a.jpg, b.jpg)",
    ]
    markup = flow_html(flow, now=T0)
    assert "no front view" in markup and "two refs classified as side" in markup
    assert "hint: no front view" in flow_text(flow, now=T0)
    classified(c, "front", 0.9)
    assert coverage_hints(flow.refs) == ["two refs classified as side (a.jpg, b.jpg)"]
    # a character's refs work too (no names)
    refs = (Ref("front", "https://x/1"), Ref("front", "https://x/2"))
    assert coverage_hints(refs) == ["two refs classified as front"]


def test_character_card_escapes_and_links() -> None:
    character = Character(
        id="char_01",
        name='Eve "<script>"',
        status="ready",
        refs=(
            Ref("front", "https://api.example/storage/front.bin?token=t&x=1"),
            Ref("side", "javascript:alert(1)"),
        ),
        error_message=None,
    )
    markup = character_html(character)
    assert "<script>" not in markup and "Eve &quot;&lt;script&gt;&quot;" in markup
    links = [a["href"] for t, a in tags(markup) if t == "a"]
    assert links == ["https://api.example/storage/front.bin?token=t&x=1"]  # no javascript: link
    assert "ready" in markup and "char_01" in markup
    text = character_text(character)
    assert text.splitlines()[0] == 'Eve "<script>" (char_01) — ready'
    assert "token" not in text


def _decoded_size(uri: str) -> tuple[int, int]:
    import base64

    with Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))) as im:
        return im.size


def test_outputs_embed_thumbnails_at_the_size_they_show_them(tmp_path: Path) -> None:
    from aurous_nb.display._thumbs import at_size

    flow = make_flow(tmp_path, ["front.jpg"], side=3000)
    stored = flow.refs[0].image.thumbnail_data_uri()  # type: ignore[union-attr]
    assert max(_decoded_size(stored)) == 256
    (src,) = [a["src"] for t, a in tags(flow_html(flow, now=T0)) if t == "img"]
    assert src and max(_decoded_size(src)) == 128  # shown at 128 px, embedded at 128 px
    assert len(src) < len(stored)  # (a photo: about a quarter; this flat test image less)
    (small,) = [a["src"] for t, a in tags(flow_html(flow, now=T0, thumb_size=64)) if t == "img"]
    assert small and max(_decoded_size(small)) == 64
    assert at_size(small, 200) == small  # never enlarged
    assert at_size("data:text/plain;base64,aGk=", 10) == "data:text/plain;base64,aGk="
    assert at_size("data:image/png;base64,bm90IGFuIGltYWdl", 10).endswith("bm90IGFuIGltYWdl")


def test_record_is_plain_html_marked_for_its_widget() -> None:
    from aurous_nb.display import record_html

    empty = record_html("rec-1", "CharacterUploader", [])
    assert 'data-aurous-record="rec-1"' in empty
    assert "Saved result" not in empty and "<style" not in empty
    character = Character(id="char_01", name="Eve <b>", status="ready", refs=())
    full = record_html("rec-1", "CharacterUploader", [character_html(character)])
    assert "Saved result of CharacterUploader — run the cell again for a live one." in full
    assert "Eve &lt;b&gt;" in full and "char_01" in full
    # in a trusted JupyterLab the dead widget's "model not found" is not shown next to it
    # (tests/system/test_browser_persistence.py checks it in the browser)
    assert (
        '.jp-OutputArea:has([data-aurous-record="rec-1"]) '
        ".jp-OutputArea-output.jupyter-widgets:not(:has(*))"
    ) in full
    assert "<script" not in full
