r"""Experience replay: a ring buffer, a sum tree and prioritised replay (notebook ``06_experience_replay``).

* :class:`ReplayBuffer` keeps the last ``capacity`` transitions
  :math:`(s, a, r, s', \text{terminated}, \text{truncated})` in preallocated
  NumPy arrays and samples them uniformly through a passed-in
  :class:`numpy.random.Generator` (Lin, 1992; Mnih et al., 2015).
* :class:`SumTree` stores non-negative weights so that their total, and a draw
  proportional to them, cost :math:`O(\log n)`.
* :class:`PrioritizedReplayBuffer` (Schaul et al., 2016, proportional variant)
  samples transition :math:`i` with probability
  :math:`P(i) = p_i^\alpha / \sum_k p_k^\alpha` and returns importance weights
  :math:`w_i = (n\, P(i))^{-\beta} / \max_j w_j` (max over the sampled batch),
  which undo the bias of non-uniform sampling when :math:`\beta = 1`.

Each stored transition also records ``steps``, the number of environment steps
it spans (1, or up to ``n`` for the n-step transitions of :class:`NStepAccumulator`),
so that a learner bootstraps with :math:`\gamma^{\text{steps}}`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import torch

from course_lib._validation import (
    check_finite,
    check_positive,
    check_probability,
    check_real,
    check_shapes,
    checking,
)

__all__ = ["ReplayBatch", "ReplayBuffer", "SumTree", "PrioritizedReplayBuffer", "NStepAccumulator", "autocorrelation"]

FIELDS = ("obs", "actions", "rewards", "next_obs", "terminated", "truncated", "steps")


@dataclass
class ReplayBatch:
    """A sampled minibatch as torch tensors (``B`` = batch size).

    Attributes:
        obs, next_obs: ``(B, *obs_shape)``. actions: ``(B, *action_shape)``.
        rewards: ``(B,)`` float32 (the n-step discounted sum for n-step transitions).
        terminated, truncated: ``(B,)`` bool. steps: ``(B,)`` int64, env steps spanned.
        indices: ``(B,)`` int64 positions in the buffer (for priority updates).
        weights: ``(B,)`` float32 importance weights (all ones for uniform sampling).
    """

    obs: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    next_obs: torch.Tensor
    terminated: torch.Tensor
    truncated: torch.Tensor
    steps: torch.Tensor
    indices: torch.Tensor
    weights: torch.Tensor

    def __post_init__(self) -> None:
        check_shapes(
            obs=(self.obs, "B ..."),
            actions=(self.actions, "B ..."),
            rewards=(self.rewards, "B"),
            terminated=(self.terminated, "B"),
            truncated=(self.truncated, "B"),
            steps=(self.steps, "B"),
            indices=(self.indices, "B"),
            weights=(self.weights, "B"),
        )
        if self.next_obs.shape != self.obs.shape:
            raise ValueError(
                f"next_obs must have the shape of obs {tuple(self.obs.shape)}, got {tuple(self.next_obs.shape)}"
            )
        for name in ("terminated", "truncated"):
            if getattr(self, name).dtype != torch.bool:
                raise TypeError(f"{name} must have dtype torch.bool, got {getattr(self, name).dtype}")
        check_finite("rewards", self.rewards)
        if (self.steps < 1).any():
            raise ValueError("steps must be >= 1 (the env steps each transition spans)")


def _check_generator(rng) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}")


def _trusted_batch(*fields: torch.Tensor) -> ReplayBatch:
    """A :class:`ReplayBatch` from the buffer's own arrays, which :meth:`ReplayBuffer.add` checked on the way
    in: it skips ``__post_init__``'s checks (about 20 us a batch, 2% of a DQN gradient step)."""
    batch = object.__new__(ReplayBatch)
    batch.__dict__.update(zip(ReplayBatch.__dataclass_fields__, fields))
    return batch


