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


# ---------------------------------------------------------------- bad inputs, refused with the argument named
from tests.bad_inputs import bad, refused  # noqa: E402

_Q = np.zeros((4, 2))
_RNG = np.random.default_rng(0)
BAD_INPUTS = [
    bad("vi-gamma", lambda: value_iteration(bellman.SMALL_MDP, 1.5), ValueError, "gamma"),
    bad("vi-P-list", lambda: value_iteration([[]], 0.9), TypeError, "P"),
    bad("vi-tol-zero", lambda: value_iteration(bellman.SMALL_MDP, 0.9, tol=0.0), ValueError, "tol"),
    bad("vi-max-iter-zero", lambda: value_iteration(bellman.SMALL_MDP, 0.9, max_iter=0), ValueError, "max_iter"),
    bad("eps-greedy-epsilon", lambda: epsilon_greedy(_Q[0], 1.5, _RNG), ValueError, "epsilon"),
    bad("eps-greedy-rng", lambda: epsilon_greedy(_Q[0], 0.1, 0), TypeError, "rng"),
    bad("eps-greedy-q-2d", lambda: epsilon_greedy(_Q, 0.1, _RNG), ValueError, "q"),
    bad("q-target-state-range", lambda: q_learning_target(_Q, 0.0, 4, False, 0.9), ValueError, "s2"),
    bad("q-target-terminated-str", lambda: q_learning_target(_Q, 0.0, 1, "no", 0.9), TypeError, "terminated"),
    bad("q-target-reward-nan", lambda: q_learning_target(_Q, float("nan"), 1, False, 0.9), ValueError, "r"),
    bad("q-target-gamma", lambda: q_learning_target(_Q, 0.0, 1, False, -0.5), ValueError, "gamma"),
    bad("sarsa-target-action-range", lambda: sarsa_target(_Q, 0.0, 1, 2, False, 0.9), ValueError, "a2"),
    bad("sarsa-target-q-list", lambda: sarsa_target([[0.0]], 0.0, 0, 0, False, 0.9), TypeError, "Q"),
    bad("td-update-alpha", lambda: td_update(_Q.copy(), 0, 0, 1.0, 0.0), ValueError, "alpha"),
    bad("td-update-state-float", lambda: td_update(_Q.copy(), 0.5, 0, 1.0, 0.1), TypeError, "s"),
    bad("td-update-target-inf", lambda: td_update(_Q.copy(), 0, 0, float("inf"), 0.1), ValueError, "target"),
    bad("config-algo", lambda: TDConfig(algo="expected_sarsa"), ValueError, "algo"),
    bad("config-env-kwargs", lambda: TDConfig(env_kwargs=[("is_slippery", True)]), TypeError, "env_kwargs"),
    bad("config-alpha-zero", lambda: TDConfig(alpha=0.0), ValueError, "alpha"),
    bad("config-episodes-zero", lambda: TDConfig(n_episodes=0), ValueError, "n_episodes"),
    bad(
        "train-box-observations",
        lambda: train_tabular(TDConfig(env_id="CartPole-v1", n_episodes=1), seed=0),
        ValueError,
        "Discrete",
    ),
    bad(
        "train-unknown-env",
        lambda: train_tabular(TDConfig(env_id="CliffWalking-v9", n_episodes=1), seed=0),
        ValueError,
        "env_id",
    ),
    bad("greedy-path-q-shape", lambda: greedy_path(gym.make("CliffWalking-v1"), np.zeros((3, 4))), ValueError, "Q"),
    bad(
        "greedy-path-max-steps",
        lambda: greedy_path(gym.make("CliffWalking-v1"), np.zeros((48, 4)), max_steps=0),
        ValueError,
        "max_steps",
    ),
]


@pytest.mark.parametrize("call, exc, words", BAD_INPUTS)
def test_bad_input_is_refused_clearly(call, exc, words):
    refused(call, exc, words)
