"""Run our PPO or DQN on CartPole-v1 with config overrides over given seeds, one JSON line per seed, in the bench
protocol (bench/_runner.py). Used to choose settings on seeds other than the benches' 0-9.

    .venv/bin/python bench/tune.py dqn t100 '{"total_steps": 100000}' 50,51,52
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TQDM_DISABLE", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _runner import as_peer_json  # noqa: E402


def main() -> None:
    import torch

    from course_lib.sweep.runner import git_commit

    algo, label, overrides, seeds = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
    overrides = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}
    if algo == "ppo":
        from course_lib.rl.actor_critic import ActorCriticConfig as Config
        from course_lib.rl.actor_critic import train_actor_critic as train

        eval_every = 4000
    else:
        from course_lib.rl.dqn import DQNConfig as Config
        from course_lib.rl.dqn import train_dqn as train

        eval_every = 2000
    torch.set_num_threads(1)
    commit = git_commit()  # the checkout's HEAD, "+dirty" with uncommitted changes
    for seed in (int(s) for s in seeds.split(",")):
        result = train(Config(**{"eval_every": eval_every, **overrides}), seed=seed)
        row = as_peer_json(algo, seed, result.evaluations, result.train_seconds, result.evaluations.steps[-1])
        row.pop("evals")
        extra = {"label": label, "overrides": overrides, "commit": commit, "eval_every": eval_every}
        print(json.dumps({**row, **extra}), flush=True)


if __name__ == "__main__":
    main()
