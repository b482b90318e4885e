"""AurousClient against a server that sends what the real API (or a proxy in front of it) may
plausibly send: unknown, missing and null fields, statuses it has not documented, bodies that
are not the JSON object expected, an HTML 502, broken gzip, a body cut short, a trickle, a
``Retry-After`` date and redirects to another host. Each case is one route of one server on
127.0.0.1 (``tests/support/hostile.py``); every error must be typed, one line, and free of
the key.
"""

from __future__ import annotations

import email.utils
import json
import math
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from aurous_nb import errors as E
from aurous_nb.client import AurousClient, RetryPolicy
from aurous_nb.display import character_text
from aurous_nb.magics import AurousMagics
from aurous_nb.models import Character, UploadTicket
from aurous_nb.widgets import SynthesisReview
from tests.support.hostile import REQUEST_ID, HostileServer, Reply
from tests.support.sandbox import FAST
from tests.support.shell import TestingShell, ip_fixture, magics_fixture  # noqa: F401
from tests.support.waiting import wait_for

KEY = "al_live_" + "5e" * 32
CHARACTER = {
    "id": "char_01HXMQ7Z3K8Y2NABCDEFGHJKMR",
    "object": "character",
    "name": "Aurora",
    "status": "ready",
    "refs": [{"pose": "front", "url": "https://api.aurous-labs.com/storage/c/front.bin?token=t"}],
    "created_at": "2026-05-08T10:00:00Z",
    "updated_at": "2026-05-08T10:00:00Z",
    "attributes": {"age": 28},
    "error_message": None,
    "aurous_version": "2026-05-15",
}
BALANCE = {"credits": 10.5, "held_credits": 4, "available_credits": 6.5, "currency": "credit"}
TEAM = {"id": "team_1", "name": "T", "credits": 1, "created_at": "2026-01-01T00:00:00Z"}
TICKET = {
    "upload_id": "upl_01HXMQ7Z3K8Y2NABCDEFGHJKMR",
    "upload_url": "https://aurous.storage/u/upload?signature=s",
    "upload_headers": {"Content-Type": "image/png"},
    "expires_at": "2099-01-01T00:15:00Z",
}
PROXY_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad "
    b"Gateway</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n"
)


