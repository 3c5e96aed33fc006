"""Sweep throughput (issue 14): trials per minute with 1 and 2 workers, on the local pool and on Ray.

    .venv/bin/python bench/sweep_scaling.py [--trials 16] [--steps 4096]

Each trial is a short PPO run on CartPole-v1 (``--steps`` environment steps, one evaluation episode),
the same for every setting. For each backend and worker count the script runs the whole sweep into a
fresh results file and reports
* trials per minute of wall time (Ray's start-up included, as a user waits for it);
* the mean seconds a trial spent inside its worker (``wall_seconds`` of the records);
* the per-trial overhead: wall time x workers / trials minus that mean, i.e. what each trial cost
  beyond its own work (process start, imports, scheduling, writing the record).
Not a test: numbers are printed, not asserted. Ray is optional (``pip install ray``); without it the
Ray rows are skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")

from course_lib.sweep import Grid, read_records, run_sweep  # noqa: E402


def measure(backend: str, workers: int, grid: Grid, folder: Path) -> dict:
    path = folder / f"{backend}-{workers}.jsonl"
    t0 = time.perf_counter()
    summary = run_sweep(grid, path, backend=backend, workers=workers, progress=False)
    wall = time.perf_counter() - t0
    if backend == "ray":
        import ray

        ray.shutdown()
    records = [r for r in read_records(path) if r["status"] == "ok"]
    inside = statistics.mean(r["wall_seconds"] for r in records)
    n = summary["trials"]
    return {
        "backend": backend,
        "workers": workers,
        "trials": n,
        "ok": len(records),
        "wall_s": round(wall, 1),
        "trials_per_min": round(60 * n / wall, 1),
        "mean_trial_s": round(inside, 2),
        "overhead_per_trial_s": round(wall * workers / n - inside, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--steps", type=int, default=4096)
    args = parser.parse_args()
    base = {"total_steps": args.steps, "num_envs": 4, "n_steps": 128, "minibatch_size": 128, "eval_episodes": 1}
    grid = Grid(trainers={"ppo": {}}, envs=["CartPole-v1"], seeds=list(range(args.trials)), base=base)
    try:
        import ray  # noqa: F401

        backends = ("local", "ray")
    except ImportError:
        backends = ("local",)
        print("Ray is not installed: local rows only")
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            for workers in (1, 2):
                print(json.dumps(measure(backend, workers, grid, Path(tmp))), flush=True)


if __name__ == "__main__":
    main()
