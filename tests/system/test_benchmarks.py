"""Smoke test of ``benchmarks/``: ``python -m benchmarks --quick --no-write`` runs every row.

No timing assertions — CI machines are noisy and the targets are checked by the full run
(BENCHMARKS.md). This only proves the benchmarks still run against the current code.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.environ import child_env

pytestmark = [pytest.mark.slow, pytest.mark.notebook]

REPO = Path(__file__).resolve().parents[2]
ROWS = (
    "end to end, 6 × 2 KB",
    "end to end, 6 × 1 MB",
    "end to end, 6 × 8 MB",
    "CPU per character",
    "vs. the docs' way",
    "memory",
    "bucket 60/30",
    "bucket 20/120",
    "bucket 12/6",
    "bucket 240/120",
    "two processes, one team",
    "sandbox list",
    "sandbox rps",
    "browser transfer",
    "notebook weight",
    "import",
)


def test_quick_mode_runs_every_row(tmp_path: Path) -> None:
    report = REPO / "BENCHMARKS.md"
    before = report.read_bytes() if report.exists() else None
    env = child_env()
    env["TMPDIR"] = str(tmp_path)  # the run's photos and notebooks go here, and must go away
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--no-write"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    out = proc.stdout
    assert proc.returncode == 0, out[-4000:] + proc.stderr[-4000:]
    summary = out.rsplit("\n\n", 2)[-2]  # the final table, before "quick run: N s"
    for name in ROWS:
        assert f"\n{name}  " in "\n" + summary, f"row {name!r} missing:\n{summary}"
    errored = [line for line in summary.splitlines() if line.rstrip().endswith(" error")]
    assert not errored, summary  # a runner that raised (a missed target is not an error)
    assert "quick run:" in out
    assert not list(tmp_path.glob("aurous-bench-*")), "temporary files left behind"
    assert (report.read_bytes() if report.exists() else None) == before  # --no-write
