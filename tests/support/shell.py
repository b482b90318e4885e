"""A real IPython shell for the magics tests (imported by test_magics*.py, not collected).

Import ``ip_fixture`` and ``magics_fixture`` to get the ``ip`` and ``magics`` fixtures.

The shell is the process-wide InteractiveShell singleton (``IPython.display.display`` and
``capture_output`` talk to it), with its history in a temporary SQLite file that logs outputs
too, so tests can look for a key in everything IPython stores. Errors re-raise, as in
jupysql's ``_testing.TestingShell``.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import pytest
from IPython.core.interactiveshell import ExecutionResult, InteractiveShell
from traitlets.config import Config

from aurous_nb.magics import AurousMagics


class TestingShell(InteractiveShell):
    """``run_cell`` stores history and re-raises what the cell raised (``check=False`` not)."""

    __test__ = False  # not a test class

    def run_cell(self, raw_cell: str, *args: Any, check: bool = True, **kwargs: Any) -> Any:
        kwargs.setdefault("store_history", True)
        result: ExecutionResult = super().run_cell(raw_cell, *args, **kwargs)
        if check:
            result.raise_error()
        return result

    def history_text(self) -> str:
        """Everything in the history database (inputs, raw inputs, outputs) as one string."""
        self.history_manager.writeout_cache()
        path = self.history_manager.hist_file
        with closing(sqlite3.connect(os.fspath(path))) as db:
            rows = db.execute("SELECT source, source_raw FROM history").fetchall()
            rows += db.execute("SELECT output, '' FROM output_history").fetchall()
        return "\n".join(f"{a}\n{b}" for a, b in rows)


@pytest.fixture(name="ip", scope="module")
def ip_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestingShell]:
    """The test shell, with ``%load_ext aurous_nb`` done."""
    ipdir = tmp_path_factory.mktemp("ipython")
    config = Config()
    config.HistoryManager.hist_file = str(ipdir / "history.sqlite")
    config.HistoryManager.db_log_output = True
    config.HistoryManager.db_cache_size = 0
    InteractiveShell.clear_instance()
    shell = TestingShell.instance(config=config, ipython_dir=str(ipdir))
    shell.run_cell("%load_ext aurous_nb")
    try:
        yield shell
    finally:
        shell.run_cell("%unload_ext aurous_nb", check=False)
        shell.history_manager.end_session()
        TestingShell.clear_instance()


@pytest.fixture(name="magics")
def magics_fixture(ip: TestingShell, monkeypatch: pytest.MonkeyPatch) -> Iterator[AurousMagics]:
    """A freshly loaded AurousMagics for each test (no key, default options)."""
    monkeypatch.delenv("AUROUS_API_KEY", raising=False)
    monkeypatch.delenv("AUROUS_BASE_URL", raising=False)
    ip.config.pop("AurousMagics", None)  # %config of an earlier test lives in the shell's config
    ip.run_cell("%reload_ext aurous_nb", store_history=False)
    found = ip.magics_manager.registry["AurousMagics"]
    assert isinstance(found, AurousMagics)
    found.max_retries = 0  # a failure is final at once: tests stay fast
    yield found
    ip.run_cell("%aurous_key --clear", store_history=False, check=False)


def use_key(ip: TestingShell, sandbox: Any, key: str | None = None) -> None:
    """``%aurous_key $KEY --base-url <sandbox>`` with the key in a variable."""
    ip.user_ns["AUROUS_TEST_KEY"] = key or sandbox.api_key
    ip.run_cell(f"%aurous_key $AUROUS_TEST_KEY --base-url {sandbox.url}")


def api_requests(sandbox: Any) -> list[str]:
    """Route names of the requests the sandbox received (API, upload host, storage)."""
    return [r.route or r.path for r in sandbox.requests]
