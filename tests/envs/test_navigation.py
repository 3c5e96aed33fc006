"""2-D navigation: the Gymnasium env passes the checker, its task API, and the batched simulator gives the same
trajectories; the oracle reaches the smallest possible distance at every step."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

import course_lib.envs  # noqa: F401  (registers the ids)
from course_lib.envs.navigation import (
    HORIZON,
    MAX_SPEED,
    Navigation2DEnv,
    NavigationBatch,
    oracle_actions,
    sample_goals,
)


@pytest.mark.filterwarnings("ignore:.*alternative render modes")  # no render modes to test
def test_registered_env_passes_the_gymnasium_checker():
    env = gym.make("course_lib/Navigation2D-v0")
    check_env(env.unwrapped)
    check_env(Navigation2DEnv(goal=[0.3, -0.2]))


def test_task_api():
    env = Navigation2DEnv()
    obs, info = env.reset(seed=0)
    assert np.array_equal(obs, np.zeros(2, np.float32))
    assert (np.abs(info["goal"]) <= 0.5).all()
    _, again = env.reset(seed=0)
    np.testing.assert_array_equal(info["goal"], again["goal"])  # seeded reset: same task
    goals = env.sample_tasks(500)
    assert goals.shape == (500, 2) and (np.abs(goals) <= 0.5).all() and goals.min() < -0.4 and goals.max() > 0.4
    env.set_task([0.1, 0.2])
    for seed in (1, 2):
        _, info = env.reset(seed=seed)
        np.testing.assert_allclose(info["goal"], [0.1, 0.2])  # a fixed task stays fixed
    _, info = env.reset(options={"goal": np.array([-0.4, 0.0])})
    np.testing.assert_allclose(info["goal"], [-0.4, 0.0])
    with pytest.raises(ValueError, match="goal must have shape"):
        env.set_task([1.0, 2.0, 3.0])


def test_reward_clipping_and_time_limit():
    env = Navigation2DEnv(goal=[0.3, 0.4])
    env.reset(seed=0)
    obs, r, term, trunc, _ = env.step(np.array([5.0, -5.0], np.float32))  # clipped to (0.1, -0.1)
    np.testing.assert_allclose(obs, [0.1, -0.1], rtol=1e-6)
    assert r == pytest.approx(-np.hypot(0.2, 0.5), rel=1e-6) and not term and not trunc
    for t in range(2, HORIZON + 1):
        *_, term, trunc, _ = env.step(np.zeros(2, np.float32))
        assert not term and trunc == (t == HORIZON)


def test_batched_simulator_gives_identical_trajectories_to_the_gymnasium_env():
    g = torch.Generator().manual_seed(0)
    goals = sample_goals(3, g)
    actions = torch.randn(HORIZON, 3, 2, 2, generator=g) * 0.15  # some beyond the clip
    batch = NavigationBatch(goals, n_traj=2)
    pos = batch.reset()
    sim_pos, sim_rew = [], []
    for t in range(HORIZON):
        pos, rew, done = batch.step(actions[t])
        sim_pos.append(pos)
        sim_rew.append(rew)
        assert done == (t == HORIZON - 1)
    sim_pos, sim_rew = torch.stack(sim_pos), torch.stack(sim_rew)
    env = Navigation2DEnv()
    for i in range(3):
        for j in range(2):
            env.reset(options={"goal": goals[i].numpy()})
            for t in range(HORIZON):
                obs, r, *_ = env.step(actions[t, i, j].numpy())
                np.testing.assert_array_equal(obs, sim_pos[t, i, j].numpy())
                assert r == pytest.approx(sim_rew[t, i, j].item(), rel=1e-6)  # states bit for bit, rewards to 1 ulp


@settings(max_examples=50, deadline=None)
@given(st.floats(-0.5, 0.5), st.floats(-0.5, 0.5), st.integers(0, 2**31))
def test_oracle_reaches_the_smallest_possible_distance(gx, gy, seed):
    goals = torch.tensor([[gx, gy]], dtype=torch.float32)
    oracle, other = NavigationBatch(goals, 1), NavigationBatch(goals, 8)
    p, q = oracle.reset(), other.reset()
    g = torch.Generator().manual_seed(seed)
    for t in range(1, 21):
        p, r_oracle, _ = oracle.step(oracle_actions(p, goals))
        q, r_other, _ = other.step(torch.randn(1, 8, 2, generator=g) * 0.1)
        bound = (goals.abs() - MAX_SPEED * t).clamp(min=0)  # |g - s_t| >= |g| - 0.1 t per coordinate
        torch.testing.assert_close((goals - p[0]).abs(), bound, atol=1e-5, rtol=0)
        assert (r_oracle >= r_other.max() - 1e-5).all()


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="goals must have shape"):
        NavigationBatch(torch.zeros(2), 1)
    with pytest.raises(ValueError, match="n_traj"):
        NavigationBatch(torch.zeros(2, 2), 0)
    with pytest.raises(TypeError, match="goals must be a torch.Tensor"):
        NavigationBatch(np.zeros((2, 2)), 1)
    batch = NavigationBatch(torch.zeros(2, 2), 3)
    with pytest.raises(ValueError, match="actions must have shape"):
        batch.step(torch.zeros(2, 2))
