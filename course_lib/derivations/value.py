r"""Value functions (notebooks ``04_value_functions`` and ``05_actor_critic``), checked with SymPy.

* **Value loss.** :math:`L(\phi) = \tfrac12\,(y - V_\phi(s))^2` has gradient
  :math:`-(y - V_\phi(s))\,\nabla_\phi V_\phi(s)`; for a linear :math:`V_\phi(s) = \phi^\top s` that is
  :math:`-(y - \phi^\top s)\, s`. Seed article 000 §4.1.2 writes the critic as
  :math:`V(s, a)`: a function of state *and action* is an action-value :math:`Q(s, a)`;
  :math:`V(s) = \mathbb E_{a \sim \pi}[Q(s, a)]` depends on the state alone.
* **Targets.** Monte Carlo :math:`y = G_t`; TD(0) :math:`y = r + \gamma V_\phi(s')`.
* **Semi-gradient vs full gradient** of :math:`\tfrac12 \delta^2`, :math:`\delta = r + \gamma V(s') - V(s)`:
  TD learning treats the target as a constant, :math:`-\delta \nabla V(s)`; the full
  ("residual") gradient adds :math:`\delta\,\gamma \nabla V(s')`.
* **Huber loss** with threshold :math:`\kappa`: :math:`\tfrac12 x^2` for :math:`|x| \le \kappa`,
  :math:`\kappa(|x| - \tfrac12\kappa)` otherwise; its derivative is :math:`\mathrm{clip}(x, -\kappa, \kappa)`.
* **GAE(λ)**: :math:`\hat A_t = \sum_{l \ge 0} (\gamma\lambda)^l \delta_{t+l}`; :math:`\lambda = 0` gives the
  one-step TD error :math:`\delta_t`, :math:`\lambda = 1` the Monte Carlo advantage :math:`G_t - V(s_t)`.
"""

from __future__ import annotations

import sympy as sp

from course_lib.derivations import is_identity

gamma, lam, kappa, x = sp.symbols("gamma lambda kappa x", real=True)


def linear_value(d: int = 3):
    """Symbols ``(phi, s, s_next, r, y)`` for a linear value function ``V(s) = phi^T s``."""
    phi = sp.Matrix(sp.symbols(f"phi_0:{d}", real=True))
    s = sp.Matrix(sp.symbols(f"s_0:{d}", real=True))
    s2 = sp.Matrix(sp.symbols(f"sn_0:{d}", real=True))
    r, y = sp.symbols("r y", real=True)
    return phi, s, s2, r, y


def value_loss(phi: sp.Matrix, s: sp.Matrix, y: sp.Expr) -> sp.Expr:
    r""":math:`\tfrac12 (y - \phi^\top s)^2`."""
    return (y - (phi.T * s)[0]) ** 2 / 2


def check_value_loss_gradient(d: int = 3) -> bool:
    r""":math:`\nabla_\phi \tfrac12(y - \phi^\top s)^2 = -(y - \phi^\top s)\, s`."""
    phi, s, _, _, y = linear_value(d)
    g = sp.Matrix([sp.diff(value_loss(phi, s, y), p) for p in phi])
    return all(is_identity(a, b) for a, b in zip(g, -(y - (phi.T * s)[0]) * s))


def td_gradients(d: int = 3) -> dict[str, sp.Matrix]:
    r"""Semi-gradient and full gradient of :math:`\tfrac12\delta^2` for a linear :math:`V`.

    Returns ``{"semi", "full", "delta"}``: the semi-gradient differentiates only
    :math:`V(s)` (the target is held fixed, as TD(0) does); the full gradient also
    differentiates the target :math:`r + \gamma V(s')`.
    """
    phi, s, s2, r, _ = linear_value(d)
    delta = r + gamma * (phi.T * s2)[0] - (phi.T * s)[0]
    target = sp.Symbol("target", real=True)
    semi_loss = (target - (phi.T * s)[0]) ** 2 / 2
    semi = sp.Matrix([sp.diff(semi_loss, p) for p in phi]).subs(target, r + gamma * (phi.T * s2)[0])
    full = sp.Matrix([sp.diff(delta**2 / 2, p) for p in phi])
    return {"semi": semi, "full": full, "delta": sp.Matrix([delta])}


