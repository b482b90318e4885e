"""The kernel end of the browser transfers when its comm handlers are handed messages out of
order or from several threads at once (JupyterLab 4.6 sends comm messages to a subshell, and
ipykernel 7 may hand a comm's next message to another thread): each view's bytes still
arrive whole, in order, and a photo still decodes to its pose."""

from __future__ import annotations

import random
import threading
from typing import Any

from aurous_nb.widgets import CharacterUploader
from aurous_nb.widgets._dropzone import WINDOW
from tests.widgets.helpers import (
    SIX,
    VIEW,
    Message,
    announcement,
    browser_msg,
    card,
    data_messages,
    replies,
    sample,
    wait_cards,
)

POSES = ["front", "side", "back", "portrait", "front", "side"]
POSE_OF = {name: pose for (name, _), pose in zip(SIX, POSES, strict=True)}
SMALL = 1_000  # bytes per message: the six drawings (18 kB) take a dozen or more


def _six(u: CharacterUploader, prefix: str = "f", sender: str = VIEW) -> list[Message]:
    files = [(f"{prefix}{i}", name, data) for i, (name, data) in enumerate(SIX)]
    return data_messages(u, [(i, d) for i, _, d in files], SMALL, announcement(files), sender)


def _shuffled_within_windows(messages: list[Message], seed: int) -> list[Message]:
    """``messages`` reordered, never more than WINDOW apart (the browser keeps at most WINDOW
    unacknowledged, so no more can be on their way at once)."""
    rng = random.Random(seed)
    out: list[Message] = []
    for at in range(0, len(messages), WINDOW):
        group = messages[at : at + WINDOW]
        rng.shuffle(group)
        out += group
    return out


def _acks(u: CharacterUploader, sender: str = VIEW) -> list[int]:
    return [r["seq"] for r in replies(u) if r["type"] == "ack" and r.get("sender") == sender]


def _all_classified(u: CharacterUploader, n: int = 6) -> None:
    wait_cards(
        u,
        lambda: len(u.cards) == n and all(c["state"] == "classified" for c in u.cards),
        "every card classified",
        timeout=30,
    )


def test_messages_handed_over_out_of_order_are_put_back_in_order(
    uploader: CharacterUploader,
) -> None:
    messages = _six(uploader)
    assert len(messages) >= 12
    order = _shuffled_within_windows(messages, seed=7)
    assert [c["seq"] for c, _ in order] != sorted(c["seq"] for c, _ in order)
    for content, buffers in order:
        browser_msg(uploader, content, buffers)
    # every message acknowledged once, in the order sent; every byte where it belongs
    assert _acks(uploader) == list(range(1, len(messages) + 1))
    assert not [c["error"] for c in uploader.cards if c["error"]]
    _all_classified(uploader)
    assert [c["pose"] for c in uploader.cards] == POSES


def test_messages_from_several_threads_at_once_arrive_whole(uploader: CharacterUploader) -> None:
    messages = _six(uploader)
    for at in range(0, len(messages), WINDOW):
        group = messages[at : at + WINDOW]
        go = threading.Barrier(len(group))

        def deliver(
            content: dict[str, Any], buffers: list[Any], go: threading.Barrier = go
        ) -> None:
            go.wait()
            browser_msg(uploader, content, buffers)

        threads = [threading.Thread(target=deliver, args=m) for m in group]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
    assert sorted(_acks(uploader)) == list(range(1, len(messages) + 1))
    assert not [c["error"] for c in uploader.cards if c["error"]]
    _all_classified(uploader)
    assert [c["pose"] for c in uploader.cards] == POSES


def test_two_views_are_put_in_order_each_on_its_own(uploader: CharacterUploader) -> None:
    """A notebook open in two tabs: two views, each numbering its messages from 1."""
    ours = [(f"f{i}", name, data) for i, (name, data) in enumerate(SIX[:4])]
    theirs = [(f"t{i}", f"tab_{name}", data) for i, (name, data) in enumerate(SIX[4:])]
    from_us = data_messages(uploader, [(i, d) for i, _, d in ours], SMALL, announcement(ours))
    from_them = data_messages(
        uploader, [(i, d) for i, _, d in theirs], SMALL, announcement(theirs), sender="view2"
    )
    assert from_us[0][0]["seq"] == from_them[0][0]["seq"] == 1
    mine = _shuffled_within_windows(from_us, seed=3)
    mixed = [m for pair in zip(mine, from_them, strict=False) for m in pair]
    mixed += mine[len(from_them) :] + from_them[len(mine) :]
    for content, buffers in mixed:
        browser_msg(uploader, content, buffers)
    assert _acks(uploader, "view2") == list(range(1, len(from_them) + 1))
    assert _acks(uploader) == list(range(1, len(from_us) + 1))
    _all_classified(uploader)
    poses = {c["name"].removeprefix("tab_"): c["pose"] for c in uploader.cards}
    assert poses == POSE_OF


def test_a_message_that_comes_twice_is_written_once(uploader: CharacterUploader) -> None:
    messages = _six(uploader)
    first = messages[0]
    browser_msg(uploader, *first)
    browser_msg(uploader, *first)
    for content, buffers in messages[1:]:
        browser_msg(uploader, content, buffers)
    assert _acks(uploader) == list(range(1, len(messages) + 1))
    _all_classified(uploader)
    assert [c["pose"] for c in uploader.cards] == POSES


def test_a_lost_message_fails_its_file_instead_of_waiting_for_ever(
    uploader: CharacterUploader,
) -> None:
    data = sample("front.png")
    files = [("a", "front.png", data)]
    messages = data_messages(uploader, [("a", data)], 200, announcement(files))
    assert len(messages) > WINDOW + 2
    lost = messages[1]
    for content, buffers in messages[:1] + messages[2 : 3 + WINDOW]:
        browser_msg(uploader, content, buffers)
    error = card(uploader, "a")["error"]
    assert "chunk at byte 400, expected 200 — choose the file again" in error, error
    assert card(uploader, "a")["state"] == "failed"
    assert lost[0]["seq"] not in _acks(uploader)
