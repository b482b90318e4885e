"""The environment for processes a test starts (kernels, scripts): this one's, without the
caller's Aurous settings (key, base URL) but with the test's own journal."""

from __future__ import annotations

import os


def child_env(**extra: str) -> dict[str, str]:
    """``os.environ`` without ``AUROUS_*`` settings, except ``AUROUS_NB_*`` (the test's
    journal, set per test by the root conftest), plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AUROUS_") or k.startswith("AUROUS_NB_")
    }
    env.update(extra)
    return env
