"""Rollouts from SAME_STEP vector envs: real transitions, true final observations, seeding."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from course_lib.rl.returns import reward_to_go
from course_lib.rl.rollouts import RolloutCollector, make_vec_env


def test_next_obs_is_the_true_final_obs_and_obs_continues_with_reset():
    envs = make_vec_env("CartPole-v1", 4, max_episode_steps=20)
    c = RolloutCollector(envs, seed=3)
    roll = c.collect(lambda o: envs.action_space.sample(), 60)
    assert roll.truncated.any() and roll.terminated.any()
    # within an episode, next_obs[t] is obs[t+1]
    same_episode = ~roll.done[:-1]
    torch.testing.assert_close(roll.next_obs[:-1][same_episode], roll.obs[1:][same_episode])
    # at an episode end, next_obs is the final observation, not the reset one
    ended = roll.done[:-1]
    assert not torch.isclose(roll.next_obs[:-1][ended], roll.obs[1:][ended]).all(dim=-1).any()
    # terminated CartPole states are out of bounds (pole angle or cart position)
    final = roll.next_obs[roll.terminated & ~roll.truncated]
    out = (final[:, 0].abs() > 2.4) | (final[:, 2].abs() > 0.2095)
    assert out.all()
    # truncations happen at the 20-step limit
    assert all(length <= 20 for length in c.episode_lengths)
    assert 20 in c.episode_lengths


def test_episode_statistics_agree_with_rewards():
    envs = make_vec_env("CartPole-v1", 3)
    c = RolloutCollector(envs, seed=0)
    roll = c.collect(lambda o: envs.action_space.sample(), 200)
    assert len(c.episode_returns) == int(roll.done.sum())
    # CartPole pays 1 per step: an episode's return is its length
    assert c.episode_returns == [float(n) for n in c.episode_lengths]
    # undiscounted reward-to-go at each completed episode's first step is that episode's return
    g = reward_to_go(roll.rewards, roll.terminated, roll.truncated, 1.0)
    at_starts = []
    for i in range(3):
        ends = torch.nonzero(roll.done[:, i]).flatten().tolist()
        starts = [0] + [e + 1 for e in ends[:-1]]
        at_starts += [g[s, i].item() for s in starts]
    assert sorted(at_starts) == sorted(c.episode_returns)


def test_same_seed_same_rollout():
    def run():
        envs = make_vec_env("CartPole-v1", 2)
        c = RolloutCollector(envs, seed=11)
        return c.collect(lambda o: envs.action_space.sample(), 30)

    a, b = run(), run()
    torch.testing.assert_close(a.obs, b.obs)
    torch.testing.assert_close(a.actions, b.actions)


def test_collector_rejects_next_step_autoreset_and_bad_args():
    envs = gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync")
    with pytest.raises(ValueError, match="SAME_STEP"):
        RolloutCollector(envs, seed=0)
    with pytest.raises(TypeError, match="envs must be a gymnasium.vector.VectorEnv"):
        RolloutCollector(gym.make("CartPole-v1"), seed=0)
    ok = make_vec_env("CartPole-v1", 2)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        RolloutCollector(ok, seed=-1)
    with pytest.raises(ValueError, match="n_steps must be > 0"):
        RolloutCollector(ok, seed=0).collect(lambda o: np.zeros(2, dtype=int), 0)
    with pytest.raises(ValueError, match="num_envs must be > 0"):
        make_vec_env("CartPole-v1", 0)


def test_the_environments_rewards_are_checked_even_inside_a_trainers_loop():
    """``trusted()`` skips the checks of the trainer's own data, not of what the environment returns."""
    from gymnasium.vector import AutoresetMode
    from gymnasium.wrappers import TransformReward

    from course_lib._validation import trusted

    def make():
        return TransformReward(gym.make("CartPole-v1"), lambda r: float("nan"))

    envs = gym.vector.SyncVectorEnv([make, make], autoreset_mode=AutoresetMode.SAME_STEP)
    collector = RolloutCollector(envs, seed=0)
    with trusted(), pytest.raises(ValueError, match="the environment's rewards must be finite, got 2 NaN"):
        collector.collect(lambda o: np.zeros(2, dtype=int), 1)


class _NaNAtTheEnd(gym.Wrapper):
    """CartPole whose last observation of an episode is NaN (what the vector env reports as ``final_obs``)."""

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return (obs * np.nan if terminated or truncated else obs), reward, terminated, truncated, info


def test_a_nan_observation_is_refused_at_the_step_it_arrives_before_the_policy_sees_it():
    from gymnasium.vector import AutoresetMode

    from course_lib._validation import trusted

    def make():
        return _NaNAtTheEnd(gym.make("CartPole-v1", max_episode_steps=3))

    envs = gym.vector.SyncVectorEnv([make, make], autoreset_mode=AutoresetMode.SAME_STEP)
    collector = RolloutCollector(envs, seed=0)
    seen = []

    def policy(obs):
        assert torch.isfinite(obs).all(), "a NaN observation reached the policy"
        seen.append(obs)
        return np.zeros(2, dtype=int)

    # SAME_STEP: the step that ends an episode returns the reset observation (finite) and the NaN one as final_obs
    with trusted(), pytest.raises(ValueError, match="the environment's final observations must be finite, got 8 NaN"):
        collector.collect(policy, 10)
    assert len(seen) == 3, "refused at the third step, where the episodes end"
