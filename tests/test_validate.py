"""aurous_nb.validate: what create would refuse (API.md §14 row 11), refused locally in one line."""

from __future__ import annotations

from typing import Any

import pytest

from aurous_nb.errors import AurousError, ValidationError
from aurous_nb.limits import MAX_NAME
from aurous_nb.sandbox import validate as server
from aurous_nb.sandbox.errors import SandboxError
from aurous_nb.validate import (
    ATTRIBUTE_KEYS,
    MAX_ATTRIBUTE_CHARS,
    MAX_DETAILS_CHARS,
    check_attributes,
    check_character,
    check_name,
)

BAD: list[tuple[str, object, dict[str, Any] | None, str, tuple[str, ...]]] = [
    ("empty name", "", None, "name", ("''", "empty", "1–100")),
    ("blank name", " \t ", None, "name", ("blank", "1–100")),
    ("long name", "N" * 101, None, "name", ("'NNN", "…", "101 characters", "1–100")),
    ("name not text", 7, None, "name", ("7 is an int", "1–100")),
    ("attributes not a mapping", "X", ["age"], "attributes", ("a list", "pass a dict")),  # type: ignore[list-item]
    ("unknown key", "X", {"Age": 3}, "attributes.Age", ("'Age'", "did you mean 'age'?")),
    ("far-off key", "X", {"zzz": 1}, "attributes.zzz", ("'zzz'", "known: gender, age")),
    ("age 0", "X", {"age": 0}, "attributes.age", ("0 is out of range", "1–120")),
    ("age 121", "X", {"age": 121}, "attributes.age", ("121 is out of range",)),
    ("age bool", "X", {"age": True}, "attributes.age", ("True is not an integer",)),
    ("age text", "X", {"age": "28"}, "attributes.age", ("'28' is not an integer",)),
    ("long string", "X", {"hair_style": "b" * 201}, "attributes.hair_style", ("201 char",)),
    ("string not text", "X", {"gender": 1}, "attributes.gender", ("1 is an int", "as text")),
    ("long details", "X", {"additional_details": "d" * 1001}, "attributes.additional_details",
     ("1001 characters", "at most 1000")),
    ("control chars", "X", {"eye_color": "\x1b[31m" * 50}, "attributes.eye_color",
     ("\\x1b", "250 characters")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "attributes", "field", "needles"), [c[1:] for c in BAD], ids=[c[0] for c in BAD]
)
def test_refused_in_one_line_naming_field_value_and_fix(
    name: Any, attributes: Any, field: str, needles: tuple[str, ...]
) -> None:
    with pytest.raises(ValidationError) as info:
        check_character(name, attributes)
    text = str(info.value)
    assert isinstance(info.value, AurousError) and isinstance(info.value, ValueError)
    assert info.value.field == field and text.startswith(field + ": ")
    assert " — " in text and "\n" not in text and "\x1b" not in text
    assert len(text) < 250
    for needle in needles:
        assert needle in text, (needle, text)


def test_the_limits_pass() -> None:
    assert check_name("N" * 100) == "N" * 100
    assert check_name("A") == "A"
    check_attributes(None)
    check_attributes({})
    check_attributes({"age": 1})
    check_attributes({"age": 120, "gender": None})
    check_attributes(
        {k: "x" * MAX_ATTRIBUTE_CHARS for k in ATTRIBUTE_KEYS if k != "age"}
        | {"additional_details": "d" * MAX_DETAILS_CHARS}
    )


def test_same_rules_as_the_sandbox() -> None:
    """The sandbox implements API.md §14 row 11; the local check must agree with it."""
    assert ATTRIBUTE_KEYS == server.ATTRIBUTE_KEYS
    assert (MAX_ATTRIBUTE_CHARS, MAX_DETAILS_CHARS) == (
        server.MAX_ATTRIBUTE_CHARS,
        server.MAX_DETAILS_CHARS,
    )
    for _case, _name, attributes, field, _needles in BAD:
        if isinstance(attributes, dict):  # the server refuses the same field
            with pytest.raises(SandboxError) as info:
                server.attributes(attributes)
            assert info.value.param == field


NAMES = ["", " ", "   ", "\t\n", "A", " A ", "N" * 100, "N" * 101, "é" * 100, 5, ["A"]]


@pytest.mark.parametrize("name", NAMES, ids=repr)
def test_name_rule_is_the_sandboxes(name: object) -> None:
    """The client refuses exactly the names the sandbox refuses, at create and at PATCH."""
    try:
        check_name(name)
        client_ok = True
    except ValidationError:
        client_ok = False
    for required, code in ((True, None), (False, "invalid_request")):
        try:
            server.character_name({"name": name}, required=required, code=code)
            server_ok = True
        except SandboxError as exc:
            server_ok = False
            assert exc.param == "name"
        assert client_ok == server_ok, (name, required)
    assert server.MAX_NAME == MAX_NAME
