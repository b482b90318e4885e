"""CharacterUploader headless, against the real sandbox: the browser is played through the
drop zone's real message handler (tests/widgets/helpers.py)."""

from __future__ import annotations

import base64
import html
import io
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import traitlets

from aurous_nb import samples
from aurous_nb.client import AurousClient, RateLimiter
from aurous_nb.display import STATE_LABELS
from aurous_nb.models import Character
from aurous_nb.sandbox import Sandbox
from aurous_nb.widgets import CharacterUploader
from aurous_nb.widgets._common import error_html
from tests.support.sandbox import make_client
from tests.support.waiting import wait_for
from tests.widgets.helpers import (
    SIX,
    VIEW,
    XSS,
    RecordingComm,
    all_states,
    begin,
    browser_msg,
    card,
    next_seq,
    replies,
    sample,
    send_bytes,
    send_file,
    send_files,
    settle,
    wait_cards,
)


def test_fallback_message_until_the_browser_code_runs(uploader: CharacterUploader) -> None:
    assert uploader.children[0] is uploader.fallback
    assert "aurous-nojs" in uploader.fallback._dom_classes
    assert "%%aurous_character" in uploader.fallback.value
    assert uploader.fallback.layout.display is None
    uploader.dropzone.set_state({"js_ready": True})  # what uploader.js does on load
    assert uploader.fallback.layout.display == "none"


def test_the_browser_gets_its_facts_from_python(uploader: CharacterUploader) -> None:
    from aurous_nb.display import EXPIRY_PHRASES, PHRASES
    from aurous_nb.limits import MAX_REFS

    config = uploader.dropzone.config
    assert config["max_refs"] == MAX_REFS
    assert config["state_labels"] == STATE_LABELS
    assert {k: tuple(v) for k, v in config["expiry_phrases"].items()} == EXPIRY_PHRASES
    assert config["phrases"] == PHRASES
    assert config["message_bytes"] < 10 * 1024 * 1024  # the server's websocket limit
    assert config["max_transfer_bytes"] == 64 * 1024 * 1024
    assert ".jpg" in config["accept"] and "image/webp" in config["accept"]


def test_six_files_packed_then_create(
    uploader: CharacterUploader, comms: list[RecordingComm], aurous_sandbox: Sandbox
) -> None:
    begin(uploader, [(f"f{i}", name, len(data)) for i, (name, data) in enumerate(SIX)])
    # every file has a card at once, before a single byte arrived
    assert [c["name"] for c in uploader.cards] == [n for n, _ in SIX]
    assert {c["state"] for c in uploader.cards} == {"receiving"}
    assert uploader.create_button.disabled

    total = sum(len(d) for _, d in SIX)
    started = time.perf_counter()
    messages = send_bytes(uploader, [(f"f{i}", data) for i, (_, data) in enumerate(SIX)])
    took = time.perf_counter() - started
    assert messages == 1  # the six drawings (~0.1 MB) travel in one message
    print(f"six files, {total} bytes, one message handled in {took * 1000:.1f} ms")
    acks = [r for r in replies(uploader) if r["type"] == "ack"]
    assert acks[0]["received"] == {}  # the announcement: no bytes yet
    received = {f"f{i}": len(d) for i, (_, d) in enumerate(SIX)}
    assert acks[1:] == [{"type": "ack", "seq": 2, "received": received, "sender": VIEW}]
    done = [r["id"] for r in replies(uploader) if r["type"] == "done"]
    assert done == [f"f{i}" for i in range(6)]

    wait_cards(
        uploader, lambda: all(c["state"] == "classified" for c in uploader.cards), "classified"
    )
    poses = [c["pose"] for c in uploader.cards]
    assert poses == ["front", "side", "back", "portrait", "front", "side"]
    for c in uploader.cards:
        assert 0 < c["confidence"] <= 1
        assert c["progress"] == 1.0
        assert c["expires_kind"] == "ticket"
        left = c["expires_at"] / 1000 - time.time()
        assert 24 * 3600 - 120 < left <= 24 * 3600 + 1
    assert set(uploader.dropzone.thumbs) == {f"f{i}" for i in range(6)}
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
    assert uploader.characters == (character,)
    assert repr(uploader) == (
        f"CharacterUploader(name='Mira', files=6, status='created', character={character.id!r})"
    )
    # the cards stay, each marked as in the character, next to the character's card
    assert [c["state"] for c in uploader.cards] == ["consumed"] * 6
    assert {c["label"] for c in uploader.cards} == {STATE_LABELS["consumed"]}
    assert not any(c["removable"] or c["retryable"] for c in uploader.cards)
    assert f'data-character-id="{character.id}"' in uploader.result.value
    assert uploader.result.layout.display is None
    assert uploader.new_button.layout.display is None
    assert uploader.create_button.layout.display == "none"
    assert uploader.dropzone.disabled
    assert uploader.dropzone.result == "Mira" and uploader.dropzone.status == "created"
    assert not spool.exists()  # tickets consumed: the temporary files are gone
    created = [r for r in aurous_sandbox.requests if r.route == "create"]
    assert len(created) == 1


