"""RL²: input encoding, the step-by-step unroll equals the fused sequence pass, hidden state reset per task,
the actor-critic loss (SymPy, autograd, finite differences), config errors and the trainer contract."""

import pytest
import sympy as sp
import torch

from course_lib.envs.bandits import sample_bandit_tasks
from course_lib.meta.rl2 import RL2Config, RL2Policy, a2c_loss, rollout, train_rl2
from course_lib.rl.advantages import gae


def _policy(seed=0, k=3, horizon=6, hidden=8):
    return RL2Policy(k, horizon, hidden, generator=torch.Generator().manual_seed(seed))


def test_inputs_encode_previous_action_reward_and_time():
    policy = _policy(k=3, horizon=4)
    x = policy.inputs(torch.tensor([-1, 2]), torch.tensor([0.0, 1.0]), 1)
    torch.testing.assert_close(x, torch.tensor([[0, 0, 0, 0, 0.25], [0, 0, 1, 1, 0.25]]))


def test_step_by_step_unroll_equals_one_sequence_pass_and_starts_from_zero():
    policy = _policy()
    probs = sample_bandit_tasks(5, 3, torch.Generator().manual_seed(1))
    ep = rollout(policy, probs, torch.Generator().manual_seed(2))
    assert ep.inputs.shape == (5, 6, 5) and ep.actions.shape == ep.rewards.shape == (5, 6)
    assert (ep.inputs[:, 0] == torch.tensor([0, 0, 0, 0, 0.0])).all()  # no previous pull at t = 0
    logits_seq, values_seq, _ = policy(ep.inputs)
    h = None
    for t in range(6):
        logits, values, h = policy(ep.inputs[:, t : t + 1], h)
        torch.testing.assert_close(logits[:, 0], logits_seq[:, t])
        torch.testing.assert_close(values[:, 0], values_seq[:, t])
    again = rollout(policy, probs, torch.Generator().manual_seed(2))  # no state kept between calls
    assert torch.equal(again.actions, ep.actions)
    # the recorded inputs are the previous pull's action and reward
    torch.testing.assert_close(ep.inputs[:, 1:, :3].argmax(-1), ep.actions[:, :-1])
    torch.testing.assert_close(ep.inputs[:, 1:, 3], ep.rewards[:, :-1])


def test_entropy_gradient_in_sympy():
    z = sp.symbols("z0:3", real=True)
    p = [sp.exp(zi) / sum(sp.exp(zj) for zj in z) for zi in z]
    H = -sum(pi * sp.log(pi) for pi in p)
    for j in range(3):  # dH/dz_j = -p_j (log p_j + H)
        gap = sp.diff(H, z[j]) + p[j] * (sp.log(p[j]) + H)
        assert abs(float(gap.subs({z[0]: 0.3, z[1]: -1.2, z[2]: 0.7}))) < 1e-12
    for a in range(3):  # the score term: d log p_a / dz_j = [j == a] - p_j
        for j in range(3):
            assert sp.simplify(sp.diff(sp.log(p[a]), z[j]) - (int(j == a) - p[j])) == 0


def test_a2c_loss_gradient_three_ways():
    """The gradient w.r.t. the policy head's bias (score and entropy terms) and the value head's bias (the value
    term, with its target held constant): closed form (SymPy-checked), autograd, and central finite differences."""
    policy = _policy().double()
    probs = sample_bandit_tasks(4, 3, torch.Generator().manual_seed(3)).double()
    ep = rollout(policy, probs, torch.Generator().manual_seed(4))
    ep.inputs, ep.rewards = ep.inputs.double(), ep.rewards.double()
    gamma, lam, c_v, beta = 0.9, 0.8, 0.3, 0.05
    loss, _ = a2c_loss(policy, ep, gamma, lam, c_v, beta)
    grad = torch.autograd.grad(loss, policy.pi.bias)[0]
    with torch.no_grad():
        logits, values, _ = policy(ep.inputs)
        v = values.T
        done = torch.zeros_like(v, dtype=torch.bool)
        done[-1] = True
        adv, target = gae(
            ep.rewards.T, v, torch.cat([v[1:], torch.zeros_like(v[:1])]), done, torch.zeros_like(done), gamma, lam
        )
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)  # normalised over the batch, held constant
        p = torch.softmax(logits, -1)
        H = -(p * p.log()).sum(-1, keepdim=True)
        onehot = torch.nn.functional.one_hot(ep.actions, 3).double()
        # d/dz of -A log p_a is -A (onehot - p); of -beta H is beta p (log p + H)
        closed = (-adv.T.unsqueeze(-1) * (onehot - p) + beta * p * (p.log() + H)).mean((0, 1))
        value_loss = ((values - target.T) ** 2).mean()
        expected_loss = -(adv.T * p.gather(-1, ep.actions.unsqueeze(-1)).squeeze(-1).log()).mean()
        expected_loss = expected_loss + c_v * value_loss - beta * H.mean()
    torch.testing.assert_close(loss.detach(), expected_loss)
    torch.testing.assert_close(grad, closed)
    h = 1e-6
    fd = []
    for j in range(3):
        with torch.no_grad():
            policy.pi.bias[j] += h
            up = a2c_loss(policy, ep, gamma, lam, c_v, beta)[0]
            policy.pi.bias[j] -= 2 * h
            down = a2c_loss(policy, ep, gamma, lam, c_v, beta)[0]
            policy.pi.bias[j] += h
        fd.append((up - down) / (2 * h))
    torch.testing.assert_close(grad, torch.stack(fd), rtol=1e-5, atol=1e-8)
    # the value term: d/d(value-head bias) = 2 c_v mean(V - G), with G held constant (autograd)
    grad_v = torch.autograd.grad(a2c_loss(policy, ep, gamma, lam, c_v, beta)[0], policy.v.bias)[0]
    torch.testing.assert_close(grad_v, (2 * c_v * (values - target.T).mean()).reshape(1))
    # finite differences recompute G from V, so use gamma = lam = 0, where G_t = r_t does not depend on V
    # (and the normalised advantage r - V does not change when every V shifts): there they must agree too
    with torch.no_grad():
        policy.v.bias += h
        up = a2c_loss(policy, ep, 0.0, 0.0, c_v, beta)[0]
        policy.v.bias -= 2 * h
        down = a2c_loss(policy, ep, 0.0, 0.0, c_v, beta)[0]
        policy.v.bias += h
    fd_v = ((up - down) / (2 * h)).reshape(1)
    torch.testing.assert_close(fd_v, (2 * c_v * (values - ep.rewards).mean()).reshape(1), rtol=1e-5, atol=1e-8)


