"""The gallery's data, against the sandbox: pages with local filters across the API's pages,
thumbnails fetched once per ref and cached by path, the terminal table."""

from __future__ import annotations

import base64
import io
import threading
from pathlib import Path

import pytest
from PIL import Image

from aurous_nb.client import AurousClient
from aurous_nb.display import characters_table
from aurous_nb.models import Character
from aurous_nb.sandbox import Sandbox
from aurous_nb.widgets._catalog import Catalog, Filters, Thumbnails
from tests.support import photos
from tests.support.sandbox import SandboxAPI, requests_to
from tests.support.waiting import wait_for


def make_characters(api: SandboxAPI, n: int, prefix: str = "Hero") -> list[str]:
    """``n`` upload-flow characters (one ref each), oldest first (the bucket made room)."""
    api.sandbox.set_bucket("characters_post", 1000, 6000)
    return [api.create(f"{prefix} {i:03d}")["id"] for i in range(n)]


def test_pages_follow_the_cursor_newest_first(
    client: AurousClient, sandbox_api: SandboxAPI, aurous_sandbox: Sandbox
) -> None:
    ids = make_characters(sandbox_api, 60)
    catalog = Catalog(client, page_size=24)
    first = catalog.load_more()
    assert [c.id for c in first] == ids[::-1][:24] and catalog.has_more
    second = catalog.load_more()
    third = catalog.load_more()
    assert [c.id for c in catalog.items] == ids[::-1]
    assert (len(second), len(third), catalog.has_more) == (24, 12, False)
    assert catalog.load_more() == []
    # 60 characters in pages of 100: one list request for all three gallery pages
    assert len(requests_to(aurous_sandbox, "list")) == 1


def test_filters_are_local_and_fill_a_page_across_api_pages(
    client: AurousClient, sandbox_api: SandboxAPI, aurous_sandbox: Sandbox
) -> None:
    wanted = make_characters(sandbox_api, 3, prefix="Nova")
    make_characters(sandbox_api, 150, prefix="Other")
    synth = sandbox_api.synthesize("Nova synth")["id"]
    catalog = Catalog(client, Filters(name="nova"), page_size=24)
    shown = catalog.load_more()
    assert {c.id for c in shown} == set(wanted) | {synth} and not catalog.has_more
    assert len(requests_to(aurous_sandbox, "list")) == 2  # 154 characters: two list pages
    catalog.restart(Filters(status="ready", name="NOVA"))
    assert {c.id for c in catalog.items} == set(wanted)
    with pytest.raises(ValueError, match="status='done' is not one of all, ready"):
        Filters(status="done")


def test_actions_update_the_shown_list(client: AurousClient, sandbox_api: SandboxAPI) -> None:
    ids = make_characters(sandbox_api, 3)
    catalog = Catalog(client, Filters(status="ready"))
    catalog.load_more()
    renamed = client.update_character(ids[0], name="Renamed")
    catalog.replace(renamed)
    assert [c.name for c in catalog.items if c.id == ids[0]] == ["Renamed"]
    gone = Character(id=ids[1], name="x", status="deleted")
    catalog.replace(gone)
    catalog.remove(ids[2])
    assert [c.id for c in catalog.items] == [ids[0]]


def test_thumbnails_are_fetched_once_and_kept_by_path(
    client: AurousClient, sandbox_api: SandboxAPI, aurous_sandbox: Sandbox
) -> None:
    char_id = sandbox_api.synthesize("Thumbs")["id"]
    character = client.wait_for_character(char_id, poll=0.01)
    urls = [r.url for r in character.refs]
    done: list[str] = []
    lock = threading.Lock()

    def ready(url: str, uri: str) -> None:
        assert uri.startswith("data:image/")
        with lock:
            done.append(url)

    thumbs = Thumbnails(client, ready)
    try:
        thumbs.want(urls)
        thumbs.want(urls)  # asked twice: fetched once
        wait_for(lambda: len(done) == len(urls), 15, "every thumbnail")
        # the same refs, freshly signed a minute later: the cache answers, nothing is fetched
        aurous_sandbox.advance(60)
        again = client.get_character(char_id)
        assert [r.url for r in again.refs] != urls
        fetched = len(requests_to(aurous_sandbox, "storage"))
        assert all(thumbs.get(r.url) for r in again.refs)
        thumbs.want(r.url for r in again.refs)
        assert len(requests_to(aurous_sandbox, "storage")) == fetched == len(urls)
    finally:
        thumbs.close()


def test_table_for_a_terminal(client: AurousClient, sandbox_api: SandboxAPI) -> None:
    sandbox_api.create("Ada\x1b[31m " + "x" * 40)
    table = characters_table(list(client.iter_characters()), more=True)
    header, rule, row, more = table.splitlines()
    assert header.split() == ["id", "name", "status", "refs", "created"]
    assert set(rule.replace(" ", "")) == {"-"}
    assert row.startswith("char_") and "\\x1b[31m" in row and "ready" in row and "1 (" in row
    assert "…" in row and "raise --limit" in more
    assert characters_table([]) == "no characters"


def test_a_card_takes_the_photos_own_small_thumbnail_and_the_detail_the_full_one(
    client: AurousClient, aurous_sandbox: Sandbox, tmp_path: Path
) -> None:
    photo = photos.phone_jpeg(tmp_path / "IMG_0007.JPG", size=(2000, 1500), orientation=6)
    upload = client.upload(photo.read_bytes(), filename="front.jpg")
    ref = client.create_character("Cardy", upload_ids=[upload.upload_id]).refs[0]
    done: list[str] = []
    thumbs = Thumbnails(client, lambda url, uri: done.append(uri))
    try:
        thumbs.want([ref.url])
        wait_for(lambda: len(done) == 1, 15, "the card's thumbnail")
        card = thumbs.get(ref.url)
        assert card is not None and thumbs.get(ref.url, full=True) is None
        assert _size(card) == (120, 160)  # the EXIF thumbnail, upright (orientation 6)
        assert photos.marker_is_upright(base64.b64decode(card.split(",", 1)[1]))

        thumbs.want([ref.url], full=True)  # the detail view asks for the full one
        wait_for(lambda: len(done) == 2, 15, "the full thumbnail")
        full = thumbs.get(ref.url, full=True)
        assert full is not None and _size(full) == (192, 256)
        assert thumbs.get(ref.url) == full  # the card shows the better one from now on
        assert len(requests_to(aurous_sandbox, "storage")) == 2
    finally:
        thumbs.close()


def _size(uri: str) -> tuple[int, int]:
    with Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))) as image:
        return image.size