def test_new_character_starts_the_next_one_and_keeps_the_first(
    uploader: CharacterUploader, aurous_sandbox: Sandbox
) -> None:
    uploader.new_character()  # nothing to keep yet: does nothing
    assert uploader.status == "idle"
    send_file(uploader, "a", "front.png", sample("front.png"))
    wait_cards(uploader, lambda: uploader.cards[0]["state"] == "classified", "classified")
    uploader.create()
    wait_for(lambda: uploader.status == "created")
    first = uploader.character
    first_flow = uploader.flow
    assert first is not None

    uploader.new_button.click()
    assert uploader.status == "idle"
    assert uploader.cards == [] and uploader.dropzone.thumbs == {}
    assert uploader.name == "" and uploader.name_input.value == ""
    assert uploader.character is None and uploader.characters == (first,)
    assert uploader.flow is not first_flow and uploader.flow.refs == []
    assert not uploader.dropzone.disabled
    assert uploader.create_button.layout.display is None
    assert uploader.result.layout.display == "none"
    assert uploader.new_button.layout.display == "none"
    assert "Add 1–6 reference images." in uploader.hint.value

    send_file(uploader, "b", "side.png", sample("side.png"))
    wait_cards(uploader, lambda: uploader.cards[0]["state"] == "classified", "classified")
    uploader.name = "Second"
    uploader.create()
    wait_for(lambda: uploader.status == "created")
    second = uploader.character
    assert second is not None and second.name == "Second" and second.id != first.id
    assert uploader.characters == (first, second)
    assert [c.poses for c in uploader.characters] == [("front",), ("side",)]
    assert len([r for r in aurous_sandbox.requests if r.route == "create"]) == 2


