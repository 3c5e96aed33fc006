"""A2C/PPO: the clipped objective, configuration errors, checkpoints, and that PPO solves CartPole."""

import pytest
import torch

from course_lib import checkpoint
from course_lib.evaluation import evaluate
from course_lib.rl.actor_critic import ActorCriticConfig, load_agent, ppo_policy_loss, save_agent, train_actor_critic


def test_ppo_clip_has_zero_gradient_outside_the_trust_region():
    for adv, ratio, grad_zero in [(1.0, 1.5, True), (1.0, 0.9, False), (-1.0, 0.5, True), (-1.0, 1.1, False)]:
        logp = torch.tensor([float(torch.log(torch.tensor(ratio)))], requires_grad=True)
        loss = ppo_policy_loss(logp, torch.zeros(1), torch.tensor([adv]), 0.2)
        (g,) = torch.autograd.grad(loss, logp)
        assert (g.abs().item() == 0) == grad_zero, (adv, ratio)
    # inside the region it is the plain surrogate: -ratio * A
    lp = torch.tensor([0.05])
    assert ppo_policy_loss(lp, torch.zeros(1), torch.tensor([2.0]), 0.2).item() == pytest.approx(
        -2 * torch.exp(lp).item()
    )


@pytest.mark.parametrize(
    "kwargs, exc, words",
    [
        ({"algo": "trpo"}, ValueError, "algo must be one of"),
        ({"clip_range": 1.0}, ValueError, "clip_range"),
        ({"gae_lambda": 2.0}, ValueError, "gae_lambda"),
        ({"minibatch_size": 1024}, ValueError, "minibatch_size (1024) must be at most"),
        ({"n_epochs": 0}, ValueError, "n_epochs must be > 0"),
        ({"ent_coef": -0.1}, ValueError, "ent_coef must be >= 0"),
        ({"hidden": (64, -1)}, ValueError, "hidden must be a tuple"),
    ],
)
def test_config_errors(kwargs, exc, words):
    with pytest.raises(exc) as info:
        ActorCriticConfig(**kwargs)
    assert words in str(info.value)


def test_checkpoint_round_trip_is_atomic_and_safe(tmp_path):
    result = train_actor_critic(ActorCriticConfig(total_steps=512, n_epochs=1), seed=0)
    path = tmp_path / "sub" / "agent.pt"
    save_agent(result, path)
    assert path.exists() and not list(path.parent.glob(".*.tmp"))
    policy, value, config = load_agent(path)
    obs = torch.randn(7, 4)
    torch.testing.assert_close(policy.logits(obs), result.policy.logits(obs))
    torch.testing.assert_close(value(obs), result.value(obs))
    assert config == result.config
    # weights_only=True refuses arbitrary pickled objects
    torch.save({"evil": object()}, tmp_path / "evil.pt")
    with pytest.raises(Exception):
        checkpoint.load(tmp_path / "evil.pt")
    with pytest.raises(FileNotFoundError):
        checkpoint.load(tmp_path / "missing.pt")
    with pytest.raises(TypeError, match="payload must be a dict"):
        checkpoint.save([1, 2], tmp_path / "x.pt")


@pytest.mark.slow
@pytest.mark.parametrize("seed", [4])
def test_ppo_solves_cartpole(seed):
    torch.set_num_threads(1)
    result = train_actor_critic(ActorCriticConfig(total_steps=50_000), seed=seed)
    returns = evaluate(lambda o: result.policy.act(o, deterministic=True), "CartPole-v1", 20, seed=123)
    assert returns.mean() >= 475, returns
