"""Contract tests: the /v1/characters resource (API.md §9.4–9.11, §10, §14 rows 9–21, 32)."""

from __future__ import annotations

import io

import pytest
import requests
from PIL import Image

CHARS = "/v1/characters"
CLASSIFY = "/v1/characters/uploads/classify"


def _error(r: requests.Response) -> dict:
    return r.json()["error"]


def _get(api, cid: str) -> requests.Response:
    return api.get(f"{CHARS}/{cid}")


# -- create, upload flow (rows 9, 12, 13) --------------------------------------------------


def test_upload_flow_create_is_ready_with_refs_in_order(sandbox_api, make_image):
    back = sandbox_api.upload(make_image(), filename="back.png", classify=True)
    unclassified = sandbox_api.upload(make_image(), filename="front.png")
    front = sandbox_api.upload(make_image(), filename="front.png", classify=True)
    side = sandbox_api.upload(
        make_image(fmt="JPEG"), filename="side.jpg", content_type="image/jpeg", classify=True
    )
    body = {"name": "Ada", "upload_ids": [back, unclassified, front, side], "generate": False}
    r = sandbox_api.post(CHARS, json=body)
    assert r.status_code == 201
    char = r.json()
    assert char["id"].startswith("char_") and len(char["id"]) == 31
    assert char["object"] == "character" and char["status"] == "ready"
    assert [ref["pose"] for ref in char["refs"]] == ["back", "other", "front", "side"]
    assert char["aurous_version"] == "2026-05-15" and char["error_message"] is None
    assert char["created_at"] == char["updated_at"] and char["created_at"].endswith("Z")
    fetched = [requests.get(ref["url"], timeout=10) for ref in char["refs"]]
    assert [f.status_code for f in fetched] == [200] * 4
    assert [f.headers["Content-Type"] for f in fetched][-1] == "image/jpeg"
    assert fetched[0].content == make_image()


def test_latest_classification_wins_and_duplicates_allowed(sandbox_api, make_image):
    a = sandbox_api.upload(make_image(20, 40), filename="IMG_1.png", classify=True)  # front
    ticket_b = sandbox_api.init(filename="IMG_2.png")
    sandbox_api.put(ticket_b, make_image(30, 30))
    sandbox_api.post(CLASSIFY, json={"upload_id": ticket_b["upload_id"]})  # portrait
    sandbox_api.put(ticket_b, make_image(20, 40))
    sandbox_api.post(CLASSIFY, json={"upload_id": ticket_b["upload_id"]})  # front now
    char = sandbox_api.post(
        CHARS, json={"name": "Dup", "upload_ids": [a, ticket_b["upload_id"]]}
    ).json()
    assert [r["pose"] for r in char["refs"]] == ["front", "front"]


def test_reput_after_classify_forgets_the_pose(sandbox_api, make_image):
    ticket = sandbox_api.init(filename="front.png")
    sandbox_api.put(ticket, make_image())
    sandbox_api.post(CLASSIFY, json={"upload_id": ticket["upload_id"]})
    sandbox_api.put(ticket, make_image(fmt="PNG", color=(0, 0, 0)))
    char = sandbox_api.post(CHARS, json={"name": "A", "upload_ids": [ticket["upload_id"]]}).json()
    assert char["refs"][0]["pose"] == "other"


def test_create_stores_attributes_and_client_reference(sandbox_api):
    uid = sandbox_api.upload()
    body = {
        "name": "A",
        "upload_ids": [uid],
        "attributes": {"age": 30},
        "client_reference_id": "r-1",
    }
    char = sandbox_api.post(CHARS, json=body).json()
    assert char["attributes"] == {"age": 30} and char["client_reference_id"] == "r-1"


@pytest.mark.parametrize(
    "body",
    [
        {"name": "A"},
        {"name": "A", "generate": False},
        {"name": "A", "generate": True, "upload_ids": ["upl_x"], "attributes": {}},
    ],
)
def test_create_parameter_combination(sandbox_api, body):
    r = sandbox_api.post(CHARS, json=body)
    assert r.status_code == 400
    err = _error(r)
    assert (err["type"], err["code"]) == ("invalid_request", "parameter_invalid_combination")
    assert "param" in err


