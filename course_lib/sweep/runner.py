"""Run a sweep's trials on a local process pool or on Ray, appending each record as it finishes.

Both backends call the same :func:`run_trial` on plain data (a :class:`~course_lib.sweep.grid.Trial`
as a dict), with one torch thread per trial, and hand the record back to the driver,
which alone writes the results file. A trial that raises is recorded with its error
(``status="error"``) and run again, at most ``max_retries`` more times over all runs
of the sweep; a worker that dies (killed, out of memory) counts as an error of the
trial it was running.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import datetime
import math
import multiprocessing as mp
import os
import platform
import subprocess
import time
import traceback
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool

from course_lib.progress import progress_bar, progress_disabled
from course_lib.sweep.grid import Grid, Trial, resolve
from course_lib.sweep.results import ResultsWriter, check_grid_hash, read_records, trial_status

__all__ = ["run_trial", "run_sweep", "git_commit", "BACKENDS"]

BACKENDS = ("local", "ray")


def _versions() -> dict[str, str]:
    import gymnasium
    import numpy
    import torch

    import course_lib

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "gymnasium": gymnasium.__version__,
        "numpy": numpy.__version__,
        "course_lib": course_lib.__version__,
    }


def git_commit(path: str | os.PathLike | None = None) -> str | None:
    """``HEAD`` of the git checkout holding ``path`` (this package by default), ``+dirty`` appended when it has
    uncommitted changes; ``None`` outside a checkout or without git."""
    path = path or os.path.dirname(os.path.abspath(__file__))
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=path, capture_output=True, text=True, timeout=30)
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def _finite(x):
    return x if x is None or math.isfinite(x) else None


def _metrics(result) -> dict:
    ev = result.evaluations
    first = ev.first_solved
    return {
        "final_return": _finite(ev.final_return),
        "first_solved_steps": None if first is None else first[0],
        "first_solved_seconds": None if first is None else first[1],
        "stable_after_solve": ev.stable_after_solve,
        "curve": {"steps": ev.steps, "seconds": [h[1] for h in ev.history], "scores": ev.scores},
        "train_seconds": result.train_seconds,
    }


def run_trial(trial: dict, attempt: int = 0) -> dict:
    """Train one trial and return its record; an exception in training becomes ``status="error"``.

    Args:
        trial: a :class:`~course_lib.sweep.grid.Trial` as a dict (:func:`dataclasses.asdict`).
        attempt: 0 for the first try, then 1, 2, ...
    """
    import torch

    threads, quiet = torch.get_num_threads(), os.environ.get("TQDM_DISABLE")
    torch.set_num_threads(1)
    os.environ["TQDM_DISABLE"] = "1"  # the trainer's own progress bar; the sweep shows one over trials
    record = {**_record_head(trial, attempt), "host": platform.node(), "pid": os.getpid(), "versions": _versions()}
    t0 = time.perf_counter()
    try:
        train, config_type = resolve(trial["train"], "train"), resolve(trial["config_type"], "config")
        config = config_type(**trial["config"])
        record["config"] = dataclasses.asdict(config)  # every field, defaults included
        result = train(config, seed=trial["seed"], device="cpu")
        record.update(status="ok", metrics=_metrics(result))
    except Exception as e:  # noqa: BLE001  (any failure of a trial is recorded, not raised)
        record.update(status="error", error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc())
    finally:
        torch.set_num_threads(threads)
        if quiet is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = quiet
    record["wall_seconds"] = time.perf_counter() - t0
    return record


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


class _LocalBackend:
    """A ``spawn`` process pool (``workers=1``: the calling process, no pool)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.pool, self.queue = None, []
        if workers > 1:
            self.pool = cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_init_worker)

    def submit(self, trial: dict, attempt: int):
        if self.pool is None:  # run when waited for, so that each record is written as soon as it is made
            future = cf.Future()
            self.queue.append((future, trial, attempt))
            return future
        try:
            return self.pool.submit(run_trial, trial, attempt)
        except BrokenProcessPool:  # a worker died: start a new pool
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = cf.ProcessPoolExecutor(
                self.workers, mp_context=mp.get_context("spawn"), initializer=_init_worker
            )
            return self.pool.submit(run_trial, trial, attempt)

    def wait(self, handles: list) -> list:
        if self.pool is None:
            future, trial, attempt = self.queue.pop(0)
            future.set_result(run_trial(trial, attempt))
            return [future]
        done, _ = cf.wait(handles, return_when=cf.FIRST_COMPLETED)
        return list(done)

    def result(self, handle) -> dict:
        return handle.result()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def _import_ray():
    try:
        import ray
    except ImportError as e:
        raise ImportError(
            "backend='ray' needs Ray, an optional extra: pip install 'course_lib[sweep]' (or pip install ray)"
        ) from e
    return ray


def _init_ray(ray, *, address: str, attempts: int = 2, **kwargs) -> None:
    """``ray.init``, tried again if a node of our own does not start in time.

    Ray waits a fixed 30 s for a new node to register (``ray/_private/node.py``); on a laptop whose
    cores are busy with other work that can run out. Joining an existing cluster is not retried.
    """
    for attempt in range(attempts):
        try:
            ray.init(address=address, **kwargs)
            return
        except Exception as e:  # Ray raises a bare Exception for this
            if address != "local" or "timed out during startup" not in str(e) or attempt == attempts - 1:
                raise
            ray.shutdown()


