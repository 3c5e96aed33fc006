"""REINFORCE: its weightings, masks and configuration, and that it solves CartPole."""

import copy
import functools

import numpy as np
import pytest
import torch

from course_lib.parallel import run_parallel
from course_lib.rl.policies import CategoricalPolicy
from course_lib.rl.reinforce import (
    ReinforceConfig,
    complete_episode_mask,
    episode_start_values,
    pg_weights,
    reinforce_advantages,
    reinforce_update,
    train_reinforce,
)
from course_lib.rl.rollouts import Rollout


def _rollout(rewards, term, trunc):
    r = torch.tensor(rewards, dtype=torch.float32)[:, None]
    z = torch.zeros(len(rewards), 1, 4)
    return Rollout(z, torch.zeros(len(rewards), 1), r, torch.tensor(term)[:, None], torch.tensor(trunc)[:, None], z)


def test_weightings_on_a_hand_made_rollout():
    # episode 1: rewards 1, 2 (terminated); episode 2: rewards 3, 4 (still running)
    roll = _rollout([1.0, 2.0, 3.0, 4.0], [False, True, False, False], [False] * 4)
    assert pg_weights(roll, 1.0, "reward_to_go").flatten().tolist() == [3.0, 2.0, 7.0, 4.0]
    assert pg_weights(roll, 1.0, "total").flatten().tolist() == [3.0, 3.0, 7.0, 7.0]
    v = torch.ones(4, 1)
    assert pg_weights(roll, 1.0, "baseline", v).flatten().tolist() == [2.0, 1.0, 6.0, 3.0]
    assert complete_episode_mask(roll.done).flatten().tolist() == [True, True, False, False]
    with pytest.raises(ValueError, match="needs values of shape"):
        pg_weights(roll, 1.0, "baseline")
    with pytest.raises(ValueError, match="kind must be"):
        pg_weights(roll, 1.0, "advantage")


def test_episode_start_values_broadcasts_per_env():
    x = torch.arange(6.0).view(3, 2)
    done = torch.tensor([[True, False], [False, False], [False, True]])
    assert episode_start_values(x, done).tolist() == [[0, 1], [2, 1], [2, 1]]


@pytest.mark.parametrize(
    "kwargs, exc, words",
    [
        ({"gamma": 1.2}, ValueError, "gamma"),
        ({"baseline": "mean"}, ValueError, "baseline must be one of"),
        ({"num_envs": 0}, ValueError, "num_envs must be > 0"),
        ({"lr": -1e-3}, ValueError, "lr must be > 0"),
        ({"hidden": [64]}, ValueError, "hidden must be a tuple"),
        ({"total_steps": 1e5}, TypeError, "total_steps must be an int"),
        ({"env_id": None}, TypeError, "env_id must be a str"),
    ],
)
def test_config_rejects_bad_values(kwargs, exc, words):
    with pytest.raises(exc) as info:
        ReinforceConfig(**kwargs)
    assert words in str(info.value)


def test_train_rejects_a_dict_config():
    with pytest.raises(TypeError, match="config must be a ReinforceConfig"):
        train_reinforce({"lr": 1e-3}, seed=0)


def test_advantages_and_one_update_step():
    # episode 1: rewards 1, 2 (terminated); episode 2: rewards 3, 4 (still running)
    roll = _rollout([1.0, 2.0, 3.0, 4.0], [False, True, False, False], [False] * 4)
    adv, G, use = reinforce_advantages(roll, None, 1.0, "average")
    assert use.flatten().tolist() == [True, True, False, False]  # no return known for the running episode
    assert adv.flatten()[:2].tolist() == [3.0 - 2.5, 2.0 - 2.5]
    gen = torch.Generator().manual_seed(0)
    policy = CategoricalPolicy(4, 2, (8,), generator=gen)
    obs, actions, a = torch.randn(5, 4, generator=gen), torch.tensor([0, 1, 1, 0, 1]), torch.randn(5, generator=gen)
    before = [p.detach().clone() for p in policy.parameters()]
    norm_a = (a - a.mean()) / (a.std() + 1e-8)
    grads = torch.autograd.grad(-(policy.log_prob(obs, actions) * norm_a).mean(), list(policy.parameters()))
    stats = reinforce_update(policy, torch.optim.SGD(policy.parameters(), lr=0.5), obs, actions, a)
    for p, b, g in zip(policy.parameters(), before, grads):
        torch.testing.assert_close(p.detach(), b - 0.5 * g)
    assert stats["adv_std"] == pytest.approx(a.std().item())
    assert stats["grad_norm"] == pytest.approx(torch.cat([g.flatten() for g in grads]).norm().item(), rel=1e-5)


