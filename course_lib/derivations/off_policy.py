r"""Off-policy actor-critic for continuous actions (notebook ``09_off_policy_actor_critic``), checked with SymPy.

* **Deterministic policy gradient** (Silver et al., ICML 2014). For a deterministic actor
  :math:`a = \mu_\theta(s)` the objective :math:`Q(s, \mu_\theta(s))` depends on :math:`\theta` only through
  the action, so by the chain rule

  .. math::  \nabla_\theta Q(s, \mu_\theta(s)) = \nabla_a Q(s, a)\big|_{a = \mu_\theta(s)}\; \nabla_\theta \mu_\theta(s).

  :func:`check_dpg_chain_rule` shows it for an unspecified :math:`Q` and a tanh-linear actor.
* **The tanh-squashed Gaussian** (Haarnoja et al., ICML 2018, appendix C). With
  :math:`u \sim \mathcal N(m, \sigma^2)` and :math:`a = \tanh u`, the change of variables gives

  .. math::  \log p_A(a) = \log \mathcal N(u; m, \sigma^2) - \log(1 - \tanh^2 u), \qquad u = \operatorname{artanh} a,

  and :math:`\log(1 - \tanh^2 u) = 2(\log 2 - u - \operatorname{softplus}(-2u))`, a form that stays finite
  for large :math:`|u|` (:func:`check_squashed_density`, :func:`check_stable_log_jacobian`).
* **The soft Bellman target.** With :math:`V(s') = \mathbb E_{a' \sim \pi}[Q(s', a') - \alpha \log \pi(a' \mid s')]`,
  :math:`y = r + \gamma (1 - d) V(s')`. Over a finite action set the policy that maximises
  :math:`V` is :math:`\pi \propto \exp(Q/\alpha)`, and then :math:`V = \alpha \log \sum_a \exp(Q_a / \alpha)`
  (the "soft max" of :math:`Q`; Haarnoja et al., ICML 2017). :func:`check_soft_value`.
* **The temperature loss** (Haarnoja et al., 2018, arXiv:1812.05905). With :math:`\alpha = e^\beta`,
  :math:`J(\beta) = -e^\beta (\log \pi(a \mid s) + \bar{\mathcal H})` has
  :math:`\partial J / \partial \beta = -\alpha (\log \pi + \bar{\mathcal H})`: gradient descent raises
  :math:`\alpha` while the entropy :math:`-\log \pi` is below the target :math:`\bar{\mathcal H}`
  (:func:`check_temperature_gradient`).
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

from course_lib.derivations import is_identity

__all__ = [
    "deterministic_actor",
    "quadratic_critic",
    "dpg_gradient",
    "check_dpg_chain_rule",
    "squashed_gaussian",
    "check_squashed_density",
    "check_stable_log_jacobian",
    "stable_log_jacobian",
    "soft_value",
    "check_soft_value",
    "temperature_loss",
    "check_temperature_gradient",
    "lambdify_gradient",
]


# --- deterministic policy gradient -------------------------------------------------------------------------------


def deterministic_actor(d: int = 2):
    r"""Symbols and :math:`\mu_\theta(s) = \tanh(\theta^\top s + b)`. Returns ``(theta, b, s, mu)``."""
    theta = sp.Matrix(sp.symbols(f"theta_0:{d}", real=True))
    b = sp.Symbol("b", real=True)
    s = sp.Matrix(sp.symbols(f"s_0:{d}", real=True))
    return theta, b, s, sp.tanh((theta.T * s)[0] + b)


def quadratic_critic(s: sp.Matrix, a: sp.Expr):
    r"""A concrete critic :math:`Q(s, a) = -k (a - w^\top s)^2 + c^\top s` (best action :math:`w^\top s`).

    Returns ``(Q, (w, c, k))``.
    """
    d = s.shape[0]
    w = sp.Matrix(sp.symbols(f"w_0:{d}", real=True))
    c = sp.Matrix(sp.symbols(f"c_0:{d}", real=True))
    k = sp.Symbol("k", positive=True)
    return -k * (a - (w.T * s)[0]) ** 2 + (c.T * s)[0], (w, c, k)


def dpg_gradient(d: int = 2):
    r""":math:`\nabla_{(\theta, b)} Q(s, \mu_\theta(s))` for :func:`quadratic_critic` by the chain rule,
    as a column. Returns ``(grad, theta, b, s, (w, c, k))``."""
    theta, b, s, mu = deterministic_actor(d)
    a = sp.Symbol("a", real=True)
    q, params = quadratic_critic(s, a)
    dq_da = sp.diff(q, a).subs(a, mu)
    grad = sp.Matrix([dq_da * sp.diff(mu, p) for p in [*theta, b]])
    return grad, theta, b, s, params


def check_dpg_chain_rule(d: int = 2) -> bool:
    r""":math:`\partial_{\theta_i} Q(s, \mu_\theta(s)) = \partial_a Q|_{a=\mu}\, \partial_{\theta_i}\mu` for an
    *unspecified* :math:`Q` (a SymPy function), and the closed form for :func:`quadratic_critic`."""
    theta, b, s, mu = deterministic_actor(d)
    a = sp.Symbol("a", real=True)
    Q = sp.Function("Q")
    ok = True
    for p in [*theta, b]:
        lhs = sp.diff(Q(*s, mu), p)
        rhs = sp.Subs(sp.diff(Q(*s, a), a), a, mu).doit() * sp.diff(mu, p)
        ok &= sp.simplify(lhs - rhs) == 0
    grad, theta, b, s, (w, c, k) = dpg_gradient(d)
    q_of_theta, _ = quadratic_critic(s, mu)
    direct = sp.Matrix([sp.diff(q_of_theta, p) for p in [*theta, b]])
    # closed form: -2k (mu - w.s) (1 - mu^2) [s; 1]
    closed = -2 * k * (mu - (w.T * s)[0]) * (1 - mu**2) * sp.Matrix([*s, 1])
    ok &= all(is_identity(x, y) for x, y in zip(direct, grad))
    ok &= all(is_identity(x, y) for x, y in zip(grad, closed))
    return bool(ok)


# --- tanh-squashed Gaussian --------------------------------------------------------------------------------------

u, m, a_sym = sp.symbols("u m a", real=True)
sigma = sp.Symbol("sigma", positive=True)
ell = sp.Symbol("ell", real=True)  # log-std


def squashed_gaussian():
    r""":math:`\log p_A(a)` of :math:`a = \tanh u`, :math:`u \sim \mathcal N(m, \sigma^2)`, written in :math:`u`
    (the log-std :math:`\ell = \log\sigma`): :math:`-\tfrac12 ((u - m)/\sigma)^2 - \ell - \tfrac12\log 2\pi - \log(1 - \tanh^2 u)`."""
    s = sp.exp(ell)
    return -((u - m) ** 2) / (2 * s**2) - ell - sp.log(2 * sp.pi) / 2 - sp.log(1 - sp.tanh(u) ** 2)


def check_squashed_density() -> bool:
    r"""The density of :math:`a = \tanh u` is the derivative of its CDF :math:`\Phi((\operatorname{artanh} a - m)/\sigma)`,
    and equals :math:`\mathcal N(\operatorname{artanh} a; m, \sigma^2) / (1 - a^2)`, which is
    ``exp(squashed_gaussian())`` at :math:`u = \operatorname{artanh} a`."""
    a = sp.Symbol("a", real=True)
    z = (sp.atanh(a) - m) / sigma
    cdf = (1 + sp.erf(z / sp.sqrt(2))) / 2
    density = sp.diff(cdf, a)
    normal = sp.exp(-((sp.atanh(a) - m) ** 2) / (2 * sigma**2)) / (sigma * sp.sqrt(2 * sp.pi))
    ok = is_identity(density, normal / (1 - a**2))
    # the same in u: 1 - tanh(u)^2 at u = artanh(a) is 1 - a^2
    ok &= is_identity((1 - sp.tanh(u) ** 2).subs(u, sp.atanh(a)), 1 - a**2)
    in_u = sp.exp(squashed_gaussian().subs(ell, sp.log(sigma)))
    ok &= is_identity(sp.simplify(in_u.subs(u, sp.atanh(a))), sp.simplify(normal / (1 - a**2)))
    return bool(ok)


def stable_log_jacobian(x: sp.Expr) -> sp.Expr:
    r""":math:`2(\log 2 - x - \operatorname{softplus}(-2x))`, :math:`\operatorname{softplus}(z) = \log(1 + e^z)`."""
    return 2 * (sp.log(2) - x - sp.log(1 + sp.exp(-2 * x)))


def check_stable_log_jacobian() -> bool:
    r""":math:`1 - \tanh^2 u = 4 e^{-2u} / (1 + e^{-2u})^2`, so both sides of
    :math:`\log(1 - \tanh^2 u) = 2(\log 2 - u - \operatorname{softplus}(-2u))` exponentiate to the same thing
    (and both are real, so they are equal); as :math:`u \to \pm\infty` the right side behaves like :math:`2\log 2 - 2|u|`."""
    lhs = (1 - sp.tanh(u) ** 2).rewrite(sp.exp)
    rhs = sp.exp(stable_log_jacobian(u))
    ok = sp.simplify(lhs - rhs) == 0
    ok &= sp.limit(stable_log_jacobian(u) - (2 * sp.log(2) - 2 * u), u, sp.oo) == 0
    ok &= sp.limit(stable_log_jacobian(u) - (2 * sp.log(2) + 2 * u), u, -sp.oo) == 0
    return bool(ok)


# --- soft Bellman target -----------------------------------------------------------------------------------------

alpha = sp.Symbol("alpha", positive=True)


def soft_value(q: list[sp.Expr], probs: list[sp.Expr]) -> sp.Expr:
    r""":math:`\sum_a \pi_a (Q_a - \alpha \log \pi_a)`: the soft state value under the policy ``probs``."""
    return sum(p * (qa - alpha * sp.log(p)) for qa, p in zip(q, probs))


def check_soft_value(n: int = 3) -> bool:
    r"""For ``n`` actions: the Lagrangian of :math:`\max_\pi \sum_a \pi_a (Q_a - \alpha\log\pi_a)` s.t.
    :math:`\sum_a \pi_a = 1` is stationary at :math:`\pi = \mathrm{softmax}(Q/\alpha)`, where the value is
    :math:`\alpha \log \sum_a e^{Q_a/\alpha}`; and the one-sample target's mean under that policy is that value."""
    q = list(sp.symbols(f"Q_0:{n}", real=True))
    Z = sum(sp.exp(qa / alpha) for qa in q)
    boltzmann = [sp.exp(qa / alpha) / Z for qa in q]
    p = list(sp.symbols(f"p_0:{n}", positive=True))
    lam = sp.Symbol("lambda", real=True)
    lagrangian = soft_value(q, p) + lam * (1 - sum(p))
    # the multiplier that makes it stationary: lambda = alpha log Z - alpha (from dL/dp_a = Q_a - alpha log p_a - alpha - lambda)
    at = {**dict(zip(p, boltzmann)), lam: alpha * sp.log(Z) - alpha}
    ok = all(is_identity(sp.expand_log(sp.diff(lagrangian, pa).subs(at), force=True), 0) for pa in p)
    value = soft_value(q, boltzmann)
    ok &= is_identity(sp.expand_log(sp.simplify(value), force=True), sp.expand_log(alpha * sp.log(Z), force=True))
    # the Hessian of the objective in p is diag(-alpha / p_a): negative definite, so this is the maximum
    hessian = sp.hessian(soft_value(q, p), p)
    ok &= all(is_identity(hessian[i, j], -alpha / p[i] if i == j else 0) for i in range(n) for j in range(n))
    return bool(ok)


