"""REINFORCE on CartPole-v1 over 5 seeds: how fast it solves, and whether it stays solved.

    .venv/bin/python bench/reinforce_cartpole.py [--seeds 5] [--steps 200000]

Protocol: a greedy evaluation (mean return over 20 episodes, seeds apart from
training) after every update of 4,096 environment steps; evaluation time is not
counted as training time. Per seed it prints one JSON line with the steps and
training seconds to the first evaluation >= 475, the final return, and
stable_after_solve (share of evaluations from the first solve on, that one included, that stayed >= 475,
as in the SB3 peer script); then a summary.
Not a test: the target (5/5 seeds solve within 30 s and stay solved) is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TQDM_DISABLE", "1")

import torch  # noqa: E402

from course_lib.rl.evaluation import evaluate  # noqa: E402
from course_lib.rl.reinforce import ReinforceConfig, train_reinforce  # noqa: E402


def run(seed: int, steps: int) -> dict:
    wall = time.perf_counter()
    result = train_reinforce(ReinforceConfig(total_steps=steps, eval_every=4096), seed=seed)
    solved = result.evaluations.first_solved
    final = float(evaluate(lambda o: result.policy.act(o, deterministic=True), "CartPole-v1", 20, seed=20_000).mean())
    stable = result.evaluations.stable_after_solve
    return {
        "algo": "reinforce",
        "seed": seed,
        "solved": solved is not None,
        "steps_to_solve": solved[0] if solved else None,
        "seconds_to_solve": round(solved[1], 2) if solved else None,
        "final_return": final,
        "stable_after_solve": None if stable is None else round(stable, 3),
        "train_seconds": round(result.train_seconds, 2),
        "wall_seconds": round(time.perf_counter() - wall, 2),
        "evaluations": [round(e[2], 1) for e in result.evaluations.history],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=200_000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for seed in range(args.seeds):
        row = run(seed, args.steps)
        rows.append(row)
        print(json.dumps(row), flush=True)
    solved = [r for r in rows if r["solved"]]
    within = [r for r in solved if r["seconds_to_solve"] <= 30]
    print("\nsummary")
    print(f"  solved: {len(solved)}/{len(rows)} seeds, {len(within)}/{len(rows)} within 30 s of training")
    if solved:
        print(f"  median steps to solve: {statistics.median(r['steps_to_solve'] for r in solved):,.0f}")
        print(f"  median training seconds to solve: {statistics.median(r['seconds_to_solve'] for r in solved):.2f}")
    print(
        f"  final return >= 475: {sum(r['final_return'] >= 475 for r in rows)}/{len(rows)} "
        f"(finals: {[r['final_return'] for r in rows]})"
    )
    stab = [r["stable_after_solve"] for r in rows if r["stable_after_solve"] is not None]
    if stab:
        print(f"  median stable_after_solve: {statistics.median(stab):.2f}")


if __name__ == "__main__":
    main()
