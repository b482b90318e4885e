"""Local checks of a character's name and attributes (API.md §10.2, §14 row 11).

What the API would refuse at create is refused here first, before any request is spent.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from .errors import ValidationError
from .limits import MAX_NAME

__all__ = [
    "ATTRIBUTE_KEYS",
    "MAX_ATTRIBUTE_CHARS",
    "MAX_DETAILS_CHARS",
    "check_attributes",
    "check_character",
    "check_name",
]

ATTRIBUTE_KEYS = (
    "gender",
    "age",
    "ethnicity",
    "hair_color",
    "hair_style",
    "eye_color",
    "body_type",
    "additional_details",
)
MAX_ATTRIBUTE_CHARS = 200
MAX_DETAILS_CHARS = 1000
MIN_AGE, MAX_AGE = 1, 120
_SHOWN = 40  # characters of an offending value shown in a message


def _shown(value: object) -> str:
    """``repr(value)``, cut to a readable length."""
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def _kind(value: object) -> str:
    """``"an int"``, ``"a list"``: the value's type with its article."""
    name = type(value).__name__
    return f"{'an' if name[:1] in 'aeiou' else 'a'} {name}"


def check_name(name: object) -> str:
    """Return ``name`` if the API takes it (1–100 characters, not blank).

    Raises:
        ValidationError: one line naming the field, the value and the fix.
    """
    if not isinstance(name, str):
        raise ValidationError(
            f"name: {_shown(name)} is {_kind(name)}, not text",
            field="name",
            value=name,
            fix=f"give the character a name of 1–{MAX_NAME} characters",
        )
    if not name.strip():
        # not repr() of a blank name: the one-line message would collapse "'   '" to "' '"
        what = "'' is empty" if not name else f"is blank ({len(name)} whitespace characters)"
        raise ValidationError(
            f"name: {what}",
            field="name",
            value=name,
            fix=f"give the character a name of 1–{MAX_NAME} characters",
        )
    if len(name) > MAX_NAME:
        raise ValidationError(
            f"name: {_shown(name)} has {len(name)} characters",
            field="name",
            value=name,
            fix=f"shorten it to 1–{MAX_NAME}",
        )
    return name


def check_attributes(attributes: Mapping[str, Any] | None) -> None:
    """Refuse attributes the API would refuse: unknown keys, a bad age, over-long text.

    ``None`` (no attributes) and ``None`` values (an attribute left unset) pass.

    Raises:
        ValidationError: one line naming the field (``attributes.<key>``), the value and the fix.
    """
    if attributes is None:
        return
    if not isinstance(attributes, Mapping):
        raise ValidationError(
            f"attributes: {_shown(attributes)} is {_kind(attributes)}, not a mapping",
            field="attributes",
            value=attributes,
            fix='pass a dict such as {"age": 28, "hair_color": "black"}',
        )
    for key, value in attributes.items():
        field = f"attributes.{key}"
        if key not in ATTRIBUTE_KEYS:
            close = difflib.get_close_matches(str(key), ATTRIBUTE_KEYS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ValidationError(
                f"{field}: unknown attribute {_shown(key)}",
                field=field,
                value=key,
                fix=f"{hint}known: {', '.join(ATTRIBUTE_KEYS)}",
            )
        if value is None:
            continue
        if key == "age":
            _check_age(value)
            continue
        limit = MAX_DETAILS_CHARS if key == "additional_details" else MAX_ATTRIBUTE_CHARS
        if not isinstance(value, str):
            raise ValidationError(
                f"{field}: {_shown(value)} is {_kind(value)}, not text",
                field=field,
                value=value,
                fix=f"write it as text of at most {limit} characters",
            )
        if len(value) > limit:
            raise ValidationError(
                f"{field}: {_shown(value)} has {len(value)} characters",
                field=field,
                value=value,
                fix=f"shorten it to at most {limit} characters",
            )


def _check_age(age: object) -> None:
    fix = f"give an integer age of {MIN_AGE}–{MAX_AGE}"
    if isinstance(age, bool) or not isinstance(age, int):
        raise ValidationError(
            f"attributes.age: {_shown(age)} is not an integer",
            field="attributes.age",
            value=age,
            fix=fix,
        )
    if not MIN_AGE <= age <= MAX_AGE:
        raise ValidationError(
            f"attributes.age: {age} is out of range", field="attributes.age", value=age, fix=fix
        )


def check_character(name: object, attributes: Mapping[str, Any] | None) -> None:
    """:func:`check_name` and :func:`check_attributes` together (what create sends)."""
    check_name(name)
    check_attributes(attributes)
