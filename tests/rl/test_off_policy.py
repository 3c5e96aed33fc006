"""DDPG, TD3 and SAC: the squashed Gaussian against torch.distributions, targets by hand, each loss's gradient
three ways (SymPy, autograd, finite differences), the batched critic, the trainer contract, learning runs."""

import functools
import inspect
import math
import random

import gymnasium as gym
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.distributions import Independent, Normal, TanhTransform, TransformedDistribution

from course_lib.derivations import off_policy as dop
from course_lib.parallel import run_parallel
from course_lib.rl.off_policy import (
    ActionScaler,
    Critic,
    DeterministicActor,
    OffPolicyConfig,
    OffPolicyResult,
    SquashedGaussianActor,
    action_grid,
    critic_loss,
    critic_vs_monte_carlo,
    ddpg_targets,
    deterministic_policy_loss,
    frozen,
    make_agent,
    sac_policy_loss,
    sac_targets,
    sac_update,
    squashed_gaussian_log_prob,
    tanh_log_jacobian,
    td3_targets,
    td3_update,
    temperature_loss,
    train_off_policy,
)
from course_lib.rl.policies import mlp
from course_lib.rl.replay import ReplayBatch
from course_lib.rl.trainer import TrainResult
from tests.numeric import central_difference


def random_batch(rng: np.random.Generator, B: int = 8, obs_dim: int = 3, act_dim: int = 1) -> ReplayBatch:
    return ReplayBatch(
        obs=torch.as_tensor(rng.normal(size=(B, obs_dim)), dtype=torch.float32),
        actions=torch.as_tensor(rng.uniform(-1, 1, (B, act_dim)), dtype=torch.float32),
        rewards=torch.as_tensor(rng.uniform(-16, 0, B), dtype=torch.float32),
        next_obs=torch.as_tensor(rng.normal(size=(B, obs_dim)), dtype=torch.float32),
        terminated=torch.as_tensor(rng.random(B) < 0.3),
        truncated=torch.zeros(B, dtype=torch.bool),
        steps=torch.ones(B, dtype=torch.int64),
        indices=torch.arange(B),
        weights=torch.ones(B),
    )


# --- the squashed Gaussian ---------------------------------------------------------------------------------------


def test_tanh_log_jacobian_is_exact_and_stays_finite():
    u = torch.linspace(-8, 8, 101, dtype=torch.float64)
    torch.testing.assert_close(tanh_log_jacobian(u), torch.log(1 - torch.tanh(u) ** 2), rtol=1e-9, atol=1e-9)
    big = torch.tensor([-50.0, -20.0, 20.0, 50.0])  # float32: 1 - tanh(u)^2 is exactly 0 here
    assert torch.isinf(torch.log(1 - torch.tanh(big) ** 2)).all()
    torch.testing.assert_close(tanh_log_jacobian(big), 2 * math.log(2) - 2 * big.abs())


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-3, 3), min_size=2, max_size=2),
    st.lists(st.floats(-2, 2), min_size=2, max_size=2),
    st.lists(st.floats(-1.5, 0.5), min_size=2, max_size=2),
)
def test_squashed_log_prob_matches_transformed_distribution(u, mean, log_std):
    u, mean, log_std = (torch.tensor([x], dtype=torch.float64) for x in (u, mean, log_std))
    ref = TransformedDistribution(Independent(Normal(mean, log_std.exp()), 1), TanhTransform())
    torch.testing.assert_close(squashed_gaussian_log_prob(u, mean, log_std), ref.log_prob(torch.tanh(u)))


