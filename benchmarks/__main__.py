"""``python -m benchmarks [--quick] [--no-write] [--only NAME ...]``: run the rows, print the
table, and (full runs only, unless ``--no-write``) rewrite BENCHMARKS.md."""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable, Sequence

from . import (
    ROW_NAMES,
    browser,
    buckets,
    end_to_end,
    gallery,
    imports,
    memory,
    report,
    sandbox_list,
    sandbox_rps,
    weight,
)
from ._common import Config, Context, Row, first_line

Runner = Callable[[Config, Context], list[Row]]

#: each runner and the rows it produces (printed as `error` if the runner fails)
RUNNERS: list[tuple[Runner, tuple[str, ...]]] = [
    (end_to_end.run, ROW_NAMES[:5]),
    (memory.run, ("memory",)),
    (buckets.run, ROW_NAMES[6:11]),
    (sandbox_list.run, ("sandbox list",)),
    (sandbox_rps.run, ("sandbox rps",)),
    (browser.run, ("browser transfer",)),
    (gallery.run, ("gallery page",)),
    (weight.run, ("notebook weight",)),
    (imports.run, ("import",)),
]
assert tuple(n for _, names in RUNNERS for n in names) == ROW_NAMES


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, every row, about a minute (smoke test)"
    )
    parser.add_argument("--no-write", action="store_true", help="do not rewrite BENCHMARKS.md")
    parser.add_argument(
        "--only", nargs="+", metavar="ROW", help="run only the runners producing these rows"
    )
    args = parser.parse_args(argv)
    config = Config(quick=args.quick)
    context = Context(config)
    rows: list[Row] = []
    failed = False
    load_at_start = report.load_average()
    started = time.perf_counter()
    try:
        for runner, names in RUNNERS:
            if args.only and not any(n in args.only for n in names):
                continue
            print(f"... {', '.join(names)}", flush=True)
            t0 = time.perf_counter()
            try:
                produced = runner(config, context)
            except Exception as exc:
                failed = True
                traceback.print_exc()
                produced = [Row(n, "", "error", "", None, first_line(exc)) for n in names]
            for row in produced:
                row.seconds = time.perf_counter() - t0
            print(report.table(produced), flush=True)
            rows.extend(produced)
    finally:
        context.close()
    seconds = time.perf_counter() - started
    print()
    report.print_table(rows)
    print(f"\n{'quick' if config.quick else 'full'} run: {seconds:.0f} s", flush=True)
    if not args.no_write and not args.quick and not args.only:
        path = report.write(rows, quick=config.quick, seconds=seconds, load_at_start=load_at_start)
        print(f"wrote {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
