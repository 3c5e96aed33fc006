"""Bernoulli bandits: the Gymnasium env passes the checker and pays Bernoulli rewards; the batched version agrees;
pseudo-regret on known cases."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

import course_lib.envs  # noqa: F401  (registers the ids)
from course_lib.envs.bandits import BanditBatch, BernoulliBanditEnv, pseudo_regret, sample_bandit_tasks


@pytest.mark.filterwarnings("ignore:.*alternative render modes")
def test_registered_env_passes_the_gymnasium_checker():
    check_env(gym.make("course_lib/BernoulliBandit-v0").unwrapped)
    check_env(BernoulliBanditEnv(k=3, horizon=10, probs=[0.1, 0.5, 0.9]))


def test_env_pays_bernoulli_rewards_and_terminates_at_the_horizon():
    env = BernoulliBanditEnv(k=3, horizon=2000, probs=[0.0, 1.0, 0.3])
    env.reset(seed=0)
    rewards = {a: [] for a in range(3)}
    for t in range(2000):
        a = t % 3
        obs, r, term, trunc, _ = env.step(a)
        rewards[a].append(r)
        assert obs[0] == np.float32((t + 1) / 2000) and term == (t == 1999) and not trunc
    assert set(rewards[0]) == {0.0} and set(rewards[1]) == {1.0}
    assert abs(np.mean(rewards[2]) - 0.3) < 4 * np.sqrt(0.3 * 0.7 / len(rewards[2]))


def test_task_api():
    env = BernoulliBanditEnv(k=4)
    _, info = env.reset(seed=3)
    _, again = env.reset(seed=3)
    np.testing.assert_array_equal(info["probs"], again["probs"])
    env.set_task([0.1, 0.2, 0.3, 0.4])
    _, info = env.reset(seed=4)
    np.testing.assert_allclose(info["probs"], [0.1, 0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="probs must be 4 probabilities"):
        env.set_task([0.1, 0.2, 1.3, 0.4])
    with pytest.raises(ValueError, match="action must be an arm"):
        env.step(7)
    with pytest.raises(ValueError, match="k must be an int >= 2"):
        BernoulliBanditEnv(k=1)


def test_batch_pays_each_task_its_own_arm():
    probs = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.25, 0.75]])
    env = BanditBatch(probs)
    g = torch.Generator().manual_seed(0)
    r = torch.stack([env.pull(torch.tensor([1, 1, 1]), g) for _ in range(4000)])
    assert (r[:, 0] == 1).all() and (r[:, 1] == 0).all()
    assert abs(r[:, 2].mean().item() - 0.75) < 4 * np.sqrt(0.75 * 0.25 / 4000)
    with pytest.raises(ValueError, match="actions must have shape"):
        env.pull(torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="probs must lie in"):
        BanditBatch(torch.tensor([[0.5, 1.5]]))


def test_sample_tasks_are_uniform():
    p = sample_bandit_tasks(20_000, 5, torch.Generator().manual_seed(0))
    assert p.shape == (20_000, 5) and 0 <= p.min() and p.max() <= 1
    assert abs(p.mean().item() - 0.5) < 0.01 and abs(p.var().item() - 1 / 12) < 0.01


def test_pseudo_regret_on_known_cases():
    probs = torch.tensor([[0.2, 0.9, 0.5]])
    actions = torch.tensor([[0, 1, 2, 1]])
    torch.testing.assert_close(pseudo_regret(probs, actions), torch.tensor([[0.7, 0.7, 1.1, 1.1]]))
    with pytest.raises(ValueError, match="probs must be"):
        pseudo_regret(probs[0], actions)
