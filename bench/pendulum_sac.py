"""SAC (or TD3) on Pendulum-v1, ours beside Stable-Baselines3 (rl-baselines3-zoo settings), alternating seeds in one run.

    .venv/bin/pip install -e ".[bench]"        # stable-baselines3, for the benchmark only
    .venv/bin/python bench/pendulum_sac.py                        # both, alternating, seeds 0-9
    .venv/bin/python bench/pendulum_sac.py --seeds 3              # seeds 0-2 only (a partial measurement)
    .venv/bin/python bench/pendulum_sac.py --only ours --seed 0   # one JSON line, like the peer script

Protocol (the same as ../shared/peers/sb3_pendulum.py): a deterministic evaluation over 10
episodes on separately seeded environments every 1,000 environment steps and once more after the
last update; training seconds exclude evaluation; "solved" is the first evaluation with mean
return >= -200; stable_after_solve is the share of evaluations from that one on that stayed
>= -200. Both sides train for the zoo's 20,000 steps, with one torch thread.
The JSON fields, the alternating runner and the summary are those of the CartPole benches
(bench/_runner.py), with the Pendulum threshold.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("TQDM_DISABLE", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _runner import ROOT, alternate, as_peer_json, run_subprocess  # noqa: E402

PEER = ROOT.parent / "shared" / "peers" / "sb3_pendulum.py"
SOLVED = -200.0
TOTAL_STEPS = 20_000  # rl-baselines3-zoo's n_timesteps for both SAC and TD3 on Pendulum


def run_ours(seed: int, algo: str = "sac", total_steps: int = TOTAL_STEPS) -> dict:
    import torch

    from course_lib.rl.off_policy import OffPolicyConfig, train_off_policy

    torch.set_num_threads(1)
    config = OffPolicyConfig(algo=algo, total_steps=total_steps, eval_every=1000, eval_episodes=10)
    result = train_off_policy(config, seed=seed)
    return as_peer_json(algo, seed, result.evaluations, result.train_seconds, result.evaluations.steps[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds first..first+N-1 (default 10)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0, help="with --only: the one seed to run")
    parser.add_argument("--only", choices=["ours", "sb3"], default=None)
    parser.add_argument("--algo", choices=["sac", "td3"], default="sac", help="the algorithm on both sides")
    args = parser.parse_args()
    if args.only == "ours":
        print(json.dumps(run_ours(args.seed, args.algo)))
    elif args.only == "sb3":
        print(json.dumps(run_subprocess([str(PEER), "--algo", args.algo, "--seed", str(args.seed)])))
    else:
        ours_args = [__file__, "--only", "ours", "--algo", args.algo]
        alternate(args.algo, ours_args, args.seeds, first_seed=args.first_seed, peer=PEER, threshold=SOLVED)


if __name__ == "__main__":
    main()
