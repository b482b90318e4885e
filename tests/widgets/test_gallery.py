"""CharacterGallery headless, against the sandbox: filters, paging across three pages, each
action, an action failing with an injected 500, and a synthesizing character polled until it
is reviewing. Buttons are pressed with ``click()``, as the browser does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aurous_nb.client import AurousClient
from aurous_nb.sandbox import Sandbox
from aurous_nb.widgets import CharacterGallery
from tests.support.sandbox import SandboxAPI, requests_to
from tests.support.waiting import wait_for


@pytest.fixture
def made(sandbox_api: SandboxAPI) -> list[str]:
    """60 upload-flow characters (oldest first) and the bucket room to make them."""
    sandbox_api.sandbox.set_bucket("characters_post", 1000, 6000)
    return [sandbox_api.create(f"Hero {i:02d}")["id"] for i in range(60)]


@pytest.fixture
def gallery_of(client: AurousClient) -> Iterator:
    made: list[CharacterGallery] = []

    def make(**kwargs: object) -> CharacterGallery:
        gallery = CharacterGallery(client, poll=0.05, **kwargs)  # type: ignore[arg-type]
        made.append(gallery)
        idle(gallery)
        return gallery

    yield make
    for gallery in made:
        gallery.close()


def idle(gallery: CharacterGallery) -> None:
    wait_for(lambda: not gallery.busy, 15, "the gallery to be idle", show=lambda: gallery.busy)


def shown_ids(gallery: CharacterGallery) -> list[str]:
    return [c.id for c in gallery.characters]


def test_pages_of_24_follow_the_cursor_and_load_more_hides_at_the_end(
    made: list[str], gallery_of, aurous_sandbox: Sandbox
) -> None:
    gallery = gallery_of()
    assert shown_ids(gallery) == made[::-1][:24] and len(gallery.grid.children) == 24
    gallery.load_more_button.click()
    idle(gallery)
    gallery.load_more_button.click()
    idle(gallery)
    assert shown_ids(gallery) == made[::-1] and len(gallery.grid.children) == 60
    assert not gallery.has_more and gallery.load_more_button.layout.display == "none"
    assert "60 characters" in gallery.count.value
    # each card: the first ref's thumbnail once fetched, the name, the status, refs and poses
    wait_for(lambda: all("data:image/" in b.children[0].value for b in gallery.grid.children), 20)
    card = gallery.grid.children[0].children[0].value
    assert "Hero 59" in card and "ready" in card and "1 ref:" in card
    assert "token=" not in card and "signature" not in card  # no signed URL in the widget
    assert len(requests_to(aurous_sandbox, "storage")) == 60  # each thumbnail fetched once


def test_filters_by_status_and_name(sandbox_api: SandboxAPI, gallery_of) -> None:
    ready = [sandbox_api.create(f"Nova {i}")["id"] for i in range(3)]
    sandbox_api.create("Other")
    synth = sandbox_api.synthesize("Nova synthetic")["id"]
    gallery = gallery_of(name="nova")
    assert set(shown_ids(gallery)) == {*ready, synth}
    gallery.status_filter.value = "ready"
    idle(gallery)
    assert set(shown_ids(gallery)) == set(ready)
    gallery.name_filter.value = "zzz"
    idle(gallery)
    assert shown_ids(gallery) == [] and "0 characters" in gallery.count.value


def test_each_action_updates_the_card(
    sandbox_api: SandboxAPI, gallery_of, aurous_sandbox: Sandbox
) -> None:
    char_id = sandbox_api.synthesize("Vega", {"hair_color": "red", "age": 30})["id"]
    gallery = gallery_of()
    wait_for(lambda: gallery.characters[0].status == "reviewing", 15, "polling to reviewing")
    gallery.select(char_id)
    assert gallery.selected == char_id and gallery.panel.layout.display is None
    assert "hair_color" in gallery.detail.value and not gallery.save_button.disabled

    gallery.rename_input.value = "Vega Prime"
    gallery.rename_button.click()
    idle(gallery)
    assert gallery.characters[0].name == "Vega Prime" and gallery.error == ""
    assert "Vega Prime" in gallery.grid.children[0].children[0].value

    gallery.pose_picker.value = "side"
    gallery.regenerate_button.click()
    idle(gallery)
    wait_for(lambda: gallery.characters[0].status == "reviewing", 15, "regenerated")
    gallery.resynthesize_button.click()
    idle(gallery)
    wait_for(lambda: gallery.characters[0].status == "reviewing", 15, "resynthesized")
    assert len(requests_to(aurous_sandbox, "regenerate")) == 1
    assert len(requests_to(aurous_sandbox, "resynthesize")) == 1

    gallery.save_button.click()
    idle(gallery)
    assert gallery.characters[0].status == "ready" and gallery.save_button.disabled

    gallery.delete_button.click()  # the first click only asks
    assert gallery.delete_button.description == "Click again to delete"
    assert requests_to(aurous_sandbox, "delete") == []
    gallery.delete_button.click()
    idle(gallery)
    assert shown_ids(gallery) == [] and gallery.selected == ""
    assert len(requests_to(aurous_sandbox, "delete")) == 1


def test_a_failing_action_says_so_in_one_line_and_changes_nothing(
    sandbox_api: SandboxAPI, strict_client: AurousClient, aurous_sandbox: Sandbox
) -> None:
    char_id = sandbox_api.create("Failing")["id"]
    gallery = CharacterGallery(strict_client)
    try:
        idle(gallery)
        gallery.select(char_id)
        aurous_sandbox.inject("patch", status=500, times=1)
        gallery.rename_input.value = "Renamed"
        gallery.rename_button.click()
        idle(gallery)
        assert gallery.error.startswith("rename: 500") and "\n" not in gallery.error
        assert "rename: 500" in gallery.message.value  # shown inline, in one line
        assert gallery.characters[0].name == "Failing"
        assert not gallery.rename_button.disabled  # ready for another try
        gallery.rename_button.click()
        idle(gallery)
        assert gallery.error == "" and gallery.characters[0].name == "Renamed"
    finally:
        gallery.close()


def test_a_synthesizing_character_is_polled_until_it_is_reviewing(
    sandbox_api: SandboxAPI, gallery_of, aurous_sandbox: Sandbox
) -> None:
    aurous_sandbox.configure(synth_seconds=600)
    char_id = sandbox_api.synthesize("Slow")["id"]
    gallery = gallery_of()
    assert gallery.characters[0].status == "synthesizing"
    polls = len(requests_to(aurous_sandbox, "get"))
    wait_for(lambda: len(requests_to(aurous_sandbox, "get")) > polls, 10, "a poll")
    aurous_sandbox.advance(601)
    wait_for(lambda: gallery.characters[0].status == "reviewing", 15, "the next poll")
    assert gallery.characters[0].id == char_id
    # the card is redrawn a moment later (redraws are coalesced)
    wait_for(lambda: "reviewing" in gallery.grid.children[0].children[0].value, 5, "the card")
    settled = len(requests_to(aurous_sandbox, "get"))
    gallery.refresh()  # nothing unsettled: no more polling
    idle(gallery)
    assert len(requests_to(aurous_sandbox, "get")) == settled


def test_the_record_keeps_the_list_light_and_follows_changes(
    sandbox_api: SandboxAPI, gallery_of
) -> None:
    sandbox_api.sandbox.set_bucket("characters_post", 1000, 6000)
    ids = [sandbox_api.create(name)["id"] for name in ("Ada", "Bo <b>", "Cy")]
    gallery = gallery_of(page_size=2)
    assert gallery.live.record_id == gallery.record.id
    bundle = gallery.record.bundle()
    record = bundle["text/html"]
    assert f'data-aurous-record="{gallery.record.id}"' in record
    assert "Bo &lt;b&gt;" in record and ids[2] in record and ids[1] in record
    assert ids[0] not in record  # not shown yet: on the next page
    assert "data:image/" not in record  # no images: a saved notebook stays light
    assert "Load more" in record  # says there are more
    assert "Cy" in bundle["text/plain"] and ids[2] in bundle["text/plain"]

    gallery.load_more_button.click()
    idle(gallery)
    record = gallery.record.bundle()["text/html"]
    assert ids[0] in record and "Load more" not in record

    gallery.select(ids[2])
    gallery.delete_button.click()
    gallery.delete_button.click()
    idle(gallery)
    record = gallery.record.bundle()["text/html"]
    assert ids[2] not in record and ids[1] in record


def test_nothing_to_show_gives_an_empty_record(gallery_of) -> None:
    gallery = gallery_of()
    assert gallery.characters == []
    record = gallery.record.bundle()
    assert record["text/plain"] == "" and "<table" not in record["text/html"]