def test_actor_sample_is_seeded_in_range_and_its_log_prob_is_the_distributions():
    actor = SquashedGaussianActor(3, 2, (16,), generator=torch.Generator().manual_seed(0)).double()
    obs = torch.randn(500, 3, dtype=torch.float64)
    a, logp = actor.sample(obs, torch.Generator().manual_seed(1))
    b, _ = actor.sample(obs, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.shape == (500, 2) and logp.shape == (500,)
    assert (a.abs() < 1).all()
    mean, log_std = actor.distribution(obs)
    ref = TransformedDistribution(Independent(Normal(mean, log_std.exp()), 1), TanhTransform())
    ok = a.abs().max(-1).values < 0.999  # away from the edge, where atanh(a) recovers u accurately
    torch.testing.assert_close(logp[ok], ref.log_prob(a)[ok], rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(actor.greedy(obs), torch.tanh(mean))


@settings(max_examples=30, deadline=None)
@given(st.floats(-4, 4), st.floats(-2, 2), st.floats(-1.5, 1.0))
def test_squashed_log_prob_gradient_three_ways(u, m, ell):
    sym = np.array(
        dop.lambdify_gradient(dop.squashed_gaussian(), [dop.m, dop.ell], [dop.u])([m, ell], [u]), dtype=float
    )
    params = torch.tensor([m, ell], dtype=torch.float64, requires_grad=True)
    ut = torch.tensor([[u]], dtype=torch.float64)

    def f():
        return squashed_gaussian_log_prob(ut, params[:1].view(1, 1), params[1:].view(1, 1)).sum()

    auto = torch.autograd.grad(f(), params)[0].numpy()
    fd = central_difference(f, params.data).numpy()
    np.testing.assert_allclose(auto, sym, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(fd, sym, rtol=1e-5, atol=1e-6)


# --- deterministic policy gradient -------------------------------------------------------------------------------


class QuadraticCritic(torch.nn.Module):
    """Q(s, a) = -k (a - w.s)^2 + c.s as a one-critic Critic: (B, d), (B, 1) -> (1, B)."""

    def __init__(self, w, c, k):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(w, dtype=torch.float64))
        self.c = torch.nn.Parameter(torch.tensor(c, dtype=torch.float64))
        self.k = k

    def forward(self, obs, actions):
        return (-self.k * (actions[:, 0] - obs @ self.w) ** 2 + obs @ self.c)[None]


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(-1.5, 1.5), min_size=2, max_size=2),
    st.floats(-1, 1),
    st.lists(st.floats(-2, 2), min_size=2, max_size=2),
    st.lists(st.floats(-1, 1), min_size=2, max_size=2),
    st.lists(st.floats(-1, 1), min_size=2, max_size=2),
    st.floats(0.1, 3),
)
def test_deterministic_policy_gradient_three_ways(theta, b, s, w, c, k):
    grad, th_s, b_s, s_s, (w_s, c_s, k_s) = dop.dpg_gradient(2)
    f_sym = dop.sp.lambdify([*th_s, b_s, *s_s, *w_s, *c_s, k_s], list(grad), "numpy")
    sym = np.array(f_sym(*theta, b, *s, *w, *c, k), dtype=float)
    actor = DeterministicActor(2, 1, hidden=()).double()
    lin = actor.net[0]
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([theta], dtype=torch.float64))
        lin.bias.fill_(b)
    critic = QuadraticCritic(w, c, k)
    obs = torch.tensor([s], dtype=torch.float64)
    loss = deterministic_policy_loss(obs, actor, critic)  # = -Q(s, mu(s))
    auto = -torch.cat([g.flatten() for g in torch.autograd.grad(loss, [lin.weight, lin.bias])]).numpy()
    assert critic.w.requires_grad and critic.w.grad is None  # frozen only inside the loss, and not touched
    f = lambda: -deterministic_policy_loss(obs, actor, critic)  # noqa: E731
    fd = np.concatenate([central_difference(f, lin.weight.data).flatten(), central_difference(f, lin.bias.data)])
    np.testing.assert_allclose(auto, sym, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(fd, sym, rtol=1e-5, atol=1e-7)


def test_frozen_restores_requires_grad_even_after_an_error():
    net = torch.nn.Linear(2, 2)
    net.bias.requires_grad_(False)
    with pytest.raises(RuntimeError), frozen(net):
        assert not net.weight.requires_grad
        raise RuntimeError
    assert net.weight.requires_grad and not net.bias.requires_grad


# --- the batched critic and the targets --------------------------------------------------------------------------


def test_critic_equals_separate_mlps():
    critic = Critic(3, 1, (8, 5), n_critics=2, generator=torch.Generator().manual_seed(3))
    gen = torch.Generator().manual_seed(3)
    nets = [mlp(4, (8, 5), 1, activation=torch.nn.ReLU, generator=gen) for _ in range(2)]
    obs, act = torch.randn(7, 3), torch.rand(7, 1) * 2 - 1
    q = critic(obs, act)
    assert q.shape == (2, 7)
    for k in range(2):
        torch.testing.assert_close(q[k], nets[k](torch.cat([obs, act], -1)).squeeze(-1))


def _separate_min(critic, obs, act):
    """min_k Q_k computed one critic at a time from the stacked weights."""
    qs = []
    for k in range(critic.n_critics):
        h = torch.cat([obs, act], -1)
        for i, (w, b) in enumerate(zip(critic.weights, critic.biases)):
            h = h @ w[k] + b[k]
            if i < len(critic.weights) - 1:
                h = torch.relu(h)
        qs.append(h.squeeze(-1))
    return torch.stack(qs).min(0).values


@pytest.mark.parametrize("seed", range(3))
def test_td3_target_is_the_min_of_twin_target_critics_at_the_smoothed_action(seed):
    rng = np.random.default_rng(seed)
    cfg = OffPolicyConfig(algo="td3", policy_noise=0.4, noise_clip=0.3, gamma=0.9)
    agent = make_agent(cfg, 3, 1, torch.Generator().manual_seed(seed))
    with torch.no_grad():  # make the targets differ from the online nets and from each other
        for p in agent.critic_target.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=torch.Generator().manual_seed(seed + 10)))
    b = random_batch(rng, B=64)
    y = td3_targets(b, agent, cfg, torch.Generator().manual_seed(7))
    mu = agent.actor_target(b.next_obs)
    noise = torch.randn(mu.shape, generator=torch.Generator().manual_seed(7)) * 0.4
    smoothed = (mu + noise.clamp(-0.3, 0.3)).clamp(-1, 1)
    assert ((smoothed - mu).abs() <= 0.3 + 1e-6).all() and (noise.abs() > 0.3).any()  # the clip was exercised
    want = b.rewards + 0.9 * (~b.terminated) * _separate_min(agent.critic_target, b.next_obs, smoothed)
    torch.testing.assert_close(y, want.detach())
    assert not y.requires_grad


