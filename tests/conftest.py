"""Fixtures for every test. The ``aurous_sandbox`` fixture itself comes from the package's
pytest plugin (entry point ``pytest11``); helpers live in ``tests/support/``."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from aurous_nb.client import AurousClient
from aurous_nb.sandbox import Sandbox
from tests.support.sandbox import SandboxAPI, image_bytes, make_client


@pytest.fixture(autouse=True)
def _journal_per_test(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Each test (and every kernel or process it starts) gets a journal of its own: what one
    test uploaded must not be reused by the next."""
    path = tmp_path_factory.mktemp("journal") / "journal.sqlite3"
    monkeypatch.setenv("AUROUS_NB_JOURNAL", str(path))
    return path


@pytest.fixture
def client(aurous_sandbox: Sandbox) -> Iterator[AurousClient]:
    """A client of the (reset) session sandbox, with test-sized retry delays."""
    with make_client(aurous_sandbox) as c:
        yield c


@pytest.fixture
def strict_client(aurous_sandbox: Sandbox) -> Iterator[AurousClient]:
    """No retries: an injected fault surfaces as an error at once."""
    with make_client(aurous_sandbox, max_retries=0) as c:
        yield c


@pytest.fixture
def sandbox_api(aurous_sandbox: Sandbox) -> SandboxAPI:
    """A :class:`SandboxAPI` bound to the (reset) session sandbox."""
    return SandboxAPI(aurous_sandbox)


@pytest.fixture
def make_image() -> Callable[..., bytes]:
    """``make_image(width=24, height=32, fmt="PNG")`` -> bytes of a tiny real image."""
    return image_bytes


@pytest.fixture(autouse=True, scope="session")
def _ctrl_c_reaches_python() -> None:
    """A shell that starts pytest as a background job (``cmd &``) ignores SIGINT in it, so
    ``_thread.interrupt_main()`` and real Ctrl-C would do nothing; the interrupt tests need
    Python's default handler."""
    import signal
    import threading

    if (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    ):
        signal.signal(signal.SIGINT, signal.default_int_handler)