@pytest.mark.parametrize(
    ("patch", "code", "param"),
    [
        ({"name": None}, "missing_field", "name"),
        ({"name": ""}, "value_out_of_range", "name"),
        ({"name": "x" * 101}, "value_out_of_range", "name"),
        ({"name": 3}, "invalid_format", "name"),
        ({"generate": "yes"}, "invalid_format", "generate"),
        ({"client_reference_id": "x" * 257}, "value_out_of_range", "client_reference_id"),
        ({"upload_ids": []}, "value_out_of_range", "upload_ids"),
        ({"upload_ids": "upl_1"}, "invalid_format", "upload_ids"),
        ({"attributes": {"hat": "red"}}, "invalid_format", "attributes.hat"),
    ],
)
def test_create_field_errors(sandbox_api, patch, code, param):
    body = {"name": "Ok", "upload_ids": [sandbox_api.upload()], **patch}
    body = {k: v for k, v in body.items() if v is not None}
    r = sandbox_api.post(CHARS, json=body)
    assert r.status_code == 400, r.text
    assert (_error(r)["code"], _error(r)["param"]) == (code, param)


def test_create_name_bounds(sandbox_api):
    for name in ("x", "x" * 100):
        assert (
            sandbox_api.post(
                CHARS, json={"name": name, "upload_ids": [sandbox_api.upload()]}
            ).status_code
            == 201
        )


def test_create_upload_id_count_and_duplicates(sandbox_api):
    ids = [sandbox_api.upload() for _ in range(7)]
    r = sandbox_api.post(CHARS, json={"name": "A", "upload_ids": ids})
    assert (_error(r)["code"], _error(r)["param"]) == ("value_out_of_range", "upload_ids")
    r = sandbox_api.post(CHARS, json={"name": "A", "upload_ids": [ids[0], ids[1], ids[0]]})
    assert (_error(r)["code"], _error(r)["param"]) == ("invalid_format", "upload_ids[2]")
    r = sandbox_api.post(CHARS, json={"name": "A", "upload_ids": ids[:6]})
    assert r.status_code == 201 and len(r.json()["refs"]) == 6


def test_create_bad_tickets_are_upload_invalid_and_atomic(sandbox_api, aurous_sandbox, make_image):
    good = sandbox_api.upload()
    not_put = sandbox_api.init()["upload_id"]
    consumed = sandbox_api.create()["id"] and sandbox_api.upload()
    sandbox_api.post(CHARS, json={"name": "C", "upload_ids": [consumed]})
    bad_bytes = sandbox_api.upload(make_image(fmt="JPEG"), content_type="image/png")
    huge = sandbox_api.upload(make_image(5000, 4, fmt="PNG"))
    cases = {
        "upl_01HXMQ7Z3K8Y2NABCDEFGHJKMR": "unknown",
        not_put: "no bytes",
        consumed: "already used",
        bad_bytes: "image/png",
        huge: "4096",
    }
    for uid, words in cases.items():
        r = sandbox_api.post(CHARS, json={"name": "A", "upload_ids": [good, uid]})
        assert r.status_code == 400, uid
        err = _error(r)
        assert (err["code"], err["param"]) == ("upload_invalid", "upload_ids[1]")
        assert words in err["message"].lower()
    # nothing was consumed by the failed attempts: the good ticket still works
    assert sandbox_api.post(CLASSIFY, json={"upload_id": good}).status_code == 200
    assert sandbox_api.post(CHARS, json={"name": "A", "upload_ids": [good]}).status_code == 201


def test_create_with_expired_ticket(sandbox_api, aurous_sandbox):
    uid = sandbox_api.upload()
    aurous_sandbox.advance(86401)
    r = sandbox_api.post(CHARS, json={"name": "A", "upload_ids": [uid]})
    assert (_error(r)["code"], _error(r)["param"]) == ("upload_invalid", "upload_ids[0]")


def test_create_with_other_teams_ticket_is_404_and_atomic(sandbox_api, aurous_sandbox):
    mine = sandbox_api.upload()
    theirs = sandbox_api.upload(key=aurous_sandbox.add_key(aurous_sandbox.add_team("B")))
    r = sandbox_api.post(CHARS, json={"name": "A", "upload_ids": [mine, theirs]})
    assert r.status_code == 404
    assert _error(r)["code"] == "resource_not_found"
    assert sandbox_api.post(CHARS, json={"name": "A", "upload_ids": [mine]}).status_code == 201


