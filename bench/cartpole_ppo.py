"""PPO on CartPole-v1, ours beside Stable-Baselines3 (rl-baselines3-zoo settings), alternating seeds in one run.

    .venv/bin/pip install -e ".[bench]"        # stable-baselines3, for the benchmark only
    .venv/bin/python bench/cartpole_ppo.py --seeds 5          # both, alternating
    .venv/bin/python bench/cartpole_ppo.py --only ours --seed 0   # one JSON line, like the peer script

Protocol (the same as ../shared/peers/sb3_cartpole.py): a deterministic evaluation
over 20 episodes on separately seeded environments each time another 4,000
environment steps have passed, and once more after the last update; training
seconds exclude evaluation; "solved" is the first evaluation with mean return
>= 475; stable_after_solve is the share of evaluations from that one on that
stayed >= 475. Both sides run with one torch thread. The runner prints each
side's JSON lines, then the median ratio of training seconds to solve
(ours / SB3), the solve counts, final returns and stability.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys

os.environ.setdefault("TQDM_DISABLE", "1")
ROOT = pathlib.Path(__file__).resolve().parents[1]
PEER = ROOT.parent / "shared" / "peers" / "sb3_cartpole.py"


def run_ours(seed: int, algo: str = "ppo", total_steps: int = 100_000) -> dict:
    import torch

    from course_lib.rl.actor_critic import ActorCriticConfig, train_actor_critic

    torch.set_num_threads(1)
    result = train_actor_critic(ActorCriticConfig(algo=algo, total_steps=total_steps, eval_every=4000), seed=seed)
    ev = result.evaluations
    solved = ev.first_solved
    return {
        "peer": "course_lib",
        "algo": algo,
        "seed": seed,
        "solved": solved is not None,
        "steps_to_solve": solved[0] if solved else None,
        "train_seconds_to_solve": round(solved[1], 3) if solved else None,
        "final_eval_return": ev.final_return,
        "total_train_seconds": round(result.train_seconds, 3),
        "total_steps": result.steps[-1],
        "stable_after_solve": None if ev.stable_after_solve is None else round(ev.stable_after_solve, 3),
        "evals": [(s, round(t, 3), r) for s, t, r in ev.history],
    }


def run_subprocess(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def summarise(name: str, rows: list[dict]) -> dict:
    solved = [r for r in rows if r["solved"]]
    stab = [r["stable_after_solve"] for r in rows if r["stable_after_solve"] is not None]
    return {
        "side": name,
        "solved": f"{len(solved)}/{len(rows)}",
        "median_steps_to_solve": statistics.median(r["steps_to_solve"] for r in solved) if solved else None,
        "median_train_seconds_to_solve": round(statistics.median(r["train_seconds_to_solve"] for r in solved), 2)
        if solved else None,
        "final_ge_475": f"{sum((r['final_eval_return'] or 0) >= 475 for r in rows)}/{len(rows)}",
        "final_returns": [r["final_eval_return"] for r in rows],
        "median_stable_after_solve": round(statistics.median(stab), 3) if stab else None,
        "median_total_train_seconds": round(statistics.median(r["total_train_seconds"] for r in rows), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0, help="with --only: the one seed to run")
    parser.add_argument("--only", choices=["ours", "sb3"], default=None)
    parser.add_argument("--algo", choices=["ppo", "a2c"], default="ppo", help="our algorithm (SB3 side: PPO)")
    args = parser.parse_args()
    if args.only == "ours":
        print(json.dumps(run_ours(args.seed, args.algo)))
        return
    if args.only == "sb3":
        print(json.dumps(run_subprocess([str(PEER), "--algo", "ppo", "--seed", str(args.seed)])))
        return
    if not PEER.exists():
        sys.exit(f"peer script not found at {PEER}")
    ours, theirs = [], []
    for seed in range(args.seeds):  # alternate, so that machine noise hits both sides alike
        theirs.append(run_subprocess([str(PEER), "--algo", "ppo", "--seed", str(seed)]))
        print(json.dumps({k: v for k, v in theirs[-1].items() if k != "evals"}), flush=True)
        ours.append(run_subprocess([__file__, "--only", "ours", "--seed", str(seed), "--algo", args.algo]))
        print(json.dumps({k: v for k, v in ours[-1].items() if k != "evals"}), flush=True)
    ratios = [o["train_seconds_to_solve"] / t["train_seconds_to_solve"] for o, t in zip(ours, theirs)
              if o["solved"] and t["solved"]]
    print("\nsummary")
    print(json.dumps(summarise("course_lib", ours)))
    print(json.dumps(summarise("sb3-zoo", theirs)))
    both = [(o, t) for o, t in zip(ours, theirs) if o["solved"] and t["solved"]]
    if both:
        med = statistics.median(o["train_seconds_to_solve"] for o, _ in both) / statistics.median(
            t["train_seconds_to_solve"] for _, t in both)
        print(f"ratio of median training seconds to solve (ours / SB3): {med:.2f}")
        print(f"median of per-seed ratios: {statistics.median(ratios):.2f}  (per seed: {[round(r, 2) for r in ratios]})")


if __name__ == "__main__":
    main()