def test_config_errors_name_the_argument():
    with pytest.raises(ValueError, match="k must be >= 2"):
        RL2Config(k=1)
    with pytest.raises(TypeError, match="hidden"):
        RL2Config(hidden=6.5)
    with pytest.raises(ValueError, match="gamma"):
        RL2Config(gamma=2.0)
    with pytest.raises(ValueError, match="entropy_end"):
        RL2Config(entropy_end=-0.1)
    with pytest.raises(ValueError, match="lr_end"):
        RL2Config(lr_end=0.0)
    with pytest.raises(TypeError, match="config must be a RL2Config"):
        train_rl2(RL2Config, seed=0)


def test_trainer_contract_on_a_tiny_run():
    cfg = RL2Config(k=3, horizon=10, hidden=8, updates=3, batch_tasks=4, eval_tasks=5, eval_every=80)
    result = train_rl2(cfg, seed=0, callback=lambda r: len(r.log))
    assert [row["step"] for row in result.log] == [40, 80, 120]
    assert result.evaluations.steps == [80, 120] and [c for _, c in result.callback_log] == [2, 3]
    assert len(result.episodes) == 12 and {"policy_loss", "value_loss", "entropy"} <= set(result.log[0])
    again = train_rl2(cfg, seed=0)
    for p, q in zip(result.policy.parameters(), again.policy.parameters()):
        torch.testing.assert_close(p, q)


def test_step_size_follows_a_cosine_to_lr_end():
    cfg = RL2Config(k=3, horizon=5, hidden=8, updates=5, batch_tasks=4, eval_tasks=5, lr=1e-2, lr_end=1e-3)
    lrs = [row["lr"] for row in train_rl2(cfg, seed=1).log]
    assert lrs[0] == pytest.approx(1e-2) and lrs[-1] == pytest.approx(1e-3)
    assert lrs[2] == pytest.approx(5.5e-3) and all(a > b for a, b in zip(lrs, lrs[1:]))
    constant = RL2Config(k=3, horizon=5, hidden=8, updates=5, batch_tasks=4, eval_tasks=5, lr=1e-2, lr_end=None)
    assert {row["lr"] for row in train_rl2(constant, seed=1).log} == {1e-2}  # lr_end=None: a constant step


def test_rollout_samples_from_the_zero_state_policy_that_the_loss_sees():
    """The actions rollout draws come from the same h_t, starting at zero, that a2c_loss differentiates."""
    policy = _policy()
    probs = sample_bandit_tasks(5, 3, torch.Generator().manual_seed(1))
    ep = rollout(policy, probs, torch.Generator().manual_seed(2))
    logits, _, _ = policy(ep.inputs)  # h = None: the zero state, as in a2c_loss
    g = torch.Generator().manual_seed(2)  # replay rollout's draws: the action's uniform, then the coins
    for t in range(policy.horizon):
        u = torch.rand(5, 1, generator=g)
        a = (torch.softmax(logits[:, t], 1).cumsum(1) < u).sum(1).clamp(max=policy.k - 1)
        assert torch.equal(a, ep.actions[:, t])
        torch.rand(5, generator=g)