# -- create, synthesize flow (rows 11, 16, 17) ---------------------------------------------


def test_synthesize_flow_reviewing_then_save(sandbox_api, aurous_sandbox):
    aurous_sandbox.configure(synth_seconds=30)
    before = aurous_sandbox.credits()
    char = sandbox_api.synthesize("Bea", {"hair_color": "blonde", "age": 28})
    assert char["status"] == "synthesizing" and char["refs"] == []
    assert aurous_sandbox.credits() == before - 4
    assert _get(sandbox_api, char["id"]).json()["status"] == "synthesizing"
    aurous_sandbox.advance(30)
    got = _get(sandbox_api, char["id"]).json()
    assert got["status"] == "reviewing"
    assert [r["pose"] for r in got["refs"]] == ["portrait", "front", "side", "back"]
    saved = sandbox_api.post(f"{CHARS}/{char['id']}/save")
    assert saved.status_code == 200 and saved.json()["status"] == "ready"
    again = sandbox_api.post(f"{CHARS}/{char['id']}/save")
    assert again.status_code == 200 and again.json() == saved.json()


def test_synthesized_refs_are_distinct_pngs(sandbox_api):
    char = sandbox_api.synthesize("Bea", {"hair_color": "black"})
    got = _get(sandbox_api, char["id"]).json()
    images = [requests.get(ref["url"], timeout=10) for ref in got["refs"]]
    assert {i.headers["Content-Type"] for i in images} == {"image/png"}
    assert len({i.content for i in images}) == 4
    for img in images:
        pic = Image.open(io.BytesIO(img.content))
        assert pic.format == "PNG" and pic.size == (384, 512)
    other = sandbox_api.synthesize("Bea", {"hair_color": "blonde"})
    front_other = requests.get(_get(sandbox_api, other["id"]).json()["refs"][1]["url"], timeout=10)
    assert front_other.content != images[1].content  # hair colour shows


def test_synthesize_end_state_ready(sandbox_api, aurous_sandbox):
    aurous_sandbox.configure(synth_end_state="ready")
    char = sandbox_api.synthesize()
    assert _get(sandbox_api, char["id"]).json()["status"] == "ready"


def test_synthesis_failure(sandbox_api, aurous_sandbox):
    aurous_sandbox.configure(synth_failure_rate=1.0)
    char = sandbox_api.synthesize()
    got = _get(sandbox_api, char["id"]).json()
    assert (got["status"], got["error_message"]) == ("failed", "synthesis_failed")
    r = sandbox_api.post(f"{CHARS}/{char['id']}/save")
    assert (r.status_code, _error(r)["code"]) == (400, "invalid_request_error")


def test_synthesis_failure_rate_is_seeded(sandbox_api, aurous_sandbox):
    def outcomes():
        aurous_sandbox.reset()
        aurous_sandbox.configure(synth_failure_rate=0.5)
        ids = [sandbox_api.synthesize()["id"] for _ in range(8)]
        return [_get(sandbox_api, i).json()["status"] for i in ids]

    first = outcomes()
    assert first == outcomes()
    assert set(first) == {"failed", "reviewing"}


@pytest.mark.parametrize(
    ("attributes", "code", "param"),
    [
        (None, "missing_field", "attributes"),
        ("tall", "invalid_format", "attributes"),
        ({"age": 0}, "value_out_of_range", "attributes.age"),
        ({"age": 121}, "value_out_of_range", "attributes.age"),
        ({"age": "30"}, "invalid_format", "attributes.age"),
        ({"age": True}, "invalid_format", "attributes.age"),
        ({"hair_color": "x" * 201}, "value_out_of_range", "attributes.hair_color"),
        ({"additional_details": "x" * 1001}, "value_out_of_range", "attributes.additional_details"),
        ({"eye_color": 3}, "invalid_format", "attributes.eye_color"),
        ({"favourite_food": "soup"}, "invalid_format", "attributes.favourite_food"),
    ],
)
def test_synthesize_attribute_errors(sandbox_api, aurous_sandbox, attributes, code, param):
    body = {"name": "A", "generate": True}
    if attributes is not None:
        body["attributes"] = attributes
    r = sandbox_api.post(CHARS, json=body)
    assert r.status_code == 400
    assert (_error(r)["code"], _error(r)["param"]) == (code, param)
    assert aurous_sandbox.credits() == 1000  # nothing charged


