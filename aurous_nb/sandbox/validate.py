"""Request-body checks shared by the handlers, each raising the §14 error for its field."""

from __future__ import annotations

import json
from typing import Any

from .errors import SandboxError, bad

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


def json_object(raw: bytes, *, code: str = "invalid_format", empty_ok: bool = False) -> dict:
    """Parse the body as a JSON object (an empty body is ``{}`` when ``empty_ok``)."""
    if empty_ok and not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise bad(code, "The request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise bad(code, f"The request body must be a JSON object, got {type(value).__name__}.")
    return value


def string(
    body: dict,
    name: str,
    *,
    lo: int,
    hi: int,
    required: bool = True,
    code: str | None = None,
    param: str | None = None,
) -> str | None:
    """A string field of length ``lo..hi`` (``code`` overrides every error code)."""
    param = param or name
    value = body.get(name)
    if value is None:
        if required:
            raise bad(code or "missing_field", f"Missing required field {param!r}.", param)
        return None
    if not isinstance(value, str):
        raise bad(
            code or "invalid_format",
            f"{param!r} must be a string, got {type(value).__name__} {value!r:.40}.",
            param,
        )
    if not lo <= len(value) <= hi:
        raise bad(
            code or "value_out_of_range",
            f"{param!r} must be {lo}-{hi} characters, got {len(value)}.",
            param,
        )
    return value


MAX_NAME = 100


def character_name(body: dict, *, required: bool = True, code: str | None = None) -> str | None:
    """A character's ``name``: 1–100 characters and not only whitespace (§14 row 11)."""
    name = string(body, "name", lo=1, hi=MAX_NAME, required=required, code=code)
    if name is not None and not name.strip():
        raise bad(code or "invalid_format", "'name' must not be blank.", "name")
    return name


def boolean(body: dict, name: str, default: bool = False) -> bool:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise bad("invalid_format", f"{name!r} must be true or false, got {value!r}.", name)
    return value


def attributes(value: Any, *, code: str | None = None) -> dict[str, Any]:
    """Validate an ``attributes`` object (API.md §10.2, §14 row 11) and return it."""
    if not isinstance(value, dict):
        raise bad(code or "invalid_format", "'attributes' must be a JSON object.", "attributes")
    for key, item in value.items():
        param = f"attributes.{key}"
        if key not in ATTRIBUTE_KEYS:
            raise bad(
                code or "invalid_format",
                f"Unknown attribute {key!r}; known: {', '.join(ATTRIBUTE_KEYS)}.",
                param,
            )
        if item is None:
            continue
        if key == "age":
            if isinstance(item, bool) or not isinstance(item, int):
                raise bad(
                    code or "invalid_format", f"{param!r} must be an integer, got {item!r}.", param
                )
            if not 1 <= item <= 120:
                raise bad(
                    code or "value_out_of_range", f"{param!r} must be 1-120, got {item}.", param
                )
            continue
        if not isinstance(item, str):
            raise bad(
                code or "invalid_format",
                f"{param!r} must be a string, got {type(item).__name__} {item!r:.40}.",
                param,
            )
        limit = MAX_DETAILS_CHARS if key == "additional_details" else MAX_ATTRIBUTE_CHARS
        if len(item) > limit:
            raise bad(
                code or "value_out_of_range",
                f"{param!r} must be at most {limit} characters, got {len(item)}.",
                param,
            )
    return dict(value)


def invalid_state(message: str) -> SandboxError:
    """The character pages' ``400 invalid_request_error`` (wrong state, bad pose)."""
    return bad("invalid_request_error", message)
