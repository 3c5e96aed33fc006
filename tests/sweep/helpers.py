"""Shared parts of the sweep tests: tiny grids and ``toy_train``, a trainer that fails on purpose the first time it
runs a seed (so retries and killed workers can be tested). Worker processes import it by its module path."""

from __future__ import annotations

import os
import pathlib
import signal
from dataclasses import dataclass

from course_lib.rl.evaluation import SolveTracker
from course_lib.rl.trainer import TrainResult
from course_lib.sweep import Grid, grid_from_dict, read_records, run_sweep

ROOT = pathlib.Path(__file__).resolve().parents[2]
TINY_AC = {"total_steps": 128, "num_envs": 2, "n_steps": 32, "minibatch_size": 32, "n_epochs": 1, "eval_episodes": 1}


def tiny_grid(seeds=(0, 1), **trainers) -> Grid:
    return Grid(
        trainers=trainers or {"ppo": {"lr": [1e-3]}, "a2c": {}}, envs=["CartPole-v1"], seeds=list(seeds), base=TINY_AC
    )


# ---- a trainer that fails on purpose ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToyConfig:
    env_id: str = "CartPole-v1"
    mode: str = "ok"  #: "ok", "raise_once", "kill_once" (SIGKILL its own process) or "always_raise"
    marker_dir: str = ""  #: where the first attempt of each seed leaves a file


def toy_train(config: ToyConfig, *, seed: int, device=None, callback=None) -> TrainResult:
    marker = pathlib.Path(config.marker_dir) / f"seed{seed}"
    if config.mode == "always_raise" or (config.mode != "ok" and not marker.exists()):
        marker.touch()
        if config.mode == "kill_once":
            os.kill(os.getpid(), signal.SIGKILL)
        raise RuntimeError(f"toy failure, seed {seed}")
    tracker = SolveTracker(threshold=1.0)
    for step in (10, 20):
        tracker.record(step, 0.01 * step, float(seed + step))
    return TrainResult(config=config, evaluations=tracker, train_seconds=0.2)


def ok_records(path) -> list[dict]:
    return [r for r in read_records(path) if r["status"] == "ok"]


def trials_of(**grid):
    """The trials of a one-trainer, one-env, one-seed grid with ``grid``'s keys changed."""
    return grid_from_dict({"trainers": {"ppo": {}}, "envs": ["CartPole-v1"], "seeds": [0], **grid}).trials()


def run_tiny(**kwargs):
    return run_sweep(tiny_grid(), "/nonexistent/never-written.jsonl", progress=False, **kwargs)
