"""Check a laptop for the course in about a minute: ``python -m course_lib.doctor``.

Prints the versions that matter (Python, ``course_lib``, PyTorch and its build),
the device :func:`course_lib.get_device` chooses, whether the book tools are
installed (JupyterLab, Jupyter Book, pytest, nbval), and trains two tiny agents
(a second or two on a laptop CPU):

* tabular Q-learning on CliffWalking-v1 (500 episodes, seed 0) must find the
  13-step optimal path (greedy return -13), as in notebook 02;
* REINFORCE on CartPole-v1 (4,096 environment steps, seed 0) must run its
  updates on the chosen device with finite losses.

The exit status is 0 when everything the notebooks need works and 1 otherwise;
a missing book tool is reported but is not an error (the notebooks run
without it). ``--json`` prints the same checks as JSON, one object per check.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import platform
import re
import sys
import time
from dataclasses import asdict, dataclass

import course_lib

__all__ = ["Check", "run_checks", "format_report", "main"]

#: optional tools: distribution name -> what it is needed for
BOOK_TOOLS = {
    "jupyterlab": "opening the notebooks (make lab)",
    "jupyter-book": "building the book (make book)",
    "pytest": "running the tests (make test)",
    "nbval": "running the notebooks as tests (make test)",
}
#: the libraries the notebooks import, reported with their versions
LIBRARIES = ("gymnasium", "numpy", "scipy", "sympy", "matplotlib")
#: greedy return of the optimal CliffWalking path: 13 steps of reward -1
CLIFF_OPTIMUM = -13.0


@dataclass(frozen=True)
class Check:
    """One line of the report: ``ok`` False with ``required`` True makes the exit status 1."""

    name: str
    ok: bool
    detail: str
    required: bool = True
    seconds: float | None = None  #: wall-clock seconds, for the training run


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _pinned_torch() -> str | None:
    """The torch version ``course_lib`` is pinned to (``torch==X``), from its installed metadata."""
    for req in importlib.metadata.requires("course_lib") or ():
        m = re.fullmatch(r"torch\s*==\s*([^\s;]+)", req.strip())
        if m:
            return m.group(1)
    return None


def version_checks() -> list[Check]:
    import torch

    py = sys.version_info
    checks = [
        Check("python", py >= (3, 11), f"{platform.python_version()} ({sys.executable}); the course needs >= 3.11"),
        Check("course_lib", True, course_lib.__version__),
    ]
    build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "CPU-only build"
    pin = _pinned_torch()
    torch_ok = pin is None or torch.__version__.split("+")[0] == pin
    detail = f"{torch.__version__} ({build})" + ("" if torch_ok else f"; the course is tested with torch=={pin}")
    checks.append(Check("torch", torch_ok, detail, required=False))
    for dist in LIBRARIES:
        v = _version(dist)
        checks.append(Check(dist, v is not None, v or "not installed"))
    checks.append(Check("platform", True, f"{platform.system()} {platform.release()} {platform.machine()}"))
    return checks


def device_check() -> Check:
    import os

    import torch

    from course_lib.device import get_device, mps_works

    present = ["cpu"] + (["cuda"] if torch.cuda.is_available() else []) + (["mps"] if mps_works() else [])
    env = os.environ.get("COURSE_DEVICE")
    how = f"COURSE_DEVICE={env}" if env else "automatic: CUDA, then mps, then CPU"
    try:
        dev = get_device()
    except (TypeError, ValueError) as e:
        return Check("device", False, f"{e} ({how})")
    return Check("device", True, f"{dev} ({how}); present here: {', '.join(present)}")


def tool_checks() -> list[Check]:
    checks = []
    for dist, needed_for in BOOK_TOOLS.items():
        v = _version(dist)
        detail = v if v else f"not installed: needed only for {needed_for}"
        checks.append(Check(dist, v is not None, detail, required=False))
    return checks


def training_check(seed: int = 0) -> Check:
    """Train the two tiny agents of the module docstring; ``detail`` gives the seconds they took."""
    import torch

    from course_lib.device import get_device
    from course_lib.rl.reinforce import ReinforceConfig, train_reinforce
    from course_lib.rl.tabular import TDConfig, train_tabular

    threads = torch.get_num_threads()
    # one thread: this REINFORCE run took 0.4-0.5 s on one thread and 5-11 s on two on a busy
    # 2-core machine (measured); the thread count is restored below
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    dev = None
    try:
        dev = get_device()
        q = train_tabular(TDConfig(), seed=seed)
        cfg = ReinforceConfig(total_steps=4096, num_envs=8, n_steps=128, eval_episodes=2)
        pg = train_reinforce(cfg, seed=seed, device=dev)
    except Exception as e:  # a broken install shows up here; report it instead of a traceback
        hint = "" if dev is None or dev.type == "cpu" else f" (on {dev}; COURSE_DEVICE=cpu trains on the CPU)"
        return Check("training", False, f"{type(e).__name__}: {e}{hint}")
    finally:
        torch.set_num_threads(threads)
    seconds = time.perf_counter() - t0
    greedy = q.evaluations.final_return
    losses = [v for row in pg.log for k, v in row.items() if k.endswith("_loss")]
    finite = bool(losses) and all(math.isfinite(v) for v in losses)
    ok = greedy == CLIFF_OPTIMUM and finite and pg.log[-1]["step"] == cfg.total_steps
    detail = (
        f"{seconds:.1f} s; Q-learning greedy return {greedy:g} (optimum {CLIFF_OPTIMUM:g}); "
        f"REINFORCE {len(pg.log)} updates on {dev}, losses {'finite' if finite else 'NOT finite'}"
    )
    return Check("training", ok, detail, seconds=round(seconds, 2))


def run_checks(*, train: bool = True) -> list[Check]:
    """Every check of the report, in the order it prints."""
    checks = version_checks() + [device_check()] + tool_checks()
    if train:
        checks.append(training_check())
    return checks


def format_report(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    lines = [f"course_lib doctor (course version {course_lib.__version__})"]
    for c in checks:
        mark = "ok  " if c.ok else ("FAIL" if c.required else "--  ")
        lines.append(f"  {mark} {c.name:<{width}}  {c.detail}")
    failed = [c.name for c in checks if c.required and not c.ok]
    lines.append("All set for the course." if not failed else f"Not ready: {', '.join(failed)} (see above).")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.doctor", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")
    parser.add_argument("--no-train", action="store_true", help="skip the tiny training run")
    args = parser.parse_args(argv)
    checks = run_checks(train=not args.no_train)
    if args.json:
        out = json.dumps({"version": course_lib.__version__, "checks": [asdict(c) for c in checks]}, indent=1)
    else:
        out = format_report(checks)
    sys.stdout.write(out + "\n")
    return 0 if all(c.ok for c in checks if c.required) else 1


if __name__ == "__main__":
    raise SystemExit(main())
