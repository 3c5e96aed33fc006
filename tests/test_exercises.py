"""Every checker of course_lib.exercises accepts the reference solution, rejects a stub and a plausible wrong answer,
and says in one line what is wrong."""

import numpy as np
import pytest
import sympy as sp
import torch

from course_lib import exercises as E
from course_lib.derivations import bellman
from course_lib.derivations import maml as derive_maml
from course_lib.rl.advantages import gae
from course_lib.rl.dqn import dqn_targets, max_next_value
from course_lib.rl.off_policy import squashed_gaussian_log_prob
from course_lib.rl.returns import reward_to_go
from course_lib.rl.tabular import q_learning_target


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise 1: write your solution here")


# --- reference solutions (what a solution cell would hold) ---------------------------------------------------------


def rtg(rewards, terminated, truncated, gamma, next_values):
    return reward_to_go(rewards, terminated, truncated, gamma, next_values=next_values)


def rtg_total_return(rewards, terminated, truncated, gamma, next_values):
    """The seed's REINFORCE weighting: each step gets its episode's G_0 (here via the reward-to-go at its start)."""
    G = reward_to_go(rewards, terminated, truncated, gamma, next_values=next_values)
    out, current = torch.empty_like(G), G[0]
    for t in range(len(G)):
        if t > 0:
            current = torch.where(terminated[t - 1] | truncated[t - 1], G[t], current)
        out[t] = current
    return out


def rtg_truncation_ends(rewards, terminated, truncated, gamma, next_values):
    G = torch.empty_like(rewards)
    future = torch.zeros_like(rewards[0])
    for t in reversed(range(len(rewards))):
        done = terminated[t] | truncated[t]
        tail = next_values[t] if t == len(rewards) - 1 else future
        future = rewards[t] + gamma * torch.where(done, torch.zeros_like(tail), tail)
        G[t] = future
    return G


def expected_sarsa(Q, r, s2, terminated, gamma, epsilon):
    if terminated:
        return r
    q = Q[s2]
    best = q == q.max()
    pi = epsilon / len(q) + (1 - epsilon) * best / best.sum()
    return r + gamma * float(pi @ q)


def q_learning_as_expected_sarsa(Q, r, s2, terminated, gamma, epsilon):
    return q_learning_target(Q, r, s2, terminated, gamma)


def expected_sarsa_uniform(Q, r, s2, terminated, gamma, epsilon):
    return r if terminated else r + gamma * Q[s2].mean()


def expected_sarsa_no_termination(Q, r, s2, terminated, gamma, epsilon):
    return expected_sarsa(Q, r, s2, False, gamma, epsilon)


def bernoulli_score(theta, s, a):
    return (a - torch.sigmoid(theta @ s)) * s


def seed_score(theta, s, a):
    p = torch.sigmoid(theta @ s)
    return p * (1 - p) * s


def td_target(rewards, next_values, terminated, truncated, gamma):
    return rewards + gamma * (~terminated) * next_values


def lambda_return(*args):
    return gae(*args)[1]


def gae_advantages(*args):
    return gae(*args)[0]


def polyak(w_target, w, tau):
    return tau * w + (1 - tau) * w_target


def polyak_in_place(w_target, w, tau):
    w_target *= 1 - tau
    w_target += tau * w


def linear_hessian(xs):
    xs = np.asarray(xs, dtype=float)
    return 2 / len(xs) * np.array([[np.sum(xs**2), np.sum(xs)], [np.sum(xs), len(xs)]])


def maml_gradient(xs, ys, xq, yq, w, b, alpha):
    """MAML's meta-gradient by autograd through one inner step (a solution a student would write)."""
    theta = torch.tensor([w, b], dtype=torch.float64, requires_grad=True)
    xs, ys, xq, yq = (torch.tensor(v, dtype=torch.float64) for v in (xs, ys, xq, yq))

    def loss(p, x, y):
        return ((p[0] * x + p[1] - y) ** 2).mean()

    (g,) = torch.autograd.grad(loss(theta, xs, ys), theta, create_graph=True)
    return torch.autograd.grad(loss(theta - alpha * g, xq, yq), theta)[0]


