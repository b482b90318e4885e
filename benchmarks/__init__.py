"""Benchmarks of aurous_nb's speed, weight and rate-limit claims (``python -m benchmarks``).

Every row is a ratio (or an absolute size) measured against a reference taken in the same
run, so it holds on a noisy machine. ``python -m benchmarks --quick`` runs every row with
smaller sizes (the CI smoke test); the full run rewrites ``BENCHMARKS.md``.
"""

from __future__ import annotations

ROW_NAMES = (
    "critical path",
    "vs. the docs' way",
    "bulk",
    "notebook weight",
    "memory",
    "import",
    "sandbox",
)
"""Every row ``python -m benchmarks`` prints, in order."""
