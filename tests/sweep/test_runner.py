"""Tests of course_lib.sweep.runner (and the CLI): bad input, resuming, retries, local and Ray backends.

Real trainers run with tiny budgets (a few hundred env steps, one evaluation episode); retries and
killed workers use ``toy_train`` (tests/sweep/helpers.py), a trainer that fails on purpose the first time it runs a seed.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import time

import pytest

from course_lib.sweep import Grid, grid_from_dict, load_grid, read_records, run_sweep, summarize
from course_lib.sweep.__main__ import main
from course_lib.sweep.runner import _init_ray
from tests.bad_inputs import bad, refused
from tests.sweep.helpers import ROOT, TINY_AC, ok_records, run_tiny, tiny_grid, trials_of

# ---- validation ---------------------------------------------------------------------------------------------------


BAD_INPUTS = [
    bad("unknown trainer", lambda: trials_of(trainers={"ppx": {}}), ValueError, "unknown trainer 'ppx'"),
    bad("unknown key", lambda: trials_of(trainers={"ppo": {"learning_rate": [1e-3]}}), ValueError, "trainers.ppo.learning_rate", "no field"),
    bad("float as str", lambda: trials_of(trainers={"ppo": {"lr": ["fast"]}}), TypeError, "trainers.ppo.lr[0] must be a float"),
    bad("bool as int", lambda: trials_of(trainers={"dqn": {"double": [1]}}), TypeError, "trainers.dqn.double[0] must be a bool"),
    bad("int as float", lambda: trials_of(trainers={"ppo": {"num_envs": [2.5]}}), TypeError, "trainers.ppo.num_envs[0] must be an int"),
    bad("tuple item", lambda: trials_of(trainers={"ppo": {"hidden": [[64, "x"]]}}), TypeError, "trainers.ppo.hidden[0][1] must be an int"),
    bad("scalar override", lambda: trials_of(trainers={"ppo": {"lr": 1e-3}}), TypeError, "trainers.ppo.lr must be a non-empty list"),
    bad("empty override", lambda: trials_of(trainers={"ppo": {"lr": []}}), TypeError, "trainers.ppo.lr must be a non-empty list"),
    bad("fixed by trainer", lambda: trials_of(trainers={"ppo": {"algo": ["a2c"]}}), ValueError, "trainers.ppo.algo", "fixed"),
    bad("env_id override", lambda: trials_of(trainers={"ppo": {"env_id": ["Acrobot-v1"]}}), ValueError, "trainers.ppo.env_id", "envs"),
    bad("config check", lambda: trials_of(trainers={"ppo": {"minibatch_size": [10_000]}}), ValueError, "trainers.ppo with {'minibatch_size'", "minibatch_size (10000)"),
    bad("no trainers", lambda: trials_of(trainers={}), ValueError, "trainers must be a non-empty mapping"),
    bad("empty seeds", lambda: trials_of(seeds=[]), ValueError, "seeds must be a non-empty list"),
    bad("negative seed", lambda: trials_of(seeds=[0, -1]), TypeError, "seeds must hold non-negative ints"),
    bad("repeated seed", lambda: trials_of(seeds=[0, 0]), ValueError, "seeds must not repeat"),
    bad("unknown env", lambda: trials_of(envs=["CartPole-v9"]), ValueError, "envs: unknown env id 'CartPole-v9'"),
    bad("no envs", lambda: trials_of(envs=[]), ValueError, "envs must be a non-empty list"),
    bad("env as str", lambda: trials_of(envs="CartPole-v1"), ValueError, "envs must be a non-empty list"),
    bad("unused base", lambda: trials_of(base={"gae_lambdaa": 0.9}), ValueError, "base: no trainer of this grid has field(s) ['gae_lambdaa']"),
    bad("base type", lambda: trials_of(base={"eval_episodes": "1"}), TypeError, "base.eval_episodes must be an int"),
    bad("per_env env", lambda: trials_of(per_env={"Acrobot-v1": {"ppo": {}}}), ValueError, "per_env.Acrobot-v1: not one of the grid's envs"),
    bad("per_env trainer", lambda: trials_of(per_env={"CartPole-v1": {"dqn": {}}}), ValueError, "per_env.CartPole-v1.dqn: not one of"),
    bad("per_env key", lambda: trials_of(per_env={"CartPole-v1": {"ppo": {"gama": 0.9}}}), ValueError, "per_env.CartPole-v1.ppo.gama", "no field"),
    bad("per_env type", lambda: trials_of(per_env={"CartPole-v1": {"ppo": {"gamma": "x"}}}), TypeError, "per_env.CartPole-v1.ppo.gamma must be a float"),
    bad("grid key", lambda: grid_from_dict({"trainers": {"ppo": {}}, "envs": ["CartPole-v1"], "seed": [0]}), ValueError, "unknown grid key(s) ['seed']"),
    bad("missing key", lambda: grid_from_dict({"trainers": {"ppo": {}}, "envs": ["CartPole-v1"]}), ValueError, "the grid has no ['seeds']"),
    bad("backend", lambda: run_tiny(backend="dask"), ValueError, "backend must be one of"),
    bad("workers", lambda: run_tiny(workers=0), ValueError, "workers must be a positive int"),
    bad("max_retries", lambda: run_tiny(max_retries=-1), ValueError, "max_retries must be a non-negative int"),
    bad("address without ray", lambda: run_tiny(address="auto"), ValueError, "address is for backend='ray' only"),
    bad("grid file suffix", lambda: load_grid(pathlib.Path(__file__)), ValueError, "path must end with .json, .yaml or .yml"),
]  # fmt: skip


@pytest.mark.parametrize("call, exc, words", BAD_INPUTS)
def test_bad_input_is_refused_clearly(call, exc, words):
    refused(call, exc, words)


# ---- a local sweep, resumed ---------------------------------------------------------------------------------------


def test_local_sweep_records_every_trial_once_and_resumes(tmp_path):
    grid, path = tiny_grid(), tmp_path / "r.jsonl"
    summary = run_sweep(grid, path, workers=1, progress=False)
    assert summary == {"trials": 4, "skipped": 0, "ok": 4, "errors": 0, "failed": 0}
    records = read_records(path)
    assert sorted(r["trial_id"] for r in records) == sorted(t.trial_id for t in grid.trials())
    r = records[0]
    assert r["status"] == "ok" and r["grid_hash"] == grid.hash and r["env_id"] == "CartPole-v1"
    assert r["config"]["total_steps"] == 128 and r["seed"] in (0, 1)
    assert r["config"]["gamma"] == 0.98 and r["config"]["hidden"] == [64, 64]  # defaults are recorded too
    assert (
        r["metrics"]["curve"]["steps"] == [128] and r["metrics"]["final_return"] == r["metrics"]["curve"]["scores"][-1]
    )
    assert r["metrics"]["train_seconds"] > 0 and r["wall_seconds"] >= r["metrics"]["train_seconds"]
    assert set(r["versions"]) >= {"torch", "gymnasium", "numpy", "course_lib"} and "git_commit" in r

    before = path.read_bytes()
    assert run_sweep(grid, path, workers=1, progress=False)["skipped"] == 4
    assert path.read_bytes() == before  # nothing re-run, nothing written

    # a driver killed mid-write leaves a partial line: ignored when read, cut off before the next append
    lines = before.splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:3]) + lines[3][:40])
    assert len(read_records(path)) == 3
    summary = run_sweep(grid, path, workers=1, progress=False)
    assert summary["skipped"] == 3 and summary["ok"] == 1
    again = read_records(path)
    assert len(again) == 4 and again[3]["trial_id"] == json.loads(lines[3])["trial_id"]
    redone, original = again[3]["metrics"], json.loads(lines[3])["metrics"]
    assert redone["curve"]["scores"] == original["curve"]["scores"]  # the same seed reproduces its record on CPU

    rows = summarize(path)
    assert {(row["trainer"], row["n"]) for row in rows} == {("ppo", 2), ("a2c", 2)}


def test_failed_trial_is_recorded_and_retried(tmp_path, toy):
    path = tmp_path / "r.jsonl"
    summary = run_sweep(toy("raise_once", tmp_path), path, workers=1, max_retries=2, progress=False)
    assert summary == {"trials": 3, "skipped": 0, "ok": 3, "errors": 3, "failed": 0}
    records = read_records(path)
    errors = [r for r in records if r["status"] == "error"]
    assert len(errors) == 3 and all("RuntimeError: toy failure" in r["error"] and r["attempt"] == 0 for r in errors)
    assert "Traceback" in errors[0]["traceback"]
    assert sorted(r["seed"] for r in ok_records(path)) == [0, 1, 2]
    assert all(r["attempt"] == 1 for r in ok_records(path))


def test_retries_are_bounded_across_runs(tmp_path, toy):
    path, grid = tmp_path / "r.jsonl", toy("always_raise", tmp_path, seeds=(0,))
    assert run_sweep(grid, path, workers=1, max_retries=1, progress=False)["failed"] == 1
    assert [r["attempt"] for r in read_records(path)] == [0, 1]
    assert run_sweep(grid, path, workers=1, max_retries=1, progress=False) == {
        "trials": 1, "skipped": 1, "ok": 0, "errors": 0, "failed": 1,
    }  # fmt: skip
    assert run_sweep(grid, path, workers=1, max_retries=2, progress=False)["errors"] == 1  # one more try allowed
    assert [r["attempt"] for r in read_records(path)] == [0, 1, 2]
    rows = summarize(path)
    assert rows[0]["n"] == 0 and rows[0]["failed"] == 1


def test_a_real_trainer_crash_is_recorded(tmp_path):
    """PPO's categorical policy cannot act in Pendulum's continuous action space: a run-time error, not a grid error."""
    grid = Grid(trainers={"ppo": {}}, envs=["Pendulum-v1"], seeds=[0], base=TINY_AC)
    summary = run_sweep(grid, tmp_path / "r.jsonl", workers=1, max_retries=0, progress=False)
    assert summary["failed"] == 1
    (record,) = read_records(tmp_path / "r.jsonl")
    assert record["status"] == "error" and "Discrete" in record["error"], record["error"]


@pytest.mark.slow
def test_killed_pool_worker_is_retried(tmp_path, toy):
    path = tmp_path / "r.jsonl"
    summary = run_sweep(toy("kill_once", tmp_path, seeds=(0, 1)), path, workers=2, max_retries=3, progress=False)
    assert summary["failed"] == 0 and summary["errors"] >= 1
    assert sorted(r["seed"] for r in ok_records(path)) == [0, 1]  # every trial recorded ok exactly once
    assert any("worker failed" in r["error"] for r in read_records(path) if r["status"] == "error")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["local", "ray"])
def test_cli_driver_killed_mid_sweep_resumes(tmp_path, backend):
    """SIGKILL the driver after its first record; the second run does only the trials not yet recorded."""
    if backend == "ray":
        pytest.importorskip("ray", reason="Ray is the optional extra 'sweep': pip install 'course_lib[sweep]'")
    grid = tmp_path / "g.json"
    base = TINY_AC | {"total_steps": 2048, "num_envs": 4, "minibatch_size": 64}  # about a second a trial
    data = {"trainers": {"ppo": {}}, "envs": ["CartPole-v1"], "seeds": [0, 1, 2, 3, 4, 5], "base": base}
    grid.write_text(json.dumps(data))
    results = tmp_path / "g.jsonl"
    cmd = [sys.executable, "-m", "course_lib.sweep", "run", str(grid), "--workers", "1", "--backend", backend]
    env = {**os.environ, "TQDM_DISABLE": "1"}
    with open(tmp_path / "driver.log", "wb") as log:  # a file, not a pipe: a full pipe would stall the driver
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while (
        time.monotonic() < deadline and proc.poll() is None and not (results.exists() and b"\n" in results.read_bytes())
    ):
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    first = read_records(results)
    log = (tmp_path / "driver.log").read_text()[-2000:]
    assert first, f"the driver wrote no record before it was killed or stopped; its log ends:\n{log}"
    assert len(first) < 6, "the driver finished before it was killed: make its trials longer"
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    records = read_records(results)
    assert records[: len(first)] == first and sorted(r["seed"] for r in records) == [0, 1, 2, 3, 4, 5]
    out = subprocess.run([sys.executable, "-m", "course_lib.sweep", "report", str(results)], cwd=ROOT, capture_output=True, text=True)  # fmt: skip
    assert out.returncode == 0 and "ppo" in out.stdout and "IQM" in out.stdout, out.stderr


def test_cli_reports_bad_grid(tmp_path, capsys):
    (tmp_path / "g.json").write_text(json.dumps({"trainers": {"ppo": {}}, "envs": ["NoSuchEnv-v0"], "seeds": [0]}))
    assert main(["run", str(tmp_path / "g.json")]) == 2
    assert "unknown env id 'NoSuchEnv-v0'" in capsys.readouterr().err


# ---- Ray ----------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ray_runtime():
    ray = pytest.importorskip("ray", reason="Ray is the optional extra 'sweep': pip install 'course_lib[sweep]'")
    # the workers import tests.sweep.helpers (the toy trainer) from the repository root
    pythonpath = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    # the sweep's own ray.init, which tries again if the node does not start within Ray's fixed 30 s
    _init_ray(ray, address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": {"PYTHONPATH": pythonpath, "TQDM_DISABLE": "1"}})  # fmt: skip
    yield ray
    ray.shutdown()


def test_bad_grid_fails_before_ray_starts(tmp_path):
    ray = pytest.importorskip("ray", reason="Ray is the optional extra 'sweep'")
    if ray.is_initialized():
        pytest.skip("a Ray runtime of another test is running")
    with pytest.raises(ValueError, match="unknown env id"):
        run_sweep(Grid(trainers={"ppo": {}}, envs=["Nope-v0"], seeds=[0]), tmp_path / "r.jsonl", backend="ray")
    assert not ray.is_initialized()


@pytest.mark.slow
def test_ray_gives_the_local_records(tmp_path, ray_runtime):
    grid = tiny_grid(seeds=(0, 1))
    run_sweep(grid, tmp_path / "local.jsonl", workers=1, progress=False)
    summary = run_sweep(grid, tmp_path / "ray.jsonl", backend="ray", progress=False)
    assert summary["ok"] == 4 and summary["errors"] == 0

    def key(r):
        m = r["metrics"]
        return (
            r["trial_id"],
            r["config"],
            m["final_return"],
            m["curve"]["steps"],
            m["curve"]["scores"],
            m["first_solved_steps"],
        )

    local, remote = read_records(tmp_path / "local.jsonl"), read_records(tmp_path / "ray.jsonl")
    assert sorted(map(key, local), key=str) == sorted(map(key, remote), key=str)
    assert len({r["pid"] for r in remote}) >= 1 and all(r["grid_hash"] == grid.hash for r in remote)
    assert (
        run_sweep(grid, tmp_path / "ray.jsonl", backend="ray", progress=False)["skipped"] == 4
    )  # resumable on Ray too


@pytest.mark.slow
def test_ray_killed_worker_is_retried(tmp_path, ray_runtime, toy):
    path = tmp_path / "r.jsonl"
    summary = run_sweep(toy("kill_once", tmp_path, seeds=(0, 1)), path, backend="ray", max_retries=2, progress=False)
    assert summary == {"trials": 2, "skipped": 0, "ok": 2, "errors": 2, "failed": 0}
    assert sorted(r["seed"] for r in ok_records(path)) == [0, 1]
    errors = [r for r in read_records(path) if r["status"] == "error"]
    assert all("worker failed" in r["error"] for r in errors), [r["error"] for r in errors]


class _SlowStartRay:
    """Stands in for the ``ray`` module: its first ``init`` calls fail as Ray's node start-up timeout does."""

    def __init__(self, failures: int, message: str = "The current node timed out during startup. This ...") -> None:
        self.failures, self.message, self.inits, self.shutdowns = failures, message, 0, 0

    def init(self, **kwargs) -> None:
        self.inits += 1
        if self.inits <= self.failures:
            raise Exception(self.message)

    def shutdown(self) -> None:
        self.shutdowns += 1


def test_init_ray_tries_a_slow_local_node_once_more():
    ray = _SlowStartRay(failures=1)
    _init_ray(ray, address="local", num_cpus=2)
    assert (ray.inits, ray.shutdowns) == (2, 1)
    with pytest.raises(Exception, match="timed out during startup"):  # two timeouts in a row: Ray's own error
        _init_ray(_SlowStartRay(failures=2), address="local")
    with pytest.raises(Exception, match="timed out during startup"):  # joining a cluster: no second try
        _init_ray(_SlowStartRay(failures=1), address="auto")
    with pytest.raises(Exception, match="port in use"):  # any other error: no second try
        _init_ray(_SlowStartRay(failures=1, message="port in use"), address="local")