def fomaml_gradient(xs, ys, xq, yq, w, b, alpha):
    theta = torch.tensor([w, b], dtype=torch.float64, requires_grad=True)
    xs, ys, xq, yq = (torch.tensor(v, dtype=torch.float64) for v in (xs, ys, xq, yq))
    (g,) = torch.autograd.grad(((theta[0] * xs + theta[1] - ys) ** 2).mean(), theta)
    adapted = (theta - alpha * g).detach().requires_grad_(True)
    return torch.autograd.grad(((adapted[0] * xq + adapted[1] - yq) ** 2).mean(), adapted)[0]


P, GAMMA = sp.Symbol("p"), sp.Symbol("gamma", positive=True)
V0 = bellman.solve_bellman(bellman.SMALL_MDP, {0: {0: 1 - P, 1: P}, 1: {1: 1}, 2: {0: 1}}, GAMMA)[0]
V0_SURE = GAMMA * P / (1 - GAMMA * (1 - P))  # as if "right" always succeeded


# (checker, reference answer, a plausible wrong answer, what the message must say about it)
CASES = [
    (E.check_discounted_return, (1 - 0.9**22) / 0.1, 22, "undiscounted"),
    (E.check_discounted_return, (1 - 0.9**22) / 0.1, 10.0, "1/(1-gamma)"),
    (E.check_reward_to_go, rtg, rtg_total_return, "total return G_0"),
    (E.check_reward_to_go, rtg, rtg_truncation_ends, "truncated episode must bootstrap"),
    (E.check_expected_sarsa_target, expected_sarsa, q_learning_as_expected_sarsa, "Q-learning's max target"),
    (E.check_expected_sarsa_target, expected_sarsa, expected_sarsa_uniform, "uniform"),
    (E.check_expected_sarsa_target, expected_sarsa, expected_sarsa_no_termination, "after termination"),
    (E.check_bernoulli_score, bernoulli_score, seed_score, "seed's sigma(1-sigma)s"),
    (
        E.check_baseline,
        lambda obs, actions: obs.sum(1),
        lambda obs, actions: 3.0 * actions + obs[:, 0],
        "depends on the action",
    ),
    (E.check_td_target, td_target, lambda r, v, te, tr, g: r + g * v, "(1 - terminated)"),
    (
        E.check_td_target,
        td_target,
        lambda r, v, te, tr, g: r + g * (~(te | tr)) * v,
        "truncated step must still bootstrap",
    ),
    (E.check_lambda_return, lambda_return, gae_advantages, "those are the advantages"),
    (E.check_gae, gae_advantages, lambda_return, "lambda-return targets"),
    (E.check_huber_gradient, lambda x, k: x.clamp(-k, k), lambda x, k: x, "squared loss's gradient"),
    (E.check_huber_gradient, lambda x, k: x.clamp(-k, k), lambda x, k: x.clamp(-1, 1), "instead of kappa"),
    (E.check_distinct_transitions, 20, 1, "the others are still drawn"),
    (E.check_baird_convergence, {1: False, 100: True}, {1: True, 100: True}, "target_every=1 diverges"),
    (E.check_polyak_update, polyak, lambda wt, w, tau: tau * wt + (1 - tau) * w, "tau is on the wrong side"),
    (E.check_polyak_update, polyak_in_place, lambda wt, w, tau: w.copy(), "hard copy"),
    (E.check_tau_for_period, 0.01, 0.99, "Spinning Up's polyak"),
    (E.check_q_bound, 100, 500, "undiscounted return"),
    (E.check_linear_hessian, linear_hessian, lambda xs: linear_hessian(xs) / 2, "factor 2 is missing"),
    (E.check_maml_meta_gradient, maml_gradient, fomaml_gradient, "first-order MAML"),
]


def _dqn_no_termination(batch, online, target, gamma, double):
    v = max_next_value(batch.next_obs, online, target)
    return batch.rewards + gamma ** batch.steps.float() * v


def _double_dqn_target_picks(batch, online, target, gamma, double):
    return dqn_targets(batch, online, target, gamma, False)