def with_(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """``base`` with ``changes`` applied; a value of ``...`` removes the key."""
    out = dict(base)
    for name, value in changes.items():
        if value is ...:
            out.pop(name, None)
        else:
            out[name] = value
    return out


# -- the server: one route per case ---------------------------------------------------------

BODIES: dict[str, Any] = {}
"""Case name -> the JSON value a ``/body/<case>/...`` request gets with a 200."""


def _body_route(reply: Reply, hit: int) -> None:
    case, _, _ = reply.seen.target.split("/", 3)[2].partition("?")
    reply.json(200, BODIES[case])


def _json_for(path: str) -> Any:
    """A well-formed answer for whatever endpoint ``path`` is."""
    if path.endswith("/balance"):
        return BALANCE
    if path.endswith("/team"):
        return TEAM
    if path.endswith("/uploads/init"):
        return TICKET
    return CHARACTER


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    s = HostileServer()

    s.route("body")(_body_route)

    @s.route("unknown-fields")
    def _(reply: Reply, hit: int) -> None:
        extra = {"mood": "sunny", "future": {"nested": [1, 2]}, "deleted_at": None}
        if reply.seen.path.endswith("/balance"):
            reply.json(200, {**BALANCE, "billing_mode": "prepaid", "overdraft": 5, **extra})
            return
        refs = [{"pose": "front", "url": "u", "crop": {"x": 1}}, {"pose": "three_quarter"}]
        reply.json(200, {**CHARACTER, "refs": refs, **extra})

    @s.route("statuses")
    def _(reply: Reply, hit: int) -> None:
        # null, missing, two the docs never mention, then a terminal one
        sequence: list[Any] = [None, ..., "queued", "rendering", "reviewing"]
        reply.json(200, with_(CHARACTER, status=sequence[min(hit, len(sequence) - 1)]))

    @s.route("queued")
    def _(reply: Reply, hit: int) -> None:
        reply.json(200, with_(CHARACTER, status="queued"))

    @s.route("no-status")
    def _(reply: Reply, hit: int) -> None:
        reply.json(200, with_(CHARACTER, status=...))

    @s.route("generate")
    def _(reply: Reply, hit: int) -> None:
        path = reply.seen.path
        if path.endswith("/team"):
            reply.json(200, TEAM)
        elif reply.seen.method == "POST":  # a synthesis answered with a status never documented
            reply.json(201, with_(CHARACTER, status="queued", refs=[]))
        else:
            reply.json(200, with_(CHARACTER, status="reviewing"))

    @s.route("bad-gateway")
    def _(reply: Reply, hit: int) -> None:
        reply.send(502, PROXY_502, {"Content-Type": "text/html", "Server": "nginx/1.25.3"})

    @s.route("invalid-json")
    def _(reply: Reply, hit: int) -> None:
        reply.send(
            200,
            b'{"id": "char_1", "status": "rea',
            {"Content-Type": "application/json", "Aurous-Request-Id": REQUEST_ID},
        )

    @s.route("bad-gzip")
    def _(reply: Reply, hit: int) -> None:
        status = 503 if reply.seen.path.endswith("/balance") else 200
        headers = {
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "Aurous-Request-Id": REQUEST_ID,
        }
        reply.send(status, b'{"credits": 1} -- not gzip at all', headers)

    @s.route("cut-short")
    def _(reply: Reply, hit: int) -> None:
        body = json.dumps(_json_for(reply.seen.path)).encode()
        reply.head(200, {"Content-Type": "application/json", "Content-Length": str(len(body))})
        reply.write(body[: len(body) // 3])
        reply.hang_up()

    @s.route("trickle")
    def _(reply: Reply, hit: int) -> None:
        body = json.dumps(TEAM).encode()  # about 80 bytes, one per 0.25 s: 20 s in all
        reply.head(200, {"Content-Type": "application/json", "Content-Length": str(len(body))})
        for byte in body:
            reply.write(bytes([byte]))
            time.sleep(0.25)

    @s.route("slow-503")
    def _(reply: Reply, hit: int) -> None:
        time.sleep(0.4)
        reply.json(
            503,
            {"error": {"type": "server_error", "code": "provider_unavailable", "message": "busy"}},
        )

    @s.route("retry-date")
    def _(reply: Reply, hit: int) -> None:
        if hit % 2 == 0:
            when = math.ceil(time.time()) + 1  # an HTTP date has whole seconds
            reply.seen.headers["x-retry-at"] = str(when)
            reply.json(
                429,
                {"error": {"type": "rate_limit", "code": "too_many_requests", "message": "slow"}},
                {"Retry-After": email.utils.formatdate(when, usegmt=True)},
            )
        else:
            reply.json(200, TEAM)

    @s.route("redirect")
    def _(reply: Reply, hit: int) -> None:
        status = int(reply.seen.headers.get("X-Test-Status", "302"))
        target = reply.seen.headers.get("X-Test-Location") or ""
        reply.send(status, b"", {"Location": target, "Aurous-Request-Id": REQUEST_ID})

    @s.route("echo-key")
    def _(reply: Reply, hit: int) -> None:
        key = reply.seen.headers.get("X-Api-Key", "")
        path = reply.seen.path
        if path.endswith("/team"):  # a 401 that quotes the key it was sent
            reply.json(
                401,
                {
                    "error": {
                        "type": "authentication",
                        "code": "invalid_api_key",
                        "message": f"Key {key} is unknown.",
                    }
                },
            )
        elif path.endswith("/balance"):  # a captive portal's page, the key 80 bytes in
            page = f"<html><body>{'x' * 58} you sent {key} -- sign in first</body></html>"
            reply.send(200, page.encode(), {"Content-Type": "text/html"})
        else:  # a proxy's 502 page quoting the request, the key 93 bytes in
            page = f"<html><body>{'y' * 63} upstream refused {key}</body></html>"
            reply.send(502, page.encode(), {"Content-Type": "text/html"})

    s.start()
    thief = HostileServer().start()  # "another host": it must never see a request
    s.thief = thief  # type: ignore[attr-defined]
    yield s
    thief.stop()
    s.stop()


def client_for(server: HostileServer, case: str, **kw: Any) -> AurousClient:
    kw.setdefault("retry_policy", FAST)
    kw.setdefault("max_retries", 0)
    kw.setdefault("rate_limit", False)
    kw.setdefault("timeout", 5.0)
    return AurousClient(api_key=KEY, base_url=f"{server.url}/{case}", **kw)


def one_line_without_key(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and text.strip() == text and text
    for shown in (text, repr(exc)):
        assert KEY not in shown and KEY[:20] not in shown
    return text


def raises(kind: type[E.AurousError], call: Callable[[], object]) -> Any:
    with pytest.raises(kind) as info:
        call()
    one_line_without_key(info.value)
    return info.value


# -- what it accepts ------------------------------------------------------------------------


def test_unknown_fields_and_values_are_kept_out_of_the_way(server: HostileServer) -> None:
    with client_for(server, "unknown-fields") as c:
        character = c.get_character("char_1")
        balance = c.balance()
    assert character.id == CHARACTER["id"] and character.status == "ready"
    assert character.poses == ("front", "other")  # a pose label this client does not know
    assert character.refs[1].url == ""
    assert balance.billing_mode == "prepaid"  # an open enum: kept as sent
    assert balance.credits == 10.5


def test_missing_and_null_optional_fields_take_their_defaults(server: HostileServer) -> None:
    sparse = {"id": "char_1", "status": "ready"}
    nulls = with_(
        CHARACTER,
        name=None,
        refs=None,
        attributes=None,
        created_at=None,
        updated_at=None,
        aurous_version=None,
        client_reference_id=None,
    )
    BODIES.update(
        sparse=sparse,
        nulls=nulls,
        ticket=with_(TICKET, expires_at=..., upload_headers=None),
        classify={"pose": None},
        balance={"credits": 3},
        page={"data": [sparse]},
        deleted={},
    )
    with client_for(server, "body/sparse") as c:
        got = c.get_character("char_1")
    assert (got.name, got.refs, got.attributes, got.error_message) == ("", (), None, None)
    with client_for(server, "body/nulls") as c:
        got = c.get_character("char_1")
    assert (got.name, got.refs, got.attributes, got.aurous_version) == ("", (), None, None)
    with client_for(server, "body/ticket") as c:
        before = datetime.now(timezone.utc)
        ticket = c.init_upload("front.png", "png", "image/png")
    assert ticket.upload_headers == {}
    left = ticket.expires_at - before  # not said: the documented 15 minutes from minting
    assert timedelta(minutes=14) < left < timedelta(minutes=16)
    with client_for(server, "body/classify") as c:
        cls = c.classify_upload("upl_asked")
    assert (cls.upload_id, cls.pose, cls.confidence) == ("upl_asked", "other", 0.0)
    with client_for(server, "body/balance") as c:
        bal = c.balance()
    assert (bal.held_credits, bal.available_credits, bal.billing_mode) == (0.0, 3.0, None)
    with client_for(server, "body/page") as c:
        page = c.list_characters()
    assert [x.id for x in page] == ["char_1"] and not page.has_more
    with client_for(server, "body/deleted") as c:
        gone = c.delete_character("char_asked")
    assert (gone.id, gone.deleted) == ("char_asked", True)


def test_null_missing_and_unknown_statuses_are_kept_and_waited_through(
    server: HostileServer,
) -> None:
    with client_for(server, "statuses") as c:
        first = c.get_character("char_1")
        assert first.status is None and not first.settled  # never invented as "ready"
        assert "no status" in character_text(first) and "ready" not in character_text(first)
        seen: list[str | None] = [first.status]
        done = c.wait_for_character(
            "char_1", poll=0.01, max_poll=0.01, on_poll=lambda ch: seen.append(ch.status)
        )
    assert seen == [None, None, "queued", "rendering", "reviewing"]
    assert done.status == "reviewing"

    with client_for(server, "queued") as c:
        timeout = raises(E.WaitTimeoutError, lambda: c.wait_for_character("char_1", timeout=0))
    assert "is still queued after 0 s" in str(timeout)
    with client_for(server, "no-status") as c:
        timeout = raises(E.WaitTimeoutError, lambda: c.wait_for_character("char_1", timeout=0))
    assert "has no status yet" in str(timeout)


def test_the_magic_and_the_review_widget_wait_through_an_unknown_status(
    server: HostileServer, ip: TestingShell, magics: AurousMagics
) -> None:
    ip.user_ns["HOSTILE_KEY"] = KEY
    ip.run_cell(f"%aurous_key $HOSTILE_KEY --base-url {server.url}/generate")
    made = ip.run_cell('%%aurous_character "Nova" --generate\nage: 30').result
    assert made.status == "reviewing"  # not handed back as "queued"
    assert [r.method for r in server.seen("generate")][-2:] == ["POST", "GET"]

    queued = with_(CHARACTER, status="queued")
    with client_for(server, "generate") as c:
        review = SynthesisReview(Character.from_dict(queued), client=c, poll=0.01, thumbnails=False)
        try:
            wait_for(lambda: review.character.status == "reviewing", what="the review polling")
            wait_for(lambda: not review.save_button.disabled, what="Save enabled")
        finally:
            review.close()


# -- bodies that are not the JSON object expected -------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        pytest.param([], "an array of 0 items", id="array"),
        pytest.param(None, "null", id="null"),
        pytest.param("ok", "a string ('ok')", id="string"),
        pytest.param(42, "a number (42)", id="number"),
    ],
)
@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.get_character("char_1"),
        lambda c: c.list_characters(),
        lambda c: c.balance(),
        lambda c: c.init_upload("front.png", "png", "image/png"),
        lambda c: c.delete_character("char_1"),
    ],
    ids=["get", "list", "balance", "init", "delete"],
)
def test_a_body_that_is_not_an_object_is_one_typed_error(
    server: HostileServer, value: Any, kind: str, call: Callable[[AurousClient], object]
) -> None:
    case = f"non-object-{type(value).__name__}"
    BODIES[case] = value
    before = len(server.seen(f"body/{case}"))
    with client_for(server, f"body/{case}", max_retries=3) as c:
        error = raises(E.APIResponseValidationError, lambda: call(c))
    assert isinstance(error, E.APIError) and not isinstance(error, E.APIStatusError)
    assert (error.status, error.request_id, error.field) == (200, REQUEST_ID, None)
    text = str(error)
    assert f"-> 200: the body is {kind}" in text and "expected a JSON object" in text
    assert text.endswith(f"(request_id={REQUEST_ID})")
    assert len(server.seen(f"body/{case}")) == before + 1  # processed: never retried


