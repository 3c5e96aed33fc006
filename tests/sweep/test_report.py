"""Tests of course_lib.sweep.report's arrays and figures, and of the committed sweep chapter 13 reads
(data/sweeps/): complete, with its provenance, from the grid it names, and reproducible trial by trial."""

from __future__ import annotations

import dataclasses
import json
import pathlib

import numpy as np
import pytest

from course_lib.stats import bootstrap_ci
from course_lib.sweep import load_grid, read_records, run_trial, summarize
from course_lib.sweep.__main__ import main
from course_lib.sweep.grid import resolve
from course_lib.sweep.report import load_runs, score_bounds

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "sweeps"


def _record(trainer, env, seed, final, scores, steps=(10, 20, 30), status="ok", overrides=None):
    return {
        "trainer": trainer,
        "env_id": env,
        "seed": seed,
        "overrides": overrides or {},
        "status": status,
        "trial_id": f"{trainer}-{env}-{seed}-{json.dumps(overrides or {})}",
        "metrics": None
        if status != "ok"
        else {"final_return": final, "curve": {"steps": list(steps), "scores": scores}},
    }


def _write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_load_runs_gives_arrays_per_algorithm_and_env_sorted_by_seed(tmp_path):
    records = [
        _record("ppo", "CartPole-v1", 2, 500.0, [100.0, 300.0, 500.0]),
        _record("ppo", "CartPole-v1", 0, 400.0, [90.0, 200.0, 400.0]),
        _record("ppo", "CartPole-v1", 1, None, [], status="error"),
        _record("ppo", "CartPole-v1", 0, 123.0, [1.0, 2.0, 123.0]),  # a second ok record of seed 0: the first counts
        _record("ppo", "CartPole-v1", 3, 50.0, [1.0, 2.0, 3.0, 50.0], steps=(10, 20, 30, 40)),
        _record("dqn", "Acrobot-v1", 5, -90.0, [-500.0, -200.0, -90.0], overrides={"lr": 0.001}),
    ]
    runs = load_runs(_write(tmp_path / "r.jsonl", records))
    assert list(runs) == ["ppo", 'dqn {"lr": 0.001}']
    cp = runs["ppo"]["CartPole-v1"]
    assert cp["seeds"].tolist() == [0, 2, 3] and cp["final"].tolist() == [400.0, 500.0, 50.0]
    assert cp["steps"] is None and cp["curves"] is None  # seed 3 was evaluated at other steps
    ac = runs['dqn {"lr": 0.001}']["Acrobot-v1"]
    assert ac["steps"].tolist() == [10, 20, 30] and ac["curves"].shape == (1, 3)


def test_load_runs_refuses_an_empty_file(tmp_path):
    with pytest.raises(ValueError, match="no records"):
        load_runs(_write(tmp_path / "r.jsonl", []))


def test_score_bounds_are_a_random_policy_and_the_registered_threshold():
    bounds = score_bounds(["CartPole-v1", "Acrobot-v1"], episodes=50)
    low, high = bounds["CartPole-v1"]
    assert 15 < low < 30 and high == 475.0  # a random CartPole policy lasts about 22 steps
    low, high = bounds["Acrobot-v1"]
    assert -500 <= low < -450 and high == -100.0  # a random Acrobot policy almost never swings up in 500 steps
    assert score_bounds(["CartPole-v1"], episodes=50) == {"CartPole-v1": bounds["CartPole-v1"]}  # seeded
    with pytest.raises(ValueError, match="reward_threshold"):
        score_bounds(["Pendulum-v1"])


def test_report_command_writes_three_figures(tmp_path, capsys):
    rng = np.random.default_rng(0)
    records = [
        _record(algo, env, s, float(x[-1]), x.tolist())
        for algo, shift in (("ppo", 0.0), ("a2c", -50.0))
        for env, scale in (("CartPole-v1", 500.0), ("Acrobot-v1", -100.0))
        for s in range(6)
        for x in [np.sort(rng.uniform(0.2, 1.0, 3)) * scale + shift]
    ]
    results = _write(tmp_path / "r.jsonl", records)
    assert main(["report", str(results), "--figures", str(tmp_path / "fig")]) == 0
    out = capsys.readouterr().out
    assert "ppo" in out and "a2c" in out and "IQM" in out
    for name in ("final_scores.png", "performance_profiles.png", "sample_efficiency.png"):
        png = tmp_path / "fig" / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000, name


# ---------------------------------------------------------------- the committed sweep (chapter 13)
def _grid_without_seeds(path):
    data = load_grid(path).to_dict()
    return {k: v for k, v in data.items() if k != "seeds"}, data["seeds"]