def test_synthesize_attribute_bounds_accepted(sandbox_api):
    attrs = {"age": 120, "hair_color": "x" * 200, "additional_details": "y" * 1000, "gender": None}
    assert sandbox_api.synthesize(attributes=attrs)["attributes"] == attrs


def test_synthesize_balance_too_low(sandbox_api, aurous_sandbox):
    aurous_sandbox.set_credits(3.5)
    r = sandbox_api.post(CHARS, json={"name": "A", "generate": True, "attributes": {}})
    assert r.status_code == 402
    err = _error(r)
    assert (err["type"], err["code"], err["param"]) == ("invalid_request", "balance_too_low", None)
    assert aurous_sandbox.credits() == 3.5


# -- get / list (row 29) -------------------------------------------------------------------


def test_get_unknown_is_404(sandbox_api):
    r = _get(sandbox_api, "char_01HXMQ7Z3K8Y2NABCDEFGHJKMR")
    assert r.status_code == 404
    err = _error(r)
    assert (err["type"], err["code"]) == ("not_found", "resource_not_found") and "param" not in err


def test_list_pages_newest_first(sandbox_api, aurous_sandbox):
    ids = []
    for i in range(5):
        ids.append(sandbox_api.synthesize(f"c{i}")["id"])
        aurous_sandbox.advance(1)
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"starting_after": cursor} if cursor else {})}
        page = sandbox_api.get(CHARS, params=params).json()
        assert page["object"] == "list"
        seen += [c["id"] for c in page["data"]]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        assert page["next_cursor"] == page["data"][-1]["id"]
        cursor = page["next_cursor"]
    assert seen == ids[::-1]
    assert len(sandbox_api.get(CHARS).json()["data"]) == 5  # default limit 20


def test_list_same_second_is_still_a_total_order(sandbox_api):
    ids = [sandbox_api.synthesize(f"c{i}")["id"] for i in range(4)]
    first = sandbox_api.get(CHARS, params={"limit": 2}).json()
    rest = sandbox_api.get(CHARS, params={"starting_after": first["next_cursor"]}).json()
    assert [c["id"] for c in first["data"] + rest["data"]] == ids[::-1]


@pytest.mark.parametrize(
    ("params", "code", "param"),
    [
        ({"limit": 0}, "value_out_of_range", "limit"),
        ({"limit": 101}, "value_out_of_range", "limit"),
        ({"limit": "ten"}, "invalid_format", "limit"),
        ({"starting_after": "char_01HXMQ7Z3K8Y2NABCDEFGHJKMR"}, "invalid_format", "starting_after"),
    ],
)
def test_list_paging_errors(sandbox_api, params, code, param):
    r = sandbox_api.get(CHARS, params=params)
    assert r.status_code == 400
    assert (_error(r)["code"], _error(r)["param"]) == (code, param)


def test_list_limit_bounds_and_foreign_cursor(sandbox_api, aurous_sandbox):
    assert sandbox_api.get(CHARS, params={"limit": 1}).status_code == 200
    assert sandbox_api.get(CHARS, params={"limit": 100}).status_code == 200
    theirs = sandbox_api.synthesize(key=aurous_sandbox.add_key(aurous_sandbox.add_team("B")))
    r = sandbox_api.get(CHARS, params={"starting_after": theirs["id"]})
    assert (r.status_code, _error(r)["code"]) == (400, "invalid_format")


def test_list_hides_deleted_and_other_teams(sandbox_api, aurous_sandbox):
    kept = sandbox_api.create("kept")
    gone = sandbox_api.create("gone")
    sandbox_api.delete(f"{CHARS}/{gone['id']}")
    sandbox_api.synthesize(key=aurous_sandbox.add_key(aurous_sandbox.add_team("B")))
    page = sandbox_api.get(CHARS).json()
    assert [c["id"] for c in page["data"]] == [kept["id"]]
    # a soft-deleted character of mine is still a valid cursor
    assert (
        sandbox_api.get(CHARS, params={"starting_after": gone["id"]}).json()["data"][0]["id"]
        == kept["id"]
    )