CASES += [
    (E.check_dqn_targets, dqn_targets, _dqn_no_termination, "(1 - terminated)"),
    (E.check_dqn_targets, dqn_targets, _double_dqn_target_picks, "online net picks"),
]


def _squashed_naive(u, mean, log_std):
    gauss = torch.distributions.Normal(mean, log_std.exp()).log_prob(u)
    return (gauss - torch.log(1 - torch.tanh(u) ** 2)).sum(-1)  # right formula, -inf once tanh(u) rounds to 1


def _squashed_no_jacobian(u, mean, log_std):
    return torch.distributions.Normal(mean, log_std.exp()).log_prob(u).sum(-1)


CASES += [
    (E.check_squashed_log_prob, squashed_gaussian_log_prob, _squashed_no_jacobian, "change of variables"),
    (E.check_squashed_log_prob, squashed_gaussian_log_prob, _squashed_naive, "softplus"),
    (
        E.check_squashed_log_prob,
        lambda u, m, s: squashed_gaussian_log_prob(u, m, s)[:, None],  # (B, 1) is accepted
        lambda u, m, s: squashed_gaussian_log_prob(u, m, s) / 2,
        "not the mean",
    ),
]


def _gaussian_score(a, mu, log_std):
    z = (a - mu) / log_std.exp()
    return z / log_std.exp(), z**2 - 1


def _gaussian_score_z(a, mu, log_std):
    z = (a - mu) / log_std.exp()
    return z, z**2 - 1  # the score of the mean divided by sigma once too few


def _gaussian_score_no_minus_one(a, mu, log_std):
    z = (a - mu) / log_std.exp()
    return z / log_std.exp(), z**2


def _task_advantages(rewards, gamma):
    G = torch.stack(
        [sum(gamma**k * rewards[:, t + k] for k in range(rewards.shape[1] - t)) for t in range(rewards.shape[1])], 1
    )
    a = G - G.mean(2, keepdim=True)
    a = a - a.mean((1, 2), keepdim=True)
    return a / a.std((1, 2), keepdim=True)


def _task_advantages_no_baseline(rewards, gamma):
    G = torch.stack(
        [sum(gamma**k * rewards[:, t + k] for k in range(rewards.shape[1] - t)) for t in range(rewards.shape[1])], 1
    )
    G = G - G.mean((1, 2), keepdim=True)
    return G / G.std((1, 2), keepdim=True)


def _task_advantages_whole_return(rewards, gamma):
    """Each step weighted by its trajectory's whole return G_0 (the bug of reward-to-go's absence), normalised."""
    G0 = (gamma ** torch.arange(rewards.shape[1], dtype=rewards.dtype).view(1, -1, 1) * rewards).sum(1, keepdim=True)
    G0 = G0.expand_as(rewards) - G0.mean()
    G0 = G0 - G0.mean((1, 2), keepdim=True)
    return G0 / G0.std((1, 2), keepdim=True)


CASES += [
    (E.check_gaussian_score, _gaussian_score, _gaussian_score_z, "z/sigma"),
    (E.check_gaussian_score, _gaussian_score, _gaussian_score_no_minus_one, "the -1 is missing"),
    (E.check_task_advantages, _task_advantages, _task_advantages_no_baseline, "no baseline"),
    (E.check_task_advantages, _task_advantages, _task_advantages_whole_return, "whole return G_0"),
]


def _cumulative_regret(probs, actions):
    return (probs.max(1, keepdim=True).values - probs.gather(1, actions)).cumsum(1)


def _regret_per_pull(probs, actions):
    return probs.max(1, keepdim=True).values - probs.gather(1, actions)  # the cumsum is missing


def _ucb1_index(sums, counts, t):
    return sums / counts + torch.sqrt(2 * float(np.log(t)) / counts)


def _ucb1_index_no_two(sums, counts, t):
    return sums / counts + torch.sqrt(float(np.log(t)) / counts)


def _ucb1_index_log_counts(sums, counts, t):
    return sums / counts + torch.sqrt(2 * torch.log(counts) / counts)


