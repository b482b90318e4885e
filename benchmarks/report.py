"""The results table for the terminal, and BENCHMARKS.md (the machine, date, how to reproduce)."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from ._common import Row

BENCHMARKS_MD = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def load_average() -> str:
    try:
        return "{:.2f} / {:.2f} / {:.2f}".format(*os.getloadavg())
    except OSError:  # pragma: no cover
        return "unknown"


def machine(load_at_start: str = "") -> dict[str, str]:
    """CPU model, cores, Python, OS — the facts a reader needs to weigh the numbers."""
    cores = os.cpu_count() or 0
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        usable = cores
    load = f"load average {load_average()} (1/5/15 min) at the end"
    if load_at_start:
        load += f", {load_at_start} at the start"
    return {
        "CPU": cpu_model(),
        "cores": f"{usable}" + (f" (of {cores})" if usable != cores else ""),
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "OS": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "load": load,
    }


def table(rows: Sequence[Row]) -> str:
    """A plain-text table for the terminal."""
    head = ("row", "measured", "target", "result")
    body = [(r.name, r.value, r.target, r.verdict) for r in rows]
    widths = [max(len(x[i]) for x in (head, *body)) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(head, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for r, cells in zip(rows, body, strict=True):
        lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)))
        if r.detail:
            lines.append(" " * (widths[0] + 2) + r.detail)
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(rows: Sequence[Row], *, quick: bool, seconds: float, load_at_start: str = "") -> str:
    """The whole BENCHMARKS.md."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    facts = machine(load_at_start)
    out = [
        "# Benchmarks",
        "",
        "Measured by `python -m benchmarks` (this file is rewritten by every full run). Each",
        "row is a ratio to a reference measured side by side in the same run, so it holds on a",
        "noisy machine. The main reference is **the parallel peer** (`benchmarks/peer.py`): the",
        "upload flow as a competent user writes it with `requests.Session` and a thread pool",
        "(init, PUT and classify of every photo in parallel, then create). The documented",
        "sequence one call after another (`benchmarks/baseline.py`) is the second, weaker",
        "baseline. Other references: a bucket's ceiling, werkzeug's own server, `import",
        "ipywidgets`. Everything runs against the local sandbox; the photos come from the",
        "phone-photo factory (`tests/support/photos.py`: EXIF orientations, GPS, Display P3,",
        "progressive) and are made at run time.",
        "",
        "| row | what is measured | measured | target | result |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {_cell(r.name)} | {_cell(r.measure)} | **{_cell(r.value)}** | "
            f"{_cell(r.target)} | {r.verdict} |"
        )
    out += ["", "## The numbers behind each row", ""]
    for r in rows:
        out.append(f"### {r.name}")
        out.append("")
        if r.detail:
            out.append(f"{r.detail}.")
            out.append("")
        for note in r.notes:
            out.append(note)
            out.append("")
    out += [
        "## Machine",
        "",
        *[f"- {k}: {v}" for k, v in facts.items()],
        f"- date: {now}",
        f"- mode: {'quick' if quick else 'full'}, {seconds:.0f} s for the whole run",
        "",
        "## Reproduce",
        "",
        "```bash",
        'pip install -e ".[dev]"                  # nbclient + ipykernel: notebook weight',
        "python -m benchmarks                     # full run, rewrites this file",
        "python -m benchmarks --quick --no-write  # every row, small sizes, about a minute",
        'python -m benchmarks --only "sandbox list"  # one runner (rows are named as above)',
        "```",
        "",
        "Only public tools: the package, its `[dev]` extras (requests, werkzeug, Pillow,",
        "nbclient, ipykernel) and, for the browser row, Chromium. The sandbox, the bare",
        "werkzeug server and the load generator each run in their own process.",
        "",
        "`tests/system/test_benchmarks.py` runs the quick mode as a smoke test (exit status and",
        "row names only: no timing assertions in CI). A row that errors is printed as `error`",
        "and makes the run exit 1; a missed target does not.",
        "",
    ]
    return "\n".join(out)


def write(
    rows: Sequence[Row],
    *,
    quick: bool,
    seconds: float,
    load_at_start: str = "",
    path: Path = BENCHMARKS_MD,
) -> Path:
    text = markdown(rows, quick=quick, seconds=seconds, load_at_start=load_at_start)
    path.write_text(text, encoding="utf-8")
    return path


def print_table(rows: Sequence[Row], file: object = None) -> None:
    print(table(rows), file=file or sys.stdout, flush=True)  # type: ignore[arg-type]