# -- PATCH (row 20) ------------------------------------------------------------------------


def test_patch_name_and_attributes(sandbox_api, aurous_sandbox):
    char = sandbox_api.synthesize("Old", {"hair_color": "red", "age": 20})
    aurous_sandbox.advance(5)
    r = sandbox_api.patch(f"{CHARS}/{char['id']}", json={"attributes": {"eye_color": "green"}})
    assert r.status_code == 200
    got = r.json()
    assert got["name"] == "Old" and got["attributes"] == {"eye_color": "green"}  # wholesale
    assert got["updated_at"] > char["updated_at"]
    assert sandbox_api.patch(f"{CHARS}/{char['id']}", json={"name": "New"}).json()["name"] == "New"


def test_patch_allowed_in_every_live_status(sandbox_api, aurous_sandbox):
    aurous_sandbox.configure(synth_seconds=60)
    synthesizing = sandbox_api.synthesize()
    assert sandbox_api.patch(f"{CHARS}/{synthesizing['id']}", json={"name": "n"}).status_code == 200
    aurous_sandbox.configure(synth_seconds=0, synth_failure_rate=1.0)
    failed = sandbox_api.synthesize()
    assert (
        sandbox_api.patch(f"{CHARS}/{failed['id']}", json={"name": "n"}).json()["status"]
        == "failed"
    )
    ready = sandbox_api.create()
    assert sandbox_api.patch(f"{CHARS}/{ready['id']}", json={"name": "n"}).status_code == 200


def test_patch_rejects_other_keys(sandbox_api):
    char = sandbox_api.create()
    r = sandbox_api.patch(
        f"{CHARS}/{char['id']}", json={"name": "x", "status": "ready", "refs": []}
    )
    assert r.status_code == 400
    err = _error(r)
    assert (err["type"], err["code"], err["param"]) == (
        "invalid_request",
        "invalid_request",
        "status",
    )
    assert "refs" in err["message"]
    assert _get(sandbox_api, char["id"]).json()["name"] == "Ada"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"name": "x" * 101}, "name"),
        ({"name": ""}, "name"),
        ({"attributes": {"age": 500}}, "attributes.age"),
    ],
)
def test_patch_body_validation(sandbox_api, body, param):
    char = sandbox_api.create()
    r = sandbox_api.patch(f"{CHARS}/{char['id']}", json=body)
    assert r.status_code == 400
    assert (_error(r)["code"], _error(r)["param"]) == ("invalid_request", param)


def test_patch_unknown_deleted_or_foreign_is_404_with_param(sandbox_api, aurous_sandbox):
    deleted = sandbox_api.create()
    sandbox_api.delete(f"{CHARS}/{deleted['id']}")
    theirs = sandbox_api.create(key=aurous_sandbox.add_key(aurous_sandbox.add_team("B")))
    for cid in ("char_01HXMQ7Z3K8Y2NABCDEFGHJKMR", deleted["id"], theirs["id"]):
        r = sandbox_api.patch(f"{CHARS}/{cid}", json={"name": "x"})
        assert r.status_code == 404
        err = _error(r)
        assert (err["code"], err["param"]) == ("resource_not_found", "character_id")


# -- save / resynthesize / regenerate (rows 16-19) -----------------------------------------


def test_save_wrong_states(sandbox_api, aurous_sandbox):
    aurous_sandbox.configure(synth_seconds=60)
    char = sandbox_api.synthesize()
    r = sandbox_api.post(f"{CHARS}/{char['id']}/save")
    assert (r.status_code, _error(r)["code"], _error(r)["type"]) == (
        400,
        "invalid_request_error",
        "invalid_request",
    )
    ready = sandbox_api.create()
    assert sandbox_api.post(f"{CHARS}/{ready['id']}/save").json()["status"] == "ready"


