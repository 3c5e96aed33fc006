"""Value iteration against SymPy's exact Bellman solution; Q-learning and SARSA on CliffWalking."""

import gymnasium as gym
import numpy as np
import pytest
import sympy as sp

from course_lib.derivations import bellman
from course_lib.rl.tabular import (
    TDConfig,
    epsilon_greedy,
    greedy_path,
    q_learning_target,
    sarsa_target,
    td_update,
    train_tabular,
    value_iteration,
)


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
    q, s = train_tabular(TDConfig(algo="q_learning"), seed=seed), train_tabular(TDConfig(algo="sarsa"), seed=seed)
    assert len(greedy_path(env, q.Q)) - 1 == 13
    # SARSA's detour costs steps but avoids the cliff under epsilon-greedy exploration
    assert len(greedy_path(env, s.Q)) - 1 > 13
    assert s.episode_returns[100:].mean() > q.episode_returns[100:].mean()


def test_runs_are_reproducible_and_follow_the_contract():
    cfg = TDConfig(n_episodes=50, eval_every=200)
    a, b = train_tabular(cfg, seed=3), train_tabular(cfg, seed=3)
    np.testing.assert_array_equal(a.Q, b.Q)
    assert a.episodes == b.episodes and len(a.episodes) == 50 and len(a.log) == 50
    steps = [s for s, _ in a.episodes]
    assert steps == sorted(steps) and a.evaluations.steps[-1] == steps[-1]  # the final table is evaluated
    during = [s // 200 for s in a.evaluations.steps[:-1]]  # at most one evaluation per 200 env steps
    assert 1 <= len(during) <= steps[-1] // 200 and len(set(during)) == len(during)
    assert not np.array_equal(train_tabular(cfg, seed=4).Q, a.Q)


def test_one_step_targets_and_update_by_hand():
    Q = np.array([[0.0, 1.0], [2.0, 5.0]])
    assert q_learning_target(Q, 1.0, 1, False, 0.5) == 1.0 + 0.5 * 5.0
    assert sarsa_target(Q, 1.0, 1, 0, False, 0.5) == 1.0 + 0.5 * 2.0
    assert q_learning_target(Q, 1.0, 1, True, 0.5) == sarsa_target(Q, 1.0, 1, 0, True, 0.5) == 1.0
    delta = td_update(Q, 0, 1, 3.0, 0.25)
    assert delta == 2.0 and Q[0, 1] == 1.5


def test_epsilon_greedy_breaks_ties_at_random_and_explores():
    rng = np.random.default_rng(0)
    picks = [epsilon_greedy(np.zeros(4), 0.0, rng) for _ in range(400)]
    assert set(picks) == {0, 1, 2, 3}
    q = np.array([0.0, 1.0, 0.0])
    picks = np.array([epsilon_greedy(q, 0.3, rng) for _ in range(3000)])
    assert abs((picks != 1).mean() - 0.3 * 2 / 3) < 0.03


def test_bad_input_gets_a_clear_error():
    with pytest.raises(ValueError, match="Discrete observation and action spaces"):
        train_tabular(TDConfig(env_id="CartPole-v1"), seed=0)
    with pytest.raises(TypeError, match="env must be a gymnasium.Env"):
        greedy_path("CliffWalking-v1", np.zeros((48, 4)))
    with pytest.raises(ValueError, match="algo must be one of"):
        TDConfig(algo="expected_sarsa")
    with pytest.raises(TypeError, match="config must be a TDConfig"):
        train_tabular({"algo": "sarsa"}, seed=0)
    with pytest.raises(ValueError, match=r"alpha must lie in \(0, 1\]"):
        TDConfig(alpha=0.0)
    with pytest.raises(ValueError, match="epsilon"):
        TDConfig(epsilon=1.5)
    with pytest.raises(TypeError, match="n_episodes must be an int"):
        TDConfig(n_episodes=10.0)
    with pytest.raises(ValueError, match="Q must be a numpy array of shape"):
        greedy_path(gym.make("CliffWalking-v1"), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="gamma"):
        value_iteration(bellman.SMALL_MDP, 2.0)