def test_ddpg_and_sac_targets_by_hand():
    rng = np.random.default_rng(0)
    b = random_batch(rng, B=32)
    ddpg = make_agent(OffPolicyConfig(algo="ddpg"), 3, 1, torch.Generator().manual_seed(0))
    y = ddpg_targets(b, ddpg, 0.95)
    q_next = ddpg.critic_target(b.next_obs, ddpg.actor_target(b.next_obs))[0]
    torch.testing.assert_close(y, (b.rewards + 0.95 * (~b.terminated) * q_next).detach())
    sac = make_agent(OffPolicyConfig(algo="sac", init_alpha=0.3), 3, 1, torch.Generator().manual_seed(0))
    y = sac_targets(b, sac, 0.95, torch.Generator().manual_seed(5))
    a2, logp2 = sac.actor.sample(b.next_obs, torch.Generator().manual_seed(5))
    soft = _separate_min(sac.critic_target, b.next_obs, a2) - 0.3 * logp2
    torch.testing.assert_close(y, (b.rewards + 0.95 * (~b.terminated) * soft).detach())


def test_soft_value_three_ways():
    """V = alpha log sum exp(Q / alpha): SymPy's closed form and stationarity; autograd: the objective's gradient in the
    policy's logits vanishes at logits Q / alpha, where it takes that value, and random logits do worse; and the Monte
    Carlo mean of the one-sample target Q(a') - alpha log pi(a') under the Boltzmann policy."""
    assert dop.check_soft_value(3)
    rng = np.random.default_rng(0)

    def objective(logits, qt, alpha):
        logp = torch.log_softmax(logits, 0)
        return (logp.exp() * (qt - alpha * logp)).sum()

    for _ in range(3):
        q, alpha = rng.normal(size=4) * 3, float(rng.uniform(0.2, 2.0))
        closed = alpha * np.log(np.exp(q / alpha).sum())
        qt = torch.as_tensor(q)
        logits = (qt / alpha).clone().requires_grad_(True)
        value = objective(logits, qt, alpha)
        (grad,) = torch.autograd.grad(value, logits)
        assert value.item() == pytest.approx(closed, rel=1e-12)
        assert grad.abs().max().item() < 1e-12
        others = [objective(torch.as_tensor(rng.normal(size=4) * 3), qt, alpha).item() for _ in range(200)]
        assert max(others) < closed
        pi = np.exp(q / alpha) / np.exp(q / alpha).sum()
        a = rng.choice(4, size=400_000, p=pi)
        assert (q[a] - alpha * np.log(pi[a])).mean() == pytest.approx(closed, abs=0.02)


