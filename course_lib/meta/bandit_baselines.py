r"""Classic bandit algorithms, batched over tasks: the baselines of RL² (notebook ``12_meta_rl_recurrent``).

Each keeps, per task and arm, the pull count :math:`n_a` and the reward sum :math:`s_a`, so the
empirical mean is :math:`\hat\mu_a = s_a / n_a`. Before each pull, with :math:`t` the pulls made so far
(over all arms):

* **random** -- an arm uniformly at random;
* **ε-greedy** -- each arm once, then with probability :math:`\varepsilon` a random arm, else
  :math:`\arg\max_a \hat\mu_a`;
* **UCB1** (Auer, Cesa-Bianchi and Fischer, Machine Learning 2002) -- each arm once, then
  :math:`\arg\max_a \hat\mu_a + \sqrt{2 \ln t / n_a}`;
* **Thompson sampling** (Thompson, Biometrika 1933) with a uniform prior -- draw
  :math:`\tilde p_a \sim \text{Beta}(1 + s_a, 1 + n_a - s_a)` and pull :math:`\arg\max_a \tilde p_a`.

Two yardsticks that notebook 12 uses to place RL² and Thompson sampling (not algorithms from a paper):

* **win-stay, lose-shift** -- pull the same arm again if it paid, else a uniformly random *other* arm:
  the simplest rule with one pull of memory;
* **posterior mean + c s.d.** -- a deterministic rule on Thompson sampling's posterior: pull
  :math:`\arg\max_a \mathbb E[p_a] + c\,\mathrm{sd}(p_a)` under :math:`\text{Beta}(1 + s_a, 1 + n_a - s_a)`.

Ties go to a uniformly random one of the tied arms. :func:`run_bandit` plays one episode of every
task of a batch with one of them.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from course_lib._validation import check_positive, check_probability
from course_lib.envs.bandits import BanditBatch

__all__ = [
    "BanditAlgorithm",
    "RandomArms",
    "EpsilonGreedy",
    "UCB1",
    "Thompson",
    "WinStayLoseShift",
    "PosteriorMeanPlusSD",
    "run_bandit",
]


class BanditAlgorithm:
    """Counts and sums per task and arm; subclasses choose arms with :meth:`select`."""

    def __init__(self, n_tasks: int, k: int, generator: torch.Generator | None = None) -> None:
        self.counts = torch.zeros(n_tasks, k)
        self.sums = torch.zeros(n_tasks, k)
        self.generator = generator
        self.t = 0

    def _argmax_random_ties(self, scores: torch.Tensor) -> torch.Tensor:
        noise = torch.rand(scores.shape, generator=self.generator)
        best = scores >= scores.max(1, keepdim=True).values
        return torch.where(best, noise, torch.full_like(noise, -1.0)).argmax(1)

    def _untried_first(self, scores: torch.Tensor) -> torch.Tensor:
        return self._argmax_random_ties(torch.where(self.counts == 0, torch.full_like(scores, math.inf), scores))

    def select(self) -> torch.Tensor:
        raise NotImplementedError

    def update(self, actions: torch.Tensor, rewards: torch.Tensor) -> None:
        rows = torch.arange(actions.shape[0])
        self.counts[rows, actions] += 1
        self.sums[rows, actions] += rewards
        self.t += 1

    def means(self) -> torch.Tensor:
        return self.sums / self.counts.clamp(min=1)


class RandomArms(BanditAlgorithm):
    def select(self) -> torch.Tensor:
        return torch.randint(self.counts.shape[1], (self.counts.shape[0],), generator=self.generator)


class EpsilonGreedy(BanditAlgorithm):
    def __init__(self, n_tasks: int, k: int, generator: torch.Generator | None = None, epsilon: float = 0.1) -> None:
        super().__init__(n_tasks, k, generator)
        self.epsilon = check_probability("epsilon", epsilon)

    def select(self) -> torch.Tensor:
        greedy = self._untried_first(self.means())
        explore = torch.rand(greedy.shape, generator=self.generator) < self.epsilon
        random = torch.randint(self.counts.shape[1], greedy.shape, generator=self.generator)
        tried_all = (self.counts > 0).all(1)
        return torch.where(explore & tried_all, random, greedy)


class UCB1(BanditAlgorithm):
    def select(self) -> torch.Tensor:
        bonus = torch.sqrt(2 * math.log(max(self.t, 1)) / self.counts.clamp(min=1))
        return self._untried_first(self.means() + bonus)


class Thompson(BanditAlgorithm):
    """Beta-Bernoulli Thompson sampling; the Beta draws come from a NumPy generator seeded from ``generator``."""

    def __init__(self, n_tasks: int, k: int, generator: torch.Generator | None = None) -> None:
        super().__init__(n_tasks, k, generator)
        seed = int(torch.randint(2**62, (1,), generator=generator))
        self.rng = np.random.default_rng(seed)

    def select(self) -> torch.Tensor:
        a, b = 1 + self.sums.numpy(), 1 + (self.counts - self.sums).numpy()
        return self._argmax_random_ties(torch.from_numpy(self.rng.beta(a, b)).float())


class WinStayLoseShift(BanditAlgorithm):
    """Repeat the last arm if it paid, else pull one of the other arms at random (a random arm first)."""

    def __init__(self, n_tasks: int, k: int, generator: torch.Generator | None = None) -> None:
        super().__init__(n_tasks, k, generator)
        self.last_action = torch.randint(k, (n_tasks,), generator=generator)
        self.last_reward = torch.ones(n_tasks)  # "stay" on the random first arm

    def select(self) -> torch.Tensor:
        k = self.counts.shape[1]
        other = (self.last_action + torch.randint(1, k, self.last_action.shape, generator=self.generator)) % k
        return torch.where(self.last_reward > 0, self.last_action, other)

    def update(self, actions: torch.Tensor, rewards: torch.Tensor) -> None:
        super().update(actions, rewards)
        self.last_action, self.last_reward = actions.clone(), rewards.clone()


class PosteriorMeanPlusSD(BanditAlgorithm):
    """Pull the arm of largest posterior mean plus ``c`` posterior standard deviations, Beta(1 + s, 1 + n - s)."""

    def __init__(self, n_tasks: int, k: int, generator: torch.Generator | None = None, c: float = 1.0) -> None:
        super().__init__(n_tasks, k, generator)
        self.c = float(check_positive("c", c, allow_zero=True))

    def select(self) -> torch.Tensor:
        a, b = 1 + self.sums, 1 + self.counts - self.sums
        sd = (a * b / ((a + b) ** 2 * (a + b + 1))).sqrt()
        return self._argmax_random_ties(a / (a + b) + self.c * sd)


def run_bandit(
    algorithm: type[BanditAlgorithm], probs: torch.Tensor, horizon: int, generator: torch.Generator, **kwargs
) -> tuple[torch.Tensor, torch.Tensor]:
    """One episode of ``horizon`` pulls on every task of ``probs`` ``(n_tasks, k)``.

    Returns ``(actions, rewards)``, each ``(n_tasks, horizon)``. ``kwargs`` go to the algorithm
    (``epsilon=`` for :class:`EpsilonGreedy`).
    """
    if not (isinstance(algorithm, type) and issubclass(algorithm, BanditAlgorithm)):
        raise TypeError(f"algorithm must be a BanditAlgorithm subclass, got {algorithm!r}")
    env = BanditBatch(probs)
    agent = algorithm(probs.shape[0], probs.shape[1], generator, **kwargs)
    actions, rewards = [], []
    for _ in range(horizon):
        a = agent.select()
        r = env.pull(a, generator)
        agent.update(a, r)
        actions.append(a)
        rewards.append(r)
    return torch.stack(actions, 1), torch.stack(rewards, 1)
