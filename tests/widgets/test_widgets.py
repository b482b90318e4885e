"""Headless tests of CharacterUploader and SynthesisReview against the real sandbox.

The browser is played by sending the drop zone the custom messages its JS sends
(``begin`` / ``chunk`` with a binary buffer / ``end`` / ``remove`` / ``retry``)
through the widget's real comm-message handler; what the kernel would send back
to the browser is recorded by a comm that keeps every message (``comm.create_comm``
is the hook ipykernel itself installs).
"""

from __future__ import annotations

import base64
import html
import io
import json
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

import comm
import ipywidgets
import pytest
from comm.base_comm import BaseComm

from aurous_nb import samples
from aurous_nb.client import AurousClient
from aurous_nb.models import Character
from aurous_nb.sandbox import Sandbox
from aurous_nb.widgets import CharacterUploader, SynthesisReview
from aurous_nb.widgets._common import error_html
from tests.support.waiting import wait_for

STATIC = Path(__file__).resolve().parents[2] / "aurous_nb" / "widgets" / "static"
XSS = "<img src=x onerror=alert(1)>.png"


class RecordingComm(BaseComm):
    """A comm with no kernel behind it that keeps what the widget sends to the browser."""

    log: list[tuple[str, dict[str, Any], list[Any]]]

    def publish_msg(
        self,
        msg_type: str,
        data: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        buffers: list[Any] | None = None,
        **keys: Any,
    ) -> None:
        if not hasattr(self, "log"):
            self.log = []
        self.log.append((msg_type, data or {}, list(buffers or [])))


@pytest.fixture
def comms(monkeypatch: pytest.MonkeyPatch) -> list[RecordingComm]:
    made: list[RecordingComm] = []

    def create(**kwargs: Any) -> RecordingComm:
        c = RecordingComm(**kwargs)
        made.append(c)
        return c

    monkeypatch.setattr(comm, "create_comm", create)
    return made


@pytest.fixture
def client(strict_client: AurousClient) -> AurousClient:
    """No retries here: an injected fault shows on its card at once."""
    return strict_client


@pytest.fixture
def uploader(client: AurousClient, comms: list[RecordingComm]) -> Iterator[CharacterUploader]:
    u = CharacterUploader(client=client, name="Mira")
    yield u
    u.close()


def states(u: CharacterUploader) -> str:
    """The cards as synced (id, state, error) and the flow's refs behind them, for messages."""
    cards = [(c["id"], c["state"], c["error"]) for c in u.cards]
    return f"cards {cards}, flow refs {u.flow.refs}"


def wait_cards(
    u: CharacterUploader, predicate: Callable[[], Any], what: str, timeout: float = 15.0
) -> Any:
    """wait_for() whose timeout message lists the uploader's card and ref states."""
    return wait_for(predicate, timeout, what, show=lambda: states(u))


def package_threads() -> list[threading.Thread]:
    """aurous_nb's worker threads (flow runs, uploads, widget workers), not the sandbox's."""
    return [
        t
        for t in threading.enumerate()
        if t.name.startswith("aurous-") and not t.name.startswith("aurous-sandbox")
    ]


def settle(ignore: Collection[threading.Thread] = (), timeout: float = 30.0) -> list[str]:
    """Wait until no aurous_nb worker thread but ``ignore`` runs; return those still running."""
    deadline = time.monotonic() + timeout
    while (left := [t for t in package_threads() if t not in ignore]) and (
        time.monotonic() < deadline
    ):
        left[0].join(0.05)
    return sorted(t.name for t in left)


_lingering: set[threading.Thread] = set()  # outlived the wait below once: not waited for again


@pytest.fixture(autouse=True)
def no_work_left_behind() -> Iterator[None]:
    """No test runs while an earlier test's uploads or flows still send requests.

    The sandbox is one per session, reset between tests with the same API key, so a
    flow still running from an earlier test keeps calling it during the next one: a
    closed uploader's classify once spent the 503 the next test had injected
    (``inject("classify", times=1)``), and that test timed out waiting for a failure.
    Threads of other test files get 10 s; a thread of this test must end within 30 s.
    """
    if settle(_lingering, timeout=10.0):  # e.g. the idle worker of a widget never closed
        _lingering.update(package_threads())
    before = set(package_threads())
    yield
    left = settle(before)
    assert not left, f"the test left aurous_nb threads running: {left}"


