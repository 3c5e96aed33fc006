"""Bandit baselines on cases whose answer is known: exploration order, the UCB1 index, greedy choice, Beta draws."""

import math

import pytest
import torch

from course_lib.envs.bandits import pseudo_regret
from course_lib.meta.bandit_baselines import (
    UCB1,
    EpsilonGreedy,
    PosteriorMeanPlusSD,
    RandomArms,
    Thompson,
    WinStayLoseShift,
    run_bandit,
)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("algorithm", [EpsilonGreedy, UCB1])
def test_each_arm_is_tried_once_first(algorithm):
    probs = torch.rand(50, 6, generator=_gen())
    actions, _ = run_bandit(algorithm, probs, 6, _gen(1))
    assert (actions.sort(1).values == torch.arange(6)).all()


def test_ucb1_index_on_a_hand_computed_state():
    agent = UCB1(1, 2, _gen())
    agent.counts[:] = torch.tensor([[1.0, 4.0]])
    agent.sums[:] = torch.tensor([[0.0, 3.0]])
    agent.t = 5
    # arm 0: 0 + sqrt(2 ln 5 / 1) = 1.794; arm 1: 0.75 + sqrt(2 ln 5 / 4) = 1.647
    assert math.sqrt(2 * math.log(5)) > 0.75 + math.sqrt(2 * math.log(5) / 4)
    assert agent.select().item() == 0
    agent.counts[:] = torch.tensor([[3.0, 4.0]])  # now arm 0: 1.036 < arm 1
    assert agent.select().item() == 1
    agent.counts[:] = torch.tensor([[1.0, 4.0]])  # t is the pulls made so far: ln 5 here, not ln 6
    agent.sums[:] = torch.tensor([[0.0, 3.68]])  # arm 1: 0.92 + sqrt(2 ln 5 / 4) = 1.817 > arm 0: 1.794
    assert agent.select().item() == 1  # with ln 6 it would be arm 0 (1.893 > 1.867)


def test_greedy_picks_the_best_empirical_mean_and_breaks_ties_at_random():
    agent = EpsilonGreedy(2000, 3, _gen(), epsilon=0.0)
    agent.counts[:] = 2.0
    agent.sums[:] = torch.tensor([1.0, 2.0, 0.0])
    assert (agent.select() == 1).all()
    agent.sums[:] = torch.tensor([2.0, 2.0, 0.0])
    picks = agent.select()
    assert set(picks.tolist()) == {0, 1} and abs((picks == 0).float().mean().item() - 0.5) < 0.05
    agent.epsilon = 1.0  # always explore: uniform
    freq = torch.bincount(agent.select(), minlength=3).float() / 2000
    assert (freq - 1 / 3).abs().max() < 0.05
    with pytest.raises(ValueError, match="epsilon"):
        EpsilonGreedy(1, 2, epsilon=1.5)


def test_random_arms_are_uniform():
    freq = torch.bincount(RandomArms(6000, 3, _gen()).select(), minlength=3).float() / 6000
    assert (freq - 1 / 3).abs().max() < 0.03


def test_thompson_draws_from_the_beta_posterior():
    agent = Thompson(4000, 2, _gen())
    assert (torch.bincount(agent.select(), minlength=2).float() / 4000 - 0.5).abs().max() < 0.04  # flat prior
    agent.counts[:] = torch.tensor([1.0, 0.0])
    agent.sums[:] = torch.tensor([1.0, 0.0])
    # Beta(2, 1) against Beta(1, 1): P(X > Y) = E[X] = 2/3
    assert abs((agent.select() == 0).float().mean().item() - 2 / 3) < 0.03
    agent.counts[:] = torch.tensor([500.0, 500.0])
    agent.sums[:] = torch.tensor([100.0, 400.0])
    assert (agent.select() == 1).all()


def test_regret_on_a_deterministic_bandit():
    probs = torch.tensor([[0.0, 1.0]]).expand(20, 2).contiguous()
    greedy, _ = run_bandit(EpsilonGreedy, probs, 50, _gen(), epsilon=0.0)
    assert (pseudo_regret(probs, greedy)[:, -1] == 1).all()  # only its first try of the bad arm
    for algorithm in (UCB1, Thompson):
        actions, rewards = run_bandit(algorithm, probs, 50, _gen())
        assert (pseudo_regret(probs, actions)[:, -1] < 10).all()
        assert torch.equal(rewards, actions.float())  # arm 1 always pays, arm 0 never
    uniform, _ = run_bandit(RandomArms, probs, 50, _gen())
    assert abs(pseudo_regret(probs, uniform)[:, -1].mean().item() - 25) < 3


def test_run_bandit_rejects_a_non_algorithm():
    with pytest.raises(TypeError, match="algorithm must be a BanditAlgorithm"):
        run_bandit(lambda: 0, torch.rand(2, 3), 5, _gen())


def test_win_stay_lose_shift_stays_after_a_win_and_moves_after_a_loss():
    agent = WinStayLoseShift(3000, 3, _gen())
    first = agent.select()
    assert (torch.bincount(first, minlength=3).float() / 3000 - 1 / 3).abs().max() < 0.04  # a random first arm
    paid = torch.arange(3000) % 2 == 0
    agent.update(first, paid.float())
    nxt = agent.select()
    assert torch.equal(nxt[paid], first[paid])  # win: stay
    assert (nxt[~paid] != first[~paid]).all()  # loss: another arm, each of the two about equally often
    moved = (nxt[~paid] - first[~paid]) % 3
    assert abs((moved == 1).float().mean().item() - 0.5) < 0.05
    probs = torch.tensor([[0.0, 1.0]]).expand(50, 2).contiguous()
    actions, _ = run_bandit(WinStayLoseShift, probs, 30, _gen())
    assert (pseudo_regret(probs, actions)[:, -1] <= 1).all()  # at most one pull of the arm that never pays


def test_posterior_mean_plus_sd_against_scipy():
    from scipy import stats

    g = _gen(5)
    counts = torch.randint(1, 20, (200, 4), generator=g).float()
    sums = torch.floor(torch.rand(200, 4, generator=g) * (counts + 1))
    for c in (0.0, 1.0, 2.5):
        agent = PosteriorMeanPlusSD(200, 4, _gen(), c=c)
        agent.counts[:], agent.sums[:] = counts, sums
        post = stats.beta(1 + sums.numpy(), 1 + (counts - sums).numpy())
        scores = torch.from_numpy(post.mean() + c * post.std())
        top2 = scores.topk(2, 1).values
        untied = top2[:, 0] - top2[:, 1] > 1e-6  # ties are broken at random
        assert untied.sum() > 150
        assert torch.equal(agent.select()[untied], scores.argmax(1)[untied])
    with pytest.raises(ValueError, match="c must be >= 0"):
        PosteriorMeanPlusSD(2, 3, c=-1.0)
    with pytest.raises(ValueError, match="c must be finite"):
        PosteriorMeanPlusSD(2, 3, c=float("nan"))
