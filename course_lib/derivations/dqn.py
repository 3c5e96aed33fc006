r"""DQN's loss and the overestimation of max (notebook ``08_dqn``), checked with SymPy.

* **The TD loss with a target network.** For a linear :math:`Q_W(s, a) = (W s + c)_a`
  and one transition, :math:`L(W) = \ell_\kappa\big(Q_W(s, a) - y\big)` with
  :math:`y = r + \gamma \max_{a'} Q_{W'}(s', a')` computed from the *target*
  parameters :math:`W'`. Because :math:`y` does not depend on :math:`W`, the
  semi-gradient is the true gradient: :math:`\partial L / \partial W_{a} = \mathrm{clip}(Q - y, -\kappa, \kappa)\, s`
  on the taken action's row and 0 on the others.
* **Why max overestimates** (van Hasselt, 2010; van Hasselt et al., 2016): if
  all :math:`m` actions have true value 0 and the estimates are
  :math:`\hat Q_a = \epsilon_a` with :math:`\epsilon_a \sim U[-1, 1]` independent, then
  :math:`\mathbb E[\max_a \hat Q_a] = \frac{m - 1}{m + 1} > 0 = \max_a Q_a`,
  while the double estimator :math:`\hat Q^B(\arg\max_a \hat Q^A_a)` with
  independent noise has expectation 0.
"""

from __future__ import annotations

import sympy as sp

from course_lib.derivations import is_identity

kappa = sp.Symbol("kappa", positive=True)


def huber(x: sp.Expr) -> sp.Expr:
    r""":math:`\ell_\kappa(x)`: :math:`\tfrac12 x^2` for :math:`|x| \le \kappa`, else :math:`\kappa(|x| - \tfrac12\kappa)`."""
    return sp.Piecewise((x**2 / 2, sp.Abs(x) <= kappa), (kappa * (sp.Abs(x) - kappa / 2), True))


def linear_q(obs_dim: int = 2, n_actions: int = 2):
    """Symbols of a linear Q-function: ``(W, c, s, y)`` with ``W`` of shape (n_actions, obs_dim)."""
    W = sp.Matrix(n_actions, obs_dim, lambda i, j: sp.Symbol(f"W_{i}{j}", real=True))
    c = sp.Matrix(sp.symbols(f"c_0:{n_actions}", real=True))
    s = sp.Matrix(sp.symbols(f"s_0:{obs_dim}", real=True))
    y = sp.Symbol("y", real=True)
    return W, c, s, y


def td_loss(action: int = 0, obs_dim: int = 2, n_actions: int = 2):
    r"""The loss :math:`\ell_\kappa((W s + c)_a - y)` and its symbols; ``y`` is a constant (target network)."""
    W, c, s, y = linear_q(obs_dim, n_actions)
    q = (W * s + c)[action]
    return huber(q - y), (W, c, s, y, q)


def check_td_gradient(action: int = 0, obs_dim: int = 2, n_actions: int = 2) -> bool:
    r""":math:`\partial L/\partial W_{ij} = [i = a]\,\mathrm{clip}(Q - y, -\kappa, \kappa)\, s_j`, piece by piece.

    Inside :math:`|x| \le \kappa` the loss is :math:`\tfrac12 x^2` (derivative :math:`x\, s_j`); outside it is
    :math:`\kappa(|x| - \tfrac12\kappa)` (derivative :math:`\kappa\,\mathrm{sign}(x)\, s_j`). SymPy
    differentiates each piece of :func:`huber` and compares.
    """
    loss, (W, c, s, y, q) = td_loss(action, obs_dim, n_actions)
    x = q - y
    (inner, _), (outer, _) = loss.args
    ok = True
    for i in range(n_actions):
        for j in range(obs_dim):
            hit = 1 if i == action else 0
            ok &= is_identity(sp.diff(inner, W[i, j]), hit * x * s[j])
            ok &= is_identity(sp.diff(outer, W[i, j]), hit * kappa * sp.sign(x) * s[j])
        ok &= is_identity(sp.diff(inner, c[i]), hit * x)
    return bool(ok)


def expected_max_uniform(m: int) -> sp.Expr:
    r""":math:`\mathbb E[\max_{a \le m} \epsilon_a]` for i.i.d. :math:`U[-1, 1]`, by integrating the density of the max."""
    x = sp.Symbol("x", real=True)
    cdf = (x + 1) / 2
    density = sp.diff(cdf**m, x)
    return sp.simplify(sp.integrate(x * density, (x, -1, 1)))


def check_overestimation(m_max: int = 6) -> bool:
    r""":math:`\mathbb E[\max] = (m-1)/(m+1)` for m = 1 .. m_max."""
    return all(is_identity(expected_max_uniform(m), sp.Rational(m - 1, m + 1)) for m in range(1, m_max + 1))
