"""REINFORCE: its weightings, masks and configuration, and that it solves CartPole."""

import functools

import numpy as np
import pytest
import torch

from course_lib.parallel import run_parallel
from course_lib.rl.policies import CategoricalPolicy
from course_lib.rl.reinforce import (
    ReinforceConfig,
    complete_episode_mask,
    episode_start_values,
    pg_weights,
    reinforce_advantages,
    reinforce_update,
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
        train_reinforce({"lr": 1e-3}, seed=0)


def test_advantages_and_one_update_step():
    # episode 1: rewards 1, 2 (terminated); episode 2: rewards 3, 4 (still running)
    roll = _rollout([1.0, 2.0, 3.0, 4.0], [False, True, False, False], [False] * 4)
    adv, G, use = reinforce_advantages(roll, None, 1.0, "average")
    assert use.flatten().tolist() == [True, True, False, False]  # no return known for the running episode
    assert adv.flatten()[:2].tolist() == [3.0 - 2.5, 2.0 - 2.5]
    gen = torch.Generator().manual_seed(0)
    policy = CategoricalPolicy(4, 2, (8,), generator=gen)
    obs, actions, a = torch.randn(5, 4, generator=gen), torch.tensor([0, 1, 1, 0, 1]), torch.randn(5, generator=gen)
    before = [p.detach().clone() for p in policy.parameters()]
    norm_a = (a - a.mean()) / (a.std() + 1e-8)
    grads = torch.autograd.grad(-(policy.log_prob(obs, actions) * norm_a).mean(), list(policy.parameters()))
    stats = reinforce_update(policy, torch.optim.SGD(policy.parameters(), lr=0.5), obs, actions, a)
    for p, b, g in zip(policy.parameters(), before, grads):
        torch.testing.assert_close(p.detach(), b - 0.5 * g)
    assert stats["adv_std"] == pytest.approx(a.std().item())
    assert stats["grad_norm"] == pytest.approx(torch.cat([g.flatten() for g in grads]).norm().item(), rel=1e-5)


@pytest.mark.slow
def test_reinforce_solves_cartpole_on_three_seeds():
    """Final greedy return over 20 episodes; seeds 10-19 gave 462-500 (median 500)."""
    results = run_parallel([functools.partial(train_reinforce, ReinforceConfig(), seed=s) for s in (0, 1, 2)])
    finals = [r.evaluations.final_return for r in results]
    assert min(finals) >= 400, finals
    first = [np.mean([ret for _, ret in r.episodes[:16]]) for r in results]
    assert max(first) < 60, first  # it really started from scratch
