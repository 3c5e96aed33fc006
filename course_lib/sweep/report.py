"""Summarise a results file: per trainer, environment and overrides, the final returns' mean and IQM with a
bootstrap confidence interval (:mod:`course_lib.stats`; Agarwal et al., 2021); the runs as arrays
(:func:`load_runs`), each environment's score range (:func:`score_bounds`) and the report's figures
(:func:`write_figures`)."""

from __future__ import annotations

import json
import math
import os
import pathlib

import numpy as np

from course_lib.seeding import torch_generator
from course_lib.stats import bootstrap_ci
from course_lib.sweep.results import read_records, trial_status

__all__ = ["summarize", "format_table", "load_runs", "score_bounds", "write_figures"]


def summarize(results: str | os.PathLike, *, confidence: float = 0.95, seed: int = 0) -> list[dict]:
    """One row per (trainer, env, overrides): ``n`` finished trials, ``failed`` trials (no ok record), and the
    final return's ``mean``, ``iqm``, ``iqm_low``, ``iqm_high`` (``nan`` bounds with fewer than 2 runs).

    A trial recorded ok more than once (two drivers on one file) counts once, with its first record.
    """
    records = read_records(results)
    if not records:
        raise ValueError(f"results file {results} holds no records")
    done, _ = trial_status(records)
    groups: dict[tuple, dict] = {}
    seen = set()
    for r in records:
        key = (r["trainer"], r["env_id"], json.dumps(r["overrides"], sort_keys=True))
        g = groups.setdefault(key, {"scores": [], "trials": set()})
        g["trials"].add(r["trial_id"])
        if r.get("status") == "ok" and r["trial_id"] not in seen:
            seen.add(r["trial_id"])
            score = r["metrics"]["final_return"]
            g["scores"].append((int(r["seed"]), math.nan if score is None else score))
    rows = []
    for (trainer, env, overrides), g in groups.items():
        scores = np.asarray([score for _, score in sorted(g["scores"])], dtype=float)  # by seed, as load_runs
        row = {"trainer": trainer, "env_id": env, "overrides": overrides, "n": len(scores)}
        row["failed"] = len(g["trials"] - done)
        if len(scores) == 0:
            row.update(mean=math.nan, iqm=math.nan, iqm_low=math.nan, iqm_high=math.nan)
        elif len(scores) == 1:
            row.update(mean=scores[0], iqm=scores[0], iqm_low=math.nan, iqm_high=math.nan)
        else:
            est, lo, hi = bootstrap_ci(scores, confidence=confidence, seed=seed)
            row.update(mean=float(scores.mean()), iqm=est, iqm_low=lo, iqm_high=hi)
        rows.append(row)
    return rows


def format_table(rows: list[dict]) -> str:
    """The rows of :func:`summarize` as a plain-text table."""
    header = ("trainer", "env", "overrides", "n", "failed", "mean", "IQM", "95% CI")
    lines = [header]
    for r in rows:
        ci = "" if math.isnan(r["iqm_low"]) else f"[{r['iqm_low']:.1f}, {r['iqm_high']:.1f}]"
        overrides = "" if r["overrides"] == "{}" else r["overrides"]
        lines.append(
            (
                r["trainer"],
                r["env_id"],
                overrides,
                str(r["n"]),
                str(r["failed"]),
                f"{r['mean']:.1f}",
                f"{r['iqm']:.1f}",
                ci,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def _label(trainer: str, overrides: dict) -> str:
    return trainer if not overrides else f"{trainer} {json.dumps(overrides, sort_keys=True)}"


def load_runs(results: str | os.PathLike) -> dict[str, dict[str, dict]]:
    """The finished trials of a results file as arrays: ``runs[algorithm][env_id]`` is a dict with

    * ``seeds`` ``(runs,)``, sorted; ``final`` ``(runs,)``: the final evaluation return of each seed;
    * ``steps`` ``(points,)`` and ``curves`` ``(runs, points)``: the evaluation returns during training,
      or ``None`` where the seeds were evaluated at different steps.

    ``algorithm`` is the trainer name, followed by its overrides when it has any. A trial recorded ok
    more than once counts once, with its first record; failed trials are left out (see :func:`summarize`).
    """
    records = read_records(results)
    if not records:
        raise ValueError(f"results file {results} holds no records")
    found: dict[str, dict[str, dict[int, dict]]] = {}
    for r in records:
        if r.get("status") != "ok":
            continue
        by_seed = found.setdefault(_label(r["trainer"], r["overrides"]), {}).setdefault(r["env_id"], {})
        by_seed.setdefault(int(r["seed"]), r["metrics"])
    runs: dict[str, dict[str, dict]] = {}
    for algo, by_env in found.items():
        for env, by_seed in by_env.items():
            seeds = sorted(by_seed)
            final = np.array(
                [math.nan if by_seed[s]["final_return"] is None else by_seed[s]["final_return"] for s in seeds]
            )
            steps = [tuple(by_seed[s]["curve"]["steps"]) for s in seeds]
            same = len(set(steps)) == 1 and len(steps[0]) > 0
            runs.setdefault(algo, {})[env] = {
                "seeds": np.array(seeds),
                "final": final,
                "steps": np.array(steps[0]) if same else None,
                "curves": np.array([by_seed[s]["curve"]["scores"] for s in seeds], dtype=float) if same else None,
            }
    return runs


def score_bounds(env_ids, *, episodes: int = 100, seed: int = 0) -> dict[str, tuple[float, float]]:
    """Each environment's score range for normalising: ``(low, high)`` = (the mean return of a uniformly random
    policy over ``episodes`` seeded episodes, the env's registered ``reward_threshold``, its "solved" return).

    A normalised score of 0 is the random policy, 1 is "solved" (:func:`course_lib.stats.normalized_scores`).
    """
    import gymnasium as gym
    import torch

    from course_lib.rl.evaluation import evaluate

    bounds = {}
    for env_id in env_ids:
        threshold = gym.spec(env_id).reward_threshold
        if threshold is None:
            raise ValueError(f"env_ids: {env_id!r} has no registered reward_threshold to normalise with")
        probe = gym.make(env_id)
        n = probe.action_space.n
        probe.close()
        g = torch_generator(seed)

        def act(obs, n=n, g=g):
            return torch.randint(n, (obs.shape[0],), generator=g)

        random_return = float(evaluate(act, env_id, episodes, seed=seed).mean())
        bounds[env_id] = (random_return, float(threshold))
    return bounds


def write_figures(results: str | os.PathLike, out_dir: str | os.PathLike, *, seed: int = 0) -> list[pathlib.Path]:
    """The report's three figures, as PNG files in ``out_dir``: final scores (IQM with 95% stratified-bootstrap
    intervals), performance profiles, and sample-efficiency curves. Returns the paths written."""
    from course_lib import plotting

    runs = load_runs(results)
    envs = sorted({env for by_env in runs.values() for env in by_env})
    bounds = score_bounds(envs)
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plotting.use_course_style()
    written = []
    for name, draw in (
        ("final_scores.png", plotting.plot_interval_estimates),
        ("performance_profiles.png", plotting.plot_performance_profiles),
        ("sample_efficiency.png", plotting.plot_sample_efficiency),
    ):
        fig = draw(runs, bounds, seed=seed)
        path = out_dir / name
        plotting.save_figure(fig, path)
        written.append(path)
    return written
