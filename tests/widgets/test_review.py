"""SynthesisReview headless, against the real sandbox."""

from __future__ import annotations

import html
import json
from typing import Any

import pytest

from aurous_nb import samples
from aurous_nb.client import AurousClient
from aurous_nb.models import Character
from aurous_nb.sandbox import Sandbox
from aurous_nb.widgets import SynthesisReview
from tests.support.waiting import wait_for
from tests.widgets.helpers import RecordingComm, all_states

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


def test_review_record_keeps_the_outcome_with_its_views(
    client: AurousClient, synthesized: Character, aurous_sandbox: Sandbox, comms: list[Any]
) -> None:
    review = SynthesisReview(synthesized, client=client, poll=0.02)
    try:
        assert review.live.record_id == review.record.id
        wait_for(lambda: review.refs.value.count("data:image/") == 4, what="thumbnails")
        review.save()
        wait_for(lambda: review.busy == "" and review.character.status == "ready")
        bundle = review.record.bundle()
        record = bundle["text/html"]
        assert f'data-aurous-record="{review.record.id}"' in record
        assert synthesized.id in record and "Nova &lt;b&gt;" in record
        assert record.count("data:image/") == 4  # the four views, as thumbnails
        for pose in ("portrait", "front", "side", "back"):
            assert f"{pose} view" in record
        assert ">ready<" in record
        assert bundle["text/plain"].startswith(f"Nova <b> ({synthesized.id}) — ready")
    finally:
        review.close()