@settings(max_examples=40, deadline=None)
@given(st.floats(-3, 1), st.floats(-4, 2), st.floats(-3, 1))
def test_temperature_gradient_three_ways(beta, logp, hbar):
    assert dop.check_temperature_gradient()
    sym = float(
        dop.sp.diff(dop.temperature_loss(), dop.beta).subs({dop.beta: beta, dop.logp: logp, dop.target_entropy: hbar})
    )
    log_alpha = torch.tensor(beta, dtype=torch.float64, requires_grad=True)
    lp = torch.tensor([logp], dtype=torch.float64)
    auto = torch.autograd.grad(temperature_loss(log_alpha, lp, hbar), log_alpha)[0].item()
    fd = central_difference(lambda: temperature_loss(log_alpha, lp, hbar), log_alpha.data).item()
    assert auto == pytest.approx(sym, rel=1e-10, abs=1e-12)
    assert fd == pytest.approx(sym, rel=1e-5, abs=1e-7)


def test_critic_loss_gradient_three_ways():
    """sum_k mean_i (Q_k(s_i, a_i) - y_i)^2 for linear critics: SymPy, autograd, finite differences."""
    sp = dop.sp
    rng = np.random.default_rng(1)
    B, d = 5, 3
    x, y = rng.normal(size=(B, d)), rng.normal(size=B)
    W = rng.normal(size=(2, d))
    ws = sp.Matrix(2, d, lambda i, j: sp.Symbol(f"w_{i}{j}", real=True))
    loss_sym = sum(sum(((ws[k, :] * sp.Matrix(x[i])).trace() - y[i]) ** 2 for i in range(B)) / B for k in range(2))
    sym = np.array(
        [[float(sp.diff(loss_sym, ws[k, j]).subs(dict(zip(ws, W.flatten())))) for j in range(d)] for k in range(2)]
    )
    Wt = torch.tensor(W, requires_grad=True)
    f = lambda: critic_loss(Wt @ torch.as_tensor(x).T, torch.as_tensor(y))  # noqa: E731
    auto = torch.autograd.grad(f(), Wt)[0].numpy()
    fd = central_difference(f, Wt.data).numpy()
    np.testing.assert_allclose(auto, sym, rtol=1e-10)
    np.testing.assert_allclose(fd, sym, rtol=1e-6)


def test_sac_policy_loss_by_hand():
    agent = make_agent(OffPolicyConfig(algo="sac"), 3, 1, torch.Generator().manual_seed(0))
    obs = torch.randn(16, 3)
    loss, logp = sac_policy_loss(obs, agent.actor, agent.critic, torch.tensor(0.2), torch.Generator().manual_seed(2))
    a, lp = agent.actor.sample(obs, torch.Generator().manual_seed(2))
    torch.testing.assert_close(loss, (0.2 * lp - agent.critic(obs, a).min(0).values).mean())
    torch.testing.assert_close(logp, lp)


# --- updates -----------------------------------------------------------------------------------------------------


def test_td3_delays_the_actor_and_the_targets():
    cfg = OffPolicyConfig(algo="td3", policy_delay=2)
    agent = make_agent(cfg, 3, 1, torch.Generator().manual_seed(0))
    b = random_batch(np.random.default_rng(0), B=32)

    def snapshot():
        return [p.clone() for m in (agent.actor, agent.actor_target, agent.critic_target) for p in m.parameters()]

    before = snapshot()
    stats = td3_update(b, agent, cfg, torch.Generator().manual_seed(0), n_updates=1)
    assert "actor_loss" not in stats
    assert all(torch.equal(x, y) for x, y in zip(before, snapshot()))
    stats = td3_update(b, agent, cfg, torch.Generator().manual_seed(0), n_updates=2)
    assert "actor_loss" in stats
    assert all(not torch.equal(x, y) for x, y in zip(before, snapshot()))


