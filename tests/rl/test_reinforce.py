"""REINFORCE: its weightings, masks and configuration, and that it solves CartPole."""

import numpy as np
import pytest
import torch

from course_lib.evaluation import evaluate
from course_lib.rl.reinforce import (
    ReinforceConfig,
    complete_episode_mask,
    episode_start_values,
    pg_weights,
    train_reinforce,
)
from course_lib.rl.rollouts import Rollout


def _rollout(rewards, term, trunc):
    r = torch.tensor(rewards, dtype=torch.float32)[:, None]
    z = torch.zeros(len(rewards), 1, 4)
    return Rollout(z, torch.zeros(len(rewards), 1), r, torch.tensor(term)[:, None], torch.tensor(trunc)[:, None], z)


def test_weightings_on_a_hand_made_rollout():
    # episode 1: rewards 1, 2 (terminated); episode 2: rewards 3, 4 (still running)
    roll = _rollout([1.0, 2.0, 3.0, 4.0], [False, True, False, False], [False] * 4)
    assert pg_weights(roll, 1.0, "reward_to_go").flatten().tolist() == [3.0, 2.0, 7.0, 4.0]
    assert pg_weights(roll, 1.0, "total").flatten().tolist() == [3.0, 3.0, 7.0, 7.0]
    v = torch.ones(4, 1)
    assert pg_weights(roll, 1.0, "baseline", v).flatten().tolist() == [2.0, 1.0, 6.0, 3.0]
    assert complete_episode_mask(roll.done).flatten().tolist() == [True, True, False, False]
    with pytest.raises(ValueError, match="needs values of shape"):
        pg_weights(roll, 1.0, "baseline")
    with pytest.raises(ValueError, match="kind must be"):
        pg_weights(roll, 1.0, "advantage")


def test_episode_start_values_broadcasts_per_env():
    x = torch.arange(6.0).view(3, 2)
    done = torch.tensor([[True, False], [False, False], [False, True]])
    assert episode_start_values(x, done).tolist() == [[0, 1], [2, 1], [2, 1]]


@pytest.mark.parametrize(
    "kwargs, exc, words",
    [
        ({"gamma": 1.2}, ValueError, "gamma"),
        ({"baseline": "mean"}, ValueError, "baseline must be one of"),
        ({"num_envs": 0}, ValueError, "num_envs must be > 0"),
        ({"lr": -1e-3}, ValueError, "lr must be > 0"),
        ({"hidden": [64]}, ValueError, "hidden must be a tuple"),
        ({"total_steps": 1e5}, TypeError, "total_steps must be an int"),
        ({"env_id": None}, TypeError, "env_id must be a str"),
    ],
)
def test_config_rejects_bad_values(kwargs, exc, words):
    with pytest.raises(exc) as info:
        ReinforceConfig(**kwargs)
    assert words in str(info.value)


def test_train_rejects_a_dict_config():
    with pytest.raises(TypeError, match="config must be a ReinforceConfig"):
        train_reinforce({"lr": 1e-3})


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1])
def test_reinforce_solves_cartpole(seed):
    torch.set_num_threads(1)
    result = train_reinforce(ReinforceConfig(total_steps=200_000), seed=seed)
    returns = evaluate(lambda o: result.policy.act(o, deterministic=True), "CartPole-v1", 20)
    assert returns.mean() >= 475, returns
    assert np.nanmean(result.train_returns[:3]) < 60  # it really started from scratch