def test_reported_grid_is_the_zoo_grid_with_other_seeds_and_one_measured_change():
    zoo, zoo_seeds = _grid_without_seeds(DATA / "zoo.yaml")
    main_grid, main_seeds = _grid_without_seeds(DATA / "main.yaml")
    change, change_seeds = _grid_without_seeds(DATA / "dqn_acrobot.yaml")
    assert not set(zoo_seeds) & set(main_seeds), "the reported seeds were never used for tuning"
    assert change_seeds == zoo_seeds and len(main_seeds) == 20
    changed = main_grid["per_env"]["Acrobot-v1"]["dqn"]
    assert changed == change["per_env"]["Acrobot-v1"]["dqn"], "the change is the one measured on the tuning seeds"
    differs = {k for k in changed if changed[k] != zoo["per_env"]["Acrobot-v1"]["dqn"][k]}
    assert differs == {"gradient_steps", "target_update_every"}  # 1 instead of 4; the same 250 env steps per copy
    zoo["per_env"]["Acrobot-v1"]["dqn"] = changed
    assert zoo == main_grid, "apart from that change, main.yaml is zoo.yaml"


@pytest.mark.parametrize("name", ["zoo", "dqn_acrobot", "main"])
def test_committed_results_are_complete_and_carry_their_provenance(name):
    grid = load_grid(DATA / f"{name}.yaml")
    records = read_records(DATA / f"{name}.jsonl")
    ok = {r["trial_id"]: r for r in records if r["status"] == "ok"}
    assert set(ok) == {t.trial_id for t in grid.trials()}, "every trial of the grid finished"
    for r in ok.values():
        assert r["grid_hash"] == grid.hash
        assert r["git_commit"] and r["versions"]["torch"] and r["versions"]["gymnasium"]
        if name != "zoo":  # zoo.jsonl was run from a working tree with its grid file not yet committed (README)
            assert not r["git_commit"].endswith("+dirty"), "run from a clean checkout: the commit says what ran"
        assert np.isfinite(r["metrics"]["final_return"]) and r["metrics"]["curve"]["scores"]


@pytest.mark.parametrize("name", ["zoo", "dqn_acrobot", "main"])
def test_every_committed_run_used_the_config_its_trial_gives_with_todays_defaults(name):
    """A change of a config's defaults must not change what a committed trial means: each record's full config
    (defaults filled in when it ran) is the config its grid trial resolves to now."""
    trials = {t.trial_id: t for t in load_grid(DATA / f"{name}.yaml").trials()}
    for r in read_records(DATA / f"{name}.jsonl"):
        trial = trials[r["trial_id"]]
        now = json.loads(json.dumps(dataclasses.asdict(resolve(trial.config_type, "config")(**trial.config))))
        assert now == r["config"], (name, r["trainer"], r["env_id"], r["seed"])


@pytest.mark.slow
def test_two_committed_trials_reproduce_exactly():
    """Rerun two trials of the committed sweep (one PPO, one A2C: about 30 s) and get the same evaluations.

    Bit-for-bit equality needs the same library versions (and CPU kind); with other versions the test is skipped."""
    records = [r for r in read_records(DATA / "main.jsonl") if r["status"] == "ok"]
    import gymnasium
    import torch

    if (
        records[0]["versions"]["torch"] != torch.__version__
        or records[0]["versions"]["gymnasium"] != gymnasium.__version__
    ):
        pytest.skip(f"the sweep was recorded with {records[0]['versions']}; bit-for-bit needs the same versions")
    trials = {t.trial_id: t for t in load_grid(DATA / "main.yaml").trials()}
    picked = [
        next(r for r in records if r["trainer"] == "ppo" and r["env_id"] == "CartPole-v1" and r["seed"] == 107),
        next(r for r in records if r["trainer"] == "a2c" and r["env_id"] == "Acrobot-v1" and r["seed"] == 113),
    ]
    for old in picked:
        new = run_trial(dataclasses.asdict(trials[old["trial_id"]]))
        assert new["status"] == "ok", new.get("error")
        assert new["metrics"]["curve"]["steps"] == old["metrics"]["curve"]["steps"]
        assert new["metrics"]["curve"]["scores"] == old["metrics"]["curve"]["scores"], (old["trainer"], old["env_id"])
        assert new["metrics"]["final_return"] == old["metrics"]["final_return"]


def test_report_table_and_load_runs_give_the_same_intervals():
    """summarize orders each group's runs by seed, as load_runs does, so the CLI prints the chapter's intervals."""
    rows = {(r["trainer"], r["env_id"]): r for r in summarize(DATA / "main.jsonl")}
    runs = load_runs(DATA / "main.jsonl")
    for (trainer, env), row in rows.items():
        est, lo, hi = bootstrap_ci(runs[trainer][env]["final"])
        assert (row["iqm"], row["iqm_low"], row["iqm_high"]) == (est, lo, hi)