@pytest.mark.parametrize("action", ["save", "resynthesize", "refs/regenerate"])
def test_actions_on_unknown_deleted_foreign_are_404(sandbox_api, aurous_sandbox, action):
    deleted = sandbox_api.synthesize(attributes={"age": 3})
    sandbox_api.post(f"{CHARS}/{deleted['id']}/save")
    sandbox_api.delete(f"{CHARS}/{deleted['id']}")
    theirs = sandbox_api.synthesize(key=aurous_sandbox.add_key(aurous_sandbox.add_team("B")))
    for cid in ("char_01HXMQ7Z3K8Y2NABCDEFGHJKMR", deleted["id"], theirs["id"]):
        r = sandbox_api.post(f"{CHARS}/{cid}/{action}", json={"pose": "front"})
        assert r.status_code == 404, (action, cid)
        assert _error(r)["code"] == "resource_not_found"


def test_resynthesize_cycle_and_credits(sandbox_api, aurous_sandbox):
    char = sandbox_api.synthesize()
    before = _get(sandbox_api, char["id"]).json()
    aurous_sandbox.configure(synth_seconds=10)
    r = sandbox_api.post(f"{CHARS}/{char['id']}/resynthesize", json={"force_all": True})
    assert r.status_code == 200
    assert r.json()["status"] == "synthesizing"
    assert aurous_sandbox.credits() == 1000 - 8
    again = sandbox_api.post(f"{CHARS}/{char['id']}/resynthesize")  # synthesizing: not eligible
    assert (again.status_code, _error(again)["code"]) == (400, "invalid_request_error")
    aurous_sandbox.advance(10)
    after = _get(sandbox_api, char["id"]).json()
    assert after["status"] == "reviewing"
    assert [r["pose"] for r in after["refs"]] == ["portrait", "front", "side", "back"]
    assert {r["url"] for r in after["refs"]}.isdisjoint({r["url"] for r in before["refs"]})


def test_resynthesize_from_ready_and_failed(sandbox_api, aurous_sandbox):
    aurous_sandbox.configure(synth_end_state="ready")
    ready = sandbox_api.synthesize()
    assert sandbox_api.post(f"{CHARS}/{ready['id']}/resynthesize").status_code == 200
    assert _get(sandbox_api, ready["id"]).json()["status"] == "ready"
    aurous_sandbox.configure(synth_failure_rate=1.0)
    failed = sandbox_api.synthesize()
    assert _get(sandbox_api, failed["id"]).json()["status"] == "failed"
    aurous_sandbox.configure(synth_failure_rate=0.0)
    assert sandbox_api.post(f"{CHARS}/{failed['id']}/resynthesize").status_code == 200
    got = _get(sandbox_api, failed["id"]).json()
    assert (got["status"], got["error_message"], len(got["refs"])) == ("ready", None, 4)


def test_resynthesize_insufficient_credits(sandbox_api, aurous_sandbox):
    char = sandbox_api.synthesize()
    aurous_sandbox.set_credits(3.99)
    r = sandbox_api.post(f"{CHARS}/{char['id']}/resynthesize")
    assert r.status_code == 402
    assert (_error(r)["code"], _error(r)["type"]) == ("insufficient_credits", "invalid_request")
    assert _get(sandbox_api, char["id"]).json()["status"] == "reviewing"


def test_upload_flow_character_with_attributes_is_resynthesized_from_them(
    sandbox_api, aurous_sandbox, make_image
):
    # §14 row 18 (amended): the docs list no exception for upload-flow characters.
    ids = [sandbox_api.upload(make_image(), filename=f"r{i}.png", classify=True) for i in range(2)]
    body = {"name": "Up", "upload_ids": ids, "attributes": {"hair_color": "green"}}
    char = sandbox_api.post(CHARS, json=body).json()
    r = sandbox_api.post(f"{CHARS}/{char['id']}/resynthesize", json={})
    assert r.status_code == 200 and r.json()["status"] == "synthesizing"
    after = _get(sandbox_api, char["id"]).json()
    assert after["status"] == "reviewing"  # then the same end state as a synthesis (row 19)
    assert [ref["pose"] for ref in after["refs"]] == ["portrait", "front", "side", "back"]
    assert aurous_sandbox.credits() == 1000 - 4


