"""Policy heads: shapes, sampling that matches the probabilities, seeded sampling, clear errors."""

import numpy as np
import pytest
import torch

from course_lib.rl.policies import BernoulliPolicy, CategoricalPolicy, GaussianPolicy, ValueNet, mlp


def test_categorical_sampling_matches_probabilities_and_is_seeded():
    torch.manual_seed(0)
    pi = CategoricalPolicy(4, 3, hidden=(8,))
    with torch.no_grad():
        pi.net[-1].weight.mul_(300)  # make the distribution far from uniform
    obs = torch.randn(1, 4).expand(20000, 4)
    a = pi.act(obs, generator=torch.Generator().manual_seed(1))
    freq = torch.bincount(a, minlength=3).double() / a.numel()
    probs = pi.log_prob(obs[:1].expand(3, 4), torch.arange(3)).exp().double()
    assert torch.allclose(freq, probs, atol=0.015)
    b = pi.act(obs, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    assert pi.act(obs[:5], deterministic=True).tolist() == [int(probs.argmax())] * 5


def test_bernoulli_log_prob_is_stable_and_matches_sigmoid():
    pi = BernoulliPolicy(2, hidden=())
    with torch.no_grad():
        pi.net[0].weight.copy_(torch.tensor([[100.0, 0.0]]))
        pi.net[0].bias.zero_()
    obs = torch.tensor([[1.0, 0.0], [0.01, 0.0]])
    lp0 = pi.log_prob(obs, torch.tensor([0, 0])).detach()
    assert torch.isfinite(lp0).all() and lp0[0] == pytest.approx(-100.0, abs=1e-3)
    assert lp0[1].exp().item() == pytest.approx(1 - torch.sigmoid(torch.tensor(1.0)).item(), rel=1e-5)
    assert (pi.entropy(obs) >= 0).all()


def test_gaussian_log_prob_and_entropy_match_torch_distributions():
    pi = GaussianPolicy(3, 2, hidden=(5,))
    obs, act = torch.randn(7, 3), torch.randn(7, 2)
    mu = pi.mean(obs)
    ref = torch.distributions.Normal(mu, pi.log_std.exp())
    torch.testing.assert_close(pi.log_prob(obs, act), ref.log_prob(act).sum(-1))
    torch.testing.assert_close(pi.entropy(obs), ref.entropy().sum(-1))
    assert pi.act(obs, generator=torch.Generator().manual_seed(0)).shape == (7, 2)


def test_value_net_shape_and_bad_inputs():
    v = ValueNet(4)
    assert v(torch.randn(5, 4)).shape == (5,)
    with pytest.raises(ValueError, match=r"obs must have shape \(batch, 4\)"):
        v(torch.randn(4))
    with pytest.raises(TypeError, match="obs must be a torch.Tensor"):
        CategoricalPolicy(4, 2).act([[0.0] * 4])
    with pytest.raises(ValueError, match="hidden must be a sequence of positive ints"):
        mlp(4, (0,), 2)
    with pytest.raises(ValueError, match="in_dim must be a positive int"):
        mlp(-1, (8,), 2)


def test_lean_policy():
    import torch

    from course_lib.rl.policies import lean_policy

    obs = torch.tensor([[0.0, 0.0, 0.1, 0.0], [0.0, 0.0, -0.1, 0.0], [0.0, 0.0, 0.05, -0.2]])
    assert lean_policy(obs, eps=0.0).tolist() == [1, 0, 0]
    many = lean_policy(obs[:1].repeat(10_000, 1), eps=1.0, generator=torch.Generator().manual_seed(0))
    assert 0.45 < many.float().mean() < 0.55  # all random
    with pytest.raises(ValueError, match="eps"):
        lean_policy(obs, eps=2.0)


# ---------------------------------------------------------------- bad inputs, refused with the argument named
from course_lib.rl.policies import QNet, lean_policy  # noqa: E402
from tests.bad_inputs import bad, refused  # noqa: E402

_CAT = CategoricalPolicy(4, 2, (8,), generator=torch.Generator().manual_seed(0))
_BER = BernoulliPolicy(4, (8,), generator=torch.Generator().manual_seed(0))
_GAU = GaussianPolicy(4, 1, (8,), generator=torch.Generator().manual_seed(0))
_Q = QNet(4, 2, (8,), generator=torch.Generator().manual_seed(0))
_O = torch.zeros(5, 4)
BAD_INPUTS = [
    bad("mlp-in-dim-zero", lambda: mlp(0, (8,), 2), ValueError, "in_dim"),
    bad("mlp-out-dim-float", lambda: mlp(3, (8,), 2.0), ValueError, "out_dim"),
    bad("mlp-hidden-negative", lambda: mlp(3, (8, -1), 2), ValueError, "hidden"),
    bad("mlp-hidden-int", lambda: mlp(3, 8, 2), TypeError, "hidden"),
    bad("cat-n-actions-zero", lambda: CategoricalPolicy(4, 0), ValueError, "n_actions"),
    bad("cat-obs-dim-str", lambda: CategoricalPolicy("4", 2), TypeError, "obs_dim"),
    bad("cat-obs-wrong-width", lambda: _CAT.logits(torch.zeros(5, 3)), ValueError, "obs"),
    bad("cat-obs-1d", lambda: _CAT.logits(torch.zeros(4)), ValueError, "obs"),
    bad("cat-obs-numpy", lambda: _CAT.logits(np.zeros((5, 4))), TypeError, "obs"),
    bad("cat-obs-int", lambda: _CAT.logits(torch.zeros(5, 4, dtype=torch.long)), TypeError, "obs"),
    bad("cat-actions-column", lambda: _CAT.log_prob(_O, torch.zeros(5, 1, dtype=torch.long)), ValueError, "actions"),
    bad("cat-actions-out-of-range", lambda: _CAT.log_prob(_O, torch.full((5,), 2)), ValueError, "actions", "[0, 2)"),
    bad("cat-actions-negative", lambda: _CAT.log_prob(_O, torch.full((5,), -1)), ValueError, "actions"),
    bad("cat-actions-float-fraction", lambda: _CAT.log_prob(_O, torch.full((5,), 0.5)), ValueError, "actions"),
    bad("ber-actions-two", lambda: _BER.log_prob(_O, torch.full((5,), 2.0)), ValueError, "actions"),
    bad("ber-actions-shape", lambda: _BER.log_prob(_O, torch.zeros(4)), ValueError, "actions"),
    bad("gauss-actions-shape", lambda: _GAU.log_prob(_O, torch.zeros(5)), ValueError, "actions"),
    bad("gauss-action-dim-zero", lambda: GaussianPolicy(4, 0), ValueError, "act_dim"),
    bad("value-net-obs-width", lambda: ValueNet(4)(torch.zeros(5, 2)), ValueError, "obs"),
    bad("qnet-obs-width", lambda: _Q(torch.zeros(5, 3)), ValueError, "obs"),
    bad("qnet-act-obs-width", lambda: _Q.act(torch.zeros(5, 3)), ValueError, "obs"),
    bad("lean-eps-above-1", lambda: lean_policy(_O, eps=1.5), ValueError, "eps"),
    bad("lean-obs-width", lambda: lean_policy(torch.zeros(5, 2)), ValueError, "obs"),
]


@pytest.mark.parametrize("call, exc, words", BAD_INPUTS)
def test_bad_input_is_refused_clearly(call, exc, words):
    refused(call, exc, words)
