"""Unit tests for aurous_nb.models: tolerant from_dict, timestamps, reprs."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from aurous_nb.models import (
    POSES,
    Balance,
    Character,
    Classification,
    DeletedCharacter,
    Page,
    Ref,
    ShapeError,
    Team,
    UploadTicket,
    parse_timestamp,
)

UTC = timezone.utc
SIGNED = "https://aurous.storage/up/upl_1/upload?expires=1778235300&signature=deadbeefcafe"


def test_parse_timestamp_forms() -> None:
    want = datetime(2026, 5, 8, 10, 0, 0, tzinfo=UTC)
    assert parse_timestamp("2026-05-08T10:00:00Z") == want
    assert parse_timestamp("2026-05-08T10:00:00+00:00") == want
    assert parse_timestamp("2026-05-08T12:00:00+02:00") == want
    assert parse_timestamp("2026-05-08T10:00:00") == want
    assert parse_timestamp("2026-05-08T10:00:00.5Z") == want + timedelta(milliseconds=500)
    assert parse_timestamp("2026-05-08T10:00:00.123456789Z") == want + timedelta(
        microseconds=123456
    )
    assert parse_timestamp(want.timestamp()) == want
    assert parse_timestamp(datetime(2026, 5, 8, 10)) == want
    bad: object
    for bad in (None, "", "yesterday", "2026-13-40T10:00:00Z", [], True):
        assert parse_timestamp(bad) is None
    assert parse_timestamp("2026-05-08T10:00:00Z").tzinfo is UTC  # type: ignore[union-attr]


def test_upload_ticket() -> None:
    minted = datetime(2026, 5, 8, 10, 0, tzinfo=UTC)
    t = UploadTicket.from_dict(
        {
            "upload_id": "upl_1",
            "upload_url": SIGNED,
            "upload_headers": {"Content-Type": "image/jpeg"},
            "expires_at": "2026-05-08T10:15:00Z",
            "something_new": 1,
        },
        minted_at=minted,
    )
    assert t.upload_headers == {"Content-Type": "image/jpeg"}
    assert t.expires_at == minted + timedelta(minutes=15)
    assert t.ticket_deadline == minted + timedelta(hours=24)
    assert t.url_seconds_left(minted) == 900
    assert t.ticket_seconds_left(minted + timedelta(hours=23)) == 3600
    assert t.url_expired and t.ticket_expired  # the dates are in the past by now
    assert dataclasses.is_dataclass(t)
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.upload_id = "x"  # type: ignore[misc]
    r = repr(t)
    assert "signature" not in r and "deadbeef" not in r
    assert "upl_1" in r and "?…" in r
    hash(t)  # frozen and hashable despite the headers dict


def test_upload_ticket_fresh_is_not_expired() -> None:
    now = datetime.now(UTC)
    t = UploadTicket.from_dict(
        {"upload_id": "u", "upload_url": "http://x/u", "expires_at": now + timedelta(minutes=15)}
    )
    assert not t.url_expired and not t.ticket_expired
    assert abs((t.minted_at - now).total_seconds()) < 5
    assert repr(t).count("http://x/u") == 1  # no query: nothing to hide


def test_classification_and_ref() -> None:
    c = Classification.from_dict({"upload_id": "upl_1", "pose": "side", "confidence": 0.92})
    assert c == Classification("upl_1", "side", 0.92)
    odd = Classification.from_dict({"upload_id": "u", "pose": "upside-down", "confidence": None})
    assert odd.pose == "other" and odd.confidence == 0.0
    ref = Ref.from_dict({"pose": "front", "url": "http://s/front.bin?token=secret"})
    assert "secret" not in repr(ref)
    assert POSES == ("portrait", "front", "side", "back", "other")


def _char(**over: object) -> dict[str, object]:
    d: dict[str, object] = {
        "id": "char_01HXMQ7Z3K8Y2NABCDEFGHJKMR",
        "object": "character",
        "name": "Aurora",
        "status": "reviewing",
        "refs": [
            {"pose": "front", "url": "https://api/storage/front.bin?token=t"},
            {"pose": "back", "url": "u"},
        ],
        "created_at": "2026-05-08T10:00:00Z",
        "updated_at": "2026-05-08T10:05:00Z",
        "attributes": {"age": 28},
        "error_message": None,
        "aurous_version": "2026-05-15",
        "deleted_at": None,
    }
    d.update(over)
    return d


def test_character() -> None:
    c = Character.from_dict(_char())
    assert c.id.startswith("char_")
    assert c.status == "reviewing"
    assert c.poses == ("front", "back")
    assert c.refs[0] == Ref("front", "https://api/storage/front.bin?token=t")
    assert c.attributes == {"age": 28}
    assert c.updated_at - c.created_at == timedelta(minutes=5)
    assert c.client_reference_id is None
    assert c.aurous_version == "2026-05-15"
    assert repr(c) == (
        "Character(id='char_01HXMQ7Z3K8Y2NABCDEFGHJKMR', name='Aurora', status='reviewing', "
        "refs=['front', 'back'])"
    )
    hash(c)
    sparse = Character.from_dict({"id": "char_x", "name": "n", "status": "ready"})
    assert sparse.refs == () and sparse.attributes is None
    assert sparse.updated_at == sparse.created_at
    withref = Character.from_dict(_char(client_reference_id="crm-7", refs=None, attributes=None))
    assert withref.client_reference_id == "crm-7" and withref.refs == ()


def test_team_balance_deleted() -> None:
    team = Team.from_dict(
        {
            "id": "team_1",
            "name": "T",
            "credits": 1023.49,
            "created_at": "2026-01-01T00:00:00Z",
            "billing_email": "a@b.c",
            "plan": "pro",
        }
    )
    assert team.credits == 1023.49 and team.created_at == datetime(2026, 1, 1, tzinfo=UTC)
    bal = Balance.from_dict(
        {"credits": 1023.49, "held_credits": 4, "available_credits": 1019.49, "currency": "credit"}
    )
    assert bal == Balance(1023.49, 4.0, 1019.49, "credit")
    assert Balance.from_dict({"credits": 10, "held_credits": 4}).available_credits == 6
    gone = DeletedCharacter.from_dict({"id": "char_1", "object": "character", "deleted": True})
    assert gone == DeletedCharacter("char_1", True)


def test_page() -> None:
    page = Page.from_dict(
        {
            "object": "list",
            "data": [_char(id="a"), _char(id="b")],
            "has_more": True,
            "next_cursor": "b",
        },
        Character.from_dict,
    )
    assert [c.id for c in page] == ["a", "b"] and len(page) == 2
    assert page.has_more and page.next_cursor == "b"
    last = Page.from_dict({"data": [], "has_more": False, "next_cursor": None}, Character.from_dict)
    assert not last.has_more and last.data == ()
    # has_more without a cursor cannot be followed: treat it as the last page
    odd = Page.from_dict({"data": [], "has_more": True}, Character.from_dict)
    assert not odd.has_more


def test_character_status_is_kept_as_sent_never_invented() -> None:
    for sent, kept in (("ready", "ready"), ("queued", "queued"), (None, None)):
        c = Character.from_dict(_char(status=sent))
        assert c.status == kept
        assert c.settled is (kept in ("ready", "reviewing", "failed", "deleted"))
    missing = _char()
    del missing["status"]
    assert Character.from_dict(missing).status is None
    assert not Character.from_dict(missing).settled


def test_balance_billing_mode_is_an_open_enum() -> None:
    base = {"credits": 5, "held_credits": 0, "available_credits": 5, "currency": "credit"}
    assert Balance.from_dict({**base, "billing_mode": "metered"}).billing_mode == "metered"
    assert Balance.from_dict({**base, "billing_mode": "exempt"}).billing_mode == "exempt"
    assert Balance.from_dict({**base, "billing_mode": "pooled"}).billing_mode == "pooled"
    assert Balance.from_dict(base).billing_mode is None  # an older copy of the page


@pytest.mark.parametrize(
    ("build", "field", "problem"),
    [
        (lambda: Character.from_dict([_char()]), None, "is an array of 1 item, expected"),
        (lambda: Character.from_dict(_char(status=1)), "status", "is a number (1)"),
        (lambda: Character.from_dict(_char(refs=[{"url": 5}])), "refs[0].url", "a number (5)"),
        (lambda: Character.from_dict(_char(created_at=[])), "created_at", "an array of 0"),
        (lambda: Team.from_dict({"id": "t", "credits": True}), "credits", "a boolean (true)"),
        (lambda: Team.from_dict({"name": "t"}), "id", "is missing"),
        (lambda: Balance.from_dict({"credits": float("nan")}), "credits", "a finite number"),
        (lambda: DeletedCharacter.from_dict(None), None, "is null, expected a JSON object"),
        (
            lambda: Page.from_dict({"data": [_char(), 7]}, Character.from_dict),
            "data[1]",
            "is a number (7), expected a JSON object (a character)",
        ),
        (
            lambda: UploadTicket.from_dict({"upload_id": "u", "upload_url": "x", "expires_at": 1j}),
            "expires_at",
            "is complex, expected an ISO 8601 timestamp",
        ),
    ],
)
def test_wrong_shapes_raise_a_shape_error_naming_the_field(
    build: Any, field: str | None, problem: str
) -> None:
    with pytest.raises(ShapeError) as info:
        build()
    assert info.value.field == field
    assert problem in str(info.value) and str(info.value).startswith(field or "the body")
    assert isinstance(info.value, ValueError)