@pytest.mark.parametrize(
    ("body", "call", "field", "words"),
    [
        (with_(CHARACTER, status=42), "get", "status", "is a number (42), expected a string"),
        (with_(CHARACTER, refs="front"), "get", "refs", "is a string ('front'), expected an array"),
        (with_(CHARACTER, refs=[{}, "front"]), "get", "refs[1]", "expected a JSON object"),
        (with_(CHARACTER, refs=[{"pose": 3}]), "get", "refs[0].pose", "is a number (3)"),
        (with_(CHARACTER, created_at=True), "get", "created_at", "is a boolean (true)"),
        (with_(CHARACTER, updated_at="yesterday"), "get", "updated_at", "an ISO 8601 timestamp"),
        (with_(CHARACTER, attributes=["age"]), "get", "attributes", "expected an object"),
        (with_(CHARACTER, id=...), "get", "id", "is missing"),
        (with_(CHARACTER, object="image"), "get", "object", "expected 'character'"),
        (with_(CHARACTER, name={"en": "A"}), "get", "name", "is an object"),
        (
            {"object": "list", "data": [CHARACTER, with_(CHARACTER, status={})]},
            "list",
            "data[1].status",
            "is an object, expected a string",
        ),
        ({"object": "list"}, "list", "data", "is missing"),
        ({"data": [], "has_more": "yes"}, "list", "has_more", "expected true or false"),
        (with_(BALANCE, credits="lots"), "balance", "credits", "expected a number"),
        (with_(BALANCE, credits=...), "balance", "credits", "is missing"),
        (with_(BALANCE, billing_mode=1), "balance", "billing_mode", "is a number (1)"),
        (
            with_(TICKET, upload_headers={"Content-Type": 1}),
            "init",
            "upload_headers.Content-Type",
            "is a number (1), expected a string",
        ),
        (with_(TICKET, upload_url=None), "init", "upload_url", "is null, expected a string"),
        ({"pose": "front", "confidence": "high"}, "classify", "confidence", "expected a number"),
        ({"id": "char_1", "deleted": "yes"}, "delete", "deleted", "expected true or false"),
    ],
)
def test_a_known_field_of_the_wrong_type_is_one_typed_error(
    server: HostileServer, body: Any, call: str, field: str, words: str
) -> None:
    case = f"wrong-{call}-{field}".replace("[", "(").replace("]", ")")
    BODIES[case] = body
    calls: dict[str, Callable[[AurousClient], object]] = {
        "get": lambda c: c.get_character("char_1"),
        "list": lambda c: c.list_characters(),
        "balance": lambda c: c.balance(),
        "init": lambda c: c.init_upload("front.png", "png", "image/png"),
        "classify": lambda c: c.classify_upload("upl_1"),
        "delete": lambda c: c.delete_character("char_1"),
    }
    with client_for(server, f"body/{case}") as c:
        error = raises(E.APIResponseValidationError, lambda: calls[call](c))
    assert (error.status, error.request_id, error.field) == (200, REQUEST_ID, field)
    assert f"-> 200: {field} " in str(error) and words in str(error)


