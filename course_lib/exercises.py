r"""Checkers for the exercises at the end of the chapters (workshop mode, issue 12).

Each exercise with something to check (a number, a function, a matrix) has a
solution cell tagged ``solution`` and, after it, a check cell that calls one
of the functions below. A checker

* returns a :class:`Passed` (its repr is one line saying what was checked) when
  the answer is right;
* raises :class:`WrongAnswer` (an ``AssertionError``) with **one line** saying
  what is wrong, naming the usual mistake when it recognises one (the seed
  article's sigmoid gradient, a baseline that depends on the action, a TD
  target without :math:`(1 - \text{terminated})`, ...);
* raises :class:`WrongAnswer` saying "not done yet" for a stub that raises
  ``NotImplementedError`` (``python -m course_lib.workshop student`` writes such
  stubs) or an answer left as ``None`` / ``...``.

The reference answers are computed by ``course_lib`` itself (``reward_to_go``,
``gae``, ``dqn_targets``, ``polyak_update``, the SymPy derivations, ...), so a
checker never holds a second copy of an algorithm. Functions are called with
torch tensors (time-major rollouts, as everywhere in the course) and may return
tensors, NumPy arrays or numbers.

Which checker goes with which exercise is listed in ``book/instructors.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp
import torch

from course_lib.derivations import maml as derive_maml
from course_lib.derivations import policy_gradient as derive_pg
from course_lib.derivations import returns as derive_returns
from course_lib.derivations.bellman import SMALL_MDP, solve_bellman
from course_lib.envs import baird
from course_lib.meta import maml_rl
from course_lib.rl.advantages import gae
from course_lib.rl.dqn import dqn_targets, max_next_value
from course_lib.rl.linear_td import expected_td
from course_lib.rl.losses import huber_loss
from course_lib.rl.off_policy import squashed_gaussian_log_prob
from course_lib.rl.policies import CategoricalPolicy, QNet
from course_lib.rl.reinforce import episode_start_values, policy_gradient_vector
from course_lib.rl.replay import PrioritizedReplayBuffer, ReplayBatch
from course_lib.rl.returns import discounted_return, reward_to_go
from course_lib.rl.tabular import q_learning_target, sarsa_target
from course_lib.rl.target import polyak_update
from course_lib.seeding import torch_generator

__all__ = [
    "WrongAnswer",
    "Passed",
    "check_discounted_return",
    "check_reward_to_go",
    "check_expected_sarsa_target",
    "check_small_mdp_value",
    "check_bernoulli_score",
    "check_baseline",
    "check_td_target",
    "check_lambda_return",
    "check_gae",
    "check_huber_gradient",
    "check_distinct_transitions",
    "check_baird_convergence",
    "check_polyak_update",
    "check_tau_for_period",
    "check_q_bound",
    "check_dqn_targets",
    "check_squashed_log_prob",
    "check_linear_hessian",
    "check_maml_meta_gradient",
    "check_gaussian_score",
    "check_task_advantages",
]


class WrongAnswer(AssertionError):
    """An answer a checker rejects; the message is one line saying what is wrong."""


class Passed:
    """What a checker returns for a right answer; shown in the notebook as one line."""

    def __init__(self, topic: str, detail: str) -> None:
        self.topic, self.detail = topic, detail

    def __repr__(self) -> str:
        return f"Correct ({self.topic}): {self.detail}"

    def _repr_markdown_(self) -> str:
        return f"**Correct** ({self.topic}): {self.detail}"


# --- plumbing ----------------------------------------------------------------------------------------------------


def _fail(topic: str, message: str) -> WrongAnswer:
    return WrongAnswer(f"{topic}: {message}")


def _require_answer(topic: str, answer: Any) -> None:
    if answer is None or answer is Ellipsis:
        raise _fail(topic, "no answer yet: write the solution cell above, then run this cell again")


def _call(topic: str, fn: Any, *args: Any) -> Any:
    """Call the student's function; a stub's NotImplementedError becomes 'not done yet'."""
    _require_answer(topic, fn)
    if not callable(fn):
        raise _fail(topic, f"expected a function, got {type(fn).__name__}")
    try:
        return fn(*args)
    except NotImplementedError as err:
        raise _fail(
            topic, f"not done yet: {getattr(fn, '__name__', 'your function')} raises NotImplementedError"
        ) from err


def _number(topic: str, answer: Any) -> float:
    _require_answer(topic, answer)
    try:
        value = float(answer)
    except (TypeError, ValueError) as err:
        raise _fail(topic, f"expected a number, got {type(answer).__name__} {answer!r}") from err
    if not np.isfinite(value):
        raise _fail(topic, f"expected a finite number, got {value}")
    return value


def _array(topic: str, value: Any, shape: tuple[int, ...], what: str = "your function") -> np.ndarray:
    """The answer as a float array of ``shape`` (tensors, arrays, lists and SymPy matrices accepted)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    elif isinstance(value, sp.MatrixBase):
        if value.free_symbols:
            names = ", ".join(sorted(str(s) for s in value.free_symbols))
            raise _fail(topic, f"{what} returned an expression in {names}; expected numbers")
        value = np.array(value.tolist(), dtype=float)
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as err:
        raise _fail(topic, f"{what} returned {type(value).__name__}, expected numbers of shape {shape}") from err
    if (
        arr.shape != shape
        and arr.size == int(np.prod(shape))
        and arr.squeeze().shape == tuple(s for s in shape if s != 1)
    ):
        arr = arr.reshape(shape)
    if arr.shape != shape:
        raise _fail(topic, f"{what} returned shape {arr.shape}, expected {shape}")
    if not np.all(np.isfinite(arr)):
        raise _fail(topic, f"{what} returned NaN or inf")
    return arr