@pytest.mark.slow
def test_reinforce_solves_cartpole_on_three_seeds():
    """Final greedy return over 20 episodes; seeds 10-19 gave 462-500 (median 500)."""
    results = run_parallel([functools.partial(train_reinforce, ReinforceConfig(), seed=s) for s in (0, 1, 2)])
    finals = [r.evaluations.final_return for r in results]
    assert min(finals) >= 400, finals
    first = [np.mean([ret for _, ret in r.episodes[:16]]) for r in results]
    assert max(first) < 60, first  # it really started from scratch


# ---------------------------------------------------------------- bad inputs, refused with the argument named
from course_lib.rl.reinforce import estimator_variance, policy_gradient_vector  # noqa: E402
from tests.bad_inputs import bad, refused  # noqa: E402

_T, _N = 5, 4
_FLAGS = torch.zeros(_T, _N, dtype=torch.bool)
_ROLL = Rollout(
    obs=torch.zeros(_T, _N, 4), actions=torch.zeros(_T, _N, dtype=torch.long), rewards=torch.ones(_T, _N),
    terminated=_FLAGS, truncated=_FLAGS, next_obs=torch.zeros(_T, _N, 4),
)  # fmt: skip
_PI = CategoricalPolicy(4, 2, (8,), generator=torch.Generator().manual_seed(0))
_OPT = torch.optim.SGD(_PI.parameters(), lr=0.0)
_O, _A = torch.zeros(6, 4), torch.zeros(6, dtype=torch.long)


def _roll(**change):
    fields = dict(_ROLL.__dict__)
    fields.update(change)
    return lambda: Rollout(**fields)


