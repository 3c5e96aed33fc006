r"""Score functions :math:`\nabla_\theta \log \pi_\theta(a \mid s)` (notebook ``03_policy_gradients``).

Each policy is written as a SymPy expression in its parameters; the gradient
is taken by SymPy, and :func:`lambdify_grad` turns it into a NumPy function that
the tests compare with torch autograd and with central finite differences.

* Log-derivative trick: :math:`\nabla_\theta \pi = \pi \, \nabla_\theta \log \pi`.
* Bernoulli-logistic (sigmoid) policy, :math:`\pi(a{=}1 \mid s) = \sigma(\theta^\top s)`:
  :math:`\nabla_\theta \log \pi(a \mid s) = (a - \sigma(\theta^\top s))\, s`.
  Seed article 000 §4.2.1 writes :math:`\sigma(1 - \sigma)\, s`, which is
  :math:`\nabla_\theta \sigma(\theta^\top s)`, the derivative of :math:`\pi`, not of
  :math:`\log \pi`, and it does not depend on the action taken.
* Softmax policy, :math:`\pi(a \mid s) \propto \exp(\theta_a^\top s)`:
  :math:`\nabla_{\theta_b} \log \pi(a \mid s) = (\mathbb 1[a{=}b] - \pi(b \mid s))\, s`.
* Gaussian policy, mean :math:`\mu = w^\top s`, log-std :math:`\ell`:
  :math:`\nabla_w \log \pi = \frac{a - \mu}{\sigma^2} s`,
  :math:`\partial_\ell \log \pi = \frac{(a - \mu)^2}{\sigma^2} - 1`.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

from course_lib.derivations import is_identity


def sigmoid(z: sp.Expr) -> sp.Expr:
    return 1 / (1 + sp.exp(-z))


def bernoulli_policy(d: int = 3):
    r"""Symbols and :math:`\log \pi(a \mid s)` for :math:`\pi(a{=}1 \mid s) = \sigma(\theta^\top s)`, :math:`a \in \{0, 1\}`.

    Returns ``(theta, s, a, log_pi)``.
    """
    theta = sp.Matrix(sp.symbols(f"theta_0:{d}", real=True))
    s = sp.Matrix(sp.symbols(f"s_0:{d}", real=True))
    a = sp.Symbol("a", real=True)
    p = sigmoid((theta.T * s)[0])
    log_pi = a * sp.log(p) + (1 - a) * sp.log(1 - p)
    return theta, s, a, log_pi


def bernoulli_score_closed_form(theta: sp.Matrix, s: sp.Matrix, a: sp.Symbol) -> sp.Matrix:
    r"""The correct score :math:`(a - \sigma(\theta^\top s))\, s`."""
    return (a - sigmoid((theta.T * s)[0])) * s


def seed_article_score(theta: sp.Matrix, s: sp.Matrix) -> sp.Matrix:
    r"""Seed article 000 §4.2.1's score :math:`\sigma(1-\sigma)\, s` (wrong)."""
    p = sigmoid((theta.T * s)[0])
    return p * (1 - p) * s


def gradient(expr: sp.Expr, params: sp.Matrix) -> sp.Matrix:
    """The column vector of partial derivatives of ``expr`` with respect to ``params``."""
    return sp.Matrix([sp.diff(expr, p) for p in params])


def matrices_equal(A: sp.Matrix, B: sp.Matrix) -> bool:
    return A.shape == B.shape and all(is_identity(x, y) for x, y in zip(A, B))


def check_bernoulli_score(d: int = 3) -> bool:
    r"""SymPy's :math:`\nabla_\theta \log \pi` equals :math:`(a - \sigma)\, s` for both actions."""
    theta, s, a, log_pi = bernoulli_policy(d)
    g = gradient(log_pi, theta)
    want = bernoulli_score_closed_form(theta, s, a)
    return all(matrices_equal(g.subs(a, v), want.subs(a, v)) for v in (0, 1))


