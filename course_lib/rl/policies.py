r"""Policy heads and value networks as small torch modules (notebook ``03_policy_gradients``).

Every policy maps a batch of observations ``(B, obs_dim)`` to a distribution over
actions and exposes

* ``log_prob(obs, actions)`` -- :math:`\log \pi_\theta(a \mid s)`, shape ``(B,)``;
* ``act(obs, generator=None, deterministic=False)`` -- sampled (or greedy) actions;
* ``entropy(obs)`` -- shape ``(B,)``.

Sampling takes an optional :class:`torch.Generator` (on the policy's device),
and every constructor takes an optional ``generator`` for the initial weights,
so runs are reproducible without touching torch's global generator.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from course_lib._validation import check_positive, check_probability, check_real, checking

__all__ = ["mlp", "CategoricalPolicy", "BernoulliPolicy", "GaussianPolicy", "ValueNet", "QNet", "lean_policy"]


def mlp(
    in_dim: int,
    hidden: Sequence[int],
    out_dim: int,
    *,
    out_gain: float = 1.0,
    activation: type[nn.Module] = nn.Tanh,
    generator: torch.Generator | None = None,
) -> nn.Sequential:
    """An MLP (tanh unless ``activation`` says otherwise) with orthogonal initialisation
    (gain sqrt(2) inside, ``out_gain`` at the output, zero biases), drawn from ``generator``
    (a CPU :class:`torch.Generator`; ``None`` uses torch's global one)."""
    for name, v in (("in_dim", in_dim), ("out_dim", out_dim)):
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence):
        raise TypeError(f"hidden must be a sequence of layer widths such as (64, 64), got {type(hidden).__name__}")
    if any(isinstance(h, bool) or not isinstance(h, int) or h <= 0 for h in hidden):
        raise ValueError(f"hidden must be a sequence of positive ints, got {hidden!r}")
    layers: list[nn.Module] = []
    sizes = [in_dim, *hidden]
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.utils.skip_init(nn.Linear, a, b), activation()]  # initialised below, from `generator`
    layers.append(nn.utils.skip_init(nn.Linear, sizes[-1], out_dim))
    linears = [m for m in layers if isinstance(m, nn.Linear)]
    for i, lin in enumerate(linears):
        nn.init.orthogonal_(lin.weight, gain=out_gain if i == len(linears) - 1 else math.sqrt(2), generator=generator)
        nn.init.zeros_(lin.bias)
    return nn.Sequential(*layers)


def _check_sizes(**sizes: int) -> None:
    for name, v in sizes.items():
        check_positive(name, v, integer=True)


def _check_obs(obs: torch.Tensor, obs_dim: int) -> None:
    if not checking():  # inside a trainer's loop (trusted()), whose observations are its own
        return
    if not isinstance(obs, torch.Tensor):
        raise TypeError(f"obs must be a torch.Tensor, got {type(obs).__name__}")
    if not obs.is_floating_point():
        raise TypeError(f"obs must have a floating-point dtype, got {obs.dtype} (convert with obs.float())")
    if obs.ndim < 2 or obs.shape[-1] != obs_dim:
        raise ValueError(f"obs must have shape (batch, {obs_dim}) or (T, N, {obs_dim}), got {tuple(obs.shape)}")


def _check_actions(
    obs: torch.Tensor, actions: torch.Tensor, event_shape: tuple = (), n_actions: int | None = None
) -> None:
    """Actions must line up with the observations' batch dimensions; discrete ones must be whole numbers in range."""
    if not checking():
        return
    if not isinstance(actions, torch.Tensor):
        raise TypeError(f"actions must be a torch.Tensor, got {type(actions).__name__}")
    want = tuple(obs.shape[:-1]) + tuple(event_shape)
    if tuple(actions.shape) != want:
        raise ValueError(f"actions must have shape {want} to match obs {tuple(obs.shape)}, got {tuple(actions.shape)}")
    if n_actions is not None and actions.numel():
        lo, hi = torch.aminmax(actions)
        if lo < 0 or hi >= n_actions or (actions.is_floating_point() and not torch.equal(actions, actions.round())):
            raise ValueError(
                f"actions must be whole numbers in [0, {n_actions}), got values from {lo.item()} to {hi.item()}"
            )