def test_invalid_json_is_one_typed_error(server: HostileServer) -> None:
    with client_for(server, "invalid-json", max_retries=2) as c:
        error = raises(E.APIResponseValidationError, lambda: c.get_character("char_1"))
    assert error.status == 200 and error.request_id == REQUEST_ID
    assert "the body is not JSON (application/json): {" in str(error)
    assert len(server.seen("invalid-json")) == 1


def test_a_badly_gzipped_body_is_one_typed_error(server: HostileServer) -> None:
    with client_for(server, "bad-gzip", max_retries=2) as c:
        error = raises(E.APIResponseValidationError, lambda: c.get_character("char_1"))
        assert error.status == 200 and error.request_id == REQUEST_ID
        assert "does not decode as Content-Encoding gzip" in str(error)
        assert len(server.seen("bad-gzip")) == 1  # a 2xx was processed: not retried
        status = raises(E.InternalServerError, lambda: c.balance())  # a 503: retried
    assert status.status == 503 and "does not decode as Content-Encoding gzip" in str(status)
    assert len(server.seen("bad-gzip")) == 1 + 3


def test_an_html_502_from_a_proxy_is_a_retried_server_error(server: HostileServer) -> None:
    with client_for(server, "bad-gateway", max_retries=2) as c:
        error = raises(E.InternalServerError, lambda: c.get_character("char_1"))
    assert (error.status, error.code, error.request_id) == (502, None, None)
    assert str(error) == "502: HTTP 502 Bad Gateway with an HTML page: 502 Bad Gateway nginx/1.25.3"
    assert len(server.seen("bad-gateway")) == 3


