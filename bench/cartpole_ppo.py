"""PPO on CartPole-v1, ours (the package defaults) beside Stable-Baselines3 (rl-baselines3-zoo settings), alternating seeds.

    .venv/bin/pip install -e ".[bench]"        # stable-baselines3, for the benchmark only
    .venv/bin/python bench/cartpole_ppo.py                    # both, alternating, seeds 0-9
    .venv/bin/python bench/cartpole_ppo.py --only ours --seed 0   # one JSON line, like the peer script

Evaluation every 4,000 environment steps; the protocol is in bench/_runner.py.
The runner prints each side's JSON lines, then the median ratio of training
seconds to solve (ours / SB3), the solve counts, final returns and stability.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("TQDM_DISABLE", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _runner import PEER, alternate, as_peer_json, run_subprocess  # noqa: E402


def run_ours(seed: int, algo: str = "ppo", total_steps: int = 100_000) -> dict:
    import torch

    from course_lib.rl.actor_critic import ActorCriticConfig, train_actor_critic

    torch.set_num_threads(1)
    result = train_actor_critic(ActorCriticConfig(algo=algo, total_steps=total_steps, eval_every=4000), seed=seed)
    return as_peer_json(algo, seed, result.evaluations, result.train_seconds, result.evaluations.steps[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="with --only: the one seed to run")
    parser.add_argument("--only", choices=["ours", "sb3"], default=None)
    parser.add_argument("--algo", choices=["ppo", "a2c"], default="ppo", help="our algorithm (SB3 side: PPO)")
    args = parser.parse_args()
    if args.only == "ours":
        print(json.dumps(run_ours(args.seed, args.algo)))
    elif args.only == "sb3":
        print(json.dumps(run_subprocess([str(PEER), "--algo", "ppo", "--seed", str(args.seed)])))
    else:
        alternate("ppo", [__file__, "--only", "ours", "--algo", args.algo], args.seeds)


if __name__ == "__main__":
    main()