class CategoricalPolicy(nn.Module):
    r"""Softmax policy :math:`\pi(a \mid s) = \mathrm{softmax}(f_\theta(s))_a` over ``n_actions``."""

    def __init__(
        self,
        obs_dim: int,
        n_actions: int,
        hidden: Sequence[int] = (64, 64),
        *,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        _check_sizes(obs_dim=obs_dim, n_actions=n_actions)
        self.obs_dim, self.n_actions = obs_dim, n_actions
        self.init_kwargs = {"obs_dim": obs_dim, "n_actions": n_actions, "hidden": tuple(hidden)}
        self.net = mlp(obs_dim, hidden, n_actions, out_gain=0.01, generator=generator)

    def logits(self, obs: torch.Tensor) -> torch.Tensor:
        _check_obs(obs, self.obs_dim)
        return self.net(obs)

    def log_prob(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        r""":math:`\log\pi(a \mid s)` for ``obs`` ``(..., obs_dim)`` and integer ``actions`` ``(...)``."""
        _check_actions(obs, actions, n_actions=self.n_actions if actions.is_floating_point() else None)
        logp = F.log_softmax(self.logits(obs), dim=-1)
        try:  # an integer action out of [0, n_actions) fails here; checking every batch up front would cost time
            return logp.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)
        except (RuntimeError, IndexError) as e:
            raise ValueError(f"actions must be whole numbers in [0, {self.n_actions}): {e}") from None

    def entropy(self, obs: torch.Tensor) -> torch.Tensor:
        logp = F.log_softmax(self.logits(obs), dim=-1)
        return -(logp.exp() * logp).sum(-1)

    @torch.no_grad()
    def act(
        self, obs: torch.Tensor, generator: torch.Generator | None = None, deterministic: bool = False
    ) -> torch.Tensor:
        """Sampled actions ``(B,)`` (the most probable ones if ``deterministic``)."""
        logits = self.logits(obs)
        if deterministic:
            return logits.argmax(-1)
        return torch.multinomial(F.softmax(logits, -1), 1, generator=generator).squeeze(-1)


class BernoulliPolicy(nn.Module):
    r"""Sigmoid policy over two actions: :math:`\pi(a{=}1 \mid s) = \sigma(f_\theta(s))`.

    With ``hidden=()`` it is the linear-logistic policy of seed article 000 §4.2.1,
    whose score is :math:`(a - \sigma(\theta^\top s))\, s` (derived in notebook 03).
    """

    def __init__(
        self, obs_dim: int, hidden: Sequence[int] = (64, 64), *, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        _check_sizes(obs_dim=obs_dim)
        self.obs_dim = obs_dim
        self.init_kwargs = {"obs_dim": obs_dim, "hidden": tuple(hidden)}
        self.net = mlp(obs_dim, hidden, 1, out_gain=0.01, generator=generator)

    def logit(self, obs: torch.Tensor) -> torch.Tensor:
        _check_obs(obs, self.obs_dim)
        return self.net(obs).squeeze(-1)

    def log_prob(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        # log sigma(z) for a=1 and log(1 - sigma(z)) = log sigma(-z) for a=0, computed stably
        _check_actions(obs, actions, n_actions=2)
        z = self.logit(obs)
        return -F.binary_cross_entropy_with_logits(z, actions.to(z.dtype), reduction="none")

    def entropy(self, obs: torch.Tensor) -> torch.Tensor:
        z = self.logit(obs)
        p = torch.sigmoid(z)
        return F.binary_cross_entropy_with_logits(z, p, reduction="none")

    @torch.no_grad()
    def act(
        self, obs: torch.Tensor, generator: torch.Generator | None = None, deterministic: bool = False
    ) -> torch.Tensor:
        """Sampled actions ``(B,)`` in {0, 1} (the more probable one if ``deterministic``)."""
        p = torch.sigmoid(self.logit(obs))
        if deterministic:
            return (p > 0.5).long()
        return torch.bernoulli(p, generator=generator).long()


class GaussianPolicy(nn.Module):
    r"""Diagonal Gaussian policy: mean :math:`\mu_\theta(s)`, state-independent log-std :math:`\ell`."""

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        hidden: Sequence[int] = (64, 64),
        log_std: float = -0.5,
        *,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        _check_sizes(obs_dim=obs_dim, act_dim=act_dim)
        check_real("log_std", log_std)
        self.obs_dim, self.act_dim = obs_dim, act_dim
        self.init_kwargs = {"obs_dim": obs_dim, "act_dim": act_dim, "hidden": tuple(hidden), "log_std": float(log_std)}
        self.mean = mlp(obs_dim, hidden, act_dim, out_gain=0.01, generator=generator)
        self.log_std = nn.Parameter(torch.full((act_dim,), float(log_std)))

    def log_prob(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        _check_obs(obs, self.obs_dim)
        _check_actions(obs, actions, (self.act_dim,))
        mu = self.mean(obs)
        z = (actions - mu) / self.log_std.exp()
        return (-0.5 * z**2 - self.log_std - 0.5 * math.log(2 * math.pi)).sum(-1)

    def entropy(self, obs: torch.Tensor) -> torch.Tensor:
        _check_obs(obs, self.obs_dim)
        h = (0.5 + 0.5 * math.log(2 * math.pi) + self.log_std).sum()
        return h.expand(obs.shape[0])

    @torch.no_grad()
    def act(
        self, obs: torch.Tensor, generator: torch.Generator | None = None, deterministic: bool = False
    ) -> torch.Tensor:
        """Sampled actions ``(B, act_dim)`` (the mean if ``deterministic``)."""
        _check_obs(obs, self.obs_dim)
        mu = self.mean(obs)
        if deterministic:
            return mu
        noise = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + self.log_std.exp() * noise


class ValueNet(nn.Module):
    r"""State-value network :math:`V_\phi(s)`: ``(B, obs_dim) -> (B,)``."""

    def __init__(
        self, obs_dim: int, hidden: Sequence[int] = (64, 64), *, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        _check_sizes(obs_dim=obs_dim)
        self.obs_dim = obs_dim
        self.init_kwargs = {"obs_dim": obs_dim, "hidden": tuple(hidden)}
        self.net = mlp(obs_dim, hidden, 1, out_gain=1.0, generator=generator)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        _check_obs(obs, self.obs_dim)
        return self.net(obs).squeeze(-1)


class QNet(nn.Module):
    r"""Action-value network :math:`Q_\theta(s, \cdot)`: ``(B, obs_dim) -> (B, n_actions)``, ReLU hidden layers."""

    def __init__(
        self,
        obs_dim: int,
        n_actions: int,
        hidden: Sequence[int] = (64, 64),
        *,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        _check_sizes(obs_dim=obs_dim, n_actions=n_actions)
        self.obs_dim, self.n_actions = obs_dim, n_actions
        self.init_kwargs = {"obs_dim": obs_dim, "n_actions": n_actions, "hidden": tuple(hidden)}
        self.net = mlp(obs_dim, hidden, n_actions, out_gain=1.0, activation=nn.ReLU, generator=generator)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        _check_obs(obs, self.obs_dim)
        return self.net(obs)

    @torch.no_grad()
    def act(self, obs: torch.Tensor) -> torch.Tensor:
        r"""Greedy actions :math:`\arg\max_a Q(s, a)`, shape ``(B,)``."""
        return self(obs).argmax(-1)


def lean_policy(obs: torch.Tensor, eps: float = 0.5, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""A fixed CartPole heuristic (notebooks 04 and 06): push toward the side the pole falls to,
    right when :math:`\theta + 0.5\,\dot\theta > 0`, except that a share ``eps`` of actions is uniformly random.

    ``obs``: ``(B, 4)`` CartPole observations; returns ``(B,)`` int64 actions.
    """
    _check_obs(obs, 4)
    check_probability("eps", eps)
    lean = (obs[:, 2] + 0.5 * obs[:, 3] > 0).long()
    explore = torch.rand(len(obs), generator=generator, device=obs.device) < eps
    random_actions = torch.randint(0, 2, (len(obs),), generator=generator, device=obs.device)
    return torch.where(explore, random_actions, lean)
