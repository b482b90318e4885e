"""Fixtures of the system tests that drive a real browser: one Chromium per test module and
the folder where screenshots and failure pictures go (``$AUROUS_TEST_ARTIFACTS``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="module")
def artifacts() -> Path:
    """Where screenshots go: ``$AUROUS_TEST_ARTIFACTS``, else ``./test-artifacts``."""
    path = Path(os.environ.get("AUROUS_TEST_ARTIFACTS", "test-artifacts")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (its own browsers are never used)."""
    from playwright.sync_api import sync_playwright

    from tests.support.browser import launch_chromium

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()
