"""``python -m course_lib.sweep run GRID [--results FILE] --backend local|ray [--address A] [--workers N]`` and
``python -m course_lib.sweep report RESULTS [--figures DIR]``."""

from __future__ import annotations

import argparse
import pathlib
import sys

from course_lib.sweep.grid import load_grid
from course_lib.sweep.report import format_table, summarize, write_figures
from course_lib.sweep.runner import BACKENDS, run_sweep


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.sweep", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run (or resume) a grid's trials")
    run.add_argument("grid", type=pathlib.Path, help="grid file, .yaml/.yml/.json")
    run.add_argument("--results", type=pathlib.Path, help="results file (default: GRID with suffix .jsonl)")
    run.add_argument("--backend", choices=BACKENDS, default="local")
    run.add_argument("--address", default=None, help="Ray: 'auto' or 'ray://host:10001' (default: start Ray here)")
    run.add_argument("--workers", type=int, default=None, help="parallel trials (default: the CPU cores)")
    run.add_argument("--max-retries", type=int, default=2, help="tries again after a trial fails (default 2)")
    report = sub.add_parser("report", help="print the summary table of a results file")
    report.add_argument("results", type=pathlib.Path)
    report.add_argument("--figures", type=pathlib.Path, default=None, help="also write the report's figures here")
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            results = args.results or args.grid.with_suffix(".jsonl")
            summary = run_sweep(
                load_grid(args.grid),
                results,
                backend=args.backend,
                workers=args.workers,
                address=args.address,
                max_retries=args.max_retries,
            )
            print(f"{results}: {summary}")
            return 1 if summary["failed"] else 0
        print(format_table(summarize(args.results)))
        if args.figures is not None:
            for path in write_figures(args.results, args.figures):
                print(f"wrote {path}")
        return 0
    except (TypeError, ValueError, ImportError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