def browser_msg(u: CharacterUploader, content: dict[str, Any], buffers: Sequence[Any] = ()) -> None:
    """Deliver a custom message exactly as ipykernel hands a browser message to a widget."""
    u.dropzone._handle_msg(
        {"content": {"data": {"method": "custom", "content": content}}, "buffers": list(buffers)}
    )


def send_file(
    u: CharacterUploader, file_id: str, name: str, data: bytes, chunk: int = 64 * 1024
) -> float:
    """Play the browser sending one file; return the seconds the ``end`` handler took."""
    browser_msg(u, {"type": "begin", "id": file_id, "name": name, "size": len(data)})
    for offset in range(0, len(data), chunk):
        piece = memoryview(data)[offset : offset + chunk]
        browser_msg(u, {"type": "chunk", "id": file_id, "offset": offset}, [piece])
    started = time.perf_counter()
    browser_msg(u, {"type": "end", "id": file_id})
    return time.perf_counter() - started


def replies(u: CharacterUploader, comms: list[RecordingComm]) -> list[dict[str, Any]]:
    """Custom messages the kernel sent to the browser views of the drop zone."""
    c = u.dropzone.comm
    return [
        d["content"]
        for kind, d, _ in getattr(c, "log", [])
        if kind == "comm_msg" and d.get("method") == "custom"
    ]


def card(u: CharacterUploader, file_id: str) -> dict[str, Any]:
    return next(c for c in u.cards if c["id"] == file_id)


def all_states(widget: ipywidgets.Widget) -> dict[str, Any]:
    """The synced state of ``widget`` and every widget below it, by model id."""
    out: dict[str, Any] = {}
    todo = [widget]
    while todo:
        w = todo.pop()
        if w.model_id in out:
            continue
        out[w.model_id] = w.get_state()
        for key in w.keys:
            value = getattr(w, key)
            for item in value if isinstance(value, (list, tuple)) else [value]:
                if isinstance(item, ipywidgets.Widget):
                    todo.append(item)
    return out


def sample(name: str) -> bytes:
    return next(p for p in samples.paths() if p.name == name).read_bytes()


def variant(name: str) -> bytes:
    """A sample with one pixel changed: the same pose, not the same image (refused twice)."""
    from PIL import Image

    with Image.open(io.BytesIO(sample(name))) as im:
        im = im.convert("RGB")
        im.putpixel((0, 0), (1, 2, 3))
        out = io.BytesIO()
        im.save(out, "PNG")
    return out.getvalue()


SIX = [
    ("front.png", sample("front.png")),
    ("side.png", sample("side.png")),
    ("back.png", sample("back.png")),
    ("portrait.jpg", sample("portrait.jpg")),
    ("second_front.png", variant("front.png")),
    ("profile.png", variant("side.png")),
]


# -- the uploader --------------------------------------------------------------------------------


def test_fallback_message_until_the_browser_code_runs(uploader: CharacterUploader) -> None:
    assert uploader.children[0] is uploader.fallback
    assert "aurous-nojs" in uploader.fallback._dom_classes
    assert "%%aurous_character" in uploader.fallback.value
    assert uploader.fallback.layout.display is None
    uploader.dropzone.set_state({"js_ready": True})  # what uploader.js does on load
    assert uploader.fallback.layout.display == "none"


