"""Benchmarks of aurous_nb's speed, weight and rate-limit claims (``python -m benchmarks``).

Every row is a ratio (or an absolute size) measured against a reference taken in the same
run, so it holds on a noisy machine; the first reference is the parallel peer
(``benchmarks/peer.py``), what a competent user writes with requests and a thread pool.
``python -m benchmarks --quick`` runs every row with smaller sizes (the CI smoke test); the
full run rewrites ``BENCHMARKS.md``.
"""

from __future__ import annotations

ROW_NAMES = (
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
    "gallery page",
    "notebook weight",
    "import",
)
"""Every row ``python -m benchmarks`` prints, in order."""
