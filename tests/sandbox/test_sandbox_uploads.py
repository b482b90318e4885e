"""Contract tests: uploads/init, the upload host PUT, uploads/classify (API.md §9.1–9.3,
§14 rows 1–10), over a real socket with plain requests."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests

INIT = "/v1/characters/uploads/init"
CLASSIFY = "/v1/characters/uploads/classify"


def _error(r: requests.Response) -> dict:
    return r.json()["error"]


# -- init (row 10) -------------------------------------------------------------------------


def test_init_mints_ticket(sandbox_api, aurous_sandbox):
    r = sandbox_api.post(
        INIT, json={"filename": "a.jpg", "extension": "jpg", "content_type": "image/jpeg"}
    )
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"upload_id", "upload_url", "upload_headers", "expires_at"}
    assert body["upload_id"].startswith("upl_") and len(body["upload_id"]) == 30
    assert body["upload_headers"] == {"Content-Type": "image/jpeg"}
    assert body["upload_url"].startswith(aurous_sandbox.url + "/_upload/" + body["upload_id"])
    query = parse_qs(urlsplit(body["upload_url"]).query)
    assert set(query) == {"expires", "signature"}
    expires = int(query["expires"][0])
    assert abs(expires - (aurous_sandbox.clock.now() + 900)) <= 2
    assert body["expires_at"].endswith("Z")


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({"extension": "png", "content_type": "image/png"}, "missing_field", "filename"),
        ({"filename": "a.png", "content_type": "image/png"}, "missing_field", "extension"),
        ({"filename": "a.png", "extension": "png"}, "missing_field", "content_type"),
        (
            {"filename": "a.gif", "extension": "gif", "content_type": "image/png"},
            "invalid_format",
            "extension",
        ),
        (
            {"filename": "a.png", "extension": "png", "content_type": "image/gif"},
            "invalid_format",
            "content_type",
        ),
        (
            {"filename": "", "extension": "png", "content_type": "image/png"},
            "value_out_of_range",
            "filename",
        ),
        (
            {"filename": "x" * 121, "extension": "png", "content_type": "image/png"},
            "value_out_of_range",
            "filename",
        ),
        (
            {"filename": 7, "extension": "png", "content_type": "image/png"},
            "invalid_format",
            "filename",
        ),
        (
            {"filename": "a.png", "extension": "png", "content_type": "image/jpeg"},
            "parameter_invalid_combination",
            "content_type",
        ),
        (
            {"filename": "a.jpg", "extension": "jpeg", "content_type": "image/webp"},
            "parameter_invalid_combination",
            "content_type",
        ),
    ],
)
def test_init_field_errors(sandbox_api, body, code, param):
    r = sandbox_api.post(INIT, json=body)
    assert r.status_code == 400
    err = _error(r)
    assert (err["type"], err["code"], err["param"]) == ("invalid_request", code, param)


@pytest.mark.parametrize("ext", ["jpg", "jpeg"])
def test_init_accepts_both_jpeg_extensions(sandbox_api, ext):
    body = {"filename": "a", "extension": ext, "content_type": "image/jpeg"}
    assert sandbox_api.post(INIT, json=body).status_code == 200


def test_init_filename_bounds_accepted(sandbox_api):
    for name in ("a", "x" * 120):
        body = {"filename": name, "extension": "webp", "content_type": "image/webp"}
        assert sandbox_api.post(INIT, json=body).status_code == 200


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]"])
def test_init_non_json_body(sandbox_api, raw):
    r = sandbox_api.post(INIT, data=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    err = _error(r)
    assert err["code"] == "invalid_format" and err["param"] is None


# -- PUT (rows 1-7) ------------------------------------------------------------------------


def test_put_returns_200_empty_with_md5_etag(sandbox_api, make_image):
    ticket = sandbox_api.init()
    data = make_image()
    r = sandbox_api.put(ticket, data)
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert not any(h.lower().startswith("x-ratelimit") for h in r.headers)


def test_put_ignores_api_key_and_needs_none(sandbox_api, aurous_sandbox, make_image):
    ticket = sandbox_api.init()
    r = sandbox_api.put(ticket, make_image(), headers={})  # no Content-Type, no key
    assert r.status_code == 200
    r = sandbox_api.put(ticket, make_image(), headers={"X-Api-Key": "al_live_bogus"})
    assert r.status_code == 200
    seen = [q for q in aurous_sandbox.requests if q.route == "upload"]
    assert len(seen) == 2
    assert "x-api-key" not in seen[0].headers and "X-Api-Key" in seen[1].headers


def _tamper(url: str, **changes: str | None) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    for name, value in changes.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = value
    return urlunsplit(parts._replace(query=urlencode(query)))


@pytest.mark.parametrize(
    "changes",
    [
        {"signature": "0" * 64},
        {"signature": None},
        {"expires": None},
        {"expires": "notanumber"},
        {"extra": "1"},
    ],
)
def test_put_tampered_signature(sandbox_api, make_image, changes):
    ticket = sandbox_api.init()
    url = _tamper(ticket["upload_url"], **changes)
    r = requests.put(url, data=make_image(), timeout=10)
    assert r.status_code == 403
    err = _error(r)
    assert (err["type"], err["code"]) == ("authentication", "signature_invalid")
    assert "param" not in err


def test_put_extended_expiry_is_tampering(sandbox_api, make_image):
    ticket = sandbox_api.init()
    expires = int(parse_qs(urlsplit(ticket["upload_url"]).query)["expires"][0])
    r = requests.put(
        _tamper(ticket["upload_url"], expires=str(expires + 3600)), data=b"x", timeout=10
    )
    assert _error(r)["code"] == "signature_invalid"


def test_put_other_upload_id_is_tampering(sandbox_api, make_image):
    a, b = sandbox_api.init(), sandbox_api.init()
    url = a["upload_url"].replace(a["upload_id"], b["upload_id"])
    r = requests.put(url, data=make_image(), timeout=10)
    assert (r.status_code, _error(r)["code"]) == (403, "signature_invalid")


def test_put_after_url_expiry(sandbox_api, aurous_sandbox, make_image):
    ticket = sandbox_api.init()
    aurous_sandbox.advance(899)
    assert sandbox_api.put(ticket, make_image()).status_code == 200
    aurous_sandbox.advance(2)
    r = sandbox_api.put(ticket, make_image())
    assert r.status_code == 403
    err = _error(r)
    assert (err["type"], err["code"]) == ("authentication", "upload_url_expired")
    assert not any(h.lower().startswith("x-ratelimit") for h in r.headers)


def test_put_size_limit(sandbox_api, aurous_sandbox):
    ticket = sandbox_api.init(content_type="image/jpeg")
    limit = 10 * 1024 * 1024
    r = sandbox_api.put(ticket, b"\0" * limit)  # exactly the limit is fine for the host
    assert r.status_code == 200
    r = sandbox_api.put(ticket, b"\0" * (limit + 1))
    assert r.status_code == 413
    err = _error(r)
    assert (err["type"], err["code"], err["param"]) == (
        "invalid_request",
        "payload_too_large",
        None,
    )


def test_put_size_limit_without_content_length(sandbox_api, aurous_sandbox):
    aurous_sandbox.configure(max_upload_bytes=1000)
    ticket = sandbox_api.init()

    def chunks():
        for _ in range(10):
            yield b"\0" * 500

    r = requests.put(ticket["upload_url"], data=chunks(), timeout=10)  # chunked encoding
    assert r.status_code == 413
    assert _error(r)["code"] == "payload_too_large"


def test_put_empty_body(sandbox_api):
    r = sandbox_api.put(sandbox_api.init(), b"")
    assert r.status_code == 400
    assert _error(r)["code"] == "empty_body"


def test_put_content_type_mismatch(sandbox_api, make_image):
    ticket = sandbox_api.init(content_type="image/png")
    r = sandbox_api.put(ticket, make_image(), headers={"Content-Type": "image/jpeg"})
    assert r.status_code == 400
    assert _error(r)["code"] == "content_type_mismatch"
    ok = sandbox_api.put(ticket, make_image(), headers={"Content-Type": "image/png; q=1"})
    assert ok.status_code == 200


def test_put_does_not_inspect_bytes(sandbox_api):
    r = sandbox_api.put(sandbox_api.init(), b"definitely not a png")
    assert r.status_code == 200


def test_reput_overwrites(sandbox_api, make_image):
    ticket = sandbox_api.init(filename="IMG_1.png")
    tall, square = make_image(20, 40), make_image(30, 30)
    assert sandbox_api.put(ticket, tall).status_code == 200
    first = sandbox_api.post(CLASSIFY, json={"upload_id": ticket["upload_id"]}).json()
    r = sandbox_api.put(ticket, square)
    assert r.headers["ETag"] == f'"{hashlib.md5(square).hexdigest()}"'
    second = sandbox_api.post(CLASSIFY, json={"upload_id": ticket["upload_id"]}).json()
    assert (first["pose"], second["pose"]) == ("front", "portrait")


def test_put_after_consumed(sandbox_api, make_image):
    ticket = sandbox_api.init()
    sandbox_api.put(ticket, make_image())
    r = sandbox_api.post("/v1/characters", json={"name": "A", "upload_ids": [ticket["upload_id"]]})
    assert r.status_code == 201
    r = sandbox_api.put(ticket, make_image())
    assert r.status_code == 409
    err = _error(r)
    assert (err["type"], err["code"]) == ("invalid_request", "upload_consumed")


def test_put_unknown_ticket_with_valid_looking_url(sandbox_api, aurous_sandbox, make_image):
    ticket = sandbox_api.init()
    aurous_sandbox.reset()  # tickets forgotten, signing secret kept
    r = sandbox_api.put(ticket, make_image())
    assert r.status_code == 404


def test_put_wrong_method_on_upload_host(sandbox_api):
    ticket = sandbox_api.init()
    r = requests.post(ticket["upload_url"], data=b"x", timeout=10)
    assert r.status_code == 405


# -- classify (rows 8-9, image checks) -----------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "pose", "confidence"),
    [
        ("front.png", "front", 0.95),
        ("Aurora_FRONT_view.png", "front", 0.95),
        ("left-side.png", "side", 0.93),
        ("profile.png", "side", 0.93),
        ("back.png", "back", 0.92),
        ("my headshot.png", "portrait", 0.94),
        ("face.png", "portrait", 0.94),
        ("portrait.png", "portrait", 0.94),
        ("front_and_back.png", "front", 0.6),
    ],
)
def test_classify_uses_filename_words(sandbox_api, make_image, filename, pose, confidence):
    uid = sandbox_api.upload(make_image(50, 20), filename=filename)
    r = sandbox_api.post(CLASSIFY, json={"upload_id": uid})
    assert r.status_code == 200
    assert r.json() == {"upload_id": uid, "pose": pose, "confidence": confidence}


@pytest.mark.parametrize(
    ("size", "pose"),
    [((30, 30), "portrait"), ((20, 40), "front"), ((40, 20), "other"), ((30, 38), "other")],
)
def test_classify_falls_back_to_image_evidence(sandbox_api, make_image, size, pose):
    uid = sandbox_api.upload(make_image(*size), filename="IMG_0042.png")
    body = sandbox_api.post(CLASSIFY, json={"upload_id": uid}).json()
    assert body["pose"] == pose
    assert 0 < body["confidence"] < 0.6


@pytest.mark.parametrize(
    ("orientation", "pose"), [(1, "other"), (3, "other"), (6, "front"), (8, "front")]
)
def test_classify_sees_a_phone_photo_upright(sandbox_api, tmp_path, orientation, pose):
    """A portrait photo stored on its side (EXIF 6 or 8) is tall, as a real classifier sees it."""
    from tests.support import photos

    path = photos.phone_jpeg(tmp_path / "IMG_0042.jpg", size=(800, 500), orientation=orientation)
    uid = sandbox_api.upload(path.read_bytes(), "IMG_0042.jpg", "image/jpeg")
    body = sandbox_api.post(CLASSIFY, json={"upload_id": uid}).json()
    assert (body["pose"], body["confidence"]) == (pose, 0.45 if pose == "front" else 0.3)


def test_classify_is_deterministic(sandbox_api, make_image):
    data = make_image(33, 33)
    answers = [
        sandbox_api.post(
            CLASSIFY, json={"upload_id": sandbox_api.upload(data, filename="x.png")}
        ).json()
        for _ in range(3)
    ]
    assert len({(a["pose"], a["confidence"]) for a in answers}) == 1


def test_classify_before_put(sandbox_api):
    ticket = sandbox_api.init()
    r = sandbox_api.post(CLASSIFY, json={"upload_id": ticket["upload_id"]})
    assert r.status_code == 400
    err = _error(r)
    assert (err["code"], err["param"]) == ("upload_invalid", "upload_id")
    assert "no bytes" in err["message"].lower()


def test_classify_unknown_upload(sandbox_api):
    r = sandbox_api.post(CLASSIFY, json={"upload_id": "upl_01HXMQ7Z3K8Y2NABCDEFGHJKMR"})
    assert (r.status_code, _error(r)["code"]) == (400, "upload_invalid")


def test_classify_other_teams_upload_is_404(sandbox_api, aurous_sandbox):
    other = aurous_sandbox.add_key(aurous_sandbox.add_team("Rivals"))
    uid = sandbox_api.upload(key=other)
    r = sandbox_api.post(CLASSIFY, json={"upload_id": uid})
    assert r.status_code == 404
    err = _error(r)
    assert (err["type"], err["code"]) == ("not_found", "resource_not_found")
    assert "param" not in err


def test_classify_after_consumed(sandbox_api):
    uid = sandbox_api.upload()
    sandbox_api.post("/v1/characters", json={"name": "A", "upload_ids": [uid]})
    r = sandbox_api.post(CLASSIFY, json={"upload_id": uid})
    assert (r.status_code, _error(r)["code"]) == (400, "upload_invalid")


def test_classify_after_ticket_expiry(sandbox_api, aurous_sandbox):
    uid = sandbox_api.upload()
    aurous_sandbox.advance(86400 + 1)
    r = sandbox_api.post(CLASSIFY, json={"upload_id": uid})
    assert (r.status_code, _error(r)["code"]) == (400, "upload_invalid")
    assert "expired" in _error(r)["message"]


@pytest.mark.parametrize(
    ("content_type", "data_fmt"),
    [("image/png", "JPEG"), ("image/jpeg", "PNG"), ("image/webp", "PNG")],
)
def test_classify_rejects_bytes_of_another_type(sandbox_api, make_image, content_type, data_fmt):
    uid = sandbox_api.upload(make_image(fmt=data_fmt), content_type=content_type)
    r = sandbox_api.post(CLASSIFY, json={"upload_id": uid})
    assert r.status_code == 400
    err = _error(r)
    assert (err["code"], err["param"]) == ("upload_invalid", "upload_id")
    assert content_type in err["message"]


def test_classify_rejects_garbage_and_truncated(sandbox_api, make_image):
    for data in (b"hello", make_image(200, 200, fmt="PNG")[:60]):
        uid = sandbox_api.upload(data)
        r = sandbox_api.post(CLASSIFY, json={"upload_id": uid})
        assert (r.status_code, _error(r)["code"]) == (400, "upload_invalid")


def test_classify_rejects_over_4096_px(sandbox_api, make_image):
    uid = sandbox_api.upload(make_image(4097, 8, fmt="PNG"))
    r = sandbox_api.post(CLASSIFY, json={"upload_id": uid})
    assert (r.status_code, _error(r)["code"]) == (400, "upload_invalid")
    assert "4096" in _error(r)["message"]
    ok = sandbox_api.upload(make_image(4096, 8, fmt="PNG"))
    assert sandbox_api.post(CLASSIFY, json={"upload_id": ok}).status_code == 200


def test_classify_accepts_jpeg_and_webp(sandbox_api, make_image):
    for ct, fmt in (("image/jpeg", "JPEG"), ("image/webp", "WEBP")):
        uid = sandbox_api.upload(make_image(fmt=fmt), filename="back.x", content_type=ct)
        assert sandbox_api.post(CLASSIFY, json={"upload_id": uid}).json()["pose"] == "back"


@pytest.mark.parametrize(
    ("body", "code"), [({}, "missing_field"), ({"upload_id": 5}, "invalid_format")]
)
def test_classify_body_errors(sandbox_api, body, code):
    r = sandbox_api.post(CLASSIFY, json=body)
    assert r.status_code == 400
    assert (_error(r)["code"], _error(r)["param"]) == (code, "upload_id")
