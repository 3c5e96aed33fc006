"""Which device trains the course's small networks faster: the CPU or a CUDA GPU (where there is one).

    .venv/bin/python bench/devices.py [--steps 20000]

Trains PPO and Double DQN on CartPole-v1 for the same number of environment
steps on each available device (one torch thread on the CPU) and prints the
training seconds and the ratio. The environments always step on the CPU, so a
GPU pays a host-device copy every environment step.
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("TQDM_DISABLE", "1")

import torch  # noqa: E402

from course_lib.rl.actor_critic import ActorCriticConfig, train_actor_critic  # noqa: E402
from course_lib.rl.dqn import DQNConfig, train_dqn  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    runs = {
        "ppo": lambda d: train_actor_critic(ActorCriticConfig(total_steps=args.steps), seed=0, device=d),
        "double_dqn": lambda d: train_dqn(DQNConfig(total_steps=args.steps), seed=0, device=d),
    }
    for name, run in runs.items():
        seconds = {d: round(run(d).train_seconds, 2) for d in devices}
        row = {"algo": name, "env_steps": args.steps, "train_seconds": seconds}
        if "cuda" in seconds:
            row["cuda_over_cpu"] = round(seconds["cuda"] / seconds["cpu"], 2)
        print(json.dumps(row), flush=True)
    if len(devices) == 1:
        print("no CUDA GPU here: only the CPU was measured")


if __name__ == "__main__":
    main()
