"""Shared parts of the CartPole benchmarks: our result as the peer's JSON, and the alternating runner.

Protocol (the same as ../shared/peers/sb3_cartpole.py): a deterministic evaluation
over 20 episodes on separately seeded environments every ``eval_every``
environment steps and once more after the last update; training seconds exclude
evaluation; "solved" is the first evaluation with mean return >= 475;
stable_after_solve is the share of evaluations from that one on that stayed
>= 475. Both sides run with one torch thread.
"""

from __future__ import annotations

import json
import pathlib
import statistics
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
PEER = ROOT.parent / "shared" / "peers" / "sb3_cartpole.py"


def as_peer_json(algo: str, seed: int, tracker, train_seconds: float, total_steps: int) -> dict:
    """Our run's :class:`course_lib.evaluation.SolveTracker` in the peer script's JSON fields."""
    solved = tracker.first_solved
    return {
        "peer": "course_lib",
        "algo": algo,
        "seed": seed,
        "solved": solved is not None,
        "steps_to_solve": solved[0] if solved else None,
        "train_seconds_to_solve": round(solved[1], 3) if solved else None,
        "final_eval_return": tracker.final_return,
        "total_train_seconds": round(train_seconds, 3),
        "total_steps": total_steps,
        "stable_after_solve": None if tracker.stable_after_solve is None else round(tracker.stable_after_solve, 3),
        "evals": [(s, round(t, 3), r) for s, t, r in tracker.history],
    }


def run_subprocess(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def summarise(name: str, rows: list[dict], threshold: float = 475.0) -> dict:
    """Medians over the solved seeds; ``threshold`` is the task's "solved" return (CartPole 475, Pendulum -200)."""
    solved = [r for r in rows if r["solved"]]
    stab = [r["stable_after_solve"] for r in rows if r["stable_after_solve"] is not None]
    final_ok = sum(r["final_eval_return"] is not None and r["final_eval_return"] >= threshold for r in rows)
    return {
        "side": name,
        "solved": f"{len(solved)}/{len(rows)}",
        "median_steps_to_solve": statistics.median(r["steps_to_solve"] for r in solved) if solved else None,
        "median_train_seconds_to_solve": round(statistics.median(r["train_seconds_to_solve"] for r in solved), 2)
        if solved
        else None,
        f"final_ge_{threshold:g}": f"{final_ok}/{len(rows)}",
        "final_returns": [None if r["final_eval_return"] is None else round(r["final_eval_return"], 1) for r in rows],
        "stable_after_solve": stab,
        "median_stable_after_solve": round(statistics.median(stab), 3) if stab else None,
        "median_total_train_seconds": round(statistics.median(r["total_train_seconds"] for r in rows), 2),
        "total_steps": sorted({r["total_steps"] for r in rows}),
    }


def alternate(
    peer_algo: str,
    ours_args: list[str],
    seeds: int,
    *,
    first_seed: int = 0,
    peer: pathlib.Path = PEER,
    threshold: float = 475.0,
) -> None:
    """Run SB3 (the ``peer`` script) and ours alternately over seeds ``first_seed`` .. ``first_seed + seeds - 1`` (so
    machine noise hits both alike) and print the summary."""
    if not peer.exists():
        sys.exit(f"peer script not found at {peer}")
    ours, theirs = [], []
    for seed in range(first_seed, first_seed + seeds):
        theirs.append(run_subprocess([str(peer), "--algo", peer_algo, "--seed", str(seed)]))
        print(json.dumps({k: v for k, v in theirs[-1].items() if k != "evals"}), flush=True)
        ours.append(run_subprocess([*ours_args, "--seed", str(seed)]))
        print(json.dumps({k: v for k, v in ours[-1].items() if k != "evals"}), flush=True)
    print("\nsummary")
    print(json.dumps(summarise("course_lib", ours, threshold)))
    print(json.dumps(summarise("sb3-zoo", theirs, threshold)))
    both = [(o, t) for o, t in zip(ours, theirs) if o["solved"] and t["solved"]]
    if both:
        ratios = [o["train_seconds_to_solve"] / t["train_seconds_to_solve"] for o, t in both]
        med = statistics.median(o["train_seconds_to_solve"] for o, _ in both) / statistics.median(
            t["train_seconds_to_solve"] for _, t in both
        )
        print(f"ratio of median training seconds to solve (ours / SB3): {med:.2f}")
        print(
            f"median of per-seed ratios: {statistics.median(ratios):.2f}  (per seed: {[round(r, 2) for r in ratios]})"
        )