def test_sac_update_moves_the_temperature_toward_the_target_entropy():
    # a far-too-high target entropy: the policy's entropy is below it, so alpha must grow
    cfg = OffPolicyConfig(algo="sac", target_entropy=5.0, alpha_lr=0.01)
    agent = make_agent(cfg, 3, 1, torch.Generator().manual_seed(0))
    b = random_batch(np.random.default_rng(0), B=32)
    alpha0 = agent.log_alpha.exp().item()
    stats = sac_update(b, agent, cfg, torch.Generator().manual_seed(0))
    assert agent.log_alpha.exp().item() > alpha0
    assert set(stats) == {"critic_loss", "actor_loss", "q_mean", "alpha", "entropy"}
    low = OffPolicyConfig(algo="sac", target_entropy=-50.0, alpha_lr=0.01)
    agent = make_agent(low, 3, 1, torch.Generator().manual_seed(0))
    sac_update(b, agent, low, torch.Generator().manual_seed(0))
    assert agent.log_alpha.exp().item() < alpha0


# --- scaler, config, contract ------------------------------------------------------------------------------------


def test_action_scaler():
    s = ActionScaler(gym.spaces.Box(np.array([-2.0, 0.0], np.float32), np.array([2.0, 1.0], np.float32)))
    np.testing.assert_allclose(s.to_env([[-1, -1], [1, 1], [0, 0]]), [[-2, 0], [2, 1], [0, 0.5]])
    a = np.random.default_rng(0).uniform(-1, 1, (5, 2))
    np.testing.assert_allclose(s.from_env(s.to_env(a)), a, rtol=1e-6, atol=1e-6)
    with pytest.raises(TypeError, match="space must be a gymnasium.spaces.Box"):
        ActionScaler(gym.spaces.Discrete(2))
    with pytest.raises(ValueError, match="bounded"):
        ActionScaler(gym.spaces.Box(-np.inf, np.inf, (1,), np.float32))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(algo="ppo"), "algo"),
        (dict(gamma=1.5), "gamma"),
        (dict(tau=0.0), "tau"),
        (dict(batch_size=512, learning_starts=256), "learning_starts"),
        (dict(learning_starts=10**6), "learning_starts"),
        (dict(hidden=[64]), "hidden"),
        (dict(actor_lr=0.0), "actor_lr"),
        (dict(policy_delay=0), "policy_delay"),
        (dict(init_alpha=-1.0), "init_alpha"),
        (dict(policy_noise=-0.1), "policy_noise"),
        (dict(n_critics=0), "n_critics"),
    ],
)
def test_config_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        OffPolicyConfig(**kwargs)


def test_config_type_errors():
    with pytest.raises(TypeError, match="env_id"):
        OffPolicyConfig(env_id=3)
    with pytest.raises(TypeError, match="config"):
        train_off_policy({"algo": "sac"}, seed=0)
    with pytest.raises(TypeError, match="target_entropy"):
        OffPolicyConfig(target_entropy="auto")


TINY = dict(total_steps=600, learning_starts=300, batch_size=64, eval_every=250, eval_episodes=2, log_every=20)


def test_signature_is_the_contract():
    params = inspect.signature(train_off_policy).parameters
    assert list(params) == ["config", "seed", "device", "callback"]
    assert params["seed"].kind is inspect.Parameter.KEYWORD_ONLY and params["seed"].default is inspect.Parameter.empty
    assert params["device"].default is None and params["callback"].default is None


