"""The one way tests wait for something that happens on another thread or process."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for(
    predicate: Callable[[], Any],
    timeout: float = 15.0,
    what: str = "",
    show: Callable[[], Any] | None = None,
    interval: float = 0.01,
) -> Any:
    """Poll ``predicate`` until it is truthy and return its value; on timeout fail saying
    what was awaited and (``show()``) what was seen."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            seen = f"; saw {show()}" if show is not None else ""
            raise AssertionError(
                f"timed out after {timeout:g} s waiting for {what or predicate}{seen}"
            )
        time.sleep(interval)
