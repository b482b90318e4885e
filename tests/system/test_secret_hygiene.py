"""Secret hygiene: after real runs, the API key appears nowhere (masked 14-character prefixes
are allowed).

Three sweeps, each counting what it scanned:

1. Every demo notebook (``notebooks/*.ipynb``; ``tests/notebooks`` if there are none) run
   top to bottom with nbclient, each in a kernel that records every sandbox key it makes,
   logs ``aurous_nb`` at DEBUG to a file and keeps its IPython history (with outputs) in
   SQLite. Scanned: the saved notebook (outputs and widget state), ``get_state()`` of every
   live widget, the history database, the DEBUG log, ``repr``/``str`` of every aurous_nb
   object alive in the kernel (models, clients, flows, refs, exceptions), and each sandbox's
   log of upload-host requests.
2. The browser test's artifacts (server logs, executed notebooks), when present, and a headless
   uploader and review widget driven to a created character: every synced state and every
   message sent to the browser.
3. In this process: the Python API and the magics through injected faults and failures, with
   DEBUG logs captured, every repr and exception text, the shell's history database, and
   the upload-host requests (no ``X-Api-Key``, no ``Authorization``, no key anywhere).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import comm
import nbformat
import pytest
from comm.base_comm import BaseComm
from nbclient import NotebookClient

from aurous_nb import errors as E
from aurous_nb import samples
from aurous_nb.client import AurousClient
from aurous_nb.flow import CharacterFlow
from aurous_nb.magics import AurousMagics
from aurous_nb.sandbox import Sandbox
from tests.support.environ import child_env
from tests.support.reliability import KEY_RE, write_refs
from tests.support.sandbox import make_client
from tests.support.shell import TestingShell, ip_fixture, magics_fixture, use_key  # noqa: F401
from tests.support.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
DEMOS = sorted((REPO / "notebooks").glob("*.ipynb"))
E2E = REPO / "tests" / "notebooks" / "magics_e2e.ipynb"

PRELUDE = """\
import logging as _hyg_logging, os as _hyg_os
import aurous_nb.sandbox as _hyg_sandbox
_hyg_keys = []
_hyg_start = _hyg_sandbox.Sandbox.start
def _hyg_recording_start(self, *args, **kwargs):
    if self.api_key not in _hyg_keys:
        _hyg_keys.append(self.api_key)
    return _hyg_start(self, *args, **kwargs)
_hyg_sandbox.Sandbox.start = _hyg_recording_start
_hyg_handler = _hyg_logging.FileHandler(_hyg_os.environ["AUROUS_HYGIENE_LOG"])
_hyg_handler.setLevel(_hyg_logging.DEBUG)
_hyg_handler.setFormatter(_hyg_logging.Formatter("%(name)s %(levelname)s %(message)s"))
_hyg_logging.getLogger("aurous_nb").addHandler(_hyg_handler)
_hyg_logging.getLogger("aurous_nb").setLevel(_hyg_logging.DEBUG)
"""

REPORT = """\
def _hyg_report():
    import gc, json, os
    from ipywidgets.widgets.widget import _instances
    from aurous_nb.sandbox import Sandbox

    def plain(value):
        if isinstance(value, memoryview):
            value = value.tobytes()
        if isinstance(value, (bytes, bytearray)):
            return bytes(value).decode("latin-1")
        return repr(value)

    out = {"keys": list(_hyg_keys), "widgets": [], "reprs": [], "uploads": []}
    for widget in list(_instances.values()):
        out["widgets"].append(json.dumps(widget.get_state(), default=plain))
    for obj in gc.get_objects():
        module = getattr(type(obj), "__module__", "")
        if not isinstance(module, str):
            continue
        if isinstance(obj, Sandbox):
            for r in obj.requests:
                if r.route == "upload":
                    entry = {"path": r.path, "query": r.query, "headers": dict(r.headers)}
                    out["uploads"].append(json.dumps(entry))
        elif module.startswith("aurous_nb") and not module.startswith("aurous_nb.sandbox"):
            for show in (repr, str):
                try:
                    out["reprs"].append(show(obj))
                except Exception as exc:
                    out["reprs"].append(f"<{show.__name__} failed: {type(exc).__name__}>")
    history = get_ipython().history_manager
    history.writeout_cache()
    out["history_file"] = str(history.hist_file)
    with open(os.environ["AUROUS_HYGIENE_REPORT"], "w") as f:
        json.dump(out, f)