class ReplayBuffer:
    """A first-in-first-out ring of the last ``capacity`` transitions.

    Args:
        capacity: how many transitions to keep (> 0).
        obs_shape: shape of one observation, e.g. ``(4,)`` for CartPole.
        action_shape: shape of one action, ``()`` for a discrete action.
        obs_dtype, action_dtype: NumPy dtypes of the stored arrays.
        device: where sampled batches go (storage stays in NumPy, on the CPU).

    ``add`` takes a *batch* of transitions (one per vector environment) with a
    leading batch dimension; ``sample`` draws uniformly with replacement.
    """

    def __init__(
        self,
        capacity: int,
        obs_shape: tuple[int, ...],
        action_shape: tuple[int, ...] = (),
        obs_dtype=np.float32,
        action_dtype=np.int64,
        device: torch.device | str = "cpu",
    ) -> None:
        check_positive("capacity", capacity, integer=True)
        self.device = torch.device(device)
        for name, shape in (("obs_shape", obs_shape), ("action_shape", action_shape)):
            if not isinstance(shape, tuple) or not all(isinstance(d, (int, np.integer)) and d > 0 for d in shape):
                raise ValueError(f"{name} must be a tuple of positive ints, got {shape!r}")
        self.capacity = int(capacity)
        self.obs_shape, self.action_shape = tuple(obs_shape), tuple(action_shape)
        self.obs = np.zeros((capacity, *obs_shape), dtype=obs_dtype)
        self.next_obs = np.zeros((capacity, *obs_shape), dtype=obs_dtype)
        self.actions = np.zeros((capacity, *action_shape), dtype=action_dtype)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.terminated = np.zeros(capacity, dtype=bool)
        self.truncated = np.zeros(capacity, dtype=bool)
        self.steps = np.ones(capacity, dtype=np.int64)
        self.pos = 0  #: where the next transition goes
        self.size = 0
        self.added = 0  #: transitions added in total

    def __len__(self) -> int:
        return self.size

    def _check_batch(self, obs, actions, rewards, next_obs, terminated, truncated, steps) -> int:
        arrays = dict(
            obs=obs,
            actions=actions,
            rewards=rewards,
            next_obs=next_obs,
            terminated=terminated,
            truncated=truncated,
            steps=steps,
        )
        for name, x in arrays.items():
            if not isinstance(x, np.ndarray):
                raise TypeError(f"{name} must be a numpy.ndarray, got {type(x).__name__}")
        b = obs.shape[0] if obs.ndim else -1
        expected = dict(
            obs=(b, *self.obs_shape),
            next_obs=(b, *self.obs_shape),
            actions=(b, *self.action_shape),
            rewards=(b,),
            terminated=(b,),
            truncated=(b,),
            steps=(b,),
        )
        for name, shape in expected.items():
            if arrays[name].shape != shape:
                raise ValueError(f"{name} must have shape {shape} (batch first), got {arrays[name].shape}")
        for name in ("terminated", "truncated"):
            if arrays[name].dtype != np.bool_:
                raise TypeError(f"{name} must have dtype bool, got {arrays[name].dtype}")
        for name in ("obs", "next_obs", "rewards"):
            if not np.issubdtype(arrays[name].dtype, np.number) or np.issubdtype(arrays[name].dtype, np.bool_):
                raise TypeError(f"{name} must be numeric, got {arrays[name].dtype}")
        if np.issubdtype(self.actions.dtype, np.integer) and not np.issubdtype(actions.dtype, np.integer):
            raise TypeError(f"actions must have an integer dtype for this buffer, got {actions.dtype}")
        if not np.issubdtype(steps.dtype, np.integer) or (steps < 1).any():
            raise ValueError("steps must be integers >= 1")
        for name in ("obs", "rewards", "next_obs"):
            check_finite(name, arrays[name])
        return b

    def add(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_obs: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        steps: np.ndarray | None = None,
    ) -> np.ndarray:
        """Append a batch of ``B`` transitions (oldest overwritten first); return their positions ``(B,)``."""
        if steps is None:
            steps = np.ones(np.shape(rewards)[:1], dtype=np.int64)
        if checking():  # skipped inside a trainer's loop, whose data was checked on the way in
            self._check_batch(obs, actions, rewards, next_obs, terminated, truncated, steps)
        b = obs.shape[0]
        if b > self.capacity:  # only the last `capacity` of them can be kept
            cut = b - self.capacity
            self.pos = (self.pos + cut) % self.capacity
            self.added += cut
            obs, actions, rewards, next_obs = obs[cut:], actions[cut:], rewards[cut:], next_obs[cut:]
            terminated, truncated, steps = terminated[cut:], truncated[cut:], steps[cut:]
            b = self.capacity
        idx = (self.pos + np.arange(b)) % self.capacity
        self.obs[idx], self.actions[idx], self.rewards[idx], self.next_obs[idx] = obs, actions, rewards, next_obs
        self.terminated[idx], self.truncated[idx], self.steps[idx] = terminated, truncated, steps
        self.pos = (self.pos + b) % self.capacity
        self.size = min(self.size + b, self.capacity)
        self.added += b
        return idx

    def ordered_indices(self) -> np.ndarray:
        """Positions of the stored transitions, oldest first."""
        start = (self.pos - self.size) % self.capacity
        return (start + np.arange(self.size)) % self.capacity

    def _check_sample(self, batch_size: int, rng) -> None:
        check_positive("batch_size", batch_size, integer=True)
        _check_generator(rng)
        if self.size == 0:
            raise ValueError("cannot sample from an empty buffer")
        if batch_size > self.size:
            raise ValueError(
                f"batch_size ({batch_size}) is larger than the buffer's contents ({self.size} transitions); "
                "collect more before learning (e.g. learning_starts >= batch_size)"
            )

    def sample(self, batch_size: int, rng: np.random.Generator) -> ReplayBatch:
        """``batch_size`` (at most ``len(self)``) transitions drawn uniformly with replacement."""
        if checking():
            self._check_sample(batch_size, rng)
        idx = rng.integers(0, self.size, size=batch_size)  # until full, slots 0..size-1 are the filled ones
        return self.gather(idx, np.ones(batch_size, dtype=np.float32))

    def gather(self, idx: np.ndarray, weights: np.ndarray) -> ReplayBatch:
        """The transitions at positions ``idx`` as a :class:`ReplayBatch`."""

        def t(x: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(x).to(self.device)

        return _trusted_batch(
            t(self.obs[idx]),
            t(self.actions[idx]),
            t(self.rewards[idx]),
            t(self.next_obs[idx]),
            t(self.terminated[idx]),
            t(self.truncated[idx]),
            t(self.steps[idx]),
            t(np.asarray(idx, dtype=np.int64)),
            t(np.asarray(weights, dtype=np.float32)),
        )


class SumTree:
    """A complete binary tree whose leaves hold non-negative weights and whose nodes hold sums.

    Leaves live at ``tree[L + i]`` for ``L`` = the smallest power of two >= ``capacity``;
    node ``k`` holds ``tree[2k] + tree[2k + 1]``; the root is ``tree[1]``.
    Updates and draws are vectorised over a batch of indices.
    """

    def __init__(self, capacity: int) -> None:
        check_positive("capacity", capacity, integer=True)
        self.capacity = int(capacity)
        self.leaves = 1 << max(0, (self.capacity - 1).bit_length())
        self.depth = self.leaves.bit_length() - 1
        self.tree = np.zeros(2 * self.leaves, dtype=np.float64)

    @property
    def total(self) -> float:
        return float(self.tree[1])

    def get(self, idx) -> np.ndarray:
        return self.tree[self.leaves + np.asarray(idx)]

    def update(self, idx, values) -> None:
        """Set leaves ``idx`` to ``values`` (finite, >= 0) and repair the sums above them."""
        idx = np.atleast_1d(np.asarray(idx))
        values = np.broadcast_to(np.asarray(values, dtype=np.float64), idx.shape)
        if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
            raise TypeError(f"idx must be a 1-D array of ints, got {idx.dtype} with shape {idx.shape}")
        if idx.size and (idx.min() < 0 or idx.max() >= self.capacity):
            raise ValueError(f"idx must lie in [0, {self.capacity}), got values in [{idx.min()}, {idx.max()}]")
        if not np.isfinite(values).all() or (values < 0).any():
            raise ValueError("values must be finite and >= 0 (a NaN or negative priority would corrupt every sum)")
        nodes = self.leaves + idx
        self.tree[nodes] = values  # with repeated indices the last value wins
        nodes = np.unique(nodes // 2)
        while nodes[0] >= 1:
            self.tree[nodes] = self.tree[2 * nodes] + self.tree[2 * nodes + 1]
            if nodes[0] == 1:
                break
            nodes = np.unique(nodes // 2)

    def find(self, mass: np.ndarray) -> np.ndarray:
        """For each ``u`` in ``mass`` (in ``[0, total)``), the leaf ``i`` with
        ``sum(w[:i]) <= u < sum(w[:i+1])``: a draw proportional to the weights when ``u ~ U[0, total)``."""
        u = np.asarray(mass, dtype=np.float64).copy()
        node = np.ones(u.shape, dtype=np.int64)
        for _ in range(self.depth):
            left = self.tree[2 * node]
            right = u >= left
            u -= left * right
            node = 2 * node + right
        leaf = node - self.leaves
        # float round-off can step past the last non-empty leaf: move back onto a positive weight
        bad = self.tree[node] <= 0
        if bad.any():
            leaf[bad] = self._last_positive(leaf[bad])
        return leaf

    def _last_positive(self, leaf: np.ndarray) -> np.ndarray:
        positive = np.flatnonzero(self.tree[self.leaves : self.leaves + self.capacity] > 0)
        pos = np.searchsorted(positive, leaf, side="right") - 1
        return positive[np.clip(pos, 0, len(positive) - 1)]


class PrioritizedReplayBuffer(ReplayBuffer):
    r"""Proportional prioritised replay: :math:`P(i) = p_i^\alpha / \sum_k p_k^\alpha`.

    New transitions get the largest priority seen so far, so each is replayed at
    least once soon. After a learning step, call :meth:`update_priorities` with
    :math:`p_i = |\delta_i| + \epsilon` (``eps`` is added here).

    Args:
        alpha: how strongly priorities shape sampling (0: uniform).
        eps: added to every priority so none is zero.
    """

    def __init__(
        self,
        capacity: int,
        obs_shape: tuple[int, ...],
        action_shape: tuple[int, ...] = (),
        obs_dtype=np.float32,
        action_dtype=np.int64,
        *,
        alpha: float = 0.6,
        beta: float = 0.4,
        eps: float = 1e-6,
        device: torch.device | str = "cpu",
    ) -> None:
        super().__init__(capacity, obs_shape, action_shape, obs_dtype, action_dtype, device=device)
        check_real("alpha", alpha)
        check_positive("alpha", alpha, allow_zero=True)
        check_positive("eps", eps)
        check_probability("beta", beta)
        self.alpha, self.eps = float(alpha), float(eps)
        self.beta = float(beta)  #: default importance-weight exponent of :meth:`sample`; trainers anneal it to 1
        self.tree = SumTree(capacity)
        self.max_priority = 1.0

    def add(self, *args, **kwargs) -> np.ndarray:
        idx = super().add(*args, **kwargs)
        self.tree.update(idx, self.max_priority**self.alpha)
        return idx

    def probabilities(self) -> np.ndarray:
        """:math:`P(i)` for every slot ``(capacity,)`` (0 for empty slots)."""
        return self.tree.get(np.arange(self.capacity)) / self.tree.total

    def sample(self, batch_size: int, rng: np.random.Generator, beta: float | None = None) -> ReplayBatch:
        r"""Draw ``batch_size`` transitions with probability :math:`P(i)`, with weights
        :math:`w_i = (n P(i))^{-\beta} / \max_j w_j` (``beta=None``: :attr:`beta`)."""
        if checking():
            self._check_sample(batch_size, rng)
            beta = beta if beta is None else check_probability("beta", beta)
        if beta is None:
            beta = self.beta
        total = self.tree.total
        idx = self.tree.find(rng.random(batch_size) * total)
        prob = self.tree.get(idx) / total
        w = (self.size * prob) ** (-beta)
        return self.gather(idx, w / w.max())

    def update_priorities(self, indices, priorities) -> None:
        """Set :math:`p_i` = ``priorities`` + ``eps`` for the transitions at ``indices`` (e.g. ``|TD error|``)."""
        if isinstance(indices, torch.Tensor):
            indices = indices.cpu().numpy()
        if isinstance(priorities, torch.Tensor):
            priorities = priorities.detach().cpu().numpy()
        priorities = np.asarray(priorities, dtype=np.float64)
        indices = np.asarray(indices)
        if np.isnan(priorities).any():  # checked inside a trainer's loop too: this is how divergence shows here
            raise ValueError("priorities contain NaN (a diverged TD error?)")
        if checking():
            self._check_priorities(indices, priorities)
        p = priorities + self.eps
        self.tree.update(indices.astype(np.int64), p**self.alpha)
        self.max_priority = max(self.max_priority, float(p.max(initial=0.0)))

    def _check_priorities(self, indices: np.ndarray, priorities: np.ndarray) -> None:
        if priorities.shape != indices.shape:
            raise ValueError(f"priorities must have the shape of indices {indices.shape}, got {priorities.shape}")
        if not np.isfinite(priorities).all() or (priorities < 0).any():
            raise ValueError("priorities must be finite and >= 0")
        if indices.size and (indices.min() < 0 or indices.max() >= self.size):
            raise ValueError(
                f"indices must point at stored transitions in [0, {self.size}), got {indices.min()}..{indices.max()}"
            )


class NStepAccumulator:
    r"""Turns one-step transitions from ``num_envs`` environments into n-step ones.

    The transition from :math:`s_t` carries :math:`R_t^{(k)} = \sum_{j<k} \gamma^j r_{t+j}` and
    :math:`s_{t+k}`, with :math:`k = n`, or fewer steps when the episode ended
    first; ``terminated`` says whether it ended by termination (then there is no
    bootstrap), and ``steps`` = :math:`k`, so the target is
    :math:`R_t^{(k)} + \gamma^k (1 - \text{terminated}) \max_a Q(s_{t+k}, a)`.
    A truncated episode still bootstraps from its true last observation.
    """

    def __init__(self, n: int, gamma: float, num_envs: int) -> None:
        check_positive("n", n, integer=True)
        check_probability("gamma", gamma)
        check_positive("num_envs", num_envs, integer=True)
        self.n, self.gamma, self.num_envs = n, float(gamma), num_envs
        self.pending: list[deque] = [deque() for _ in range(num_envs)]

    def push(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_obs: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
    ) -> dict[str, np.ndarray] | None:
        """Feed one vector step (arrays with leading dim ``num_envs``); return the transitions it completes
        as a dict of arrays for :meth:`ReplayBuffer.add` (``None`` if none)."""
        if checking() and np.shape(rewards) != (self.num_envs,):
            raise ValueError(f"rewards must have shape ({self.num_envs},), got {np.shape(rewards)}")
        if self.n == 1:  # nothing to accumulate
            return dict(
                obs=obs,
                actions=actions,
                rewards=np.asarray(rewards, dtype=np.float32),
                next_obs=next_obs,
                terminated=terminated,
                truncated=truncated,
                steps=np.ones(self.num_envs, dtype=np.int64),
            )
        out: list[tuple] = []
        for i in range(self.num_envs):
            q = self.pending[i]
            q.append((obs[i], actions[i], float(rewards[i])))
            done = bool(terminated[i] or truncated[i])
            while q and (done or len(q) == self.n):
                ret = 0.0
                for j, (_, _, r) in enumerate(q):
                    ret += self.gamma**j * r
                o, a, _ = q.popleft()
                out.append((o, a, ret, next_obs[i], bool(terminated[i]), bool(truncated[i]), len(q) + 1))
                if not done:
                    break
        if not out:
            return None
        o, a, r, no, te, tr, k = zip(*out)
        return dict(
            obs=np.stack(o),
            actions=np.stack(a),
            rewards=np.asarray(r, dtype=np.float32),
            next_obs=np.stack(no),
            terminated=np.asarray(te),
            truncated=np.asarray(tr),
            steps=np.asarray(k, dtype=np.int64),
        )


def autocorrelation(x, max_lag: int = 40) -> np.ndarray:
    r"""Sample autocorrelation :math:`\rho_k = \frac{1}{n-k}\sum_{t=1}^{n-k} z_t z_{t+k}` of the standardised series
    :math:`z`, for :math:`k = 1..` ``max_lag`` (notebook 06). About :math:`\pm 2/\sqrt n` is noise."""
    x = np.asarray(x, dtype=float)
    check_positive("max_lag", max_lag, integer=True)
    check_finite("x", x)
    if x.ndim != 1 or len(x) <= max_lag + 1:
        raise ValueError(f"x must be 1-D and longer than max_lag + 1 = {max_lag + 1}, got shape {x.shape}")
    if x.std() == 0:
        raise ValueError("x is constant: its autocorrelation is undefined")
    z = (x - x.mean()) / x.std()
    return np.array([np.mean(z[:-k] * z[k:]) for k in range(1, max_lag + 1)])
