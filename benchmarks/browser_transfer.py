"""Row "browser transfer": files from the browser to the kernel, the uploader against
ipywidgets' ``FileUpload``, in a real JupyterLab / Notebook 7 driven through Chromium.

A throwaway Jupyter server (``tests/support/browser.py``) runs one notebook; for every run a
cell displays a fresh ``CharacterUploader`` (on a sandbox in this process, as the real API is
outside the kernel), a fresh
``FileUpload(multiple=True)`` and a label. Playwright opens one widget's file picker and
chooses the same phone photos (``tests/support/photos.py``). The clock starts when the files
are handed to the picker (the page's clock) and stops when the kernel has every byte: for the
uploader, when its last card leaves "receiving" (the bytes are in the spool; checking and
uploading run on after that), for ``FileUpload`` when its ``value`` holds every file. Both
times are epoch milliseconds on the same machine. Runs alternate between the two widgets;
the medians are compared. ``FileUpload`` sends a selection in one websocket message, so it
cannot take six 8 MB photos (over the server's 10 MiB limit): that size is measured for the
uploader alone, as MB/s.

``python -m benchmarks.browser_transfer [--quick]`` prints the numbers; :func:`run` gives the
harness its row. Without ``/usr/bin/chromium`` the row says so instead of measuring.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._common import MB, Config, Context, Row

TARGET = 1.0  # uploader / FileUpload, 6 × 1.4 MB
SMALL = ((2560, 1920), 90, 12)  # stored size, JPEG quality, grain: about 1.4 MB
LARGE = ((5712, 4284), 91, 14)  # about 8 MB (24 MP)

# The sandbox runs in the benchmark's own process, not in the kernel: the kernel then does
# what it does against the real API (check, send, classify), not the server's side as well.
SETUP = """\
import json, time
import ipywidgets as W
from IPython.display import display
from aurous_nb import AurousClient
from aurous_nb.widgets import CharacterUploader

client = AurousClient(api_key={key!r}, base_url={url!r})
print("ready")"""

# one run's widgets; {n} is the number of files the run sends. The last run's uploader is
# closed and its checks and uploads are let finish first, so that no run competes with the
# one before it for the kernel.
PAIR = """\
import threading
if "uploader" in globals():
    uploader.close()
_deadline = time.monotonic() + 30
while time.monotonic() < _deadline and any(
    t.name.startswith("aurous-") and not t.name.startswith("aurous-sandbox")
    for t in threading.enumerate()
):
    time.sleep(0.05)
times = {{}}
label = W.Label("")
label.add_class("bench-times-{run}")
uploader = CharacterUploader(client=client, name="Bench")
uploader.add_class("bench-uploader-{run}")
upload = W.FileUpload(multiple=True, accept="image/*")
upload.add_class("bench-fileupload-{run}")

def _stamp(name):
    if name not in times:
        times[name] = time.time() * 1000
        label.value = json.dumps(times)

def _cards(change):
    cards = change["new"]
    if len(cards) == {n} and all(c["state"] != "receiving" for c in cards):
        _stamp("uploader")

def _value(change):
    if len(change["new"]) == {n}:
        _stamp("fileupload")

