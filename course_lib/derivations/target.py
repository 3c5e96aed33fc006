r"""Target-network updates (notebook ``07_target_networks``), checked with SymPy.

Convention (one for the whole course): :math:`\tau` weights the **online** network,

.. math::  \theta'_{k+1} = \tau\,\theta_k + (1 - \tau)\,\theta'_k,

as in Stable-Baselines3 and CleanRL (``tau=0.005``). Spinning Up's ``polyak``
is :math:`1 - \tau` (``polyak=0.995``). :math:`\tau = 1` is a hard copy.

* **Closed form.** After :math:`n` soft updates the target is an exponential moving
  average of the online parameters it has seen:

  .. math::  \theta'_n = (1-\tau)^n\,\theta'_0 + \sum_{k=0}^{n-1} \tau (1-\tau)^{n-1-k}\,\theta_k,

  and the weights sum to 1.
* **The seed's "derivation"** (article 000 §4.2.3) substitutes the network's
  *output* :math:`w\cdot s + b` for its *parameters* :math:`\theta`, and the same
  expression for :math:`\theta_{\text{target}}`, so it assumes the target already
  equals the online net and "proves" :math:`\theta_{\text{target}} = w\cdot s + b`,
  which says nothing. The update acts on each parameter, :math:`w' \leftarrow \tau w + (1-\tau) w'`,
  :math:`b' \leftarrow \tau b + (1-\tau) b'`; the target network's *output* is not the
  same mix of the two outputs, because the sigmoid is not linear.
"""

from __future__ import annotations

import sympy as sp

from course_lib.derivations import is_identity

tau = sp.Symbol("tau", positive=True)


def online_symbols(n: int) -> tuple[sp.Symbol, list[sp.Symbol]]:
    r"""``(theta'_0, [theta_0, ..., theta_{n-1}])``: the initial target and the online parameters at each update."""
    return sp.Symbol("theta'_0", real=True), list(sp.symbols(f"theta_0:{n}", real=True))


def polyak_recursion(n: int) -> sp.Expr:
    r""":math:`\theta'_n` by applying :math:`\theta' \leftarrow \tau\theta_k + (1-\tau)\theta'` ``n`` times."""
    target, online = online_symbols(n)
    for theta_k in online:
        target = tau * theta_k + (1 - tau) * target
    return target


def ema_closed_form(n: int) -> sp.Expr:
    r""":math:`(1-\tau)^n\theta'_0 + \sum_{k<n} \tau(1-\tau)^{n-1-k}\theta_k`."""
    target0, online = online_symbols(n)
    return (1 - tau) ** n * target0 + sum(tau * (1 - tau) ** (n - 1 - k) * online[k] for k in range(n))


def check_ema_closed_form(n_max: int = 8) -> bool:
    """The recursion equals the closed form for n = 1 .. n_max."""
    return all(is_identity(polyak_recursion(n), ema_closed_form(n)) for n in range(1, n_max + 1))


def check_ema_weights_sum_to_one() -> bool:
    r""":math:`(1-\tau)^n + \sum_{k=0}^{n-1}\tau(1-\tau)^{n-1-k} = 1` for symbolic :math:`n`.

    Written with :math:`q = 1 - \tau > 0`, SymPy sums the geometric series in closed form.
    """
    n, k = sp.symbols("n k", integer=True, nonnegative=True)
    q = sp.Symbol("q", positive=True)
    total = q**n + sp.summation((1 - q) * q ** (n - 1 - k), (k, 0, n - 1))
    return sp.simplify(total) == 1


def half_life(tau_value: float) -> float:
    r"""Updates until an old parameter's weight halves: :math:`\ln\tfrac12 / \ln(1-\tau)`."""
    return float(sp.log(sp.Rational(1, 2)) / sp.log(1 - sp.nsimplify(tau_value)))


def seed_target_update() -> dict[str, sp.Expr]:
    r"""The seed's chain of equalities and the correct per-parameter update, as SymPy expressions.

    Returns:
        ``seed_result``: what the seed's last line simplifies to, given its
        substitutions :math:`\theta = \theta_{\text{target}} = w s + b` (just :math:`w s + b`);
        ``w_new``, ``b_new``: the correct update of each parameter;
        ``output_gap``: :math:`\sigma(w' s + b') - [\tau\sigma(w s + b) + (1-\tau)\sigma(w_0' s + b_0')]`,
        the difference between the target network's output and the seed's mix of outputs.
    """
    w, b, s, w_t, b_t = sp.symbols("w b s w' b'", real=True)
    out = w * s + b
    seed_chain = tau * out + (1 - tau) * out  # the seed puts w s + b in for theta AND theta_target
    w_new = tau * w + (1 - tau) * w_t
    b_new = tau * b + (1 - tau) * b_t

    def sigma(z):
        return 1 / (1 + sp.exp(-z))

    gap = sigma(w_new * s + b_new) - (tau * sigma(w * s + b) + (1 - tau) * sigma(w_t * s + b_t))
    return {
        "seed_result": sp.expand(seed_chain),
        "w_new": w_new,
        "b_new": b_new,
        "output_gap": gap,
        "symbols": (w, b, s, w_t, b_t),
    }


def check_seed_is_circular() -> bool:
    """The seed's chain reduces to ``w s + b`` whatever tau is: it assumed target = online."""
    d = seed_target_update()
    w, b, s, *_ = d["symbols"]
    return is_identity(d["seed_result"], w * s + b) and not d["seed_result"].has(tau)


def check_output_is_not_averaged() -> bool:
    """At a concrete point the target net's output differs from the average of outputs (sigmoid is nonlinear),
    while for the pre-activation (linear in w, b) they agree."""
    d = seed_target_update()
    w, b, s, w_t, b_t = d["symbols"]
    point = {w: 2, b: -1, s: sp.Rational(3, 2), w_t: -1, b_t: sp.Rational(1, 2), tau: sp.Rational(1, 4)}
    nonzero = abs(float(d["output_gap"].subs(point))) > 1e-3
    linear_gap = (d["w_new"] * s + d["b_new"]) - (tau * (w * s + b) + (1 - tau) * (w_t * s + b_t))
    return nonzero and is_identity(linear_gap, 0)