_hyg_report()
"""

KERNEL_CONFIG = "c.HistoryManager.db_log_output = True  # outputs go into the database too\n"


def scan_journal(scan: Scan, journal: Path) -> None:
    """The journal's files (the database and its WAL): no key, and no signed upload URL."""
    files = [p for p in journal.parent.glob(journal.name + "*") if p.is_file()]
    assert files, f"no journal was written at {journal}"
    for path in files:
        data = path.read_bytes()
        scan.text("journal files", data.decode("latin-1"))
        for credential in (b"signature=", b"/_upload/", b"token="):
            if credential in data:
                scan.leaks.append(f"journal files: {credential.decode()} in {path.name}")


class Scan:
    """Counts what was scanned and every place a key was found."""

    def __init__(self, keys: set[str]) -> None:
        self.keys = {k for k in keys if k}
        self.counts: Counter[str] = Counter()
        self.leaks: list[str] = []

    def text(self, what: str, text: str, *, n: int = 1) -> None:
        self.counts[what] += n
        self.counts["bytes"] += len(text)
        found = [k[:14] + "…" for k in self.keys if k in text]
        found += [m[:14] + "… (pattern)" for m in KEY_RE.findall(text) if m not in self.keys]
        self.leaks += [f"{what}: {k}" for k in found]

    def report(self, title: str) -> str:
        parts = ", ".join(f"{n} {what}" for what, n in sorted(self.counts.items()))
        return f"{title}: scanned {parts}; leaks: {len(self.leaks)}"


def history_text(path: Path) -> tuple[str, int]:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        rows = db.execute("SELECT source, source_raw FROM history").fetchall()
        rows += db.execute("SELECT output, '' FROM output_history").fetchall()
    return "\n".join(f"{a}\n{b}" for a, b in rows), len(rows)


# ---- 1. the demo notebooks, each in a real kernel ----------------------------------------------


def _run_notebook(path: Path, tmp: Path, extra_env: dict[str, str]) -> tuple[Any, dict[str, Any]]:
    ipdir = tmp / "ipython"
    (ipdir / "profile_default").mkdir(parents=True)
    (ipdir / "profile_default" / "ipython_kernel_config.py").write_text(KERNEL_CONFIG)
    env = child_env()
    env.update(
        IPYTHONDIR=str(ipdir),
        AUROUS_HYGIENE_LOG=str(tmp / "debug.log"),
        AUROUS_HYGIENE_REPORT=str(tmp / "report.json"),
        **extra_env,
    )
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(PRELUDE))
    nb.cells.append(nbformat.v4.new_code_cell(REPORT))
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,  # a failing demo is test_notebooks' business; scan what it left
        ipython_hist_file=str(tmp / "history.sqlite"),  # nbclient's default is :memory:
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute(env=env)
    probe = nb.cells.pop()
    nb.cells.pop(0)
    failed = [o for o in probe.outputs if o.output_type == "error"]
    assert not failed, f"{path.name}: the report cell failed: {failed[0].evalue}"
    report = json.loads((tmp / "report.json").read_text())
    return nb, report


@pytest.mark.notebook
@pytest.mark.slow
def test_no_key_after_running_every_notebook(
    tmp_path: Path,
    aurous_sandbox: Sandbox,
    capsys: pytest.CaptureFixture[str],
    _journal_per_test: Path,
) -> None:
    runs = [(p, {}) for p in DEMOS] or [
        (E2E, {"AUROUS_E2E_KEY": aurous_sandbox.api_key, "AUROUS_BASE_URL": aurous_sandbox.url})
    ]
    scan = Scan({aurous_sandbox.api_key})
    started = time.monotonic()
    for path, env in runs:
        tmp = tmp_path / path.stem
        nb, report = _run_notebook(path, tmp, env)
        scan.keys |= set(report["keys"])
        saved = tmp / path.name
        nbformat.write(nb, saved)
        scan.text("notebook files", saved.read_text(encoding="utf-8"))
        for state in report["widgets"]:
            scan.text("widget states", state)
        scan.text("saved widget states", json.dumps(nb.metadata.get("widgets", {})))
        history, rows = history_text(Path(report["history_file"]))
        scan.text("history rows", history, n=rows)
        log = (tmp / "debug.log").read_text(encoding="utf-8")
        scan.text("DEBUG log lines", log, n=log.count("\n"))
        for shown in report["reprs"]:
            scan.text("reprs and exception texts", shown)
        for request in report["uploads"]:
            scan.text("upload-host requests", request)
            assert '"X-Api-Key"' not in request and '"Authorization"' not in request
    # the sweep saw real traffic: it would pass vacuously otherwise
    assert len(scan.keys) >= len(runs) and scan.counts["upload-host requests"] >= 10
    assert scan.counts["DEBUG log lines"] >= 20 and scan.counts["history rows"] >= 10
    assert scan.counts["widget states"] >= 5 and scan.counts["reprs and exception texts"] >= 20
    with capsys.disabled():
        scan_journal(scan, _journal_per_test)
        print(f"\n{scan.report(f'{len(runs)} notebooks ({time.monotonic() - started:.0f} s)')}")
    assert scan.leaks == []


