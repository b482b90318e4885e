"""Fixtures of the headless widget tests: a recording comm, a strict client, an uploader, and
a check that no test leaves worker threads behind."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import comm
import pytest

from aurous_nb.client import AurousClient
from aurous_nb.widgets import CharacterUploader
from tests.widgets.helpers import RecordingComm, package_threads, settle


@pytest.fixture
def comms(monkeypatch: pytest.MonkeyPatch) -> list[RecordingComm]:
    made: list[RecordingComm] = []

    def create(**kwargs: Any) -> RecordingComm:
        c = RecordingComm(**kwargs)
        made.append(c)
        return c

    monkeypatch.setattr(comm, "create_comm", create)
    return made


@pytest.fixture
def client(strict_client: AurousClient) -> AurousClient:
    """No retries here: an injected fault shows on its card at once."""
    return strict_client


@pytest.fixture
def uploader(client: AurousClient, comms: list[RecordingComm]) -> Iterator[CharacterUploader]:
    u = CharacterUploader(client=client, name="Mira")
    yield u
    u.close()


_lingering: set[Any] = set()  # outlived the wait below once: not waited for again


@pytest.fixture(autouse=True)
def no_work_left_behind() -> Iterator[None]:
    """No test runs while an earlier test's uploads or flows still send requests.

    The sandbox is one per session, reset between tests with the same API key, so a
    flow still running from an earlier test keeps calling it during the next one: a
    closed uploader's classify once spent the 503 the next test had injected
    (``inject("classify", times=1)``), and that test timed out waiting for a failure.
    Threads of other test files get 10 s; a thread of this test must end within 30 s.
    """
    if settle(_lingering, timeout=10.0):  # e.g. the idle worker of a widget never closed
        _lingering.update(package_threads())
    before = set(package_threads())
    yield
    left = settle(before)
    assert not left, f"the test left aurous_nb threads running: {left}"


@pytest.fixture
def lingering() -> set[Any]:
    """Threads an earlier test left behind (ignored by settle() in tests that wait for all)."""
    return _lingering