def test_six_files_in_chunks_then_create(
    uploader: CharacterUploader, comms: list[RecordingComm], aurous_sandbox: Sandbox
) -> None:
    for i, (name, data) in enumerate(SIX):
        browser_msg(uploader, {"type": "begin", "id": f"f{i}", "name": name, "size": len(data)})
    # every file has a card at once, before a single byte arrived
    assert [c["name"] for c in uploader.cards] == [n for n, _ in SIX]
    assert {c["state"] for c in uploader.cards} == {"receiving"}
    assert uploader.create_button.disabled

    end_times = []
    for i, (_name, data) in enumerate(SIX):
        chunk = 1000
        for offset in range(0, len(data), chunk):
            piece = memoryview(data)[offset : offset + chunk]
            browser_msg(uploader, {"type": "chunk", "id": f"f{i}", "offset": offset}, [piece])
        started = time.perf_counter()
        browser_msg(uploader, {"type": "end", "id": f"f{i}"})
        end_times.append(time.perf_counter() - started)
    # the kernel thread only writes chunks and hands the file to a worker
    assert max(end_times) < 0.1, end_times

    acks = [r for r in replies(uploader, comms) if r["type"] == "ack" and r["id"] == "f0"]
    assert [a["received"] for a in acks][-1] == len(SIX[0][1])
    assert len(acks) == -(-len(SIX[0][1]) // 1000)  # one ack per chunk: the browser's window

    wait_cards(
        uploader, lambda: all(c["state"] == "classified" for c in uploader.cards), "classified"
    )
    poses = [c["pose"] for c in uploader.cards]
    assert poses == ["front", "side", "back", "portrait", "front", "side"]
    for c in uploader.cards:
        assert 0 < c["confidence"] <= 1
        assert c["progress"] == 1.0
        assert c["expires_label"] == "ticket"
        left = c["expires_at"] / 1000 - time.time()
        assert 24 * 3600 - 120 < left <= 24 * 3600 + 1
    assert set(uploader.dropzone.thumbs) == {f"f{i}" for i in range(6)}
    assert "aurous-have" in uploader.coverage.value
    for pose in ("portrait", "front", "side", "back"):
        assert f'aurous-chip aurous-have">{pose}' in uploader.coverage.value
    spool = uploader._spool.directory
    assert sorted(p.stat().st_size for p in spool.iterdir()) == sorted(len(d) for _, d in SIX)

    wait_for(lambda: not uploader.create_button.disabled, what="Create enabled")
    started = time.perf_counter()
    uploader.create_button.click()
    assert time.perf_counter() - started < 0.1  # the click only starts a worker
    assert uploader.status in ("creating", "created")
    wait_for(lambda: uploader.status == "created", what="created")
    character = uploader.character
    assert isinstance(character, Character)
    assert character.name == "Mira"
    assert character.poses == ("front", "side", "back", "portrait", "front", "side")
    assert uploader.flow.character is character
    assert uploader.children == (uploader.result,)
    assert repr(uploader) == (
        f"CharacterUploader(name='Mira', files=6, status='created', character={character.id!r})"
    )
    assert f'data-character-id="{character.id}"' in uploader.result.value
    assert not spool.exists()  # tickets consumed: the temporary files are gone
    created = [r for r in aurous_sandbox.requests if r.route == "create"]
    assert len(created) == 1


def test_no_image_bytes_in_synced_state_after_six_large_photos(
    uploader: CharacterUploader, comms: list[RecordingComm], tmp_path: Path
) -> None:
    from tests.support.browser import make_reference_images

    big = make_reference_images(
        tmp_path,
        [
            ("a_front.jpg", 8_000_000),
            ("a_side.jpg", 8_000_000),
            ("a_back.jpg", 8_000_000),
            ("a_portrait.jpg", 8_000_000),
            ("b_front.jpg", 8_000_000),
            ("huge_side.png", 11_500_000),  # over the API's 10 MiB: downscaled
        ],
    )
    total = 0
    for i, path in enumerate(big):
        data = path.read_bytes()
        total += len(data)
        send_file(uploader, f"f{i}", path.name, data, chunk=1024 * 1024)
    assert total > 45 * 1024 * 1024
    wait_cards(
        uploader, lambda: all(c["state"] == "classified" for c in uploader.cards), "classified", 90
    )
    huge = card(uploader, "f5")
    assert huge["size"] > 10 * 1024 * 1024
    assert "MiB" in huge["notice"] and "→" in huge["notice"]

    states = all_states(uploader)
    blob = json.dumps(states)
    dropzone = states[uploader.dropzone.model_id]
    code = len(dropzone["_esm"]) + len(dropzone["_css"])
    print(f"synced state: {len(blob)} bytes in total, {len(blob) - code} without the JS/CSS")
    assert len(blob) < 400_000
    for uri in uploader.dropzone.thumbs.values():
        assert uri.startswith("data:image/")
        from PIL import Image

        with Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))) as thumb:
            assert max(thumb.size) <= 256
    # and nothing big ever went to the browser: state updates and acks only
    sent = sum(
        len(json.dumps(d)) + sum(len(b) for b in bufs)
        for c in comms
        for _, d, bufs in getattr(c, "log", [])
    )
    assert sent < 2_000_000, sent