def check_seed_score_is_wrong(d: int = 3) -> dict[str, bool]:
    r"""What the seed's :math:`\sigma(1-\sigma) s` is and is not.

    Returns a dict: ``equals_grad_log_pi`` (False for either action),
    ``equals_grad_pi`` (True: it is :math:`\nabla_\theta \pi(a{=}1 \mid s)`).
    """
    theta, s, a, log_pi = bernoulli_policy(d)
    seed = seed_article_score(theta, s)
    g = gradient(log_pi, theta)
    pi1 = sigmoid((theta.T * s)[0])
    # A numeric witness is enough to refute equality of two expressions.
    point = {
        **{t: sp.Rational(k + 1, 3) for k, t in enumerate(theta)},
        **{x: sp.Rational(2 - k, 2) for k, x in enumerate(s)},
    }
    equals_log = any(all(sp.N((gi - si).subs(point).subs(a, v)) == 0 for gi, si in zip(g, seed)) for v in (0, 1))
    return {"equals_grad_log_pi": equals_log, "equals_grad_pi": matrices_equal(gradient(pi1, theta), seed)}


def check_log_derivative_trick(d: int = 2) -> bool:
    r""":math:`\nabla_\theta \pi = \pi \nabla_\theta \log \pi` for the sigmoid policy (either action)."""
    theta, s, a, log_pi = bernoulli_policy(d)
    p1 = sigmoid((theta.T * s)[0])
    ok = True
    for v, pi in ((1, p1), (0, 1 - p1)):
        ok &= matrices_equal(gradient(pi, theta), pi * gradient(log_pi.subs(a, v), theta))
    return ok


def softmax_policy(n_actions: int = 3, d: int = 2):
    r"""Symbols and :math:`\log \pi(a \mid s)` for each action of a linear softmax policy.

    Returns ``(theta, s, log_pis)`` with ``theta`` an ``n_actions x d`` matrix and
    ``log_pis[a]`` the log-probability of action ``a``.
    """
    theta = sp.Matrix(n_actions, d, lambda i, j: sp.Symbol(f"theta_{i}{j}", real=True))
    s = sp.Matrix(sp.symbols(f"s_0:{d}", real=True))
    logits = theta * s
    lse = sp.log(sum(sp.exp(z) for z in logits))
    return theta, s, [logits[a] - lse for a in range(n_actions)]


def check_softmax_score(n_actions: int = 3, d: int = 2) -> bool:
    r""":math:`\partial \log \pi(a \mid s) / \partial \theta_{bj} = (\mathbb 1[a{=}b] - \pi(b \mid s))\, s_j`."""
    theta, s, log_pis = softmax_policy(n_actions, d)
    logits = theta * s
    Z = sum(sp.exp(z) for z in logits)
    probs = [sp.exp(z) / Z for z in logits]
    for a in range(n_actions):
        for b in range(n_actions):
            for j in range(d):
                if not is_identity(sp.diff(log_pis[a], theta[b, j]), (int(a == b) - probs[b]) * s[j]):
                    return False
    return True


def gaussian_policy(d: int = 2):
    r"""Symbols and :math:`\log \mathcal N(a; w^\top s, e^{2\ell})`. Returns ``(w, ell, s, a, log_pi)``."""
    w = sp.Matrix(sp.symbols(f"w_0:{d}", real=True))
    ell = sp.Symbol("ell", real=True)
    s = sp.Matrix(sp.symbols(f"s_0:{d}", real=True))
    a = sp.Symbol("a", real=True)
    mu = (w.T * s)[0]
    sigma = sp.exp(ell)
    log_pi = -((a - mu) ** 2) / (2 * sigma**2) - ell - sp.log(2 * sp.pi) / 2
    return w, ell, s, a, log_pi


def check_gaussian_score(d: int = 2) -> bool:
    r"""Mean: :math:`(a-\mu) s / \sigma^2`; log-std: :math:`(a-\mu)^2/\sigma^2 - 1`."""
    w, ell, s, a, log_pi = gaussian_policy(d)
    mu, var = (w.T * s)[0], sp.exp(2 * ell)
    ok_mean = matrices_equal(gradient(log_pi, w), (a - mu) / var * s)
    ok_std = is_identity(sp.diff(log_pi, ell), (a - mu) ** 2 / var - 1)
    return ok_mean and ok_std


def lambdify_grad(log_pi: sp.Expr, params: list[sp.Symbol], inputs: list[sp.Symbol]) -> Callable:
    """A NumPy function ``f(params, inputs) -> gradient`` of SymPy's derivative of ``log_pi``."""
    g = [sp.diff(log_pi, p) for p in params]
    return sp.lambdify([params, inputs], g, modules="numpy")
