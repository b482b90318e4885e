"""CI: install what Binder would, from binder/requirements.txt alone, and run the quickstart.

repo2docker (what mybinder.org builds with) ignores the repository root's packaging files
once a binder/ folder exists and runs ``pip install -r binder/requirements.txt`` from the
repository root. This script does the same in a fresh virtual environment, then executes
notebooks/01_quickstart.ipynb in a kernel of that environment with nbclient and fails on any
error output. Nothing from the development environment is used.

Usage: python .ci/binder_check.py [--venv DIR] [--notebook PATH]   (exit 0 = OK)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Runs with the Binder environment's Python: execute one notebook, report every error.
EXECUTE = r"""
import sys, time
import nbformat
from nbclient import NotebookClient

path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
client = NotebookClient(nb, timeout=180, kernel_name="python3",
                        resources={"metadata": {"path": sys.argv[2]}})
started = time.monotonic()
try:
    client.execute()
finally:
    bad = [(i, o.get("ename") or o.get("name"), (o.get("evalue") or o.get("text", ""))[:300])
           for i, c in enumerate(nb.cells) if c.cell_type == "code"
           for o in c.get("outputs", [])
           if o.output_type == "error" or (o.output_type == "stream" and o.name == "stderr")]
    for cell, kind, text in bad:
        print(f"cell {cell}: {kind}: {text}", file=sys.stderr)
print(f"{path}: executed in {time.monotonic() - started:.1f} s, "
      f"{len(nbformat.writes(nb)) / 1024:.0f} KiB with outputs")
sys.exit(1 if bad else 0)
"""


def run(cmd: list[str], **kwargs: object) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kwargs)  # type: ignore[call-overload]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=ROOT / ".ci-binder-venv")
    parser.add_argument("--notebook", type=Path, default=ROOT / "notebooks/01_quickstart.ipynb")
    args = parser.parse_args(argv)

    started = time.monotonic()
    shutil.rmtree(args.venv, ignore_errors=True)
    # venv uses the base interpreter even when this script runs inside another venv
    venv.EnvBuilder(with_pip=True, clear=True).create(args.venv)
    python = str(args.venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = f"{args.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    for name in ("AUROUS_API_KEY", "AUROUS_BASE_URL"):  # Binder has no secret
        env.pop(name, None)
    # exactly repo2docker's step: from the repository root (relative paths resolve there)
    run([python, "-m", "pip", "install", "-q", "-r", "binder/requirements.txt"], cwd=ROOT, env=env)
    print(f"binder environment built in {time.monotonic() - started:.0f} s", flush=True)

    with tempfile.TemporaryDirectory() as data_dir:
        # only this environment's kernelspec, none from the user's or the system's folders
        env["JUPYTER_DATA_DIR"] = data_dir
        env["JUPYTER_PREFER_ENV_PATH"] = "1"
        notebook = args.notebook.resolve()
        result = subprocess.run(
            [python, "-c", EXECUTE, str(notebook), str(notebook.parent)],
            cwd=data_dir,  # not the repository: the package must come from the install
            env=env,
            check=False,
        )
    if result.returncode:
        print(f"binder check FAILED: {notebook.name} did not run clean", file=sys.stderr)
        return 1
    print(f"binder check OK in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