# ---- 2. the browser test's artifacts, and headless widgets -----------------------------------


class RecordingComm(BaseComm):
    """A comm with no kernel behind it that keeps what a widget sends to the browser."""

    def publish_msg(
        self, msg_type: str, data: Any = None, metadata: Any = None, **keys: Any
    ) -> None:
        sent = getattr(self, "sent", [])
        buffers = [bytes(b).decode("latin-1") for b in keys.get("buffers") or []]
        sent.append(json.dumps([msg_type, data, buffers], default=repr))
        self.sent = sent


@pytest.fixture
def comms(monkeypatch: pytest.MonkeyPatch) -> list[RecordingComm]:
    made: list[RecordingComm] = []

    def create(**kwargs: Any) -> RecordingComm:
        c = RecordingComm(**kwargs)
        made.append(c)
        return c

    monkeypatch.setattr(comm, "create_comm", create)
    return made


def _wait(predicate: Any, what: str, timeout: float = 20.0) -> None:
    wait_for(predicate, timeout, what)


@pytest.mark.slow
def test_no_key_in_browser_artifacts_or_widget_state(
    aurous_sandbox: Sandbox,
    comms: list[RecordingComm],
    capsys: pytest.CaptureFixture[str],
) -> None:
    from ipywidgets.widgets.widget import _instances

    from aurous_nb.widgets import CharacterUploader, SynthesisReview

    scan = Scan({aurous_sandbox.api_key})
    artifacts = Path(os.environ.get("AUROUS_TEST_ARTIFACTS", REPO / "test-artifacts"))
    for path in sorted(artifacts.rglob("*")) if artifacts.is_dir() else []:
        if path.is_file() and path.suffix in {".log", ".ipynb", ".txt", ".html", ".json"}:
            scan.text("browser artifacts", path.read_text(encoding="utf-8", errors="replace"))

    client = make_client(aurous_sandbox)
    uploader = CharacterUploader(client=client, name="Hygiene")
    review = None
    try:
        uploader.add(*samples.paths())
        _wait(lambda: uploader.flow.refs and all(r.done for r in uploader.flow.refs), "refs")
        uploader.create()
        _wait(lambda: uploader.status == "created" or uploader.error, "create")
        assert uploader.error == "" and uploader.character is not None
        nova = client.create_character("Nova", generate=True, attributes={"age": 30})
        review = SynthesisReview(nova, client=client, poll=0.05)
        _wait(lambda: review.character.status != "synthesizing", "synthesis")
        review.save()
        _wait(lambda: review.character.status == "ready", "save")
        for widget in list(_instances.values()):
            scan.text("widget states", json.dumps(widget.get_state(), default=repr))
        for c in comms:
            for message in getattr(c, "sent", []):
                scan.text("messages to the browser", message)
        scan.text("widget reprs", repr(uploader) + repr(review) + repr(uploader.character))
    finally:
        uploader.close()
        if review is not None:
            review.close()
        client.close()
    assert scan.counts["widget states"] >= 5 and scan.counts["messages to the browser"] >= 5
    with capsys.disabled():
        print(f"\n{scan.report('browser artifacts and headless widgets')}")
    assert scan.leaks == []


# ---- 3. the Python API and the magics, in this process ----------------------------------------