def test_countdowns_do_not_tick_from_the_kernel(
    uploader: CharacterUploader, comms: list[RecordingComm]
) -> None:
    send_file(uploader, "f0", "front.png", sample("front.png"))
    wait_cards(uploader, lambda: uploader.cards[0]["state"] == "classified", "classified")
    time.sleep(0.3)  # let the last coalesced redraw go out
    before = sum(len(getattr(c, "log", [])) for c in comms)
    time.sleep(1.2)
    after = sum(len(getattr(c, "log", [])) for c in comms)
    assert after == before  # countdowns are absolute epochs the browser counts down
    text = (STATIC / "uploader.js").read_text()
    assert "setInterval(tick, 1000)" in text


def test_hostile_file_name_is_data_never_markup(
    uploader: CharacterUploader, comms: list[RecordingComm]
) -> None:
    send_file(uploader, "x", XSS, b"not an image at all, just text\n" * 10)
    c = card(uploader, "x")
    assert c["name"] == XSS  # the browser puts it in textContent
    assert c["state"] == "failed"
    assert c["error"] == f"{XSS}: a text file, not an image — use JPEG, PNG, WebP, HEIC or AVIF"
    assert "\n" not in c["error"]
    assert {"type": "reject", "id": "x"} in replies(uploader, comms)
    # markup the kernel renders escapes it
    uploader.attributes_input.value = f"{XSS}"
    uploader.remove("x")
    send_file(uploader, "f0", "front.png", sample("front.png"))
    wait_for(lambda: not uploader.create_button.disabled)
    uploader.create_button.click()
    assert "&lt;img src=x onerror=alert(1)&gt;" in uploader.hint.value
    assert "<img" not in uploader.hint.value
    assert uploader.status == "idle"
    assert not uploader.create_button.disabled
    # the browser code never uses innerHTML, so nothing from a card is ever parsed as HTML
    js = (STATIC / "uploader.js").read_text()
    assert "innerHTML" not in js.replace("never innerHTML", "")
    assert "insertAdjacentHTML" not in js


def test_refusals_are_clear_and_stop_the_transfer(
    client: AurousClient, comms: list[RecordingComm]
) -> None:
    u = CharacterUploader(client=client, name="Ada", max_transfer_bytes=200_000)
    try:
        browser_msg(u, {"type": "begin", "id": "big", "name": "huge.jpg", "size": 300_000})
        assert card(u, "big")["state"] == "failed"
        assert card(u, "big")["error"] == (
            "huge.jpg: 293.0 KiB is too large to send (limit 195.3 KiB) — resize it and choose it "
            "again"
        )
        send_file(u, "h", "wave.gif", b"GIF89a" + b"\x00" * 100)
        assert card(u, "h")["error"] == (
            "wave.gif: GIF is not accepted — use JPEG, PNG, WebP, HEIC or AVIF"
        )
        browser_msg(u, {"type": "begin", "id": "gap", "name": "gap.png", "size": 5000})
        data = sample("front.png")
        browser_msg(u, {"type": "chunk", "id": "gap", "offset": 0}, [data[:1000]])
        browser_msg(u, {"type": "chunk", "id": "gap", "offset": 2000}, [data[2000:3000]])
        assert "chunk at byte 2000, expected 1000" in card(u, "gap")["error"]
        rejected = {r["id"] for r in replies(u, comms) if r["type"] == "reject"}
        assert rejected == {"big", "h", "gap"}
        for c in u.cards:
            assert not c["retryable"]
        for file_id in ("big", "h", "gap"):
            browser_msg(u, {"type": "remove", "id": file_id})
        assert u.cards == []
        for i, (name, payload) in enumerate(SIX):
            send_file(u, f"f{i}", name, payload)
        send_file(u, "seventh", "seventh.png", sample("back.png"))
        assert len(u.cards) == 6
        assert u.dropzone.notice == (
            "At most 6 reference images per character — seventh.png was not added."
        )
        assert {"type": "reject", "id": "seventh"} in replies(u, comms)
    finally:
        u.close()


