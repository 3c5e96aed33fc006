"""Tests of course_lib.sweep.grid: grid files, the one-trainer shorthand, per-environment settings, the hash."""

import json

import pytest

from course_lib.sweep import Grid, load_grid


def test_grid_files_and_shorthand(tmp_path):
    (tmp_path / "g.yaml").write_text(
        "trainer: ppo\noverrides:\n  lr: [1.0e-3, 3.0e-4]\n  hidden: [[32], [64, 64]]\nenvs: [CartPole-v1, Acrobot-v1]\nseeds: [0, 1, 2]\n"
    )
    grid = load_grid(tmp_path / "g.yaml")
    trials = grid.trials()
    assert len(trials) == 2 * 2 * 2 * 3 and len({t.trial_id for t in trials}) == len(trials)
    assert {t.config["hidden"] for t in trials} == {(32,), (64, 64)}  # YAML lists become the config's tuples
    (tmp_path / "g.json").write_text(json.dumps(grid.to_dict()))
    assert load_grid(tmp_path / "g.json").hash == grid.hash
    (tmp_path / "bad.yaml").write_text("trainer: ppo\noverrides: {lr: [1e-3]}\nenvs: [CartPole-v1]\nseeds: [0]\n")
    with pytest.raises(TypeError, match=r"YAML reads 1e-3 as a string"):
        load_grid(tmp_path / "bad.yaml").trials()
    per_env = Grid(
        trainers={"ppo": {"lr": [1e-3]}, "a2c": {}},
        envs=["CartPole-v1", "Acrobot-v1"],
        seeds=[0],
        base={"gamma": 0.9, "n_epochs": 2},
        per_env={"Acrobot-v1": {"ppo": {"gamma": 0.99, "lr": 5e-4}}},
    )
    configs = {(t.trainer, t.env_id): t.config for t in per_env.trials()}
    assert configs["ppo", "Acrobot-v1"]["gamma"] == 0.99 and configs["ppo", "CartPole-v1"]["gamma"] == 0.9
    assert configs["a2c", "Acrobot-v1"]["gamma"] == 0.9 and configs["ppo", "Acrobot-v1"]["lr"] == 1e-3  # overrides win
    assert per_env.hash != Grid(**{**per_env.__dict__, "per_env": {}}).hash
