"""Value iteration against SymPy's exact Bellman solution; Q-learning and SARSA on CliffWalking."""

import gymnasium as gym
import numpy as np
import pytest
import sympy as sp

from course_lib.derivations import bellman
from course_lib.rl.tabular import TDConfig, epsilon_greedy, greedy_path, q_learning, sarsa, value_iteration


@pytest.mark.parametrize("gamma", [0.5, 0.9, 0.99])
def test_value_iteration_matches_exact_bellman_solution(gamma):
    V, Q = value_iteration(bellman.SMALL_MDP, gamma)
    policy = {s: {int(np.argmax(Q[s])): 1} for s in range(3)}
    exact = bellman.solve_bellman(bellman.SMALL_MDP, policy, sp.nsimplify(gamma))
    np.testing.assert_allclose(V, np.array(exact, dtype=float).ravel(), atol=1e-9)
    assert policy[0] == {1: 1} and policy[1] == {1: 1}


def test_value_iteration_on_cliff_walking_gives_minus_13_from_start():
    env = gym.make("CliffWalking-v1")
    V, _ = value_iteration(env.unwrapped.P, 1.0)
    assert V[36] == pytest.approx(-13.0)


@pytest.mark.parametrize("seed", range(5))
def test_q_learning_finds_the_13_step_edge_path_and_sarsa_earns_more_online(seed):
    env = gym.make("CliffWalking-v1")
    q, s = q_learning(env, seed=seed), sarsa(env, seed=seed)
    assert len(greedy_path(env, q.Q)) - 1 == 13
    # SARSA's detour costs steps but avoids the cliff under epsilon-greedy exploration
    assert len(greedy_path(env, s.Q)) - 1 > 13
    assert s.episode_returns[100:].mean() > q.episode_returns[100:].mean()


def test_runs_are_reproducible():
    env = gym.make("CliffWalking-v1")
    cfg = TDConfig(n_episodes=50)
    np.testing.assert_array_equal(q_learning(env, cfg, seed=3).Q, q_learning(env, cfg, seed=3).Q)


def test_epsilon_greedy_breaks_ties_at_random_and_explores():
    rng = np.random.default_rng(0)
    picks = [epsilon_greedy(np.zeros(4), 0.0, rng) for _ in range(400)]
    assert set(picks) == {0, 1, 2, 3}
    q = np.array([0.0, 1.0, 0.0])
    picks = np.array([epsilon_greedy(q, 0.3, rng) for _ in range(3000)])
    assert abs((picks != 1).mean() - 0.3 * 2 / 3) < 0.03


def test_bad_input_gets_a_clear_error():
    with pytest.raises(ValueError, match="Discrete observation and action spaces"):
        q_learning(gym.make("CartPole-v1"))
    with pytest.raises(TypeError, match="env must be a gymnasium.Env"):
        sarsa("CliffWalking-v1")
    with pytest.raises(ValueError, match=r"alpha must lie in \(0, 1\]"):
        TDConfig(alpha=0.0)
    with pytest.raises(ValueError, match="epsilon"):
        TDConfig(epsilon=1.5)
    with pytest.raises(TypeError, match="n_episodes must be an int"):
        TDConfig(n_episodes=10.0)
    with pytest.raises(TypeError, match="config must be a TDConfig"):
        q_learning(gym.make("CliffWalking-v1"), {"alpha": 0.5})
    with pytest.raises(ValueError, match="Q must be a numpy array of shape"):
        greedy_path(gym.make("CliffWalking-v1"), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="gamma"):
        value_iteration(bellman.SMALL_MDP, 2.0)
