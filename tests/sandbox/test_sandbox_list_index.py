"""The list's per-team index (``aurous_nb/sandbox/state.py``): pages equal a full sort.

The index replaced sorting every character of the team on every page; these tests page
through a team (over HTTP) after creates, hard and soft deletes and another team's traffic,
and compare with the order the docs define (``created_at`` descending, creation order
breaking ties, soft-deleted characters hidden).
"""

from __future__ import annotations

import random

from aurous_nb.sandbox.state import CharacterRecord, TeamIndex

CHARS = "/v1/characters"


def _all_pages(sandbox_api, limit: int, key=None, after: str | None = None) -> list[str]:
    seen: list[str] = []
    cursor = after
    while True:
        params = {"limit": limit, **({"starting_after": cursor} if cursor else {})}
        kw = {} if key is None else {"key": key}
        r = sandbox_api.get(CHARS, params=params, **kw)
        assert r.status_code == 200, r.text
        page = r.json()
        seen += [c["id"] for c in page["data"]]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            return seen
        assert page["next_cursor"] == page["data"][-1]["id"] and len(page["data"]) == limit
        cursor = page["next_cursor"]


def test_pages_equal_a_full_sort_through_deletes_and_another_team(sandbox_api, aurous_sandbox):
    for bucket in ("characters_post", "characters_get", "characters_synthesize"):
        aurous_sandbox.set_bucket(bucket, 10_000, 10_000)  # this test is about the order
    theirs_key = aurous_sandbox.add_key(aurous_sandbox.add_team("B"))
    mine, theirs = [], []
    for i in range(45):
        # upload-flow characters are ready (DELETE soft-deletes them); synthesized ones are
        # reviewing (DELETE removes them for good)
        made = sandbox_api.create(f"u{i}") if i % 3 == 0 else sandbox_api.synthesize(f"s{i}")
        mine.append(made["id"])
        if i % 4 == 0:
            theirs.append(sandbox_api.synthesize(f"t{i}", key=theirs_key)["id"])
        if i % 6 == 0:
            aurous_sandbox.advance(1)  # some share a second of created_at, some do not
    gone = set(random.Random(14).sample(mine, 12))
    for char_id in gone:
        assert sandbox_api.delete(f"{CHARS}/{char_id}").status_code == 200
    expected = [c for c in reversed(mine) if c not in gone]

    for limit in (1, 7, 20, 100):
        assert _all_pages(sandbox_api, limit) == expected
    assert _all_pages(sandbox_api, 5, key=theirs_key) == theirs[::-1]

    # from a soft-deleted character the list goes on; a removed one is no position at all
    soft = next(c for c in mine if c in gone and c in mine[::3])
    hard = next(c for c in mine if c in gone and c not in mine[::3])
    older = [c for c in mine[: mine.index(soft)] if c not in gone][::-1]
    assert _all_pages(sandbox_api, 4, after=soft) == older
    r = sandbox_api.get(CHARS, params={"starting_after": hard})
    assert (r.status_code, r.json()["error"]["param"]) == (400, "starting_after")


def _record(char_id: str, created_at: float, seq: int) -> CharacterRecord:
    return CharacterRecord(
        id=char_id,
        team_id="team_1",
        seq=seq,
        name=char_id,
        status="ready",
        created_at=created_at,
        updated_at=created_at,
        aurous_version="2026-05-15",
        flow="upload",
    )


def test_team_index_keeps_list_order_whatever_order_records_arrive_in():
    rng = random.Random(3)
    records = [_record(f"char_{i:03}", float(rng.randrange(20)), i) for i in range(200)]
    index = TeamIndex()
    for record in rng.sample(records, len(records)):
        index.add(record)
    newest_first = sorted(records, key=lambda c: (c.created_at, c.seq), reverse=True)
    assert list(index.newest_first()) == [c.id for c in newest_first]
    after = newest_first[57]
    assert list(index.newest_first(after)) == [c.id for c in newest_first[58:]]
    for record in newest_first[::5]:
        index.remove(record)
    kept = [c.id for i, c in enumerate(newest_first) if i % 5]
    assert list(index.newest_first()) == kept and len(index) == len(kept)
    index.remove(newest_first[0])  # already gone: nothing happens
    assert len(index) == len(kept)
