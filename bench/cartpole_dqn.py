"""DQN on CartPole-v1, ours (Double DQN, 5-step returns) beside Stable-Baselines3's DQN (rl-baselines3-zoo settings).

    .venv/bin/pip install -e ".[bench]"        # stable-baselines3, for the benchmark only
    .venv/bin/python bench/cartpole_dqn.py                     # both, alternating, seeds 0-9
    .venv/bin/python bench/cartpole_dqn.py --only ours --seed 0    # one JSON line, like the peer script

Evaluation every 2,000 environment steps. Each side runs its own default: ours
DQNConfig()'s 100,000 steps (50,000 at the full learning rate, then a decay to 0),
SB3 the zoo's tuned 50,000. The budgets differ, so only part of the summary is
like for like: seconds to solve on both sides count training time to the first
evaluation >= 475, but ours may solve after step 50,000, where SB3 has stopped,
and its schedule depends on its budget; "final", "stable" and total seconds are
each at its own budget. Our rows also carry `return_at_50k`, our evaluation at
step 50,000, to set beside SB3's final return. The summary prints each side's
`total_steps`. The protocol is in bench/_runner.py. The runner prints each side's JSON lines,
then the median ratio of training seconds to solve (ours / SB3), the solve
counts, final returns and stability.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("TQDM_DISABLE", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _runner import PEER, alternate, as_peer_json, run_subprocess  # noqa: E402


def run_ours(seed: int, double: bool = True) -> dict:
    import torch

    from course_lib.rl.dqn import DQNConfig, train_dqn

    torch.set_num_threads(1)
    result = train_dqn(DQNConfig(double=double, eval_every=2000), seed=seed)
    steps = result.evaluations.history[-1][0]
    row = as_peer_json("double_dqn" if double else "dqn", seed, result.evaluations, result.train_seconds, steps)
    row["return_at_50k"] = dict(zip(result.evaluations.steps, result.evaluations.scores)).get(50_000)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="with --only: the one seed to run")
    parser.add_argument("--only", choices=["ours", "sb3"], default=None)
    parser.add_argument("--plain", action="store_true", help="our side runs plain DQN instead of Double DQN")
    args = parser.parse_args()
    if args.only == "ours":
        print(json.dumps(run_ours(args.seed, double=not args.plain)))
    elif args.only == "sb3":
        print(json.dumps(run_subprocess([str(PEER), "--algo", "dqn", "--seed", str(args.seed)])))
    else:
        alternate("dqn", [__file__, "--only", "ours", *(["--plain"] if args.plain else [])], args.seeds)


if __name__ == "__main__":
    main()