def test_regenerating_an_uploaded_pose_replaces_the_photo_with_a_png(
    sandbox_api, aurous_sandbox, make_image
):
    front = sandbox_api.upload(make_image(20, 40, fmt="JPEG"), "IMG_1.jpg", "image/jpeg")
    sandbox_api.post(CLASSIFY, json={"upload_id": front})
    body = {"name": "Up", "upload_ids": [front], "attributes": {"age": 30}}
    char = sandbox_api.post(CHARS, json=body).json()
    pose = char["refs"][0]["pose"]
    r = sandbox_api.post(f"{CHARS}/{char['id']}/refs/regenerate", json={"pose": pose})
    assert r.status_code == 200 and aurous_sandbox.credits() == 1000 - 1
    refs = _get(sandbox_api, char["id"]).json()["refs"]
    assert [ref["pose"] for ref in refs] == [pose]
    drawn = requests.get(refs[0]["url"], timeout=10)
    assert drawn.status_code == 200 and drawn.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(drawn.content)).format == "PNG"


def test_no_attributes_no_resynthesis(sandbox_api, aurous_sandbox):
    uploaded = sandbox_api.create()  # upload flow, no attributes
    synthesized = sandbox_api.synthesize()
    patched = sandbox_api.patch(f"{CHARS}/{synthesized['id']}", json={"attributes": None})
    assert patched.status_code == 200 and patched.json()["attributes"] is None
    for cid in (uploaded["id"], synthesized["id"]):
        for action, body in (("resynthesize", {}), ("refs/regenerate", {"pose": "front"})):
            r = sandbox_api.post(f"{CHARS}/{cid}/{action}", json=body)
            err = _error(r)
            assert (r.status_code, err["type"], err["code"], err["param"]) == (
                400,
                "invalid_request",
                "invalid_request_error",
                "attributes",
            ), (cid, action)
            assert "no attributes" in err["message"] and cid in err["message"]
    assert aurous_sandbox.credits() == 1000 - 4  # only the synthesis itself was charged


def test_regenerate_replaces_one_pose(sandbox_api, aurous_sandbox):
    char = sandbox_api.synthesize()
    before = _get(sandbox_api, char["id"]).json()["refs"]
    r = sandbox_api.post(
        f"{CHARS}/{char['id']}/refs/regenerate", json={"pose": "side", "prompt_override": "smile"}
    )
    assert r.status_code == 200 and r.json()["status"] == "synthesizing"
    assert aurous_sandbox.credits() == 1000 - 5
    after = _get(sandbox_api, char["id"]).json()
    assert after["status"] == "reviewing"
    assert [r["pose"] for r in after["refs"]] == ["portrait", "front", "side", "back"]
    # Compare the storage paths: every URL's signed query is re-minted on each read.
    changed = [
        a["pose"]
        for a, b in zip(after["refs"], before, strict=True)
        if a["url"].split("?")[0] != b["url"].split("?")[0]
    ]
    assert changed == ["side"]
    old = requests.get(before[2]["url"], timeout=10)
    new = requests.get(after["refs"][2]["url"], timeout=10)
    assert old.status_code == 404 and new.status_code == 200


def test_regenerate_missing_pose_appends(sandbox_api):
    char = sandbox_api.synthesize()
    sandbox_api.post(f"{CHARS}/{char['id']}/refs/regenerate", json={"pose": "other"})
    poses = [r["pose"] for r in _get(sandbox_api, char["id"]).json()["refs"]]
    assert poses == ["portrait", "front", "side", "back", "other"]


@pytest.mark.parametrize(
    ("body", "code"), [({"pose": "top"}, "invalid_request_error"), ({}, "missing_field")]
)
def test_regenerate_bad_pose(sandbox_api, body, code):
    char = sandbox_api.synthesize()
    r = sandbox_api.post(f"{CHARS}/{char['id']}/refs/regenerate", json=body)
    assert r.status_code == 400
    assert (_error(r)["code"], _error(r)["param"]) == (code, "pose")