def check_semi_gradient_gap(d: int = 3) -> bool:
    r"""full − semi :math:`= \delta\,\gamma\, s'`: the part TD learning ignores."""
    phi, s, s2, r, _ = linear_value(d)
    t = td_gradients(d)
    delta = t["delta"][0]
    return all(is_identity(f - sm, delta * gamma * sn) for f, sm, sn in zip(t["full"], t["semi"], s2))


def huber(k: sp.Expr = kappa) -> sp.Piecewise:
    r"""The Huber loss of a residual :math:`x`, piecewise."""
    return sp.Piecewise((x**2 / 2, sp.Abs(x) <= k), (k * (sp.Abs(x) - k / 2), True))


def check_huber_gradient() -> bool:
    r"""On each piece, :math:`h'(x) = \mathrm{clip}(x, -\kappa, \kappa)`; the pieces meet with equal value and slope."""
    k = sp.Symbol("kappa", positive=True)
    quad, lin_pos, lin_neg = x**2 / 2, k * (x - k / 2), k * (-x - k / 2)
    ok = is_identity(sp.diff(quad, x), x)
    ok &= is_identity(sp.diff(lin_pos, x), k) and is_identity(sp.diff(lin_neg, x), -k)
    ok &= is_identity(quad.subs(x, k), lin_pos.subs(x, k)) and is_identity(quad.subs(x, -k), lin_neg.subs(x, -k))
    ok &= is_identity(sp.diff(quad, x).subs(x, k), k)
    # and SymPy's derivative of the Piecewise itself, at points on each piece
    h = huber(k)
    dh = sp.diff(h, x)
    for point, want in (
        (sp.Rational(1, 2), sp.Rational(1, 2)),
        (3, 1),
        (-3, -1),
        (-sp.Rational(1, 3), -sp.Rational(1, 3)),
    ):
        ok &= sp.simplify(dh.subs({k: 1, x: point}) - want) == 0
    return bool(ok)


def gae_symbols(T: int):
    """Symbolic rewards ``r_t``, values ``V_t`` for ``t = 0..T`` (``V_T`` is the bootstrap value)."""
    rs = list(sp.symbols(f"r_0:{T}", real=True))
    Vs = list(sp.symbols(f"V_0:{T + 1}", real=True))
    return rs, Vs


def gae_advantages(T: int, terminated: bool) -> tuple[list[sp.Expr], list[sp.Symbol], list[sp.Symbol]]:
    r""":math:`\hat A_t = \sum_{l} (\gamma\lambda)^l \delta_{t+l}` for a trajectory of length ``T``.

    If ``terminated``, the last TD error has no bootstrap; otherwise (truncated) it
    bootstraps from :math:`V_T`.
    """
    rs, Vs = gae_symbols(T)
    nxt = [Vs[t + 1] for t in range(T)]
    if terminated:
        nxt[-1] = 0
    deltas = [rs[t] + gamma * nxt[t] - Vs[t] for t in range(T)]
    adv = [sum((gamma * lam) ** (l - t) * deltas[l] for l in range(t, T)) for t in range(T)]
    return adv, rs, Vs


def check_gae_limits(T: int = 4) -> bool:
    r""":math:`\lambda = 0`: :math:`\hat A_t = \delta_t`; :math:`\lambda = 1`: :math:`\hat A_t = G_t - V_t` (both ends of an episode)."""
    ok = True
    for terminated in (True, False):
        adv, rs, Vs = gae_advantages(T, terminated)
        boot = 0 if terminated else Vs[T]
        for t in range(T):
            nxt = (0 if terminated else Vs[T]) if t == T - 1 else Vs[t + 1]
            ok &= is_identity(adv[t].subs(lam, 0), rs[t] + gamma * nxt - Vs[t])
            G = sum(gamma ** (k - t) * rs[k] for k in range(t, T)) + gamma ** (T - t) * boot
            ok &= is_identity(adv[t].subs(lam, 1), G - Vs[t])
    return bool(ok)
