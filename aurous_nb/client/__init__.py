"""The HTTP client: :class:`AurousClient`, its configuration, retries and rate limiting."""

from __future__ import annotations

from ._client import AurousClient
from ._config import (
    DEADLINE_FACTOR,
    DEFAULT_BASE_URL,
    DEFAULT_VERSION,
    ENV_API_KEY,
    key_problem,
    mask_key,
)
from ._transport import RetryPolicy
from .ratelimit import RateLimiter

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