def test_regenerate_insufficient_credits_and_state(sandbox_api, aurous_sandbox):
    char = sandbox_api.synthesize()
    aurous_sandbox.set_credits(0.5)
    r = sandbox_api.post(f"{CHARS}/{char['id']}/refs/regenerate", json={"pose": "front"})
    assert (r.status_code, _error(r)["code"]) == (402, "insufficient_credits")
    aurous_sandbox.set_credits(100)
    aurous_sandbox.configure(synth_seconds=60)
    sandbox_api.post(f"{CHARS}/{char['id']}/refs/regenerate", json={"pose": "front"})
    r = sandbox_api.post(f"{CHARS}/{char['id']}/refs/regenerate", json={"pose": "back"})
    assert (r.status_code, _error(r)["code"]) == (400, "invalid_request_error")


# -- DELETE (rows 21, 32) ------------------------------------------------------------------


def test_delete_reviewing_is_hard(sandbox_api, aurous_sandbox):
    char = sandbox_api.synthesize()
    refs = _get(sandbox_api, char["id"]).json()["refs"]
    r = sandbox_api.delete(f"{CHARS}/{char['id']}")
    assert r.status_code == 200
    assert r.json() == {"id": char["id"], "object": "character", "deleted": True}
    assert _get(sandbox_api, char["id"]).status_code == 404
    assert char["id"] not in aurous_sandbox.state.characters
    assert requests.get(refs[0]["url"], timeout=10).status_code == 404
    assert aurous_sandbox.credits() == 996  # never refunds


@pytest.mark.parametrize("status", ["ready", "failed", "synthesizing"])
def test_delete_other_states_is_soft(sandbox_api, aurous_sandbox, status):
    if status == "ready":
        char = sandbox_api.create()
    else:
        aurous_sandbox.configure(
            synth_failure_rate=1.0 if status == "failed" else 0.0,
            synth_seconds=0 if status == "failed" else 60,
        )
        char = sandbox_api.synthesize()
    r = sandbox_api.delete(f"{CHARS}/{char['id']}")
    assert r.json() == {"id": char["id"], "object": "character", "deleted": True}
    assert aurous_sandbox.state.characters[char["id"]].status == "deleted"
    for call in (
        lambda: _get(sandbox_api, char["id"]),
        lambda: sandbox_api.delete(f"{CHARS}/{char['id']}"),
        lambda: sandbox_api.post(f"{CHARS}/{char['id']}/save"),
    ):
        r = call()
        assert (r.status_code, _error(r)["code"]) == (404, "resource_not_found")
    aurous_sandbox.advance(120)  # a cancelled synthesis never completes
    assert aurous_sandbox.state.characters[char["id"]].status == "deleted"


def test_delete_foreign_is_404(sandbox_api, aurous_sandbox):
    theirs = sandbox_api.create(key=aurous_sandbox.add_key(aurous_sandbox.add_team("B")))
    assert sandbox_api.delete(f"{CHARS}/{theirs['id']}").status_code == 404
    assert sandbox_api.get(f"{CHARS}/{theirs['id']}").status_code == 404


# -- storage URLs --------------------------------------------------------------------------


def test_storage_url_is_token_checked(sandbox_api, aurous_sandbox):
    url = sandbox_api.create()["refs"][0]["url"]
    assert "token=" in url and "/storage/" in url
    assert requests.get(url, timeout=10).status_code == 200
    forged = url[:-4] + ("0000" if not url.endswith("0000") else "1111")
    r = requests.get(forged, timeout=10)
    assert (r.status_code, _error(r)["code"]) == (403, "signature_invalid")
    assert requests.get(url.split("?")[0], timeout=10).status_code == 403
    aurous_sandbox.advance(86401)
    r = requests.get(url, timeout=10)
    assert (r.status_code, _error(r)["code"]) == (410, "output_expired")


@pytest.mark.parametrize("name", ["   ", "\t\n"])
def test_blank_name_is_refused_at_create_and_patch(sandbox_api, name):
    """The client refuses a blank name locally; the sandbox must not be kinder (§14 row 11)."""
    r = sandbox_api.post(CHARS, json={"name": name, "upload_ids": [sandbox_api.upload()]})
    assert r.status_code == 400, r.text
    assert (r.json()["error"]["code"], r.json()["error"]["param"]) == ("invalid_format", "name")
    char_id = sandbox_api.create()["id"]
    r = sandbox_api.patch(f"{CHARS}/{char_id}", json={"name": name})
    assert r.status_code == 400, r.text
    assert (r.json()["error"]["code"], r.json()["error"]["param"]) == ("invalid_request", "name")