def _iqm(x):
    xs = np.sort(x)
    n = len(xs)
    return xs[n // 4 : n - n // 4].mean()


def _iqm_unsorted(x):
    n = len(x)
    return x[n // 4 : n - n // 4].mean()


def _iqm_median(x):
    return float(np.median(x))


def _poi(x, y):
    return np.mean(x[:, None] > y[None, :]) + 0.5 * np.mean(x[:, None] == y[None, :])


def _poi_no_ties(x, y):
    return np.mean(x[:, None] > y[None, :])


def _poi_reversed(x, y):
    return np.mean(y[:, None] > x[None, :]) + 0.5 * np.mean(x[:, None] == y[None, :])


def _regret_before_pull(probs, actions):
    gap = probs.max(1, keepdim=True).values - probs.gather(1, actions)
    return torch.cat([torch.zeros_like(gap[:, :1]), gap.cumsum(1)[:, :-1]], 1)  # s < t instead of s <= t


def _ucb1_index_log10(sums, counts, t):
    return sums / counts + torch.sqrt(2 * float(np.log10(t)) / counts)  # has the 2; the wrong log


def _ucb1_index_mean_plus_one(sums, counts, t):
    return sums / (counts + 1) + torch.sqrt(2 * float(np.log(t)) / counts)  # takes the root; a wrong mean


CASES += [
    (E.check_cumulative_regret, _cumulative_regret, _regret_per_pull, "sum it along the pulls"),
    (E.check_cumulative_regret, _cumulative_regret, _regret_before_pull, "includes pull t itself"),
    (E.check_ucb1_index, _ucb1_index, _ucb1_index_no_two, "the 2 comes from Hoeffding"),
    (E.check_ucb1_index, _ucb1_index, _ucb1_index_log_counts, "the log is of t"),
    (E.check_iqm, _iqm, _iqm_unsorted, "sort the scores first"),
    (E.check_iqm, _iqm, _iqm_median, "that is the median"),
    (E.check_iqm, _iqm, lambda x: float(np.mean(x)), "plain mean"),
    (E.check_probability_of_improvement, _poi, _poi_no_ties, "a tie counts one half"),
    (E.check_probability_of_improvement, _poi, _poi_reversed, "P(Y > X)"),
    (
        E.check_probability_of_improvement,
        _poi,
        lambda x, y: np.mean([(a > b) + 0.5 * (a == b) for a, b in zip(x, y)]),
        "N x K pairs",
    ),
]

IDS = [f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)]


@pytest.mark.parametrize(("checker", "right", "wrong", "says"), CASES, ids=IDS)
def test_checker_accepts_the_reference(checker, right, wrong, says):
    passed = checker(right)
    assert isinstance(passed, E.Passed)
    assert repr(passed).startswith("Correct (") and "\n" not in repr(passed)
    assert "at 0x" not in repr(passed)


@pytest.mark.parametrize(("checker", "right", "wrong", "says"), CASES, ids=IDS)
def test_checker_rejects_a_plausible_wrong_answer_in_one_line(checker, right, wrong, says):
    with pytest.raises(E.WrongAnswer) as info:
        checker(wrong)
    message = str(info.value)
    assert says in message, message
    assert "\n" not in message and len(message) < 240, message
    assert isinstance(info.value, AssertionError)  # a failed check fails the notebook under nbval


@pytest.mark.parametrize("checker", sorted({c[0] for c in CASES}, key=lambda f: f.__name__))
def test_checker_rejects_a_stub_and_a_missing_answer(checker):
    takes_function = checker.__name__ not in {
        "check_discounted_return",
        "check_distinct_transitions",
        "check_baird_convergence",
        "check_tau_for_period",
        "check_q_bound",
    }
    if takes_function:
        with pytest.raises(E.WrongAnswer, match="not done yet: stub raises NotImplementedError"):
            checker(stub)
    for missing in (None, ...):
        with pytest.raises(E.WrongAnswer, match="no answer yet"):
            checker(missing)


def test_small_mdp_value_checker():
    assert isinstance(E.check_small_mdp_value(V0, P), E.Passed)
    assert isinstance(E.check_small_mdp_value(V0.subs(GAMMA, sp.Rational(9, 10)), P, sp.Rational(9, 10)), E.Passed)
    with pytest.raises(E.WrongAnswer, match="succeeds only with probability 3/4"):
        E.check_small_mdp_value(V0_SURE, P)
    with pytest.raises(E.WrongAnswer, match="does not depend on p"):
        E.check_small_mdp_value(V0.subs(P, 1), P)
    with pytest.raises(E.WrongAnswer, match="no answer yet"):
        E.check_small_mdp_value(None, P)


def test_every_public_checker_is_tested():
    tested = {c[0].__name__ for c in CASES} | {"check_small_mdp_value"}
    public = {name for name in E.__all__ if name.startswith("check_")}
    assert public == tested


def test_wrong_answers_that_are_not_recognised_still_say_where():
    with pytest.raises(E.WrongAnswer, match=r"expected .*, got"):
        E.check_reward_to_go(lambda r, te, tr, g, nv: rtg(r, te, tr, g, nv) + 0.5)
    with pytest.raises(E.WrongAnswer, match="returned shape"):
        E.check_td_target(lambda r, v, te, tr, g: r[:, 0])
    with pytest.raises(E.WrongAnswer, match="expected a function"):
        E.check_gae(42)
    with pytest.raises(E.WrongAnswer, match="expected a number"):
        E.check_q_bound("a hundred")


def test_checkers_accept_numpy_and_sympy_answers():
    assert E.check_td_target(lambda r, v, te, tr, g: td_target(r, v, te, tr, g).numpy())
    assert E.check_linear_hessian(lambda xs: sp.Matrix(linear_hessian(xs)))
    with pytest.raises(E.WrongAnswer, match="depends on w or b"):
        E.check_linear_hessian(lambda xs: sp.Matrix([[derive_maml.w, 0], [0, 1]]))


def test_the_student_function_cannot_change_the_reference():
    def vandal(rewards, terminated, truncated, gamma, next_values):
        G = rtg(rewards, terminated, truncated, gamma, next_values)
        next_values.zero_()  # mutating an input must not make a wrong answer look right
        return G

    assert E.check_reward_to_go(vandal)


def textbook_lambda_return(rewards, values, next_values, terminated, truncated, gamma, lam):
    """G^lambda_t = r_t + gamma (1 - d_t) [(1 - lambda) V(s_{t+1}) + lambda G^lambda_{t+1}], with V(s_{t+1}) taken
    from ``values[t + 1]`` inside an episode, and the bootstrap V(s_{t+1}) alone where the episode was cut."""
    out = torch.zeros_like(rewards)
    following = next_values[-1]
    for t in reversed(range(rewards.shape[0])):
        ends = terminated[t] | truncated[t] | (t == rewards.shape[0] - 1)
        v_next = next_values[t] if t == rewards.shape[0] - 1 else torch.where(ends, next_values[t], values[t + 1])
        mix = torch.where(ends, v_next, (1 - lam) * v_next + lam * following)
        out[t] = rewards[t] + gamma * (~terminated[t]) * mix
        following = out[t]
    return out


def test_the_textbook_lambda_return_recursion_passes():
    """The checker's data is a real rollout: inside an episode V(s_{t+1}) is the next step's V(s_t) (issue 19, 04)."""
    assert isinstance(E.check_lambda_return(textbook_lambda_return), E.Passed)


def test_a_float32_answer_is_accepted_or_named_never_a_crash():
    """Review 11-N1: an answer right up to float32 rounding must not crash the checker with an IndexError."""
    from course_lib.meta import maml_rl

    passed = E.check_task_advantages(lambda r, g: maml_rl.advantages(r.float(), g).double())
    assert isinstance(passed, E.Passed)
    message = E._first_mismatch(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-7]))
    assert message.startswith("close but not exact")


@pytest.mark.parametrize("wrong", [_ucb1_index_log10, _ucb1_index_mean_plus_one])
def test_ucb1_checker_names_no_mistake_the_answer_did_not_make(wrong):
    """A known mistake is named only when the answer is that mistake; otherwise the message shows a state to try."""
    with pytest.raises(E.WrongAnswer) as err:
        E.check_ucb1_index(wrong)
    message = str(err.value)
    assert "the 2 comes from" not in message and "square root" not in message
    assert "e.g. sums [" in message and "UCB1 pulls arm" in message
