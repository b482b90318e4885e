"""Row "browser transfer": the uploader's browser → kernel transfer against ``FileUpload``.

The measurement lives in ``benchmarks/browser_transfer.py``: it drives Chromium through
JupyterLab and Notebook 7 (``tests/support/browser.py`` starts them) and returns what it
measured. This runner only turns that into the row, and says why when it cannot:

- Chromium is not installed (``/usr/bin/chromium``): the row says "skipped";
- ``browser_transfer.py`` is not in the tree yet: the row says "not measured yet".

Contract: ``browser_transfer.run(config, context)`` returns the row (``list[Row]``, named
``"browser transfer"``), like every other runner here.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from ._common import Config, Context, Row

NAME = "browser transfer"
CHROMIUM = Path("/usr/bin/chromium")
MEASURE = (
    "uploader / ipywidgets' `FileUpload`, browser → kernel time for 6 × 1.4 MB in JupyterLab and "
    "Notebook 7; MB/s for 6 × 8 MB"
)
TARGET = "≤ 1.0 in each; report"


def _not_run(value: str, why: str) -> list[Row]:
    return [Row(NAME, MEASURE, value, TARGET, None, why)]


def run(config: Config, context: Context) -> list[Row]:
    if importlib.util.find_spec(f"{__package__}.browser_transfer") is None:
        return _not_run("not measured yet", "benchmarks/browser_transfer.py is not there yet")
    if not CHROMIUM.exists():
        return _not_run("skipped", f"Chromium not found at {CHROMIUM}; this row needs a browser")
    module = importlib.import_module(f"{__package__}.browser_transfer")
    rows: list[Row] = module.run(config, context)
    return rows