# --- temperature -------------------------------------------------------------------------------------------------

beta, logp, target_entropy = sp.symbols("beta logp Hbar", real=True)


def temperature_loss() -> sp.Expr:
    r""":math:`J(\beta) = -e^\beta(\log\pi + \bar{\mathcal H})` for one sampled action."""
    return -sp.exp(beta) * (logp + target_entropy)


def check_temperature_gradient() -> bool:
    r""":math:`\partial J/\partial\beta = -\alpha(\log\pi + \bar{\mathcal H})`, negative (so :math:`\alpha` rises under
    gradient descent) exactly when the entropy :math:`-\log\pi` is below :math:`\bar{\mathcal H}`."""
    grad = sp.diff(temperature_loss(), beta)
    ok = is_identity(grad, -sp.exp(beta) * (logp + target_entropy))
    entropy = sp.Symbol("H", real=True)
    # sign: with logp = -H, grad = -alpha (Hbar - H), whose sign is that of H - Hbar
    ok &= is_identity(grad.subs(logp, -entropy), sp.exp(beta) * (entropy - target_entropy))
    return bool(ok)


def lambdify_gradient(expr: sp.Expr, wrt: list[sp.Symbol], args: list[sp.Symbol]) -> Callable:
    """A NumPy function ``f(wrt_values, arg_values) -> gradient`` of ``expr`` with respect to ``wrt``."""
    grad = [sp.diff(expr, p) for p in wrt]
    f = sp.lambdify([*wrt, *args], grad, "numpy")
    return lambda w, x: f(*w, *x)