def test_the_same_photo_dropped_twice_is_refused_on_its_card(uploader: CharacterUploader) -> None:
    send_file(uploader, "f0", "front.png", sample("front.png"))
    send_file(uploader, "f1", "front copy.png", sample("front.png"))
    wait_for(lambda: card(uploader, "f1")["state"] == "failed", what="the refusal")
    assert card(uploader, "f1")["error"] == (
        "front copy.png: the same image as front.png (ref 1): identical bytes, so the image "
        "would be used twice — remove one of them"
    )
    wait_for(lambda: card(uploader, "f0")["state"] == "classified")
    first, second = uploader.flow.refs
    assert first.ticket is not None and second.ticket is None  # nothing sent for the copy


def test_close_stops_the_uploads(uploader: CharacterUploader, aurous_sandbox: Sandbox) -> None:
    aurous_sandbox.inject("upload", latency_ms=1000, times=None)
    send_file(uploader, "f0", "front.png", sample("front.png"))
    ref = wait_cards(uploader, lambda: uploader.flow.refs, "a ref")[0]
    wait_cards(uploader, lambda: ref.state == "uploading", "the PUT")
    uploader.close()
    assert settle(_lingering) == []  # the PUT in flight finishes; nothing starts after it
    # the team is asked for beside the first PUT (the journal keeps tickets per team)
    assert sorted(r.route for r in aurous_sandbox.requests) == ["init", "team", "upload"]
    assert ref.state == "uploaded"  # the flow keeps it: running it again resumes from here


def test_failed_upload_shows_inline_and_retry_recovers(
    uploader: CharacterUploader, aurous_sandbox: Sandbox
) -> None:
    aurous_sandbox.inject("classify", status=503, times=1)
    send_file(uploader, "f0", "front.png", sample("front.png"))
    send_file(uploader, "f1", "side.png", sample("side.png"))
    wait_cards(
        uploader,
        lambda: {c["state"] for c in uploader.cards} == {"failed", "classified"},
        "one card failed by the injected 503, the other classified",
    )
    failed = next(c for c in uploader.cards if c["state"] == "failed")
    assert failed["retryable"]
    assert failed["error"].startswith("503 ")
    assert "\n" not in failed["error"]
    assert uploader.create_button.disabled
    assert "Remove or retry" in uploader.hint.value
    browser_msg(uploader, {"type": "retry", "id": failed["id"]})
    wait_cards(uploader, lambda: all(c["state"] == "classified" for c in uploader.cards), "retried")
    assert card(uploader, failed["id"])["error"] == ""
    assert not uploader.create_button.disabled

    browser_msg(uploader, {"type": "remove", "id": "f1"})
    assert [c["id"] for c in uploader.cards] == ["f0"]
    assert [r.name for r in uploader.flow.refs] == ["front.png"]
    assert "f1" not in uploader.dropzone.thumbs


def test_create_needs_a_name_and_reports_errors_inline(
    uploader: CharacterUploader, aurous_sandbox: Sandbox
) -> None:
    send_file(uploader, "f0", "front.png", sample("front.png"))
    wait_cards(uploader, lambda: uploader.cards[0]["state"] == "classified", "classified")
    uploader.name_input.value = "  "  # as typed in the browser: the trait follows
    assert uploader.name == "  "
    assert uploader.create_button.disabled
    assert "Enter a name." in uploader.hint.value
    uploader.name_input.value = "Mira"
    assert not uploader.create_button.disabled

    aurous_sandbox.inject("create", status=500, times=1)
    uploader.create_button.click()
    assert uploader.create_button.disabled  # while running
    wait_for(lambda: uploader.error, what="the error")
    wait_for(lambda: not uploader.create_button.disabled, what="re-enabled")
    assert uploader.status == "idle"
    assert uploader.error.startswith("500 ")
    assert "aurous-inline-error" in uploader.hint.value
    assert uploader.character is None

    uploader.attributes_input.value = "hair_color: auburn\nage: 31"
    uploader.create_button.click()
    wait_for(lambda: uploader.status == "created")
    assert uploader.character is not None
    assert uploader.character.attributes == {"hair_color": "auburn", "age": 31}