# -- bodies that do not arrive (whole) ------------------------------------------------------


def test_a_body_cut_short_is_a_connection_error_retried_with_the_same_key(
    server: HostileServer,
) -> None:
    with client_for(server, "cut-short", max_retries=1) as c:
        error = raises(E.APIConnectionError, lambda: c.create_character("X", upload_ids=["u"]))
    assert not isinstance(error, E.APITimeoutError)
    assert "POST " in str(error) and "the response was cut short" in str(error)
    sent = server.seen("cut-short")
    assert len(sent) == 2
    assert sent[0].headers["Idempotency-Key"] == sent[1].headers["Idempotency-Key"]


def test_a_trickling_body_stops_at_the_call_deadline(server: HostileServer) -> None:
    # Each byte arrives well within the 1 s read timeout; only the deadline (4 × timeout by
    # default) can stop the call before the 20 s the body takes.
    with client_for(server, "trickle", timeout=1.0, max_retries=3) as c:
        assert c.deadline == 4.0
        started = time.monotonic()
        error = raises(E.APITimeoutError, lambda: c.team())
        took = time.monotonic() - started
    assert "did not finish within the call's deadline of 4 s" in str(error)
    assert "timeout=1 s per read" in str(error) and "AurousClient(deadline=...)" in str(error)
    seen = server.seen("trickle")
    assert len(seen) == 1  # the deadline is for the whole call: no retry after it
    assert took < 12, took  # the point of the deadline: far from the body's 20 s
    assert 0 < seen[0].sent < len(json.dumps(TEAM))  # the client hung up mid-body


