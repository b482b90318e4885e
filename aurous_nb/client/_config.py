"""Client configuration: where the key and base URL come from, and how they are checked.

Argument, then environment variable, then default; every failure is a ConfigurationError
that names what to change (and shows a key only masked).
"""

from __future__ import annotations

import math
import os
import re
from urllib.parse import urlsplit

from ..errors import ConfigurationError

__all__ = [
    "DEADLINE_FACTOR",
    "DEFAULT_BASE_URL",
    "DEFAULT_VERSION",
    "ENV_API_KEY",
    "ENV_BASE_URL",
    "key_problem",
    "mask_key",
    "resolve_api_key",
    "resolve_base_url",
    "check_version",
    "resolve_deadline",
]

DEFAULT_BASE_URL = "https://api.aurous-labs.com"
DEFAULT_VERSION = "2026-05-15"
ENV_API_KEY = "AUROUS_API_KEY"
ENV_BASE_URL = "AUROUS_BASE_URL"
DEADLINE_FACTOR = 4
"""A call's default deadline, in timeouts: 120 s for the default 30 s timeout."""

_KEY_RE = re.compile(r"^(al_live_[0-9a-fA-F]{64}|og_[A-Za-z0-9_\-]{8,})$")
_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def mask_key(key: str) -> str:
    """The key as the vendor's dashboard shows it: its first 14 characters and ``…``.

    Short strings (a mistyped key) show at most half of themselves, so a mask never
    reveals most of a secret.
    """
    shown = 14 if len(key) >= 28 else len(key) // 2
    return key[:shown] + "…"


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot be an Aurous API key, without quoting it; None when its form is fine.

    Accepted: ``al_live_`` followed by 64 hex digits, or a legacy key starting ``og_``.
    """
    if not key:
        return "it is empty"
    if _KEY_RE.match(key):
        return None
    if any(ch.isspace() for ch in key):
        return "it contains whitespace"
    if key.startswith("al_live_"):
        tail = key[len("al_live_") :]
        hex_ok = all(ch in "0123456789abcdefABCDEF" for ch in tail)
        what = f"{len(tail)} hex digits" if hex_ok else "characters that are not hex digits"
        return f"expected 64 hex digits after al_live_, got {what}"
    if key.startswith("og_"):
        return "a legacy og_ key has at least 8 letters, digits, - or _ after og_"
    return (
        f"an Aurous key starts with al_live_ (or og_ for a legacy key); got {len(key)} characters"
    )


def resolve_api_key(api_key: str | None) -> str:
    """The key from the argument, else ``$AUROUS_API_KEY``, checked for the vendor's format."""
    key = (api_key if api_key is not None else os.environ.get(ENV_API_KEY)) or ""
    key = key.strip()
    if not key:
        raise ConfigurationError(
            "No Aurous API key: pass api_key=... to AurousClient or set the "
            f"{ENV_API_KEY} environment variable."
        )
    problem = key_problem(key)
    if problem:
        source = "the api_key argument" if api_key is not None else ENV_API_KEY
        raise ConfigurationError(
            f"The API key {mask_key(key)} (from {source}) is not an Aurous key ({problem}): "
            "expected al_live_ followed by 64 hex characters, or a legacy og_ key."
        )
    return key


def resolve_base_url(base_url: str | None) -> str:
    """The API root from the argument, else ``$AUROUS_BASE_URL``, else the default."""
    raw = base_url if base_url is not None else os.environ.get(ENV_BASE_URL)
    url = (raw or DEFAULT_BASE_URL).strip().rstrip("/")
    source = "base_url" if base_url is not None else ENV_BASE_URL
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"{source}={raw!r} is not an http(s) URL (e.g. {DEFAULT_BASE_URL!r})."
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(f"{source}={raw!r} must not have a query or fragment.")
    if url.endswith("/v1"):  # people paste the versioned root; our paths add /v1 themselves
        url = url[: -len("/v1")]
    return url


def check_version(version: str | None) -> str | None:
    """An ``Aurous-Version`` pin must look like ``YYYY-MM-DD`` (or be None: no header)."""
    if version is not None and not _VERSION_RE.match(version):
        raise ConfigurationError(
            f"version={version!r} is not a YYYY-MM-DD date (e.g. {DEFAULT_VERSION!r})."
        )
    return version


def resolve_deadline(deadline: float | None, timeout: float) -> float | None:
    """Seconds one call may take in all -- every attempt, and the waits between retries.

    ``timeout`` bounds each connect and each read; a server (or a proxy) that sends a byte
    now and then never trips it, and the deadline is what stops such a call. None picks
    :data:`DEADLINE_FACTOR` × ``timeout``; ``math.inf`` means no deadline (returned as None).
    """
    if deadline is None:
        return DEADLINE_FACTOR * timeout
    if isinstance(deadline, bool) or not isinstance(deadline, (int, float)) or not deadline > 0:
        raise ConfigurationError(
            f"deadline={deadline!r} must be a positive number of seconds (math.inf for none)."
        )
    return None if math.isinf(deadline) else float(deadline)