def test_create_refuses_a_bad_name_or_attribute_locally_and_keeps_the_upload(
    uploader: CharacterUploader, aurous_sandbox: Sandbox
) -> None:
    send_file(uploader, "f0", "front.png", sample("front.png"))
    wait_cards(uploader, lambda: uploader.cards[0]["state"] == "classified", "classified")
    ticket = uploader.flow.refs[0].ticket
    aurous_sandbox.clear_log()
    for name, attributes, needle in [
        ("N" * 101, "", "name: 'NNN"),
        ("Mira", "age: 500", "attributes.age: 500 is out of range"),
        ("Mira", "eyes: green", "attributes.eyes: unknown attribute"),
    ]:
        uploader.name_input.value, uploader.attributes_input.value = name, attributes
        uploader.create_button.click()
        wait_for(lambda: uploader.error and uploader.status == "idle", what="the error")
        assert needle in uploader.error and "\n" not in uploader.error
        assert aurous_sandbox.requests == []  # refused before any request
        assert uploader.flow.refs[0].ticket is ticket and uploader.cards[0]["state"] == "classified"
    uploader.attributes_input.value = "age: 31"
    uploader.create_button.click()
    wait_for(lambda: uploader.status == "created")
    assert [r.route for r in aurous_sandbox.requests] == ["create"]  # nothing uploaded again


def test_kernel_thread_is_never_blocked_by_slow_api(
    uploader: CharacterUploader, aurous_sandbox: Sandbox
) -> None:
    aurous_sandbox.inject("upload", latency_ms=800, times=None)
    aurous_sandbox.inject("create", latency_ms=800, times=None)
    took = send_file(uploader, "f0", "front.png", sample("front.png"))
    assert took < 0.1
    assert uploader.cards[0]["state"] in ("queued", "checked", "minted")
    wait_cards(uploader, lambda: uploader.cards[0]["state"] == "uploading", "uploading")
    c = uploader.cards[0]
    assert c["expires_label"] == "upload URL"
    assert 14 * 60 < c["expires_at"] / 1000 - time.time() <= 15 * 60 + 1
    wait_for(lambda: not uploader.create_button.disabled)
    started = time.perf_counter()
    uploader.create_button.click()
    assert time.perf_counter() - started < 0.1
    assert threading.current_thread() is threading.main_thread()
    assert uploader.status == "creating"
    browser_msg(uploader, {"type": "remove", "id": "f0"})  # refs are frozen while creating
    assert [c["id"] for c in uploader.cards] == ["f0"]
    assert not uploader.cards[0]["removable"]
    assert uploader.dropzone.disabled
    wait_for(lambda: uploader.status == "created")


def test_add_local_files_and_default_client(
    monkeypatch: pytest.MonkeyPatch, aurous_sandbox: Sandbox, comms: list[RecordingComm]
) -> None:
    monkeypatch.setenv("AUROUS_API_KEY", aurous_sandbox.api_key)
    monkeypatch.setenv("AUROUS_BASE_URL", aurous_sandbox.url)
    u = CharacterUploader(name="Env")
    try:
        assert u.client.base_url == aurous_sandbox.url
        u.add(*samples.paths())
        wait_cards(
            u, lambda: len(u.cards) == 4 and all(c["state"] == "classified" for c in u.cards), "4"
        )
        u.create()
        wait_for(lambda: u.status == "created")
        assert u.character is not None and len(u.character.refs) == 4
        blob = json.dumps(all_states(u))
        assert aurous_sandbox.api_key not in blob
        assert aurous_sandbox.api_key[8:24] not in blob
    finally:
        u.close()


def test_error_html_escapes() -> None:
    out = error_html(XSS)
    assert html.escape(XSS) in out
    assert "<img" not in out


# -- the review widget ---------------------------------------------------------------------------


@pytest.fixture
def synthesized(client: AurousClient, aurous_sandbox: Sandbox) -> Character:
    return client.create_character(
        "Nova <b>", generate=True, attributes={"hair_color": "silver", "gender": "female"}
    )


def test_review_polls_then_shows_four_refs(
    client: AurousClient, aurous_sandbox: Sandbox, comms: list[RecordingComm]
) -> None:
    aurous_sandbox.configure(synth_seconds=60)
    character = client.create_character("Nova", generate=True, attributes={"hair_color": "red"})
    review = SynthesisReview(character.id, client=client, poll=0.02)
    try:
        wait_for(lambda: review.character is not None, what="loaded")
        assert review.character is not None
        assert review.character.status == "synthesizing"
        assert "synthesizing…" in review.header.value
        assert review.save_button.disabled and review.regenerate_button.disabled
        aurous_sandbox.advance(61)
        wait_for(lambda: review.character and review.character.status == "reviewing")
        wait_for(lambda: review.refs.value.count("data:image/") == 4, what="thumbnails")
        for pose in ("portrait", "front", "side", "back"):
            assert f"<figcaption>{pose}</figcaption>" in review.refs.value
        assert not review.save_button.disabled
        assert repr(review) == f"SynthesisReview({character.id!r}, status='reviewing')"
        assert aurous_sandbox.api_key not in json.dumps(all_states(review))
        storage = [r for r in aurous_sandbox.requests if r.route == "storage"]
        assert storage and all("X-Api-Key" not in r.headers for r in storage)
    finally:
        review.close()