@pytest.mark.parametrize("algo", ["ddpg", "td3", "sac", "literal"])
def test_tiny_runs_follow_the_contract(algo):
    cfg = OffPolicyConfig(algo=algo, **TINY)
    state = (random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state().clone())
    seen = []
    result = train_off_policy(cfg, seed=3, device="cpu", callback=lambda r: seen.append(r) or len(seen))
    assert random.getstate() == state[0] and torch.equal(torch.get_rng_state(), state[2])
    assert np.array_equal(np.random.get_state()[1], state[1])  # the reader's global generators are left alone
    assert isinstance(result, OffPolicyResult) and isinstance(result, TrainResult) and result.config is cfg
    assert result.evaluations.steps == [250, 500, 600]  # every 250 env steps, and the final network
    assert [s for s, _ in result.callback_log] == [250, 500, 600] and seen[-1] is result
    assert result.gradient_steps == 600 - 300 + 1
    assert result.log and all("step" in row for row in result.log)
    assert [s for s, _ in result.episodes] == [200, 400, 600]  # Pendulum truncates at 200 steps
    assert all(-16.3 * 200 <= r <= 0 for _, r in result.episodes)
    assert 0 < result.train_seconds
    again = train_off_policy(cfg, seed=3)
    for p, q in zip(result.actor.parameters(), again.actor.parameters()):
        assert torch.equal(p, q)  # the same seed gives the same run
    assert (result.alpha is not None) == (algo == "sac")


def test_n_critics_overrides_the_default_and_takes_its_own_path():
    """Exercise 2 of notebook 09: TD3 with one critic (no clipped double Q) is a config field, not a library edit."""
    one = train_off_policy(OffPolicyConfig(algo="td3", n_critics=1, **TINY), seed=0)
    two = train_off_policy(OffPolicyConfig(algo="td3", **TINY), seed=0)
    assert one.critic.n_critics == 1 and two.critic.n_critics == 2
    assert one.log[-1]["critic_loss"] != two.log[-1]["critic_loss"]


def test_a_registered_wrapped_env_trains_by_id():
    """Exercise 1 of notebook 09: train_off_policy takes an env id, so a reward-shifted Pendulum is registered first."""
    gym.register(
        "course_tests/PendulumShifted-v1",
        entry_point=lambda **kw: gym.wrappers.TransformReward(gym.make("Pendulum-v1", **kw), lambda r: r + 17),
    )
    try:
        result = train_off_policy(
            OffPolicyConfig(algo="literal", env_id="course_tests/PendulumShifted-v1", **TINY), seed=0
        )
    finally:
        gym.registry.pop("course_tests/PendulumShifted-v1")
    assert all(ret > 0 for _, ret in result.episodes)  # every reward is in [17 - 16.27, 17]


def test_critic_vs_monte_carlo_and_action_grid():
    result = train_off_policy(OffPolicyConfig(algo="td3", **TINY), seed=0)
    q, g = critic_vs_monte_carlo(result, n_episodes=2, max_episode_steps=300, horizon=200)
    assert np.isfinite(q) and -16.3 / (1 - result.config.gamma) <= g <= 0
    angles, speeds, torque = action_grid(result, n=11)
    assert torque.shape == (11, 11) and (np.abs(torque) <= 2).all()
    with pytest.raises(ValueError, match="horizon"):
        critic_vs_monte_carlo(result, max_episode_steps=100, horizon=200)
    literal = train_off_policy(OffPolicyConfig(algo="literal", **TINY), seed=0)
    with pytest.raises(TypeError, match="critic"):
        critic_vs_monte_carlo(literal)


# --- learning ----------------------------------------------------------------------------------------------------

LEARN = {
    "sac": OffPolicyConfig(algo="sac"),
    "td3": OffPolicyConfig(algo="td3"),
}


@pytest.mark.slow
@pytest.mark.parametrize("algo", LEARN)
def test_sac_and_td3_solve_pendulum_on_three_seeds(algo):
    """The notebook's budget (5,000 steps): the final greedy policy's mean return over 10 episodes >= -200 on three
    seeds other than the notebook's 0-2 (the defaults were tuned on seeds 100-104; on seeds 10-17 both held 8/8)."""
    results = run_parallel([functools.partial(train_off_policy, LEARN[algo], seed=s) for s in (10, 11, 12)])
    finals = [r.evaluations.final_return for r in results]
    assert min(finals) >= -200, finals
