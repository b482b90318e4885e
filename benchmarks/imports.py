"""Row "import": ``import aurous_nb`` + ``%load_ext aurous_nb`` against ``import ipywidgets``.

Each timing runs in a fresh Python process that first imports what a Jupyter kernel has
already loaded (``ipykernel.ipkernel``, an IPython shell), so only the statement's own
cost is timed. The two statements alternate; the median of each is kept. The child also
reports which heavy modules the statement pulled in (they must load lazily).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

from ._common import Config, Context, Row, subprocess_env

TARGET = 1.5
HEAVY = (
    "PIL",
    "werkzeug",
    "requests",
    "ipywidgets",
    "anywidget",
    "numpy",
    "aurous_nb.client._client",  # AurousClient and its transport (the configuration is light)
    "aurous_nb.sandbox",
    "aurous_nb.widgets",
    "aurous_nb.flow",
)
"""Modules ``import aurous_nb`` + ``%load_ext`` should not load (only on first use)."""

STATEMENTS = {
    "ours": 'import aurous_nb\nshell.run_line_magic("load_ext", "aurous_nb")',
    "ipywidgets": "import ipywidgets",
}

CHILD = """
import json, sys, time
import ipykernel.ipkernel  # loaded in every kernel before the first cell runs
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
before = set(sys.modules)
started = time.perf_counter()
exec(compile(sys.argv[1], "<timed>", "exec"))
seconds = time.perf_counter() - started
heavy = [m for m in json.loads(sys.argv[2]) if m in sys.modules and m not in before]
print(json.dumps({"seconds": seconds, "new": len(set(sys.modules) - before), "heavy": heavy}))
"""


def _time(statement: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, statement, json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        cwd=Path(__file__).resolve().parent.parent,
        timeout=120,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"timing {statement!r} failed: {out.stderr.strip()[-400:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run(config: Config, context: Context) -> list[Row]:
    results: dict[str, list[dict]] = {name: [] for name in STATEMENTS}
    for _ in range(config.import_repeats):
        for name, statement in STATEMENTS.items():
            results[name].append(_time(statement))
    ours = statistics.median(r["seconds"] for r in results["ours"])
    widgets = statistics.median(r["seconds"] for r in results["ipywidgets"])
    heavy = sorted({m for r in results["ours"] for m in r["heavy"]})
    ratio = ours / widgets
    loaded = ", ".join(heavy) if heavy else "none"
    return [
        Row(
            name="import",
            measure=(
                "`import aurous_nb` + `%load_ext aurous_nb` / `import ipywidgets` (fresh "
                f"kernel-like processes, median of {config.import_repeats}); heavy modules "
                "loaded by it"
            ),
            value=f"{ratio:.2f}; heavy: {loaded}",
            target=f"≤ {TARGET}; lazy",
            ok=ratio <= TARGET and not heavy,
            detail=(
                f"ours {ours * 1000:.1f} ms ({results['ours'][0]['new']} new modules) vs "
                f"ipywidgets {widgets * 1000:.1f} ms ({results['ipywidgets'][0]['new']})"
            ),
            notes=[
                "Checked not to be in `sys.modules` afterwards: " + ", ".join(HEAVY) + ". "
                "They load on first use: Pillow at the first local image check, requests "
                "with the first client, werkzeug when a sandbox starts, ipywidgets and "
                "anywidget with the first widget.",
            ],
        )
    ]