def test_review_keeps_polling_after_regenerate_during_thumbnail_load(
    client: AurousClient, aurous_sandbox: Sandbox, comms: list[RecordingComm]
) -> None:
    aurous_sandbox.configure(synth_seconds=60)
    character = client.create_character("Nova", generate=True, attributes={"hair_color": "red"})
    aurous_sandbox.inject("storage", latency_ms=300, times=4)  # thumbnails load slowly
    review = SynthesisReview(character.id, client=client, poll=0.02)
    try:
        wait_for(lambda: review.character is not None, what="loaded")
        aurous_sandbox.advance(61)
        wait_for(lambda: review.character and review.character.status == "reviewing")
        review.regenerate("side")  # while the poll loop is still fetching thumbnails
        wait_for(lambda: review.character and review.character.status == "synthesizing")
        aurous_sandbox.advance(61)
        wait_for(
            lambda: review.character and review.character.status == "reviewing",
            what="the status after the regenerate",
        )
    finally:
        review.close()


def test_review_buttons_disable_while_running_and_work(
    client: AurousClient, synthesized: Character, aurous_sandbox: Sandbox, comms: list[Any]
) -> None:
    review = SynthesisReview(synthesized, client=client, poll=0.02, thumbnails=False)
    try:
        wait_for(lambda: review.character and review.character.status == "reviewing")
        assert "Nova &lt;b&gt;" in review.header.value
        aurous_sandbox.inject("save", latency_ms=300)
        review.save_button.click()
        assert review.busy == "save"
        buttons = (review.save_button, review.resynthesize_button, review.regenerate_button)
        assert all(b.disabled for b in (*buttons, review.delete_button))
        wait_for(lambda: review.busy == "", what="save done")
        assert review.character is not None and review.character.status == "ready"
        assert review.save_button.disabled  # nothing to save any more
        assert not review.regenerate_button.disabled

        review.pose_picker.value = "side"
        review.regenerate_button.click()
        wait_for(lambda: review.busy == "" and review.character.status == "reviewing")
        regen = [r for r in aurous_sandbox.requests if r.route == "regenerate"]
        assert len(regen) == 1

        review.resynthesize_button.click()
        wait_for(lambda: review.busy == "" and review.character.status == "reviewing")
        assert review.error == ""

        review.delete_button.click()
        assert review.delete_button.description == "Click again to delete"
        assert not [r for r in aurous_sandbox.requests if r.route == "delete"]
        review.delete_button.click()
        wait_for(lambda: review.character.status == "deleted" and review.busy == "")
        assert all(b.disabled for b in (*buttons, review.delete_button))
    finally:
        review.close()


def test_review_errors_are_inline_escaped_and_buttons_come_back(
    client: AurousClient, aurous_sandbox: Sandbox, comms: list[Any]
) -> None:
    # an upload-flow character cannot be regenerated: the API says so, the widget shows it
    ids = []
    for path in samples.paths()[:1]:
        ticket = client.upload(path, filename=path.name, content_type="image/png")
        ids.append(ticket.upload_id)
    character = client.create_character("<i>Up</i>", upload_ids=ids)
    review = SynthesisReview(character, client=client, thumbnails=False)
    try:
        assert not review.regenerate_button.disabled
        review.regenerate_button.click()
        wait_for(lambda: review.error, what="the error")
        wait_for(lambda: review.busy == "")
        assert review.error.startswith("regenerate: 400 ")
        assert "\n" not in review.error
        assert html.escape(review.error) in review.message.value
        assert not review.regenerate_button.disabled  # re-enabled in finally
        assert "&lt;i&gt;Up&lt;/i&gt;" in review.header.value
    finally:
        review.close()