BAD_INPUTS = [
    bad("rollout-rewards-column", _roll(rewards=torch.ones(_T, _N, 1)), ValueError, "rewards"),
    bad("rollout-rewards-nan", _roll(rewards=torch.full((_T, _N), float("nan"))), ValueError, "rewards", "finite"),
    bad("rollout-terminated-float", _roll(terminated=torch.zeros(_T, _N)), TypeError, "terminated"),
    bad("rollout-truncated-shape", _roll(truncated=_FLAGS[:, :2]), ValueError, "truncated"),
    bad("rollout-next-obs-shape", _roll(next_obs=torch.zeros(_T, _N, 3)), ValueError, "next_obs"),
    bad("rollout-actions-steps", _roll(actions=torch.zeros(_T - 1, _N, dtype=torch.long)), ValueError, "actions"),
    bad("rollout-obs-numpy", _roll(obs=np.zeros((_T, _N, 4))), TypeError, "obs"),
    bad("pg-weights-kind", lambda: pg_weights(_ROLL, 0.99, "sum"), ValueError, "kind"),
    bad(
        "pg-weights-baseline-shape",
        lambda: pg_weights(_ROLL, 0.99, "baseline", torch.zeros(_T, _N, 1)),
        ValueError,
        "values",
    ),
    bad("pg-weights-baseline-missing", lambda: pg_weights(_ROLL, 0.99, "baseline"), ValueError, "values"),
    bad("pg-weights-gamma", lambda: pg_weights(_ROLL, 2.0, "total"), ValueError, "gamma"),
    bad("pg-weights-not-rollout", lambda: pg_weights({"rewards": torch.ones(3)}, 0.99, "total"), TypeError, "rollout"),
    bad(
        "pg-vector-weights-column", lambda: policy_gradient_vector(_PI, _O, _A, torch.ones(6, 1)), ValueError, "weights"
    ),
    bad("pg-vector-weights-short", lambda: policy_gradient_vector(_PI, _O, _A, torch.ones(5)), ValueError, "weights"),
    bad(
        "pg-vector-weights-nan",
        lambda: policy_gradient_vector(_PI, _O, _A, torch.full((6,), float("nan"))),
        ValueError,
        "weights",
        "finite",
    ),
    bad("pg-vector-policy", lambda: policy_gradient_vector(lambda o: o, _O, _A, torch.ones(6)), TypeError, "policy"),
    bad("advantages-baseline-kind", lambda: reinforce_advantages(_ROLL, None, 0.99, "mean"), ValueError, "baseline"),
    bad("advantages-value-type", lambda: reinforce_advantages(_ROLL, _PI, 0.99, "value"), TypeError, "value"),
    bad("update-adv-column", lambda: reinforce_update(_PI, _OPT, _O, _A, torch.ones(6, 1)), ValueError, "advantages"),
    bad(
        "update-adv-nan",
        lambda: reinforce_update(_PI, _OPT, _O, _A, torch.full((6,), float("nan"))),
        ValueError,
        "advantages",
        "finite",
    ),
    bad("update-actions-short", lambda: reinforce_update(_PI, _OPT, _O, _A[:5], torch.ones(6)), ValueError, "actions"),
    bad("update-empty", lambda: reinforce_update(_PI, _OPT, _O[:0], _A[:0], torch.ones(0)), ValueError, "obs", "empty"),
    bad(
        "update-normalize-str", lambda: reinforce_update(_PI, _OPT, _O, _A, torch.ones(6), "no"), TypeError, "normalize"
    ),
    bad("update-optimizer", lambda: reinforce_update(_PI, "adam", _O, _A, torch.ones(6)), TypeError, "optimizer"),
    bad("mask-done-float", lambda: complete_episode_mask(torch.zeros(3, 2)), TypeError, "done"),
    bad(
        "start-values-shape",
        lambda: episode_start_values(torch.zeros(3, 2), torch.zeros(3, 1, dtype=torch.bool)),
        ValueError,
        "done",
    ),
    bad(
        "variance-envs-per-batch",
        lambda: estimator_variance(_PI, _ROLL, 0.99, torch.zeros(_T, _N), envs_per_batch=0),
        ValueError,
        "envs_per_batch",
    ),
    bad(
        "variance-values-shape",
        lambda: estimator_variance(_PI, _ROLL, 0.99, torch.zeros(_T), envs_per_batch=1),
        ValueError,
        "values",
    ),
    bad("config-normalize-str", lambda: ReinforceConfig(normalize_advantages="no"), TypeError, "normalize_advantages"),
    bad(
        "config-budget-below-rollout",
        lambda: ReinforceConfig(num_envs=16, n_steps=256, total_steps=1000),
        ValueError,
        "total_steps",
        "4096",
    ),
    bad("config-baseline", lambda: ReinforceConfig(baseline="mean"), ValueError, "baseline"),
    bad("config-hidden-list", lambda: ReinforceConfig(hidden=[64, 64]), ValueError, "hidden"),
    bad("config-lr-negative", lambda: ReinforceConfig(lr=-1e-3), ValueError, "lr"),
    bad(
        "train-continuous-actions",
        lambda: train_reinforce(ReinforceConfig(env_id="Pendulum-v1", num_envs=1, n_steps=8, total_steps=8), seed=0),
        ValueError,
        "action spaces",
        "Discrete",
        "Box",
    ),
    bad("train-seed-str", lambda: train_reinforce(ReinforceConfig(), seed="0"), TypeError, "seed"),
    bad("train-config-type", lambda: train_reinforce({"lr": 1e-3}, seed=0), TypeError, "config"),
]


@pytest.mark.parametrize("call, exc, words", BAD_INPUTS)
def test_bad_input_is_refused_clearly(call, exc, words):
    refused(call, exc, words)


def test_average_baseline_is_a_no_op_under_normalisation_and_not_without():
    """Review 03-E1: normalising the advantages already subtracts their batch mean, so the "average" baseline
    changes nothing unless ``normalize_advantages=False`` (notebook 03's exercise compares them that way)."""
    g = torch.Generator().manual_seed(0)
    policy = CategoricalPolicy(4, 2, generator=g)
    obs, actions = torch.randn(300, 4, generator=g), torch.randint(0, 2, (300,), generator=g)
    returns = torch.rand(300, generator=g) * 50

    def params_after(adv, normalize):
        p = copy.deepcopy(policy)
        reinforce_update(p, torch.optim.Adam(p.parameters(), lr=3e-3), obs, actions, adv, normalize)
        return torch.cat([x.flatten() for x in p.parameters()])

    assert torch.allclose(params_after(returns, True), params_after(returns - returns.mean(), True), atol=1e-6)
    assert not torch.allclose(params_after(returns, False), params_after(returns - returns.mean(), False), atol=1e-4)