class _RayBackend:
    """Ray tasks, one CPU each. Ray's own task retries are off: a failed task comes back to the driver,
    which records it and resubmits it, so both backends count attempts the same way."""

    def __init__(self, address: str | None, workers: int | None, init_kwargs: dict | None) -> None:
        ray = self.ray = _import_ray()
        self.started = False
        if not ray.is_initialized():
            kwargs = dict(init_kwargs or {})
            if address is None:  # a Ray instance of our own, on this machine
                kwargs = {"include_dashboard": False, "log_to_driver": False, **kwargs}
                if workers is not None:
                    kwargs.setdefault("num_cpus", workers)
            # "local": a new Ray instance even where `ray start` runs one (ray.init(address=None) would join it)
            _init_ray(ray, address="local" if address is None else address, **kwargs)
            self.started = True
        self.task = ray.remote(num_cpus=1, max_retries=0)(run_trial)

    def submit(self, trial: dict, attempt: int):
        return self.task.remote(trial, attempt)

    def wait(self, handles: list) -> list:
        done, _ = self.ray.wait(handles, num_returns=1)
        return done

    def result(self, handle) -> dict:
        return self.ray.get(handle)

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()


def _record_head(trial: dict, attempt: int) -> dict:
    """The fields every record starts with: which trial, with which config, on which attempt."""
    keys = ("trial_id", "trainer", "env_id", "seed", "overrides", "config")
    return {**{key: trial[key] for key in keys}, "attempt": attempt}


def _error_record(trial: dict, attempt: int, error: BaseException) -> dict:
    """The record of a trial whose worker failed before it could report (killed, lost, unpicklable)."""
    return {
        **_record_head(trial, attempt),
        "status": "error",
        "error": f"worker failed: {type(error).__name__}: {error}",
        "traceback": "".join(traceback.format_exception(error)),
    }


def run_sweep(
    grid: Grid,
    results: str | os.PathLike,
    *,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    max_retries: int = 2,
    ray_init_kwargs: dict | None = None,
    progress: bool = True,
    on_record: Callable[[dict], None] | None = None,
) -> dict[str, int]:
    """Run every trial of ``grid`` not yet in ``results``, appending one record per finished attempt.

    Everything is checked before a trial starts (and before Ray starts): the grid, the arguments,
    and that ``results`` holds only records of this grid.

    Args:
        backend: ``"local"`` (a process pool of ``workers``, default: the CPU cores) or ``"ray"``.
        workers: local pool size; with Ray and no ``address``, the CPUs of the local Ray instance.
        address: Ray only: ``None`` starts Ray on this machine, ``"auto"`` joins a running cluster,
            ``"ray://head:10001"`` connects a client to one. An already running ``ray.init`` is used as it is.
        max_retries: how many times a failed trial is tried again, counting failures of earlier runs.
        ray_init_kwargs: more keyword arguments for ``ray.init``. The workers of a cluster must be able to
            import ``course_lib`` (installed there, or ``{"runtime_env": {"py_modules": [course_lib]}}``).
        progress: show a progress bar over trials (``tqdm.auto``; silent when ``TQDM_DISABLE=1``).
        on_record: called with each record after it is written.

    Returns:
        ``{"trials", "skipped", "ok", "errors", "failed"}``: trials in the grid, those already done or given up
        before this run, those this run finished, error records this run wrote, trials given up on.
    """
    from course_lib.parallel import default_workers

    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a positive int or None, got {workers!r}")
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ValueError(f"max_retries must be a non-negative int, got {max_retries!r}")
    if address is not None and backend != "ray":
        raise ValueError(f"address is for backend='ray' only, got address={address!r} with backend={backend!r}")
    if address is not None and not isinstance(address, str):
        raise TypeError(f"address must be None, 'auto' or 'ray://host:port', got {address!r}")
    trials: list[Trial] = grid.trials()
    records = read_records(results)
    check_grid_hash(records, grid.hash, results)
    done, errors = trial_status(records)
    todo = [t for t in trials if t.trial_id not in done and errors[t.trial_id] <= max_retries]
    summary = {"trials": len(trials), "skipped": len(trials) - len(todo), "ok": 0, "errors": 0, "failed": 0}
    summary["failed"] = sum(1 for t in trials if t.trial_id not in done and errors[t.trial_id] > max_retries)
    if not todo:
        return summary
    common = {"grid_hash": grid.hash, "git_commit": git_commit()}
    if backend == "local":
        runner = _LocalBackend(workers or default_workers(len(todo)))
    else:
        runner = _RayBackend(address, workers, ray_init_kwargs)
    quiet = not progress or progress_disabled()  # progress=True still honours TQDM_DISABLE=1
    bar = progress_bar(total=len(trials), initial=summary["skipped"], desc="trials", unit="trial", disable=quiet)
    pending = {}  # handle -> (trial dict, attempt)
    try:
        with ResultsWriter(results) as writer:
            for t in todo:
                d = dataclasses.asdict(t)
                pending[runner.submit(d, errors[t.trial_id])] = (d, errors[t.trial_id])
            while pending:
                for handle in runner.wait(list(pending)):
                    trial, attempt = pending.pop(handle)
                    try:
                        record = runner.result(handle)
                    except Exception as e:  # noqa: BLE001  (the worker died or could not return)
                        record = _error_record(trial, attempt, e)
                    record.update(common, finished_at=datetime.datetime.now(datetime.UTC).isoformat())
                    writer.write(record)
                    if on_record is not None:
                        on_record(record)
                    if record["status"] == "ok":
                        summary["ok"] += 1
                        bar.update(1)
                        continue
                    summary["errors"] += 1
                    if attempt < max_retries:
                        pending[runner.submit(trial, attempt + 1)] = (trial, attempt + 1)
                    else:
                        summary["failed"] += 1
                        bar.update(1)
                bar.set_postfix(errors=summary["errors"], refresh=False)
    finally:
        bar.close()
        runner.close()
    return summary