uploader.dropzone.observe(_cards, names=["cards"])
upload.observe(_value, names=["value"])
display(uploader, upload, label)"""

# the page's clock, epoch milliseconds (the kernel's time.time() on the same machine)
_NOW = "() => performance.timeOrigin + performance.now()"


def _photos(folder: Path, count: int, spec: tuple[tuple[int, int], int, int]) -> list[Path]:
    from tests.support.photos import phone_jpeg

    size, quality, texture = spec
    folder.mkdir(parents=True, exist_ok=True)
    names = ("front", "side", "back", "portrait", "front_closeup", "side_left")
    return [
        phone_jpeg(
            folder / f"IMG_{names[i % 6]}_{i}.jpg",
            size=size,
            quality=quality,
            texture=texture,
            orientation=(1, 6, 3, 8)[i % 4],
            seed=100 + i,
        )
        for i in range(count)
    ]


def _one_run(page: Any, widget: str, files: list[Path], index: int) -> float:
    """Display a fresh pair of widgets (cell ``index``), send ``files`` through ``widget``."""
    from tests.support.browser import run_cell

    run_cell(page, index)
    page.locator(f".bench-times-{index}").wait_for(state="attached", timeout=60_000)
    page.locator(f".bench-uploader-{index} .aurous-drop").wait_for(timeout=60_000)
    # both widgets through their file picker (FileUpload's input is not in the page)
    button = (
        f".bench-uploader-{index} .aurous-drop"
        if widget == "uploader"
        else f".bench-fileupload-{index}"
    )
    with page.expect_file_chooser(timeout=10_000) as chooser:
        page.locator(button).click()
    start = page.evaluate(_NOW)
    chooser.value.set_files([str(p) for p in files])
    handle = page.wait_for_function(
        "([cls, name]) => { const l = document.querySelector(cls);"
        " const t = l && l.textContent ? JSON.parse(l.textContent) : {};"
        " return t[name] === undefined ? null : t[name]; }",
        arg=[f".bench-times-{index}", widget],
        timeout=180_000,
    )
    return float(handle.json_value()) - float(start)


def measure(
    kind: str,
    files: Sequence[Path],
    repeats: int = 3,
    *,
    fileupload: bool = True,
    browser: Any = None,
    state: Path | None = None,
) -> dict[str, Any]:
    """Send ``files`` ``repeats`` times through each widget in a fresh ``kind`` server.

    Args:
        kind: ``"lab"`` or ``"notebook"``.
        files: the photos (at most six: the uploader's limit).
        repeats: runs per widget; the runs alternate between the widgets.
        fileupload: also time ``FileUpload`` (not for a selection over 10 MiB).
        browser: a Playwright browser to use (default: Chromium launched here).
        state: where the server keeps its state (default: a temporary directory).

    Returns:
        ``{"uploader": [ms, ...], "fileupload": [ms, ...], "bytes": total}``.
    """
    from playwright.sync_api import sync_playwright

    from aurous_nb.sandbox import Sandbox
    from tests.support.browser import launch_chromium, open_notebook, start_jupyter, write_notebook

    files = list(files)
    with (
        tempfile.TemporaryDirectory(prefix="aurous-bench-browser-") as tmp,
        Sandbox(synth_seconds=0) as sandbox,
    ):
        root = Path(tmp) / "root"
        root.mkdir()
        widgets = ["uploader", "fileupload"] if fileupload else ["uploader"]
        plan = [w for _ in range(repeats) for w in widgets]
        setup = SETUP.format(key=sandbox.api_key, url=sandbox.url)
        cells = [setup] + [PAIR.format(n=len(files), run=i) for i, _ in enumerate(plan, 1)]
        write_notebook(root / "bench.ipynb", cells)
        server = start_jupyter(kind, root, state or Path(tmp) / "state")
        out: dict[str, Any] = {w: [] for w in widgets}
        out["bytes"] = sum(p.stat().st_size for p in files)
        with sync_playwright() as playwright:
            own = browser is None
            chromium = launch_chromium(playwright) if own else browser
            page = chromium.new_page(viewport={"width": 1280, "height": 900})
            page.on("filechooser", lambda _chooser: None)  # intercept choosers from the start
            try:
                open_notebook(page, server, "bench.ipynb")
                from tests.support.browser import run_cell, wait_for_cell_output

                run_cell(page, 0)
                wait_for_cell_output(page, 0, "ready", timeout_ms=60_000)
                for i, widget in enumerate(plan, 1):
                    out[widget].append(_one_run(page, widget, files, i))
            finally:
                page.close()
                if own:
                    chromium.close()
                server.stop()
    return out


MISSED = (
    "**Missed**: the uploader takes longer than FileUpload's single message for six 1.4 MB "
    "photos (tens of ms; the ratio moves between runs, see the row). The raw transfer alone "
    "favours the packed 4 MiB messages (113 ms against 154 ms for one message, see "
    "static/transfers.js), so the gap is on the kernel's side once the bytes are in. Part of "
    "it is JupyterLab 4.6's default of sending comm messages to a kernel subshell: with "
    "`commsOverSubshells` set to `disabled` the uploader took 187–188 ms against 236–242 ms "
    "(JupyterLab, medians of 3, two runs each, 2026-12-02), FileUpload about the same. The "
    "rest — each message written to the spool and acknowledged, the selection's files "
    "released together, the card redrawn out of 'receiving' — was not pinned down further. "
    "What would close it: check files as their last byte arrives without waiting for the "
    "rest of the selection, and acknowledge a message before its spool write; the uploader's "
    "reason to exist is what FileUpload cannot do at all (six 8 MB photos, past its 10 MiB "
    "message)."
)


def _summary(times: list[float]) -> str:
    return "/".join(f"{t:.0f}" for t in (min(times), statistics.median(times), max(times)))


def run(config: Config, context: Context) -> list[Row]:
    """The harness's row: the ratio in JupyterLab and Notebook 7, and the uploader's MB/s."""
    from tests.support.browser import CHROMIUM

    name, measure_text = "browser transfer", "uploader / FileUpload, 6 × 1.4 MB photos (time)"
    if not Path(CHROMIUM).exists():
        return [Row(name, measure_text, "skipped", f"≤ {TARGET}", None, f"no {CHROMIUM}")]
    repeats = 1 if config.quick else 3
    small = _photos(context.tmp / "browser-small", 6, SMALL)
    kinds = ["lab"] if config.quick else ["lab", "notebook"]
    ratios, details = {}, []
    for kind in kinds:
        result = measure(kind, small, repeats)
        ours, theirs = result["uploader"], result["fileupload"]
        ratios[kind] = statistics.median(ours) / statistics.median(theirs)
        details.append(
            f"{kind}: uploader {_summary(ours)} ms, FileUpload {_summary(theirs)} ms "
            f"(min/median/max, {result['bytes'] / MB:.1f} MB)"
        )
    notes = [
        "Clock: the files handed to the widget's file picker (the page's clock) to the kernel "
        "holding every byte "
        "(the uploader: its last card leaves 'receiving'; FileUpload: `value` holds every file); "
        f"{repeats} runs per widget, alternating, in a fresh server per front end.",
    ]
    if not config.quick:
        large = _photos(context.tmp / "browser-large", 6, LARGE)
        result = measure("lab", large, repeats, fileupload=False)
        seconds = statistics.median(result["uploader"]) / 1000
        rate = result["bytes"] / MB / seconds
        details.append(
            f"6 × 8 MB ({result['bytes'] / MB:.1f} MB) in JupyterLab: "
            f"{_summary(result['uploader'])} ms, {rate:.0f} MB/s (FileUpload cannot: over 10 MiB)"
        )
    worst = max(ratios.values())
    if worst > TARGET:
        notes.append(MISSED)
    value = " / ".join(f"{ratios[k]:.2f} ({'Lab' if k == 'lab' else 'NB7'})" for k in kinds)
    return [
        Row(name, measure_text, value, f"≤ {TARGET}", worst <= TARGET, "; ".join(details), notes)
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.browser_transfer")
    parser.add_argument("--quick", action="store_true", help="JupyterLab only, one run each")
    args = parser.parse_args(argv)
    config = Config(quick=args.quick)
    context = Context(config)
    started = time.perf_counter()
    try:
        (row,) = run(config, context)
    finally:
        context.close()
    print(f"{row.name}: {row.value} (target {row.target}, {row.verdict})")
    print(f"  {row.detail}")
    print(f"  {time.perf_counter() - started:.0f} s")
    return 0 if row.ok is not False else 1


if __name__ == "__main__":
    sys.exit(main())
