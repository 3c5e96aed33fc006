"""How often would a 10-seed PPO bench show at most 0.5x SB3's median seconds to 475? Resampled from the 40-seed
tuning runs in data/tuning/ (seeds 200-239): each side's steps to 475 drawn with replacement, times that side's
median cost per environment step over whole runs (the recorded seconds to 475 were measured under load).

    .venv/bin/python bench/tuning_resample.py
"""

from __future__ import annotations

import json
import random
import statistics
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data" / "tuning"


def load(name: str, label: str | None = None) -> list[dict]:
    rows = [json.loads(line) for line in (DATA / name).read_text().splitlines()]
    return [r for r in rows if label is None or r["label"] == label]


def steps_and_cost(rows: list[dict]) -> tuple[list[int], float]:
    """Steps to 475 of the seeds that reached it, and the median seconds per environment step of whole runs."""
    steps = [r["steps_to_solve"] for r in rows if r["solved"]]
    cost = statistics.median(r["total_train_seconds"] / r["total_steps"] for r in rows)
    return steps, cost


def main(draws: int = 20_000, n_seeds: int = 10, seed: int = 12345) -> None:
    sb3_steps, sb3_cost = steps_and_cost(load("ppo_cartpole_sb3_200.jsonl"))
    for label in ("zoo", "e10lr2e-3"):
        steps, cost = steps_and_cost(load("ppo_cartpole_epochs_200.jsonl", label))
        rng = random.Random(seed)
        ratios = sorted(
            statistics.median(rng.choice(steps) * cost for _ in range(n_seeds))
            / statistics.median(rng.choice(sb3_steps) * sb3_cost for _ in range(n_seeds))
            for _ in range(draws)
        )
        expected = statistics.median(steps) * cost / (statistics.median(sb3_steps) * sb3_cost)
        share = sum(r <= 0.5 for r in ratios) / draws
        print(
            f"{label}: median steps x cost ratio {expected:.2f}; {n_seeds}-seed ratio of medians: median "
            f"{ratios[draws // 2]:.2f}, 5-95% {ratios[draws // 20]:.2f}-{ratios[-draws // 20]:.2f}, <= 0.5 in {share:.0%}"
        )


if __name__ == "__main__":
    main()
