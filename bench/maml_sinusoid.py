"""MAML on the sinusoid family: meta-training speed, time to the accuracy target, and scaling.

    .venv/bin/python bench/maml_sinusoid.py [--budget 60] [--quick]

Reports, on this machine (one torch thread):
1. tasks per second of meta-training for MAML (second order), first-order MAML,
   Reptile (5 inner steps) and the pretraining baseline;
2. wall seconds of MAML meta-training (evaluation excluded) until the held-out
   MSE after 1 step is <= 0.45 (and <= 0.37, the stretch) and after 10 steps is
   <= 0.15, with K = 10 and 500 held-out tasks, evaluated every 500 meta-batches;
   and the MSEs reached within the budget;
3. milliseconds per meta-iteration against the meta-batch size (8, 32, 128)
   and the number of inner steps (1, 3, 5).
Not a test: numbers are printed, not asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time

os.environ.setdefault("TQDM_DISABLE", "1")

import torch  # noqa: E402

from course_lib.meta.maml import MetaConfig, adaptation_curve, meta_train  # noqa: E402
from course_lib.meta.tasks import SinusoidFamily  # noqa: E402


def ms_per_iteration(config: MetaConfig) -> float:
    meta_train(dataclasses.replace(config, iterations=20), seed=0)  # warm-up
    result = meta_train(config, seed=0)
    return 1000 * result.train_seconds / config.iterations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0, help="seconds of MAML meta-training")
    parser.add_argument("--quick", action="store_true", help="fewer iterations for the timing parts")
    args = parser.parse_args()
    torch.set_num_threads(1)
    n_time = 60 if args.quick else 300

    print("1. throughput (K=10 support + 10 query, meta-batch 25, MLP 1-40-40-1)")
    for method, steps in (("maml", 1), ("fomaml", 1), ("reptile", 5), ("pretrain", 1)):
        ms = ms_per_iteration(MetaConfig(method=method, iterations=n_time, inner_steps=steps))
        print(
            json.dumps(
                {
                    "method": method,
                    "inner_steps": steps,
                    "ms_per_meta_batch": round(ms, 2),
                    "tasks_per_second": round(25 * 1000 / ms),
                }
            ),
            flush=True,
        )

    print(f"\n2. MAML to target: evaluation every 500 meta-batches, {args.budget:.0f} s budget")
    held_out = SinusoidFamily().sample(500, 10, 100, torch.Generator().manual_seed(2))
    per_it = ms_per_iteration(MetaConfig(method="maml", iterations=n_time)) / 1000
    iterations = int(args.budget / per_it) // 500 * 500
    log: list[dict] = []

    def evaluate(result) -> None:
        curve = adaptation_curve(result.params, held_out, 0.01, 10).mean(0)
        log.append(
            {
                "iteration": result.evaluations.steps[-1] // result.config.meta_batch,
                "seconds": round(result.train_seconds, 1),
                "mse_1": round(curve[1].item(), 3),
                "mse_10": round(curve[10].item(), 3),
            }
        )

    wall = time.perf_counter()
    config = MetaConfig(method="maml", iterations=iterations, eval_every=500 * 25, eval_tasks=10)
    result = meta_train(config, seed=0, callback=evaluate)
    for row in log[:: max(1, len(log) // 12)] + [log[-1]]:
        print(json.dumps(row))

    def first(pred):
        hit = next((r for r in log if pred(r)), None)
        return hit and {"seconds": hit["seconds"], "iteration": hit["iteration"]}

    summary = {
        "iterations": iterations,
        "meta_training_seconds": round(result.train_seconds, 1),
        "wall_seconds_with_evaluation": round(time.perf_counter() - wall, 1),
        "first_mse_1_le_0.45": first(lambda r: r["mse_1"] <= 0.45),
        "first_mse_1_le_0.45_and_mse_10_le_0.15": first(lambda r: r["mse_1"] <= 0.45 and r["mse_10"] <= 0.15),
        "first_mse_1_le_0.37": first(lambda r: r["mse_1"] <= 0.37),
        "final": log[-1],
    }
    print(json.dumps(summary))

    print("\n3. scaling (MAML, ms per meta-iteration)")
    for batch in (8, 32, 128):
        ms = ms_per_iteration(MetaConfig(method="maml", iterations=n_time // 2, meta_batch=batch))
        print(json.dumps({"meta_batch": batch, "inner_steps": 1, "ms_per_iteration": round(ms, 2)}), flush=True)
    for steps in (1, 3, 5):
        ms = ms_per_iteration(MetaConfig(method="maml", iterations=n_time // 2, inner_steps=steps))
        print(json.dumps({"meta_batch": 25, "inner_steps": steps, "ms_per_iteration": round(ms, 2)}), flush=True)


if __name__ == "__main__":
    main()
