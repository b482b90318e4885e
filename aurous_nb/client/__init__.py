"""The HTTP client: :class:`AurousClient`, its configuration, retries and rate limiting.

The configuration (key format, defaults) loads with this package; the client itself, and
``requests`` with it, on first use of :class:`AurousClient` (``%load_ext aurous_nb`` needs only
the configuration).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._config import (
    DEADLINE_FACTOR,
    DEFAULT_BASE_URL,
    DEFAULT_VERSION,
    ENV_API_KEY,
    key_problem,
    mask_key,
)

__all__ = [
    "DEADLINE_FACTOR",
    "DEFAULT_BASE_URL",
    "DEFAULT_VERSION",
    "ENV_API_KEY",
    "AurousClient",
    "RateLimiter",
    "RetryPolicy",
    "key_problem",
    "mask_key",
]

_LAZY = {"AurousClient": "._client", "RetryPolicy": "._transport", "RateLimiter": ".ratelimit"}

if TYPE_CHECKING:  # pragma: no cover
    from ._client import AurousClient
    from ._transport import RetryPolicy
    from .ratelimit import RateLimiter


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'aurous_nb.client' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