def test_the_deadline_covers_retries(server: HostileServer) -> None:
    # every attempt takes 0.4 s and fails with a 503; 10 retries would take 4 s or more
    with client_for(server, "slow-503", timeout=1.0, deadline=1.0, max_retries=10) as c:
        error = raises(E.APIError, lambda: c.team())
    assert isinstance(error, (E.InternalServerError, E.APITimeoutError))
    assert 1 <= len(server.seen("slow-503")) <= 3


def test_retry_after_as_an_http_date_is_waited_for(server: HostileServer) -> None:
    policy = RetryPolicy(base_delay=0.01, max_server_delay=5.0)
    with client_for(server, "retry-date", max_retries=1, retry_policy=policy) as c:
        assert c.team().id == "team_1"
    first, second = server.seen("retry-date")[-2:]
    assert second.arrived >= int(first.headers["x-retry-at"]) - 0.05  # not before the date
    with client_for(server, "retry-date", max_retries=0) as c:
        error = raises(E.RateLimitError, lambda: c.team())
    assert error.retry_after is not None and 0 <= error.retry_after <= 2.0


# -- redirects --------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_host_is_never_followed(server: HostileServer, status: int) -> None:
    thief: HostileServer = server.thief  # type: ignore[attr-defined]
    target = f"{thief.url}/collect/v1/team?api_key={KEY}"
    session_headers = {"X-Test-Status": str(status), "X-Test-Location": target}
    with client_for(server, "redirect") as c:
        c.session.headers.update(session_headers)
        error = raises(E.APIStatusError, lambda: c.team())
    assert error.status == status and error.request_id == REQUEST_ID
    text = str(error)
    assert f"was redirected (HTTP {status}) to {thief.url}/collect/v1/team;" in text
    assert "never follows redirects" in text and "api_key" not in text
    assert thief.log == []


def test_an_upload_host_redirect_is_never_followed(server: HostileServer) -> None:
    thief: HostileServer = server.thief  # type: ignore[attr-defined]
    ticket = UploadTicket(
        upload_id="upl_1",
        upload_url=f"{server.url}/redirect/_upload/upl_1?signature=secret",
        upload_headers={
            "Content-Type": "image/png",
            "X-Test-Status": "307",
            "X-Test-Location": f"{thief.url}/steal",
        },
        expires_at=datetime.now(timezone.utc) + timedelta(minutes=15),
    )
    with client_for(server, "redirect") as c:
        error = raises(E.APIStatusError, lambda: c.put_upload(ticket, b"\x89PNG bytes"))
    assert error.status == 307 and f"to {thief.url}/steal" in str(error)
    assert "signature" not in str(error)  # the upload URL's query is its credential
    assert thief.log == []
    assert "X-Api-Key" not in server.seen("redirect")[-1].headers


# -- the key, echoed back ------------------------------------------------------------------


def test_a_server_echoing_the_key_never_gets_it_into_an_error(server: HostileServer) -> None:
    with client_for(server, "echo-key") as c:
        auth = raises(E.AuthenticationError, lambda: c.team())
        page = raises(E.APIResponseValidationError, lambda: c.balance())
        proxy = raises(E.InternalServerError, lambda: c.get_character("char_1"))
    assert f"Key {KEY[:14]}… is unknown." in str(auth) and auth.code == "invalid_api_key"
    assert KEY not in repr(auth.body) and KEY not in json.dumps(dict(auth.body))
    # each snippet is cut 120 characters into a page that quotes the key: cut from the raw
    # body, it would hold 40 (27) of the key's characters; cut from the masked body, 14
    assert "the body is an HTML page: " in str(page) and "(text/html), not JSON" in str(page)
    assert f"you sent {KEY[:14]}… -- sign in first" in str(page)
    assert proxy.status == 502 and f"upstream refused {KEY[:14]}…" in str(proxy)