def _close(a: Any, b: Any, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    a = a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a, dtype=float)
    b = b.detach().cpu().numpy() if isinstance(b, torch.Tensor) else np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def _first_mismatch(got: np.ndarray, want: np.ndarray) -> str:
    """Where the answer differs; never raises, even when it is only slightly off everywhere (float32 rounding)."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    bad = np.argwhere(~np.isclose(got, want, rtol=1e-4, atol=1e-5))
    if len(bad) == 0:  # within rounding of the answer, but not within the checker's tolerance
        diff = np.abs(got - want)
        idx = [int(i) for i in np.unravel_index(int(np.argmax(diff)), want.shape)] if want.ndim else []
        return (
            f"close but not exact (largest difference {float(diff.max()):.2g} at index {idx}): compute in the "
            "inputs' dtype (e.g. torch.zeros_like(x), not torch.zeros(shape), which is float32)"
        )
    idx = tuple(int(i) for i in bad[0])
    where = f"[{', '.join(map(str, idx))}]" if idx else ""
    return f"at index {where} expected {float(want[idx]):.6g}, got {float(got[idx]):.6g}"


def _diagnose(topic: str, got: np.ndarray, want: np.ndarray, known: list[tuple[Any, str]]) -> WrongAnswer:
    """Name the first known mistake the answer matches, else say where it differs."""
    for wrong, message in known:
        if _close(got, wrong):
            return _fail(topic, message)
    return _fail(topic, _first_mismatch(got, want))


# --- 01 returns ----------------------------------------------------------------------------------------------------


def check_discounted_return(answer: Any, *, steps: int = 22, gamma: float = 0.9) -> Passed:
    r"""The discounted return :math:`\sum_{t<T}\gamma^t` of an episode of ``steps`` rewards of 1 (notebook 01).

    Reference: :func:`course_lib.rl.returns.discounted_return`, equal to the closed form
    :math:`(1-\gamma^T)/(1-\gamma)` of :mod:`course_lib.derivations.returns`.
    """
    topic = "discounted return"
    value = _number(topic, answer)
    want = float(discounted_return(torch.ones(steps, dtype=torch.float64), gamma))
    closed = float(
        derive_returns.constant_reward_closed_form().subs(
            {derive_returns.r: 1, derive_returns.gamma: gamma, derive_returns.T: steps}
        )
    )
    assert abs(want - closed) < 1e-9  # the library and the closed form agree
    if abs(value - want) <= 1e-3 * max(1.0, abs(want)):
        return Passed(topic, f"{steps} rewards of 1 with gamma={gamma} are worth {want:.4f}")
    known = [
        (float(steps), f"{value:g} is the undiscounted return; each reward r_t counts gamma^t"),
        (1 / (1 - gamma), f"{value:g} = 1/(1-gamma) is the limit of an endless episode, not of {steps} steps"),
        ((1 - gamma ** (steps + 1)) / (1 - gamma), "one step too many: the sum runs over t = 0 .. T-1"),
        (gamma**steps, "gamma^T is the last reward's discount, not the sum of all of them"),
    ]
    for wrong, message in known:
        if abs(value - wrong) <= 1e-3 * max(1.0, abs(wrong)):
            raise _fail(topic, message)
    raise _fail(topic, f"expected {want:.4f} for {steps} rewards of 1 with gamma={gamma}, got {value:g}")


def _rollout(seed: int = 0) -> dict[str, torch.Tensor]:
    """A small time-major rollout ``(T=7, N=4)`` with every case: termination and truncation mid-rollout, an
    episode still running at the end, a terminated and truncated step, and rewards/values of both signs."""
    g = torch_generator(seed)
    T, N = 7, 4
    terminated = torch.zeros(T, N, dtype=torch.bool)
    truncated = torch.zeros(T, N, dtype=torch.bool)
    terminated[2, 0] = True  # env 0: terminates at t=2, the next episode runs to the end
    truncated[3, 1] = True  # env 1: a time limit at t=3
    terminated[1, 2], truncated[4, 2] = True, True  # env 2: terminates, then truncated
    terminated[5, 3] = truncated[5, 3] = True  # env 3: both flags at once (termination wins)
    rewards = torch.randn(T, N, generator=g, dtype=torch.float64) + 0.5
    values = torch.randn(T, N, generator=g, dtype=torch.float64)
    next_values = torch.randn(T, N, generator=g, dtype=torch.float64) * 3.0
    # As in a real rollout, V(s_{t+1}) within an episode is the next step's V(s_t); only where an episode ends, or
    # at the rollout's end, does next_values hold the value of a state the rollout does not contain. (Without this,
    # the textbook lambda-return recursion, which reads V(s_{t+1}) from values[t + 1], would be rejected.)
    running = ~(terminated | truncated)
    next_values[:-1] = torch.where(running[:-1], values[1:], next_values[:-1])
    return {
        "rewards": rewards,
        "values": values,
        "next_values": next_values,
        "terminated": terminated,
        "truncated": truncated,
    }


def check_reward_to_go(fn: Callable, *, gamma: float = 0.9) -> Passed:
    r"""``fn(rewards, terminated, truncated, gamma, next_values)`` returns :math:`G_t` of every step, ``(T, N)``.

    :math:`G_t = r_t + \gamma[(1 - d_t) G_{t+1} + b_t V(s_{t+1})]`: termination ends the future, truncation (and
    the rollout's end) bootstraps from ``next_values``. Reference: :func:`course_lib.rl.returns.reward_to_go`.
    """
    topic = "reward-to-go"
    r = _rollout()
    args = (r["rewards"], r["terminated"], r["truncated"])
    want = reward_to_go(*args, gamma, next_values=r["next_values"]).numpy()
    got = _array(topic, _call(topic, fn, *args, gamma, r["next_values"].clone()), want.shape)
    if _close(got, want):
        return Passed(topic, "termination ends the return, truncation bootstraps, on 4 environments")
    done = r["terminated"] | r["truncated"]
    no_flags = torch.zeros_like(done)
    known = [
        (
            episode_start_values(torch.as_tensor(want), done).numpy(),
            "every step is weighted by its episode's total return G_0; the reward-to-go G_t sums only rewards from t on",
        ),
        (
            reward_to_go(r["rewards"], done, no_flags, gamma, next_values=r["next_values"]).numpy(),
            "a truncated episode must bootstrap from V(s_{t+1}): only termination ends the future",
        ),
        (
            reward_to_go(r["rewards"], no_flags, done, gamma, next_values=r["next_values"]).numpy(),
            "a terminated episode bootstraps here: after termination the future is worth 0, multiply by (1 - terminated)",
        ),
        (
            reward_to_go(*args, gamma).numpy(),
            "nothing is bootstrapped: a truncated episode (or one cut by the rollout's end) adds gamma V(s_{t+1})",
        ),
        (
            reward_to_go(*args, 1.0, next_values=r["next_values"]).numpy(),
            "the rewards are not discounted: G_t = r_t + gamma G_{t+1}",
        ),
    ]
    raise _diagnose(topic, got, want, known)


# --- 02 tabular ----------------------------------------------------------------------------------------------------


def _epsilon_greedy_probs(q: np.ndarray, epsilon: float) -> np.ndarray:
    """pi(a | s') of the epsilon-greedy policy (ties share the greedy mass, as course_lib.rl.tabular.epsilon_greedy)."""
    best = q == q.max()
    return epsilon / len(q) + (1 - epsilon) * best / best.sum()


def check_expected_sarsa_target(fn: Callable) -> Passed:
    r"""``fn(Q, r, s2, terminated, gamma, epsilon)`` returns Expected SARSA's target (notebook 02).

    :math:`y = r + \gamma \sum_{a'} \pi(a' \mid s') Q(s', a')` with :math:`\pi` epsilon-greedy in :math:`Q`, or
    :math:`y = r` after termination. Reference: :func:`course_lib.rl.tabular.sarsa_target` averaged over
    :math:`a' \sim \pi`.
    """
    topic = "Expected SARSA target"
    rng = np.random.default_rng(0)
    Q = rng.normal(size=(5, 4))
    Q[3] = [1.0, 2.0, 2.0, -1.0]  # a tie between two greedy actions
    cases = [(0.7, s2, term, 0.9, eps) for s2 in (1, 3) for term in (False, True) for eps in (0.0, 0.1, 0.5, 1.0)]
    for r, s2, term, gamma, eps in cases:
        pi = _epsilon_greedy_probs(Q[s2], eps)
        want = sum(p * sarsa_target(Q, r, s2, a, term, gamma) for a, p in enumerate(pi))
        got = _number(topic, _call(topic, fn, Q.copy(), r, s2, term, gamma, eps))
        if abs(got - want) > 1e-6:
            where = f"(s'={s2}, terminated={term}, epsilon={eps})"
            if not term and abs(got - q_learning_target(Q, r, s2, term, gamma)) < 1e-9:
                raise _fail(topic, f"that is Q-learning's max target {where}; weight every Q(s', a') by pi(a'|s')")
            if not term and abs(got - (r + gamma * Q[s2].mean())) < 1e-9:
                raise _fail(topic, f"a uniform average over a' {where}; pi is epsilon-greedy, not uniform")
            if term and abs(got - (r + gamma * float(pi @ Q[s2]))) < 1e-9:
                raise _fail(topic, f"bootstraps after termination {where}: there the target is r")
            raise _fail(topic, f"expected {want:.6g}, got {got:.6g} {where}")
    return Passed(topic, f"{len(cases)} cases: epsilon 0 to 1, a tie between greedy actions, terminated or not")


GAMMA = sp.Symbol("gamma", positive=True)  #: the discount symbol of notebook 02


def check_small_mdp_value(answer: Any, p: sp.Symbol, gamma: Any = GAMMA) -> Passed:
    r""":math:`V^\pi(0)` of :data:`course_lib.derivations.bellman.SMALL_MDP` when state 0 goes right with probability
    ``p`` (left otherwise) and state 1 always goes right, as a SymPy expression in ``p`` (and ``gamma``).

    Reference: :func:`course_lib.derivations.bellman.solve_bellman`.
    """
    topic = "V^pi(0) of the small MDP"
    _require_answer(topic, answer)
    policy = {0: {0: 1 - p, 1: p}, 1: {1: 1}, 2: {0: 1}}
    want = solve_bellman(SMALL_MDP, policy, gamma)[0]
    expr = sp.sympify(answer)
    if p not in expr.free_symbols:
        raise _fail(topic, f"{expr} does not depend on p; the policy's p must appear in V^pi(0)")
    if sp.simplify(expr - want) == 0:
        return Passed(topic, f"V^pi(0) = {sp.simplify(want)}")
    sure = {0: {1: [(1.0, 1, 0.0, False)], 0: SMALL_MDP[0][0]}, 1: SMALL_MDP[1], 2: SMALL_MDP[2]}
    if sp.simplify(expr - solve_bellman(sure, policy, gamma)[0]) == 0:
        raise _fail(topic, "'right' from state 0 succeeds only with probability 3/4 (SMALL_MDP[0][1])")
    point = {p: sp.Rational(1, 3)} | ({gamma: sp.Rational(9, 10)} if isinstance(gamma, sp.Symbol) else {})
    raise _fail(topic, f"at p=1/3 (gamma=9/10) expected {want.subs(point)}, got {sp.simplify(expr.subs(point))}")


# --- 03 policy gradients -------------------------------------------------------------------------------------------


def check_bernoulli_score(fn: Callable, *, d: int = 3) -> Passed:
    r"""``fn(theta, s, a)`` returns :math:`\nabla_\theta \log\pi(a \mid s)` for :math:`\pi(a{=}1 \mid s) =
    \sigma(\theta^\top s)`, as ``(d,)`` (``theta``, ``s`` float64 tensors ``(d,)``, ``a`` 0 or 1).

    Reference: SymPy's derivative of :func:`course_lib.derivations.policy_gradient.bernoulli_policy`.
    """
    topic = "score of the sigmoid policy"
    theta_s, s_s, a_s, log_pi = derive_pg.bernoulli_policy(d)
    grad = derive_pg.lambdify_grad(log_pi, list(theta_s), [*s_s, a_s])
    g = torch_generator(3)
    for _ in range(4):
        theta = torch.randn(d, generator=g, dtype=torch.float64)
        s = torch.randn(d, generator=g, dtype=torch.float64)
        for a in (0, 1):
            want = np.array(grad(theta.tolist(), [*s.tolist(), a]), dtype=float)
            got = _array(topic, _call(topic, fn, theta.clone(), s.clone(), a), (d,))
            if _close(got, want, rtol=1e-6, atol=1e-9):
                continue
            sig = float(torch.sigmoid(theta @ s))
            s_np = s.numpy()
            known = [
                (
                    sig * (1 - sig) * s_np,
                    "that is the seed's sigma(1-sigma)s, the gradient of pi(a=1|s), not of log pi; "
                    "it ignores the action. The score is (a - sigma(theta^T s)) s",
                ),
                (-want, "the sign is flipped: the score is (a - sigma) s, not (sigma - a) s"),
                (want / s_np if np.all(np.abs(s_np) > 1e-3) else None, "the factor s (from the chain rule) is missing"),
            ]
            raise _diagnose(topic, got, want, [(w, m) for w, m in known if w is not None])
    return Passed(topic, "(a - sigma(theta^T s)) s for both actions at 4 random points")


def check_baseline(fn: Callable) -> Passed:
    r"""``fn(obs, actions)`` (``obs`` ``(n, 4)`` float32, ``actions`` ``(n,)`` int64) returns a baseline :math:`b` per
    step, ``(n,)`` (a :class:`~course_lib.rl.policies.ValueNet` of 4 inputs will do); it must leave the expected policy
    gradient unchanged: :math:`\sum_a \pi(a \mid s)\,\nabla\log\pi(a \mid s)\,b = 0` at every state.

    The check is exact: for a small :class:`~course_lib.rl.policies.CategoricalPolicy`, every state is paired with
    every action, weighted by :math:`\pi(a \mid s)`, and
    :func:`course_lib.rl.reinforce.policy_gradient_vector` gives the bias the baseline adds. A baseline of the
    state (a constant, the batch mean of the returns, a value network) adds none; one that depends on the
    action taken does.
    """
    topic = "baseline"
    g = torch_generator(4)
    policy = CategoricalPolicy(4, 3, (16,), generator=g).double()
    with torch.no_grad():
        for p in policy.parameters():
            p.normal_(0.0, 0.7, generator=g)  # a policy far from uniform, so that a biased baseline shows
    obs = torch.randn(6, 4, generator=g, dtype=torch.float64)
    n_actions = 3
    obs_all = obs.repeat_interleave(n_actions, 0)
    actions_all = torch.arange(n_actions).repeat(len(obs))
    b = _array(
        topic, _call(topic, fn, obs_all.float(), actions_all.clone()), (len(obs_all),)
    )  # float32, as a ValueNet takes
    with torch.no_grad():
        probs = policy.log_prob(obs_all, actions_all).exp()
    weights = torch.as_tensor(b) * probs * n_actions  # mean over pairs = mean over states of sum_a pi(a|s) ...
    bias = policy_gradient_vector(policy, obs_all, actions_all, weights).norm().item()
    scale = policy_gradient_vector(policy, obs_all, actions_all, probs * n_actions).norm().item() + 1e-12
    per_state = b.reshape(len(obs), n_actions)
    if bias <= 1e-8 * max(1.0, float(np.abs(b).max())):
        return Passed(topic, "it adds no bias: sum_a pi(a|s) grad log pi(a|s) b(s) = 0 at every state")
    if not np.allclose(per_state, per_state[:, :1]):
        raise _fail(
            topic,
            f"your baseline depends on the action: it moves the expected gradient by {bias:.3g} "
            f"({bias / scale:.2g} x the gradient of E[1]); b may depend on the state only",
        )
    raise _fail(topic, f"it moves the expected gradient by {bias:.3g}; b(s) must not depend on a_t")


# --- 04 and 05 value targets ---------------------------------------------------------------------------------------


def check_td_target(fn: Callable, *, gamma: float = 0.9) -> Passed:
    r"""``fn(rewards, next_values, terminated, truncated, gamma)`` returns the TD(0) target, ``(T, N)``:
    :math:`y_t = r_t + \gamma (1 - \text{terminated}_t) V(s_{t+1})` (a truncated step still bootstraps).

    Reference: :func:`course_lib.rl.advantages.gae` with :math:`\lambda = 0` (its targets are the TD(0) targets).
    """
    topic = "TD(0) target"
    r = _rollout(1)
    _, want = gae(r["rewards"], r["values"], r["next_values"], r["terminated"], r["truncated"], gamma, 0.0)
    want = want.numpy()
    got = _array(
        topic,
        _call(topic, fn, r["rewards"], r["next_values"].clone(), r["terminated"], r["truncated"], gamma),
        want.shape,
    )
    if _close(got, want):
        return Passed(topic, "y = r + gamma (1 - terminated) V(s'), truncated steps bootstrapping")
    done = (r["terminated"] | r["truncated"]).double()
    term = r["terminated"].double()
    rew, nv = r["rewards"].numpy(), r["next_values"].numpy()
    known = [
        (rew + gamma * nv, "the target bootstraps past termination: multiply gamma V(s') by (1 - terminated)"),
        (
            rew + gamma * (1 - done.numpy()) * nv,
            "a truncated step must still bootstrap: use (1 - terminated), not (1 - done)",
        ),
        (rew + (1 - term.numpy()) * nv, "gamma is missing in front of V(s')"),
        (want - r["values"].numpy(), "that is the TD error delta = y - V(s); the target is y itself"),
    ]
    raise _diagnose(topic, got, want, known)


def _check_gae_like(fn: Callable, want_targets: bool, gamma: float, lam: float) -> Passed:
    topic = "lambda-return" if want_targets else "GAE advantages"
    for seed, lam_k in ((2, lam), (5, 0.0), (6, 1.0)):
        r = _rollout(seed)
        flags = (r["terminated"], r["truncated"])
        args = (r["rewards"], r["values"], r["next_values"])
        adv, targets = gae(*args, *flags, gamma, lam_k)
        want = (targets if want_targets else adv).numpy()
        got = _array(topic, _call(topic, fn, *[a.clone() for a in args], *flags, gamma, lam_k), want.shape)
        if _close(got, want):
            continue
        no_flags = torch.zeros_like(flags[0])
        done = flags[0] | flags[1]
        other_adv, other_targets = gae(*args, no_flags, done, gamma, lam_k)
        cut_adv, cut_targets = gae(*args, done, no_flags, gamma, lam_k)
        pick = (lambda a, t: t) if want_targets else (lambda a, t: a)
        known = [
            (
                pick(other_adv, other_targets).numpy(),
                "termination must end the future: multiply V(s') by (1 - terminated)",
            ),
            (
                pick(cut_adv, cut_targets).numpy(),
                "a truncated step must still bootstrap from V(s'); only termination ends it",
            ),
            (
                (adv if want_targets else targets).numpy(),
                "those are the advantages; the target adds V(s_t): A_t + V(s_t)"
                if want_targets
                else "those are the lambda-return targets; the advantage subtracts V(s_t)",
            ),
        ]
        raise _diagnose(f"{topic} (lambda={lam_k})", got, want, known)
    return Passed(topic, f"matches GAE at lambda = {lam}, 0 and 1, with terminated and truncated episodes")


def check_lambda_return(fn: Callable, *, gamma: float = 0.9, lam: float = 0.8) -> Passed:
    r"""``fn(rewards, values, next_values, terminated, truncated, gamma, lam)`` returns the TD(:math:`\lambda`)
    target (the :math:`\lambda`-return) of every step, ``(T, N)``.

    Reference: the targets of :func:`course_lib.rl.advantages.gae`, :math:`\hat A_t + V(s_t)`; checked at
    :math:`\lambda` = ``lam``, 0 (the TD(0) target) and 1 (the Monte Carlo return).
    """
    return _check_gae_like(fn, True, gamma, lam)


def check_gae(fn: Callable, *, gamma: float = 0.9, lam: float = 0.8) -> Passed:
    r"""``fn(rewards, values, next_values, terminated, truncated, gamma, lam)`` returns the GAE(:math:`\lambda`)
    advantages, ``(T, N)``. Reference: :func:`course_lib.rl.advantages.gae`."""
    return _check_gae_like(fn, False, gamma, lam)


def check_huber_gradient(fn: Callable) -> Passed:
    r"""``fn(x, kappa)`` returns :math:`\ell_\kappa'(x) = \mathrm{clip}(x, -\kappa, \kappa)` elementwise for a
    tensor of residuals ``x``.

    Reference: autograd through :func:`course_lib.rl.losses.huber_loss` (derived piecewise in
    :mod:`course_lib.derivations.value`).
    """
    topic = "Huber gradient"
    x = torch.tensor([-120.0, -3.0, -0.7, -0.1, 0.0, 0.2, 0.9, 2.5, 60.0], dtype=torch.float64)
    for kappa in (1.0, 2.0):
        pred = x.clone().requires_grad_(True)
        loss = huber_loss(pred, torch.zeros_like(x), kappa) * len(x)  # the sum, so each element's own derivative
        (want,) = torch.autograd.grad(loss, pred)
        want = want.numpy()
        got = _array(topic, _call(topic, fn, x.clone(), kappa), want.shape)
        if _close(got, want):
            continue
        known = [
            (x.numpy(), "that is the squared loss's gradient x; Huber clips it to [-kappa, kappa]"),
            (np.sign(x.numpy()) * np.minimum(np.abs(x.numpy()), 1.0), f"clipped at 1 instead of kappa={kappa}"),
            (-want, "the sign is flipped: the derivative of the loss in the residual x = V - y is clip(x)"),
        ]
        raise _diagnose(f"{topic} (kappa={kappa})", got, want, known)
    return Passed(topic, "clip(x, -kappa, kappa) for kappa = 1 and 2")


# --- 06 replay -----------------------------------------------------------------------------------------------------


def check_distinct_transitions(answer: Any, *, n: int = 20, ratio: float = 1000.0, draws: int = 100_000) -> Passed:
    r"""How many of ``n`` transitions prioritised replay (:math:`\alpha = 1`) samples at least once in ``draws``
    draws when one has ``ratio`` times the others' priority (notebook 06).

    Reference: :meth:`course_lib.rl.replay.PrioritizedReplayBuffer.probabilities` and the expected count
    :math:`\sum_i 1 - (1 - P(i))^{\text{draws}}`; an answer within 1 of it passes (a count from one experiment does).
    """
    topic = "distinct transitions sampled"
    value = _number(topic, answer)
    buf = PrioritizedReplayBuffer(n, (1,), alpha=1.0, eps=1e-9)
    ids = np.arange(n)
    zeros = np.zeros(n, np.float32)
    buf.add(ids[:, None].astype(np.float32), ids % 2, zeros, ids[:, None] + 1.0, zeros.astype(bool), zeros.astype(bool))
    priorities = np.ones(n)
    priorities[0] = ratio
    buf.update_priorities(ids, priorities)
    P = buf.probabilities()[:n]
    expected = float(np.sum(1 - (1 - P) ** draws))
    if abs(value - expected) <= 1:
        return Passed(
            topic, f"about {expected:.1f}: each light transition has P = {P[1]:.2e}, drawn ~{P[1] * draws:.0f} times"
        )
    if value <= 1:
        raise _fail(topic, f"the heavy transition gets P = {P[0]:.3f}, not all of it; the others are still drawn")
    raise _fail(topic, f"expected about {expected:.1f} (P of a light one = {P[1]:.2e}), got {value:g}")


# --- 07 target networks --------------------------------------------------------------------------------------------


def check_baird_convergence(answer: dict, *, alpha: float = 0.01, steps: int = 20_000, gamma: float = 0.99) -> Passed:
    r"""``answer`` maps values of ``target_every`` to True (converges) or False (diverges) for Baird's
    counterexample with off-policy data, as in notebook 07 section 5.

    Reference: :func:`course_lib.rl.linear_td.expected_td` run for ``steps`` updates; "converges" means
    :math:`\max_s |v_w(s)|` ends below its start and still falls over the second half of the
    run, "diverges" that it ends above its start and still rises (or overflows).
    """
    topic = f"Baird's counterexample (alpha={alpha})"
    _require_answer(topic, answer)
    if not isinstance(answer, dict) or not answer:
        raise _fail(topic, f"expected a dict {{target_every: True or False}}, got {type(answer).__name__}")
    X = baird.FEATURES
    for every, claim in sorted(answer.items()):
        if claim is None or claim is Ellipsis:
            raise _fail(topic, f"no answer yet for target_every={every}")
        ws = expected_td(
            X,
            baird.TARGET_TRANSITIONS,
            np.zeros(7),
            baird.BEHAVIOUR_DISTRIBUTION,
            baird.INITIAL_WEIGHTS,
            gamma=gamma,
            alpha=alpha,
            steps=steps,
            target_every=int(every),
        )
        v = np.abs(ws @ X.T).max(1)
        start, mid, end = v[0], v[len(v) // 2], v[-1]
        if not np.isfinite(end) or (end > start and end > mid):
            truth = False
        else:
            truth = True if end < start and end < mid else None
        if truth is None:
            raise _fail(
                topic, f"target_every={every} is undecided after {steps} updates (max|v| {start:.3g} -> {end:.3g})"
            )
        if bool(claim) != truth:
            verdict = "converges" if truth else "diverges"
            raise _fail(
                topic, f"target_every={every} {verdict}: max|v| goes from {start:.3g} to {end:.3g} in {steps} updates"
            )
    return Passed(topic, f"right for target_every in {sorted(answer)}")


def check_polyak_update(fn: Callable) -> Passed:
    r"""``fn(w_target, w, tau)`` returns the soft update :math:`\tau w + (1 - \tau) w_{\text{target}}` (or updates
    ``w_target`` in place and returns None), for NumPy arrays or tensors.

    Reference: :func:`course_lib.rl.target.polyak_update`, whose :math:`\tau` weights the **online** network.
    """
    topic = "Polyak update"
    rng = np.random.default_rng(7)
    for tau in (0.005, 0.3):
        w_target, w = rng.normal(size=8), rng.normal(size=8)
        target_net, online_net = torch.nn.Linear(8, 1, bias=False).double(), torch.nn.Linear(8, 1, bias=False).double()
        with torch.no_grad():
            target_net.weight.copy_(torch.as_tensor(w_target).view(1, 8))
            online_net.weight.copy_(torch.as_tensor(w).view(1, 8))
        polyak_update(target_net, online_net, tau)
        want = target_net.weight.detach().view(8).numpy()
        arg = w_target.copy()
        out = _call(topic, fn, arg, w.copy(), tau)
        got = _array(topic, arg if out is None else out, (8,))
        if _close(got, want, rtol=1e-9, atol=1e-12):
            continue
        known = [
            (
                tau * w_target + (1 - tau) * w,
                "tau is on the wrong side: the course's tau weights the online w, w' <- tau w + (1 - tau) w'",
            ),
            (w, "that is a hard copy (tau = 1); the soft update moves w' a fraction tau toward w"),
            (w_target, "w_target did not move"),
        ]
        raise _diagnose(f"{topic} (tau={tau})", got, want, known)
    return Passed(topic, "w' <- tau w + (1 - tau) w' for tau = 0.005 and 0.3")


def check_tau_for_period(answer: Any, *, period: int = 100) -> Passed:
    r"""A :math:`\tau` whose soft updates lag the online weights about as much as a hard copy every ``period`` steps.

    A hard copy every :math:`C` steps lags by :math:`(C-1)/2` steps on average; an exponential moving average
    by :math:`(1-\tau)/\tau` (its memory is :math:`\approx 1/\tau`, :mod:`course_lib.derivations.target`). Any
    :math:`\tau` whose mean lag is within a factor 2.5 of the hard copy's passes, e.g. :math:`1/C` to :math:`2/C`.
    """
    topic = f"tau like a hard copy every {period} steps"
    tau = _number(topic, answer)
    if not 0 < tau <= 1:
        raise _fail(topic, f"tau must lie in (0, 1], got {tau:g}")
    hard_lag, soft_lag = (period - 1) / 2, (1 - tau) / tau
    if hard_lag / 2.5 <= soft_lag <= hard_lag * 2.5:
        return Passed(topic, f"tau={tau:g} lags ~{soft_lag:.0f} steps, the hard copy ~{hard_lag:.0f} on average")
    if abs(tau - (1 - 1 / period)) < 1e-9:
        raise _fail(topic, "that is Spinning Up's polyak = 1 - tau; the course's tau weights the online net")
    raise _fail(topic, f"tau={tau:g} lags ~{soft_lag:.3g} steps; the hard copy lags ~{hard_lag:.0f} steps on average")


def check_q_bound(answer: Any, *, gamma: float = 0.99) -> Passed:
    r"""The largest value any CartPole state can have with discount ``gamma`` (rewards of 1 per step):
    :math:`\sum_t \gamma^t = 1/(1-\gamma)`, the limit of :mod:`course_lib.derivations.returns`' closed form."""
    topic = "bound on Q"
    value = _number(topic, answer)
    g = sp.nsimplify(gamma)
    want = float(
        sp.limit(
            derive_returns.constant_reward_closed_form().subs({derive_returns.r: 1, derive_returns.gamma: g}),
            derive_returns.T,
            sp.oo,
        )
    )
    if abs(value - want) <= 1e-3 * want:
        return Passed(topic, f"1/(1 - gamma) = {want:g}")
    if abs(value - 500) < 1e-9:
        raise _fail(topic, "500 is the undiscounted return of a full episode; discounted values stay below 1/(1-gamma)")
    raise _fail(topic, f"expected 1/(1 - gamma) = {want:g} for gamma={gamma}, got {value:g}")


# --- 08 DQN ---------------------------------------------------------------------------------------------------------


def _replay_batch(seed: int = 8) -> ReplayBatch:
    g = torch_generator(seed)
    B = 12
    terminated = torch.zeros(B, dtype=torch.bool)
    truncated = torch.zeros(B, dtype=torch.bool)
    terminated[[1, 5]] = True
    truncated[[2, 5, 9]] = True
    return ReplayBatch(
        obs=torch.randn(B, 4, generator=g),
        actions=torch.randint(0, 3, (B,), generator=g),
        rewards=torch.randn(B, generator=g),
        next_obs=torch.randn(B, 4, generator=g),
        terminated=terminated,
        truncated=truncated,
        steps=torch.tensor([1, 1, 3, 2, 1, 3, 1, 2, 3, 1, 1, 2]),
        indices=torch.arange(B),
        weights=torch.ones(B),
    )


def check_dqn_targets(fn: Callable, *, gamma: float = 0.99) -> Passed:
    r"""``fn(batch, online, target, gamma, double)`` returns the k-step targets, ``(B,)``:
    :math:`y = R^{(k)} + \gamma^k (1 - \text{terminated}) Q_{\theta'}(s_{t+k}, a^\star)`, :math:`a^\star` chosen by the
    target net (DQN) or the online net (Double DQN). Reference: :func:`course_lib.rl.dqn.dqn_targets`.
    """
    topic = "DQN target"
    batch = _replay_batch()
    g = torch_generator(9)
    online, target = QNet(4, 3, (8,), generator=g), QNet(4, 3, (8,), generator=g)
    for double in (False, True):
        want = dqn_targets(batch, online, target, gamma, double).numpy()
        got = _array(topic, _call(topic, fn, batch, online, target, gamma, double), want.shape)
        if _close(got, want):
            continue
        with torch.no_grad():
            v_next = (
                target(batch.next_obs).gather(1, online(batch.next_obs).argmax(1, keepdim=True)).squeeze(1)
                if double
                else max_next_value(batch.next_obs, online, target)
            )
        discount = gamma ** batch.steps.double()
        r, alive = batch.rewards.double(), (~batch.terminated).double()
        v = v_next.double()
        name = "Double DQN" if double else "DQN"
        known = [
            (
                (r + discount * v).numpy(),
                f"{name}: the target bootstraps past termination; multiply by (1 - terminated)",
            ),
            (
                (r + discount * (~(batch.terminated | batch.truncated)).double() * v).numpy(),
                f"{name}: a truncated transition must still bootstrap; use (1 - terminated), not (1 - done)",
            ),
            (
                (r + gamma * alive * v).numpy(),
                f"{name}: a k-step transition bootstraps with gamma^k (batch.steps), not gamma",
            ),
        ]
        if double:
            with torch.no_grad():
                plain = max_next_value(batch.next_obs, online, target).double()
            known.append(
                (
                    (r + discount * alive * plain).numpy(),
                    "Double DQN: the online net picks a*, the target net scores it",
                )
            )
            with torch.no_grad():
                online_scores = online(batch.next_obs).max(1).values.double()
            known.append(
                (
                    (r + discount * alive * online_scores).numpy(),
                    "Double DQN: the target net, not the online one, scores a*",
                )
            )
        raise _diagnose(topic, got, want, known)
    return Passed(topic, "DQN and Double DQN targets with k-step discounts, terminated and truncated transitions")


# --- 09 off-policy actor-critic -------------------------------------------------------------------------------------


def check_squashed_log_prob(fn: Callable) -> Passed:
    r"""``fn(u, mean, log_std)`` with ``(B, m)`` tensors returns :math:`\log \pi(\tanh u \mid s)`, ``(B,)``: the
    Gaussian log-density of :math:`u` minus :math:`\log(1 - \tanh^2 u)`, summed over the action dimensions, finite
    for large :math:`|u|`. Reference: :func:`course_lib.rl.off_policy.squashed_gaussian_log_prob`.
    """
    topic = "squashed Gaussian log-density"
    g = torch_generator(9)
    mean, log_std = torch.randn(6, 2, generator=g), 0.5 * torch.randn(6, 2, generator=g)
    u = mean + log_std.exp() * torch.randn(6, 2, generator=g)
    want = squashed_gaussian_log_prob(u, mean, log_std).numpy()
    got = _array(topic, _call(topic, fn, u.clone(), mean.clone(), log_std.clone()), want.shape)
    if not _close(got, want):
        gauss = torch.distributions.Normal(mean, log_std.exp()).log_prob(u)
        jac = torch.log(1 - torch.tanh(u) ** 2)
        known = [
            (
                gauss.sum(-1),
                "that is the Gaussian log-density of u alone; subtract log(1 - tanh(u)^2), the change of variables",
            ),
            ((gauss + jac).sum(-1), "the Jacobian term has the wrong sign: log pi(a) = log N(u) - log(1 - tanh(u)^2)"),
            (
                (gauss - jac).mean(-1),
                "sum the log-density over the action dimensions (the last axis), not the mean: "
                "the density of independent dimensions is a product",
            ),
            ((gauss - jac)[:, 0], "sum the log-density over the action dimensions (the last axis)"),
        ]
        raise _diagnose(topic, got, want, known)
    big = torch.tensor([[12.0, -15.0], [20.0, 3.0]])
    want_big = squashed_gaussian_log_prob(big, torch.zeros(2, 2), torch.zeros(2, 2)).numpy()
    out = _call(topic, fn, big.clone(), torch.zeros(2, 2), torch.zeros(2, 2))
    out = out.detach().cpu().numpy() if isinstance(out, torch.Tensor) else np.asarray(out, dtype=float)
    if out.size == want_big.size:
        out = out.reshape(want_big.shape)  # accept (B, 1), as the first test does
    if not np.all(np.isfinite(out)):
        raise _fail(
            topic, "not finite at u = 12, -15, 20: in float32 tanh(u) rounds to 1; use 2(log 2 - u - softplus(-2u))"
        )
    if out.shape != want_big.shape:
        raise _fail(topic, f"your function returned shape {out.shape} at large |u|, expected {want_big.shape}")
    if not _close(out, want_big, rtol=1e-3, atol=1e-3):
        raise _fail(topic, f"at large |u|: {_first_mismatch(out, want_big)}")
    return Passed(topic, "exact on random (u, m, log sigma), summed over action dimensions, finite at |u| = 20")


# --- 10 meta-learning ----------------------------------------------------------------------------------------------

_XS, _YS, _XQ, _YQ = [-1.5, 0.5, 2.0], [0.3, -1.0, 2.5], [1.0, -2.0], [0.7, 1.1]


def check_linear_hessian(fn: Callable) -> Passed:
    r"""``fn(xs)`` returns the Hessian :math:`\nabla^2 L_s` (2 x 2, in :math:`(w, b)`) of the support loss
    :math:`\frac1n\sum_i (w x_i + b - y_i)^2` of the linear model (notebook 10): it depends on the inputs only.

    Reference: :func:`course_lib.derivations.maml.meta_gradient_terms`' ``hessian``.
    """
    topic = "Hessian of the linear model's loss"
    for xs in (_XS, [0.5, -2.0, 1.0, 3.0]):
        want_sym = derive_maml.meta_gradient_terms(xs, [0.0] * len(xs), _XQ, _YQ)["hessian"]
        want = np.array(want_sym.tolist(), dtype=float)
        got = _call(topic, fn, list(xs))
        if isinstance(got, sp.MatrixBase) and got.free_symbols & {derive_maml.w, derive_maml.b}:
            raise _fail(topic, "your Hessian depends on w or b; the loss is quadratic in (w, b), so it is constant")
        got = _array(topic, got, (2, 2))
        if _close(got, want, rtol=1e-9, atol=1e-12):
            continue
        known = [
            (want / 2, "a factor 2 is missing: the derivative of (w x + b - y)^2 brings down a 2"),
            (want * len(xs), "the mean over the n support points (1/n) is missing"),
        ]
        raise _diagnose(topic, got, want, known)
    return Passed(topic, "2/n [[sum x^2, sum x], [sum x, n]], the same for every (w, b)")


def check_maml_meta_gradient(fn: Callable) -> Passed:
    r"""``fn(xs, ys, xq, yq, w, b, alpha)`` returns MAML's meta-gradient :math:`\nabla_{(w, b)} L_q(\theta')`
    after one inner step, ``(2,)``, for the linear model of notebook 10.

    Reference: SymPy's derivative, :func:`course_lib.derivations.maml.meta_gradient_terms`' ``direct``.
    """
    topic = "MAML meta-gradient"
    terms = derive_maml.meta_gradient_terms(_XS, _YS, _XQ, _YQ)
    for w_v, b_v, a_v in ((0.4, -0.2, 0.1), (-1.0, 0.5, 0.3)):
        want = np.array(derive_maml.evaluate(terms["direct"], w_v, b_v, a_v))
        got = _array(topic, _call(topic, fn, list(_XS), list(_YS), list(_XQ), list(_YQ), w_v, b_v, a_v), (2,))
        if _close(got, want, rtol=1e-6, atol=1e-9):
            continue
        H = np.array(terms["hessian"].tolist(), dtype=float)
        first = np.array(derive_maml.evaluate(terms["first_order"], w_v, b_v, a_v))
        known = [
            (first, "that is first-order MAML's gradient: it drops the term -alpha H grad L_q(theta')"),
            ((np.eye(2) + a_v * H) @ first, "the sign of the Hessian term is flipped: (I - alpha H) grad L_q(theta')"),
        ]
        raise _diagnose(f"{topic} (w={w_v}, b={b_v}, alpha={a_v})", got, want, known)
    return Passed(topic, "(I - alpha H) grad L_q(theta') at two points")


# --- 11 meta-RL with MAML ------------------------------------------------------------------------------------------


def check_gaussian_score(fn: Callable) -> Passed:
    r"""``fn(a, mu, log_std)`` with ``(B, 2)`` tensors returns the scores :math:`\partial \log\pi / \partial\mu` and
    :math:`\partial \log\pi / \partial\ell` of :math:`\log \mathcal N(a; \mu, e^{2\ell})` per coordinate, each ``(B, 2)``
    (notebook 11): :math:`z/e^\ell` and :math:`z^2 - 1` with :math:`z = (a - \mu)/e^\ell`.

    Reference: autograd of :func:`course_lib.meta.maml_rl.log_prob` on a policy whose mean is its output bias.
    """
    topic = "Gaussian score"
    g = torch_generator(11)
    mu, log_std = (
        torch.randn(5, 2, generator=g, dtype=torch.float64),
        0.5 * torch.randn(5, 2, generator=g, dtype=torch.float64) - 1,
    )
    a = mu + log_std.exp() * torch.randn(5, 2, generator=g, dtype=torch.float64)
    params = {
        "w0": torch.zeros(5, 2, 2, dtype=torch.float64),
        "b0": mu.clone().requires_grad_(),
        "log_std": log_std.clone().requires_grad_(),
    }
    logp = maml_rl.log_prob(params, torch.zeros(5, 1, 2, dtype=torch.float64), a.unsqueeze(1)).sum()
    want_mu, want_l = (t.numpy() for t in torch.autograd.grad(logp, [params["b0"], params["log_std"]]))
    got = _call(topic, fn, a.clone(), mu.clone(), log_std.clone())
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise _fail(topic, "return a pair (d log pi / d mu, d log pi / d log_std)")
    got_mu, got_l = (_array(topic, x, (5, 2)) for x in got)
    z = ((a - mu) / log_std.exp()).numpy()
    sigma = log_std.exp().numpy()
    if not _close(got_mu, want_mu, rtol=1e-5, atol=1e-6):
        known = [
            (z, "that is z = (a - mu)/sigma; the score of the mean is (a - mu)/sigma^2 = z/sigma"),
            (-want_mu, "the sign is flipped: log pi grows as mu moves towards a"),
        ]
        raise _diagnose(f"{topic} (mean)", got_mu, want_mu, known)
    if not _close(got_l, want_l, rtol=1e-5, atol=1e-6):
        known = [
            (z**2, "the -1 is missing: log pi also has the term -log sigma = -ell, whose derivative is -1"),
            (
                (z**2 - 1) / sigma,
                "that is d/dsigma; the exercise asks for d/d ell with ell = log sigma: multiply by sigma, giving z^2 - 1",
            ),
            (
                (z**2 - 1) / 2,
                "that is the derivative in log sigma^2 (the log-variance); in ell = log sigma it is z^2 - 1",
            ),
        ]
        raise _diagnose(f"{topic} (log-std)", got_l, want_l, known)
    return Passed(topic, "z/sigma for the mean and z^2 - 1 for the log-std, z = (a - mu)/sigma")


def check_task_advantages(fn: Callable, *, gamma: float = 0.9) -> Passed:
    r"""``fn(rewards, gamma)`` with rewards ``(n_tasks, T, n_traj)`` returns MAML-RL's advantages, same shape: the
    reward-to-go minus its mean over the task's trajectories at the same step, normalised per task (notebook 11).

    Reference: :func:`course_lib.meta.maml_rl.advantages`.
    """
    topic = "per-task advantages"
    g = torch_generator(12)
    rewards = -torch.rand(3, 6, 5, generator=g, dtype=torch.float64) * torch.tensor([1.0, 3.0, 0.3]).view(3, 1, 1)
    want = maml_rl.advantages(rewards, gamma).numpy()
    got = _array(topic, _call(topic, fn, rewards.clone(), gamma), want.shape)
    if _close(got, want, rtol=1e-5, atol=1e-6):
        return Passed(topic, "reward-to-go, minus the per-step mean over the task's trajectories, normalised per task")
    T = rewards.shape[1]
    G = torch.stack([sum(gamma**k * rewards[:, t + k] for k in range(T - t)) for t in range(T)], 1)

    def per_task(x: torch.Tensor) -> np.ndarray:
        x = x - x.mean((1, 2), keepdim=True)
        return (x / x.std((1, 2), keepdim=True)).numpy()

    def per_task_pop(x: torch.Tensor) -> np.ndarray:
        x = x - x.mean((1, 2), keepdim=True)
        return (x / x.std((1, 2), keepdim=True, unbiased=False)).numpy()

    a = G - G.mean(2, keepdim=True)
    G1 = torch.stack([rewards[:, t:].sum(1) for t in range(T)], 1)
    known = [
        (per_task_pop(a), "you divided by the population std (n); use torch's default .std(), which divides by n - 1"),
        (
            per_task(G - G.mean(1, keepdim=True)),
            "the baseline averages over the task's trajectories (dimension 2), not over time (dimension 1)",
        ),
        (per_task(G1 - G1.mean(2, keepdim=True)), "gamma is ignored: G_t = r_t + gamma * G_{t+1}"),
        (per_task(G[:, :1].expand_as(G)), "every step is weighted by the whole return G_0: use the reward-to-go G_t"),
        (per_task(G), "no baseline: subtract the mean of G_t over the task's trajectories at the same step t"),
        (
            ((a - a.mean()) / a.std()).numpy(),
            "normalise each task on its own (over steps and trajectories), not all at once",
        ),
        (a.numpy(), "normalise each task to mean 0 and std 1"),
    ]
    raise _diagnose(topic, got, want, known)


# --- 12 meta-RL with a recurrent policy ----------------------------------------------------------------------------

__all__ += ["check_cumulative_regret", "check_ucb1_index"]


def check_cumulative_regret(fn: Callable) -> Passed:
    r"""``fn(probs, actions)`` with ``probs`` ``(n_tasks, k)`` and ``actions`` ``(n_tasks, n)`` returns the cumulative
    pseudo-regret :math:`\sum_{s \le t} (\max_b p_b - p_{a_s})`, ``(n_tasks, n)`` (notebook 12).

    Reference: :func:`course_lib.envs.bandits.pseudo_regret`.
    """
    from course_lib.envs.bandits import pseudo_regret, sample_bandit_tasks

    topic = "cumulative regret"
    g = torch_generator(12)
    probs = sample_bandit_tasks(4, 5, g).double()
    actions = torch.randint(5, (4, 9), generator=g)
    want = pseudo_regret(probs, actions).numpy()
    got = _array(topic, _call(topic, fn, probs.clone(), actions.clone()), want.shape)
    if _close(got, want, rtol=1e-5, atol=1e-6):
        return Passed(topic, "the gap to the best arm's probability, summed along the pulls")
    pulled = probs.gather(1, actions)
    gap = probs.max(1, keepdim=True).values - pulled
    known = [
        (gap.numpy(), "that is the regret of each pull; sum it along the pulls (cumsum over dimension 1)"),
        (-want, "the sign is flipped: regret is what the best arm would have earned minus what the pulled arm earns"),
        (
            (probs.mean(1, keepdim=True) - pulled).cumsum(1).numpy(),
            "that compares with the mean arm; regret compares with the best arm, max_b p_b",
        ),
        (gap.cumsum(0).numpy(), "cumsum over the pulls (dimension 1), not over the tasks (dimension 0)"),
        (gap.sum(1, keepdim=True).expand_as(gap).numpy(), "return the running sum after each pull, not only the total"),
        (
            torch.cat([torch.zeros_like(gap[:, :1]), gap.cumsum(1)[:, :-1]], 1).numpy(),
            "entry t includes pull t itself (s <= t): the first entry is the first pull's gap, not 0",
        ),
        (
            (gap.cumsum(1) / torch.arange(1, gap.shape[1] + 1, dtype=gap.dtype)).numpy(),
            "that is the running mean regret per pull; return the running sum",
        ),
    ]
    raise _diagnose(topic, got, want, known)


def check_ucb1_index(fn: Callable) -> Passed:
    r"""``fn(sums, counts, t)`` with ``(n_tasks, k)`` tensors (all counts >= 1) and an int ``t`` returns UCB1's index
    :math:`\hat\mu_a + \sqrt{2 \ln t / n_a}`, ``(n_tasks, k)`` (notebook 12).

    Reference: the arm that :class:`course_lib.meta.bandit_baselines.UCB1` pulls in the same state; states where its
    choice depends on how it breaks ties are left out.
    """
    from course_lib.meta.bandit_baselines import UCB1

    topic = "UCB1 index"
    g = torch_generator(13)
    n_tasks, k = 400, 5
    steps = (6, 12, 30, 80)
    states = []
    for t in steps:
        counts = 1 + torch.stack(
            [torch.bincount(torch.randint(k, (t - k,), generator=g), minlength=k) for _ in range(n_tasks)]
        )
        sums = counts * torch.rand(n_tasks, k, generator=g)  # means off a grid, so that ties are rare
        states.append((t, sums, counts.float()))
    mismatches, compared = 0, 0
    for t, sums, counts in states:
        picks = []
        for seed in range(8):  # UCB1 breaks ties at random: keep the states where every tie-break agrees
            agent = UCB1(n_tasks, k, torch_generator(seed))
            agent.sums, agent.counts, agent.t = sums.clone(), counts.clone(), t
            picks.append(agent.select())
        want = picks[0]
        untied = torch.stack([p == want for p in picks]).all(0)
        got = _array(topic, _call(topic, fn, sums.clone(), counts.clone(), t), (n_tasks, k))
        got_arm = torch.from_numpy(got).argmax(1)
        mismatches += int(((got_arm != want) & untied).sum())
        compared += int(untied.sum())
        if mismatches:
            break
    if not mismatches:
        return Passed(topic, f"the arm of largest index is UCB1's in all {compared} states compared")
    mean = sums / counts
    known = [
        (
            mean + torch.sqrt(float(np.log(t)) / counts),
            "the bonus is sqrt(2 ln t / n_a): the 2 comes from Hoeffding's exp(-2 m eps^2) set to t^-4",
        ),
        (
            mean + torch.sqrt(2 * torch.log(counts) / counts),
            "the log is of t, the pulls of all arms so far, not of n_a",
        ),
        (mean + 2 * float(np.log(t)) / counts, "take the square root: the bonus is sqrt(2 ln t / n_a)"),
        (mean, "the exploration bonus is missing: UCB1 adds sqrt(2 ln t / n_a) to the empirical mean"),
        (sums + torch.sqrt(2 * float(np.log(t)) / counts), "use the empirical mean s_a / n_a, not the sum s_a"),
    ]
    for scores, message in known:  # the answer *is* this mistake (by value), not only picks like it in this state
        if _close(got, scores.numpy(), rtol=1e-5, atol=1e-6):
            raise _fail(topic, message)
    i = int(torch.nonzero((got_arm != want) & untied)[0])
    state = f"sums {[round(v, 3) for v in sums[i].tolist()]}, counts {[int(v) for v in counts[i].tolist()]}"
    raise _fail(
        topic,
        f"at t = {t} the arm of largest index differs from UCB1's in {mismatches} states, e.g. {state}: "
        f"UCB1 pulls arm {int(want[i])}, yours arm {int(got_arm[i])}",
    )


# --- 13 evaluating RL honestly ---------------------------------------------------------------------------------------

__all__ += ["check_iqm", "check_probability_of_improvement"]


def check_iqm(fn: Callable) -> Passed:
    r"""``fn(scores)`` with a 1-D NumPy array whose length is a multiple of 4 returns its interquartile mean: the
    mean of the middle half of the sorted scores, :math:`\frac{2}{n}\sum_{i=n/4+1}^{3n/4} x_{(i)}` (notebook 13).

    Reference: :func:`course_lib.stats.iqm`.
    """
    from course_lib.stats import iqm

    topic = "interquartile mean"
    rng = np.random.default_rng(13)
    for n in (8, 20, 40):
        x = np.round(rng.standard_cauchy(n) * 10, 2)  # heavy tails: the IQM, mean and median differ clearly
        want = float(iqm(x))
        got = _number(topic, _call(topic, fn, x.copy()))
        if abs(got - want) <= 1e-6 * max(1.0, abs(want)):
            continue
        xs = np.sort(x)
        q = n // 4
        known = [
            (float(np.mean(x)), "that is the plain mean; sort the scores and keep only the middle half"),
            (float(np.median(x)), "that is the median; the IQM averages the whole middle half, not its centre"),
            (float(np.mean(x[q : n - q])), "sort the scores first: the middle half is of the *sorted* scores"),
            (float(np.mean(xs[q + 1 : n - q - 1])), "keep n/2 scores: drop n/4 at each end, no more"),
            (float(np.mean(xs[n // 10 : n - n // 10])), "trim 25% at each end (the quartiles), not 10%"),
            (float(np.mean(xs[: n // 2])), "keep the middle half (from n/4 to 3n/4), not the lower half"),
        ]
        for wrong, message in known:
            if abs(got - wrong) <= 1e-6 * max(1.0, abs(wrong)):
                raise _fail(topic, message)
        raise _fail(topic, f"for {n} scores expected {want:.4f}, got {got:.4f}")
    return Passed(topic, "the mean of the middle half of the sorted scores, for 8, 20 and 40 runs")


def check_probability_of_improvement(fn: Callable) -> Passed:
    r"""``fn(x, y)`` with two 1-D NumPy arrays (the runs of X and of Y on one task) returns
    :math:`\frac{1}{NK}\sum_{i,j} \big([x_i > y_j] + \tfrac12[x_i = y_j]\big)` (notebook 13).

    Reference: :func:`course_lib.stats.probability_of_improvement` (its estimate).
    """
    from course_lib.stats import probability_of_improvement

    topic = "probability of improvement"
    rng = np.random.default_rng(14)
    x = rng.choice([100.0, 250.0, 500.0], size=12, p=[0.2, 0.3, 0.5])  # capped scores: many ties, as on CartPole
    y = rng.choice([100.0, 250.0, 500.0], size=8, p=[0.4, 0.3, 0.3])
    want = probability_of_improvement(x, y, n_resamples=1)[0]
    got = _number(topic, _call(topic, fn, x.copy(), y.copy()))
    if abs(got - want) <= 1e-9:
        return Passed(topic, "the share of (x, y) pairs where x wins, a tie counting one half")
    wins = float(np.mean(x[:, None] > y[None, :]))
    ties = float(np.mean(x[:, None] == y[None, :]))
    known = [
        (wins, "a tie counts one half: add half the share of tied pairs"),
        (wins + ties, "a tie counts one half, not as a win"),
        (1 - want, "that is P(Y > X): count the pairs where x beats y"),
        (float(np.mean(x > y.mean())), "compare every run of X with every run of Y, not with Y's mean"),
        (float(np.mean(x[: len(y)] > y)), "compare all N x K pairs, not the runs with the same index"),
        (
            float(np.mean((x[: len(y)] > y) + 0.5 * (x[: len(y)] == y))),
            "compare all N x K pairs, not the runs with the same index",
        ),
        (float(x.mean() > y.mean()), "that only says which mean is larger; count the pairs where x beats y"),
    ]
    for wrong, message in known:
        if abs(got - wrong) <= 1e-9:
            raise _fail(topic, message)
    raise _fail(topic, f"expected {want:.4f}, got {got:.4f}")
