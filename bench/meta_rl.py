"""Meta-RL speed (notebooks 11 and 12): batched simulators, MAML-RL and RL², and their results over time.

    .venv/bin/python bench/meta_rl.py [--quick] [--seed 0]

Reports, on this machine (one torch thread):
1. environment steps per second of the batched torch simulators (``NavigationBatch``, 20 tasks x 20
   trajectories; ``BanditBatch``, 512 tasks) against stepping the Gymnasium environments one at a time
   (``Navigation2DEnv``, ``BernoulliBanditEnv``), with random actions, and the ratio;
2. MAML-RL meta-iterations per second (``MamlRLConfig()``'s defaults: meta-batch 20, 20 + 20
   trajectories of 100 steps per task) and the pretraining baseline's;
3. RL² updates per second (``RL2Config()``'s defaults: 512 tasks x 100 pulls per update);
4. the results over time of one default run of each: MAML's sampled return after one inner step on
   held-out goals, and RL²'s regret after 100 pulls on held-out bandit tasks, against training seconds.
Not a test: numbers are printed, not asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time

os.environ.setdefault("TQDM_DISABLE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from course_lib.envs.bandits import BanditBatch, BernoulliBanditEnv, sample_bandit_tasks  # noqa: E402
from course_lib.envs.navigation import Navigation2DEnv, NavigationBatch, sample_goals  # noqa: E402
from course_lib.meta.maml_rl import MamlRLConfig, train_maml_rl  # noqa: E402
from course_lib.meta.rl2 import RL2Config, train_rl2  # noqa: E402


def per_second(count: int, fn) -> float:
    t0 = time.perf_counter()
    fn()
    return count / (time.perf_counter() - t0)


def gym_steps_per_second(env, n_steps: int, seed: int) -> float:
    env.reset(seed=seed)
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(n_steps)]

    def run() -> None:
        for a in actions:
            _, _, terminated, truncated, _ = env.step(a)
            if terminated or truncated:
                env.reset()

    return per_second(n_steps, run)


def navigation_batch_steps_per_second(n_tasks: int, n_traj: int, episodes: int, seed: int) -> float:
    gen = torch.Generator().manual_seed(seed)
    sim = NavigationBatch(sample_goals(n_tasks, gen), n_traj)
    actions = (torch.rand(100, n_tasks, n_traj, 2, generator=gen) * 2 - 1) * 0.1

    def run() -> None:
        for _ in range(episodes):
            sim.reset()
            for t in range(100):
                sim.step(actions[t])

    return per_second(episodes * 100 * n_tasks * n_traj, run)


def bandit_batch_steps_per_second(n_tasks: int, pulls: int, seed: int) -> float:
    gen = torch.Generator().manual_seed(seed)
    sim = BanditBatch(sample_bandit_tasks(n_tasks, 5, gen))
    actions = torch.randint(0, 5, (pulls, n_tasks), generator=gen)

    def run() -> None:
        for t in range(pulls):
            sim.pull(actions[t], gen)

    return per_second(pulls * n_tasks, run)


def emit(row: dict) -> None:
    print(json.dumps(row), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timing runs, and no results over time")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    n_gym = 20_000 if args.quick else 100_000

    print("1. environment steps per second, random actions")
    nav_gym = gym_steps_per_second(Navigation2DEnv(goal=np.array([0.2, -0.3])), n_gym, args.seed)
    nav_batch = navigation_batch_steps_per_second(20, 20, 5 if args.quick else 25, args.seed)
    emit({"env": "navigation", "gymnasium": round(nav_gym), "batched_20x20": round(nav_batch), "ratio": round(nav_batch / nav_gym, 1)})  # fmt: skip
    bandit_gym = gym_steps_per_second(BernoulliBanditEnv(k=5, horizon=100), n_gym, args.seed)
    bandit_batch = bandit_batch_steps_per_second(512, 100 if args.quick else 500, args.seed)
    emit({"env": "bandit k=5", "gymnasium": round(bandit_gym), "batched_512": round(bandit_batch), "ratio": round(bandit_batch / bandit_gym, 1)})  # fmt: skip

    print("\n2. MAML-RL meta-iterations per second (defaults of MamlRLConfig)")
    iterations = 5 if args.quick else 20
    for method in ("maml", "pretrain"):
        config = MamlRLConfig(method=method, iterations=iterations)
        train_maml_rl(dataclasses.replace(config, iterations=2), seed=args.seed)  # warm-up
        result = train_maml_rl(config, seed=args.seed)
        emit({"method": method, "iterations": iterations, "iterations_per_second": round(iterations / result.train_seconds, 2)})  # fmt: skip

    print("\n3. RL² updates per second (defaults of RL2Config: 512 tasks x 100 pulls per update)")
    updates = 3 if args.quick else 10
    train_rl2(RL2Config(updates=1), seed=args.seed)  # warm-up
    result = train_rl2(RL2Config(updates=updates), seed=args.seed)
    emit({"updates": updates, "updates_per_second": round(updates / result.train_seconds, 2), "pulls_per_second": round(updates * 512 * 100 / result.train_seconds)})  # fmt: skip

    if args.quick:
        return
    print("\n4. results over time (one default run each; evaluation time not counted)")
    config = MamlRLConfig()
    per_iteration = config.meta_batch * config.n_traj * 2 * 100  # env steps of one meta-iteration
    result = train_maml_rl(dataclasses.replace(config, eval_every=25 * per_iteration), seed=args.seed)
    for step, seconds, score in result.evaluations.history:
        emit({"method": "maml", "iteration": step // per_iteration, "seconds": round(seconds, 1), "return_after_1_step": round(score, 2)})  # fmt: skip
    config = RL2Config()
    per_update = config.batch_tasks * config.horizon
    result = train_rl2(dataclasses.replace(config, eval_every=30 * per_update), seed=args.seed)
    for step, seconds, score in result.evaluations.history:
        emit({"method": "rl2", "update": step // per_update, "seconds": round(seconds, 1), "regret_after_100_pulls": round(score, 2)})  # fmt: skip


if __name__ == "__main__":
    main()
