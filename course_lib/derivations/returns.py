r"""Returns and discounting (notebook ``01_rl_basics``), checked with SymPy.

* Constant reward: :math:`\sum_{t=0}^{T-1} \gamma^t r = r\,\frac{1-\gamma^T}{1-\gamma}` for :math:`\gamma \ne 1`.
* Reward-to-go: :math:`G_t = \sum_{k=t}^{T-1} \gamma^{k-t} r_k` obeys :math:`G_t = r_t + \gamma G_{t+1}`.
* Truncation: an episode cut off after step :math:`T-1` adds :math:`\gamma^{T-t} V(s_T)`.
"""

from __future__ import annotations

import sympy as sp

from course_lib.derivations import is_identity

r, gamma, V = sp.symbols("r gamma V", real=True)
T = sp.symbols("T", integer=True, positive=True)


def constant_reward_closed_form() -> sp.Expr:
    r"""The closed form :math:`r (1 - \gamma^T) / (1 - \gamma)`."""
    return r * (1 - gamma**T) / (1 - gamma)


def check_constant_reward_closed_form() -> bool:
    r"""Prove the closed form by induction on :math:`T`, and against SymPy's own sum.

    Base case :math:`S_1 = r`; step :math:`S_{T+1} - S_T = r\gamma^T`.
    """
    S = constant_reward_closed_form()
    base = is_identity(S.subs(T, 1), r)
    step = is_identity(S.subs(T, T + 1) - S, r * gamma**T)
    t = sp.symbols("t", integer=True, nonnegative=True)
    summed = sp.summation(gamma**t, (t, 0, T - 1))
    # SymPy returns Piecewise((T, gamma == 1), (closed form, True)); compare the gamma != 1 branch.
    general = summed.args[-1][0] if isinstance(summed, sp.Piecewise) else summed
    return base and step and is_identity(r * general, S)


def symbolic_rewards(n: int) -> list[sp.Symbol]:
    """Reward symbols ``r_0 ... r_{n-1}``."""
    return list(sp.symbols(f"r_0:{n}", real=True))


def reward_to_go_sums(n: int, bootstrap: bool = False) -> list[sp.Expr]:
    r""":math:`G_t = \sum_{k=t}^{n-1} \gamma^{k-t} r_k` (+ :math:`\gamma^{n-t} V` if the episode was truncated)."""
    rs = symbolic_rewards(n)
    out = []
    for t in range(n):
        g = sum(gamma ** (k - t) * rs[k] for k in range(t, n))
        if bootstrap:
            g += gamma ** (n - t) * V
        out.append(g)
    return out


def check_reward_to_go_recursion(n: int = 6, bootstrap: bool = False) -> bool:
    r"""Check :math:`G_t = r_t + \gamma G_{t+1}` for every :math:`t`, with :math:`G_n = 0` (terminated)
    or :math:`G_n = V(s_n)` (truncated: bootstrap)."""
    rs = symbolic_rewards(n)
    G = reward_to_go_sums(n, bootstrap)
    tail = V if bootstrap else sp.Integer(0)
    nxt = G[1:] + [tail]
    return all(is_identity(G[t], rs[t] + gamma * nxt[t]) for t in range(n))