def test_no_key_in_logs_reprs_errors_history_or_upload_requests(
    aurous_sandbox: Sandbox,
    ip: TestingShell,
    magics: AurousMagics,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    _journal_per_test: Path,
) -> None:
    sandbox = aurous_sandbox
    key = sandbox.api_key
    scan = Scan({key})
    shown: list[Any] = []
    errors: list[BaseException] = []
    caplog.set_level(logging.DEBUG, logger="aurous_nb")

    # a flow through 5xx, drops, 429, an expired URL and a lost create response
    client = make_client(sandbox, max_retries=6, timeout=1.0)
    shown.append(client)
    for status in (500, 502, 503):
        sandbox.inject("*", status=status, times=2)
    sandbox.inject("*", status=429, times=2, retry_after=0)
    sandbox.inject("*", drop=True, times=2)
    sandbox.inject("create", latency_ms=1300, times=1)
    flow = CharacterFlow(client, "Secretive", write_refs(tmp_path, ["front", "side", "back"]))
    jumped: list[float] = []

    def expire_once(event: Any) -> None:
        if event.state == "minted" and not jumped:
            jumped.append(sandbox.advance(16 * 60))  # that URL expires before its PUT

    flow.subscribe(expire_once)
    character = flow.run_sync()
    shown += [flow, character, *flow.refs, *(r.ticket for r in flow.refs)]
    shown += [*(r.image for r in flow.refs), client.team(), client.balance()]
    shown += [client.list_characters(), client.rate_limiter, client.session.headers]
    # failures of every kind, each kept for its text
    bad_calls = [
        lambda: make_client(sandbox, api_key="al_live_" + "0" * 64, max_retries=0).team(),
        lambda: AurousClient(api_key=key[:-1] + "!", base_url=sandbox.url),
        lambda: AurousClient(api_key=key, base_url="ftp://nowhere"),
        lambda: make_client(sandbox, max_retries=0).get_character("char_nope"),
        lambda: CharacterFlow(
            make_client(sandbox, api_key=sandbox.add_key(scope="read"), max_retries=0),
            "Reader",
            write_refs(tmp_path / "r", ["front"]),
        ).run_sync(),
        lambda: AurousClient(api_key=key, base_url="http://127.0.0.1:9", max_retries=1).team(),
        lambda: client.create_character("", upload_ids=["upl_x"]),
    ]
    sandbox.inject("get", status=503, times=10)
    bad_calls.append(lambda: make_client(sandbox, max_retries=1).get_character(character.id))
    for call in bad_calls:
        try:
            call()
        except E.AurousError as exc:
            errors.append(exc)
    sandbox.clear_faults()
    assert len(errors) == len(bad_calls)

    # the magics: a key from a variable, a cell, a failure, the status
    use_key(ip, sandbox)
    ip.user_ns["refs"] = [str(p) for p in samples.paths()[:2]]
    ip.run_cell('%%aurous_character "Hush" --out hush\n{refs}')
    ip.run_cell('%%aurous_character "Hush2"\n{refs}\nhaircolor: x', check=False)
    ip.run_cell("%aurous_key --status")
    ip.run_cell("hush")
    shown += [magics.client, ip.user_ns["hush"]]

    for obj in shown:
        scan.text("reprs", f"{obj!r} {obj}")
    for exc in errors:
        scan.text("exception texts", f"{exc!r} {exc} {exc.__cause__!r} {exc.__context__!r}")
    for record in caplog.records:
        scan.text("DEBUG log records", record.getMessage() + " " + repr(record.args))
    history = ip.history_text()
    scan.text("history rows", history, n=history.count("\n") // 2)
    uploads = [r for r in sandbox.requests if r.route == "upload"]
    for r in uploads:
        assert "X-Api-Key" not in r.headers and "Authorization" not in r.headers
        scan.text("upload-host requests", json.dumps([r.path, r.query, dict(r.headers)]))
    out = capsys.readouterr()
    scan.text("captured output", out.out + out.err)

    assert sum(r.fault is not None for r in sandbox.requests) >= 5  # the faults really fired
    assert any("retrying" in r.getMessage() for r in caplog.records)
    assert len(uploads) >= 5 and scan.counts["DEBUG log records"] >= 20
    scan_journal(scan, _journal_per_test)
    with capsys.disabled():
        print(f"\n{scan.report('python API and magics in-process')}")
    sys.stdout.flush()
    assert scan.leaks == []


def test_the_scan_finds_a_planted_key() -> None:
    """The scanner itself works: a key in any of the forms above is found, a masked one not."""
    key = "al_live_" + "ab" * 32
    scan = Scan({key})
    scan.text("planted", f"x-api-key: {key}")
    scan.text("masked", f"key {key[:14]}… OK")
    scan.text("other", "al_live_" + "cd" * 32)
    assert scan.leaks == ["planted: al_live_ababab…", "other: al_live_cdcdcd… (pattern)"]


@pytest.fixture(autouse=True)
def _no_env_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("AUROUS_API_KEY", raising=False)
    monkeypatch.delenv("AUROUS_BASE_URL", raising=False)
    yield
