"""Resumable seed and hyper-parameter sweeps, on a local process pool or on Ray.

A :class:`Grid` names trainers, config overrides (lists of values, crossed), environments and seeds;
:func:`run_sweep` runs each trial not yet in the results file and appends its record (config, seed,
environment, final return, learning curve, times, package versions, git commit) as it finishes.
:func:`summarize` gives the IQM with a bootstrap confidence interval per trainer and environment.
From a shell::

    python -m course_lib.sweep run grid.yaml --backend local --workers 2
    python -m course_lib.sweep run grid.yaml --backend ray --address auto
    python -m course_lib.sweep report grid.jsonl

Ray is optional (``pip install 'course_lib[sweep]'``) and only imported for ``backend="ray"``.
"""

from course_lib.sweep.grid import TRAINERS, Grid, Trial, grid_from_dict, load_grid, register_trainer
from course_lib.sweep.report import format_table, load_runs, score_bounds, summarize, write_figures
from course_lib.sweep.results import read_records
from course_lib.sweep.runner import run_sweep, run_trial

__all__ = [
    "Grid",
    "Trial",
    "TRAINERS",
    "register_trainer",
    "grid_from_dict",
    "load_grid",
    "run_sweep",
    "run_trial",
    "read_records",
    "summarize",
    "format_table",
    "load_runs",
    "score_bounds",
    "write_figures",
]
