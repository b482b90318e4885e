"""Unit tests for aurous_nb.errors: the class tree, the status/code mapping, str()."""

from __future__ import annotations

import json
from email.utils import formatdate

import pytest

from aurous_nb import errors as E


def _body(**error: object) -> bytes:
    return json.dumps({"error": error}).encode()


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "missing_field", E.BadRequestError),
        (400, "upload_invalid", E.UploadInvalidError),
        (400, "parameter_invalid_combination", E.ParameterCombinationError),
        (400, "unknown_version", E.UnknownVersionError),
        (400, "invalid_request_error", E.BadRequestError),
        (401, "invalid_api_key", E.AuthenticationError),
        (402, "insufficient_credits", E.InsufficientCreditsError),
        (402, "balance_too_low", E.InsufficientCreditsError),
        (402, None, E.InsufficientCreditsError),
        (403, "missing_scope", E.MissingScopeError),
        (403, "upload_url_expired", E.UploadURLExpiredError),
        (403, "signature_invalid", E.SignatureInvalidError),
        (403, "something_new", E.PermissionDeniedError),
        (404, "resource_not_found", E.NotFoundError),
        (410, "output_expired", E.NotFoundError),
        (409, "idempotency_key_in_use", E.ConflictError),
        (409, "upload_consumed", E.ConflictError),
        (413, "payload_too_large", E.PayloadTooLargeError),
        (422, "prompt_blocked", E.UnprocessableEntityError),
        (429, "too_many_requests", E.RateLimitError),
        (500, "internal_error", E.InternalServerError),
        (502, None, E.InternalServerError),
        (503, "provider_unavailable", E.InternalServerError),
        (418, None, E.APIStatusError),
        # a code only picks its class inside its own status class
        (404, "upload_invalid", E.NotFoundError),
        (500, "upload_url_expired", E.InternalServerError),
    ],
)
def test_error_class_for(status: int, code: str | None, cls: type[E.APIStatusError]) -> None:
    assert E.error_class_for(status, code) is cls
    err = E.make_status_error(status, _body(code=code, message="m"), {})
    assert type(err) is cls
    assert err.status == status


def test_tree_shape() -> None:
    assert issubclass(E.ConfigurationError, E.AurousError)
    assert issubclass(E.ImageCheckError, ValueError)
    assert issubclass(E.FlowCancelled, E.FlowError)
    assert issubclass(E.APITimeoutError, E.APIConnectionError)
    assert issubclass(E.APIConnectionError, E.APIError)
    assert issubclass(E.UploadURLExpiredError, E.PermissionDeniedError)
    assert issubclass(E.UploadInvalidError, E.BadRequestError)
    assert issubclass(E.RateLimitError, E.APIStatusError)
    assert issubclass(E.WaitTimeoutError, TimeoutError)
    for name in E.__all__:
        assert hasattr(E, name)
    # the tree in the docstring names every exception class
    for name, obj in vars(E).items():
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert name in (E.__doc__ or ""), name


def test_documented_envelope_str_and_attrs() -> None:
    body = _body(
        type="invalid_request",
        code="upload_invalid",
        message="upload upl_1 has expired",
        param="upload_ids[0]",
        doc_url="https://docs.aurous-labs.com/errors#upload_invalid",
        request_id="req_01HXMQ7Z3K8Y2ABCDEFGHJKMXY",
        future_field={"x": 1},
    )
    err = E.make_status_error(400, body, {"Aurous-Request-Id": "req_other"})
    assert isinstance(err, E.UploadInvalidError)
    assert err.type == "invalid_request"
    assert err.code == "upload_invalid"
    assert err.param == "upload_ids[0]"
    assert err.request_id == "req_01HXMQ7Z3K8Y2ABCDEFGHJKMXY"
    assert err.doc_url == "https://docs.aurous-labs.com/errors#upload_invalid"
    assert err.headers["Aurous-Request-Id"] == "req_other"
    assert err.status_code == 400
    assert str(err) == (
        "400 upload_invalid: upload upl_1 has expired "
        "(param=upload_ids[0], request_id=req_01HXMQ7Z3K8Y2ABCDEFGHJKMXY)"
    )
    assert "\n" not in str(err)
    assert "UploadInvalidError(status=400" in repr(err)


def test_param_absent_or_null_and_request_id_from_header() -> None:
    absent = E.make_status_error(
        429,
        _body(type="rate_limit", code="too_many_requests", message="Retry after 12s."),
        {"Retry-After": "12", "Aurous-Request-Id": "req_H"},
    )
    assert absent.param is None
    assert absent.request_id == "req_H"
    assert str(absent) == "429 too_many_requests: Retry after 12s. (request_id=req_H)"
    assert isinstance(absent, E.RateLimitError)
    assert absent.retry_after == 12.0
    null = E.make_status_error(400, _body(code="missing_field", message="x", param=None), {})
    assert null.param is None
    assert str(null) == "400 missing_field: x"


def test_non_json_bodies() -> None:
    html = b"<html>\n<head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>"
    err = E.make_status_error(502, html, {}, reason="Bad Gateway", method="GET", url="http://x/v1")
    assert isinstance(err, E.InternalServerError)
    assert err.code is None and err.type is None
    assert str(err) == "502: HTTP 502 Bad Gateway with an HTML page: 502 Bad Gateway: nginx"
    assert "\n" not in str(err)
    assert err.method == "GET" and err.url == "http://x/v1"

    empty = E.make_status_error(503, b"", {})
    assert str(empty) == "503: HTTP 503 error with an empty body"

    plain = E.make_status_error(500, json.dumps({"error": "boom"}), {})
    assert str(plain) == "500: boom"

    flat = E.make_status_error(400, {"code": "invalid_format", "message": "flat"}, {})
    assert flat.code == "invalid_format"

    weird = E.make_status_error(400, b"[1, 2]", {})
    assert isinstance(weird, E.BadRequestError)
    assert weird.code is None


def test_retry_after_forms() -> None:
    assert E.parse_retry_after({"retry-after": "2.5"}) == 2.5
    assert E.parse_retry_after({"Retry-After": "-3"}) == 0.0
    assert E.parse_retry_after({}) is None
    assert E.parse_retry_after({"Retry-After": "soon"}) is None
    date = formatdate(1_000_030, usegmt=True)
    assert E.parse_retry_after({"Retry-After": date}, now=1_000_000) == pytest.approx(30.0)
    err = E.make_status_error(429, _body(code="too_many_requests", message="m"), {})
    assert isinstance(err, E.RateLimitError)
    assert err.retry_after is None


def test_image_check_error_one_line() -> None:
    err = E.ImageCheckError(
        "HEIC is not accepted", source="front.heic", value="heic", fix="use JPEG, PNG or WebP"
    )
    assert str(err) == "front.heic: HEIC is not accepted — use JPEG, PNG or WebP"
    assert err.source == "front.heic" and err.value == "heic"
    assert isinstance(err, ValueError)
    already = E.ImageCheckError("a.png: too big — downscale it", source="a.png", fix="downscale it")
    assert str(already) == "a.png: too big — downscale it"


def test_api_error_message_is_one_line() -> None:
    err = E.APIConnectionError("connection\nreset", method="POST", url="http://x")
    assert str(err) == "connection reset"
    assert isinstance(E.APITimeoutError("t"), E.APIConnectionError)