def test_no_image_bytes_in_synced_state_after_six_large_photos(
    uploader: CharacterUploader, comms: list[RecordingComm], tmp_path: Path
) -> None:
    from tests.support.photos import phone_jpeg

    paths = [
        phone_jpeg(tmp_path / f"IMG_{i:04d}.JPG", size=(5712, 4284), orientation=o, seed=i)
        for i, o in enumerate((1, 6, 3, 8, 1, 6))
    ]
    total = 0
    files = []
    for i, path in enumerate(paths):
        data = path.read_bytes()
        total += len(data)
        files.append((f"f{i}", path.name, data))
    messages = send_files(uploader, files)
    assert total > 30 * 1024 * 1024
    assert messages == -(-total // (4 * 1024 * 1024))  # full messages, files cut where needed
    wait_cards(
        uploader, lambda: all(c["state"] == "classified" for c in uploader.cards), "classified", 90
    )
    synced = all_states(uploader)
    blob = json.dumps(synced)
    dropzone = synced[uploader.dropzone.model_id]
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

    def traffic() -> int:
        return sum(len(getattr(c, "log", [])) for c in comms)

    # let the last coalesced redraw go out, then nothing more may come for a while
    wait_for(lambda: (n := traffic()) == traffic() and n, what="quiet")
    before = traffic()
    time.sleep(1.2)  # longer than a countdown's second: no tick may reach the browser
    assert traffic() == before  # countdowns are absolute epochs the browser counts down
    assert uploader.cards[0]["expires_at"] > time.time() * 1000


def test_hostile_file_name_is_data_never_markup(uploader: CharacterUploader) -> None:
    send_file(uploader, "x", XSS, b"not an image at all, just text\n" * 10)
    c = card(uploader, "x")
    assert c["name"] == XSS  # the browser puts it in textContent
    assert c["state"] == "failed"
    # the card already shows the name: the error does not repeat it
    assert c["error"] == "a text file, not an image — use JPEG, PNG, WebP, HEIC or AVIF"
    assert {"type": "reject", "id": "x"} in replies(uploader)
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


def test_refusals_are_clear_and_stop_the_transfer(
    client: AurousClient, comms: list[RecordingComm]
) -> None:
    u = CharacterUploader(client=client, name="Ada", max_transfer_bytes=200_000)
    try:
        begin(u, [("big", "huge.jpg", 300_000)])
        assert card(u, "big")["state"] == "failed"
        assert card(u, "big")["error"] == (
            "293.0 KiB is too large to send (limit 195.3 KiB) — resize it and choose it again"
        )
        send_file(u, "h", "wave.gif", b"GIF89a" + b"\x00" * 100)
        assert card(u, "h")["error"] == "GIF is not accepted — use JPEG, PNG, WebP, HEIC or AVIF"
        begin(u, [("gap", "gap.png", 5000)])
        data = sample("front.png")
        for start, end in [(0, 1000), (2000, 3000)]:
            content = {"type": "data", "sender": VIEW, "seq": next_seq(u)}
            content["parts"] = [{"id": "gap", "offset": start}]
            browser_msg(u, content, [data[start:end]])
        assert "chunk at byte 2000, expected 1000" in card(u, "gap")["error"]
        rejected = {r["id"] for r in replies(u) if r["type"] == "reject"}
        assert rejected == {"big", "h", "gap"}
        for c in u.cards:
            assert not c["retryable"]
        assert "Remove the failed images." in u.hint.value  # no Retry to offer
        for file_id in ("big", "h", "gap"):
            browser_msg(u, {"type": "remove", "id": file_id})
        assert u.cards == []
        send_files(u, [(f"f{i}", name, payload) for i, (name, payload) in enumerate(SIX)])
        begin(u, [("seventh", "seventh.png", 100)])
        assert len(u.cards) == 6
        assert u.dropzone.notice == (
            "At most 6 reference images per character — seventh.png was not added."
        )
        assert {"type": "reject", "id": "seventh"} in replies(u)
        # the notice goes with its cause
        browser_msg(u, {"type": "remove", "id": "f5"})
        assert len(u.cards) == 5 and u.dropzone.notice == ""
    finally:
        u.close()


def test_the_same_photo_dropped_twice_is_refused_on_its_card(uploader: CharacterUploader) -> None:
    send_files(
        uploader,
        [("f0", "front.png", sample("front.png")), ("f1", "front copy.png", sample("front.png"))],
    )
    wait_for(lambda: card(uploader, "f1")["state"] == "failed", what="the refusal")
    assert card(uploader, "f1")["error"] == (
        "the same image as front.png (ref 1): identical bytes, so the image "
        "would be used twice — remove one of them"
    )
    assert not card(uploader, "f1")["retryable"]
    wait_for(lambda: card(uploader, "f0")["state"] == "classified")
    wait_for(lambda: "Remove the failed image." in uploader.hint.value, what="the hint")
    first, second = uploader.flow.refs
    assert first.ticket is not None and second.ticket is None  # nothing sent for the copy


def test_close_stops_the_uploads(
    uploader: CharacterUploader, aurous_sandbox: Sandbox, lingering: set[Any]
) -> None:
    aurous_sandbox.inject("upload", latency_ms=1000, times=None)
    send_file(uploader, "f0", "front.png", sample("front.png"))
    ref = wait_cards(uploader, lambda: uploader.flow.refs, "a ref")[0]
    wait_cards(uploader, lambda: ref.state == "uploading", "the PUT")
    uploader.close()
    assert settle(lingering) == []  # the PUT in flight finishes; nothing starts after it
    # the team is asked for beside the first PUT (the journal keeps tickets per team)
    assert sorted(r.route for r in aurous_sandbox.requests) == ["init", "team", "upload"]
    assert ref.state == "uploaded"  # the flow keeps it: running it again resumes from here


def test_failed_upload_shows_inline_and_retry_recovers(
    uploader: CharacterUploader, aurous_sandbox: Sandbox
) -> None:
    aurous_sandbox.inject("classify", status=503, times=1)
    send_files(
        uploader,
        [("f0", "front.png", sample("front.png")), ("f1", "side.png", sample("side.png"))],
    )
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
    assert "Retry or remove the failed image." in uploader.hint.value
    browser_msg(uploader, {"type": "retry", "id": failed["id"]})
    wait_cards(uploader, lambda: all(c["state"] == "classified" for c in uploader.cards), "retried")
    assert card(uploader, failed["id"])["error"] == ""
    assert not uploader.create_button.disabled

    browser_msg(uploader, {"type": "remove", "id": "f1"})
    assert [c["id"] for c in uploader.cards] == ["f0"]
    assert [r.name for r in uploader.flow.refs] == ["front.png"]
    assert "f1" not in uploader.dropzone.thumbs


def test_a_card_waiting_for_the_rate_limit_says_so(
    aurous_sandbox: Sandbox, comms: list[RecordingComm]
) -> None:
    # a bucket of one token, refilled every 1.5 s: the classify waits for the next one
    aurous_sandbox.set_bucket("characters_post", 1, 40.0)
    limiter = RateLimiter({"characters_post": (1, 40.0)})
    client = make_client(aurous_sandbox, max_retries=0, rate_limit=limiter)
    u = CharacterUploader(client=client, name="Slow")
    try:
        send_file(u, "f0", "front.png", sample("front.png"))
        waiting = wait_cards(
            u, lambda: u.cards and u.cards[0]["wait_until"] and u.cards[0], "a wait on the card"
        )
        assert waiting["state"] in ("checked", "uploaded")  # before init or before classify
        left = waiting["wait_until"] / 1000 - time.time()
        assert 0.5 < left <= 1.6, left
        wait_cards(u, lambda: u.cards[0]["state"] == "classified", "classified", timeout=20)
        assert u.cards[0]["wait_until"] == 0  # nothing to wait for any more
    finally:
        u.close()
        client.close()


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
    assert uploader.cards[0]["state"] in ("receiving", "queued", "checked", "minted")
    wait_cards(uploader, lambda: uploader.cards[0]["state"] == "uploading", "uploading")
    c = uploader.cards[0]
    assert c["expires_kind"] == "url"
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


def test_files_wait_for_their_selection_before_being_checked(uploader: CharacterUploader) -> None:
    """While bytes arrive the kernel only writes them: a file that is in waits (at most
    HOLD_SECONDS) for the rest of its selection before its check and upload start."""
    from aurous_nb.widgets._transfers import HOLD_SECONDS

    front, side = sample("front.png"), sample("side.png")
    announce = [
        {"id": "a", "name": "front.png", "size": len(front), "mime": ""},
        {"id": "b", "name": "side.png", "size": len(side), "mime": ""},
    ]
    # message 1: all of a, the first half of b
    half = len(side) // 2
    first = {"type": "data", "sender": VIEW, "seq": 1, "files": announce}
    first["parts"] = [{"id": "a", "offset": 0}, {"id": "b", "offset": 0}]
    browser_msg(uploader, first, [front, side[:half]])
    assert {"type": "done", "id": "a"} in replies(uploader)
    time.sleep(HOLD_SECONDS / 4)
    assert uploader.flow.refs == []  # a is in, but nothing runs while b arrives
    # message 2: the rest of b; both go on, in their order
    browser_msg(
        uploader,
        {"type": "data", "sender": VIEW, "seq": 2, "parts": [{"id": "b", "offset": half}]},
        [side[half:]],
    )
    wait_cards(uploader, lambda: len(uploader.flow.refs) == 2, "both refs")
    assert [r.name for r in uploader.flow.refs] == ["front.png", "side.png"]


def test_a_file_held_for_a_slow_selection_goes_on_after_a_while(
    uploader: CharacterUploader,
) -> None:
    from aurous_nb.widgets._transfers import HOLD_SECONDS

    front, side = sample("front.png"), sample("side.png")
    announce = [
        {"id": "a", "name": "front.png", "size": len(front), "mime": ""},
        {"id": "b", "name": "side.png", "size": len(side), "mime": ""},
    ]
    content = {"type": "data", "sender": VIEW, "seq": 1, "files": announce}
    content["parts"] = [{"id": "a", "offset": 0}]
    browser_msg(uploader, content, [front])  # b's bytes are slow to come
    started = time.monotonic()
    wait_cards(uploader, lambda: uploader.flow.refs, "a's ref", timeout=HOLD_SECONDS + 5)
    assert time.monotonic() - started >= HOLD_SECONDS * 0.9
    assert card(uploader, "b")["state"] == "receiving"
    wait_cards(uploader, lambda: card(uploader, "a")["state"] == "classified", "a classified")


@pytest.mark.skipif(
    "keep_metadata" not in CharacterUploader.class_trait_names(),
    reason="the keep_metadata option comes with the image checks (merged separately)",
)
def test_the_keep_location_checkbox_is_the_uploaders_option(uploader: CharacterUploader) -> None:
    assert uploader.keep_metadata_input.layout.display is None
    assert uploader.keep_metadata is False and uploader.keep_metadata_input.value is False
    uploader.keep_metadata_input.value = True  # as ticked in the browser
    assert uploader.keep_metadata is True
    assert uploader.flow.keep_metadata is True  # type: ignore[attr-defined]


def test_an_uploader_that_failed_to_build_closes_quietly(
    client: AurousClient, comms: list[RecordingComm]
) -> None:
    # ipywidgets' __del__ calls close() (at the latest when the interpreter exits); on an
    # uploader whose __init__ raised half-way (here in VBox's own __init__, after the flow and
    # the spool exist) it must not raise again.
    built: list[CharacterUploader] = []

    class Kept(CharacterUploader):
        def __init__(self, **kwargs: Any) -> None:
            built.append(self)
            super().__init__(**kwargs)

    with pytest.raises(traitlets.TraitError, match="layout"):
        Kept(client=client, name="Ada", layout=5)
    built[0].close()
    built[0].close()  # and again, as __del__ does after an explicit close
