"""pytest plugin (entry point ``pytest11``): the ``aurous_sandbox`` fixture.

One :class:`~aurous_nb.sandbox.Sandbox` per test session (``synth_seconds=0``), reset
before each test. A test during which the sandbox hit one of its own bugs fails with the
sandbox's traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # pragma: no cover
    from .server import Sandbox

# The sandbox is imported inside the fixture: pytest loads this plugin in every project where
# aurous_nb is installed, and those that never use the fixture should not pay for it.


@pytest.fixture(scope="session")
def _aurous_sandbox_session() -> Iterator[Sandbox]:
    from .server import Sandbox

    sandbox = Sandbox(synth_seconds=0.0).start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def aurous_sandbox(_aurous_sandbox_session: Sandbox) -> Iterator[Sandbox]:
    """A running sandbox with fresh state (same ``url``, ``api_key`` and ``team_id``)."""
    sandbox = _aurous_sandbox_session
    sandbox.reset()
    yield sandbox
    errors = sandbox.handler_errors
    if errors:
        pytest.fail("the sandbox hit a bug while serving:\n" + "\n".join(errors), pytrace=False)
