"""MAML and friends: adaptation mechanics, module_forward, configuration errors, and a short learning check."""

import pytest
import torch

from course_lib.meta.maml import (
    MetaConfig,
    adapt,
    adaptation_curve,
    batched_mlp,
    init_mlp,
    meta_train,
    module_forward,
    reptile_meta_gradient,
    task_losses,
)
from course_lib.meta.tasks import SinusoidFamily


def test_adapt_takes_per_task_gradient_steps():
    g = torch.Generator().manual_seed(0)
    params = init_mlp((1, 8, 1), g)
    tasks = SinusoidFamily().sample(3, 10, 10, g)
    adapted = adapt(batched_mlp, params, tasks.x_support, tasks.y_support, 0.01, 1)
    for i in range(3):  # task i's copy moved along task i's own gradient
        p = {k: v.clone().requires_grad_() for k, v in params.items()}
        one = {k: v.unsqueeze(0) for k, v in p.items()}
        loss = task_losses(batched_mlp, one, tasks.x_support[i : i + 1], tasks.y_support[i : i + 1]).sum()
        grads = torch.autograd.grad(loss, list(p.values()))
        for (k, v), gk in zip(p.items(), grads):
            torch.testing.assert_close(adapted[k][i], (v - 0.01 * gk).detach())
    before = task_losses(
        batched_mlp, {k: v.expand(3, *v.shape) for k, v in params.items()}, tasks.x_support, tasks.y_support
    )
    after = task_losses(
        batched_mlp,
        adapt(batched_mlp, params, tasks.x_support, tasks.y_support, 0.01, 5),
        tasks.x_support,
        tasks.y_support,
    )
    assert (after < before).all()


def test_module_forward_matches_batched_mlp():
    net = torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    params = {"w0": net[0].weight, "b0": net[0].bias, "w1": net[2].weight, "b1": net[2].bias}
    named = dict(net.named_parameters())
    x = torch.randn(4, 6, 1)
    batched = {k: v.expand(4, *v.shape) for k, v in named.items()}
    mine = {k: v.expand(4, *v.shape) for k, v in params.items()}
    torch.testing.assert_close(module_forward(net)(batched, x), batched_mlp(mine, x))
    with pytest.raises(TypeError, match="module must be a torch.nn.Module"):
        module_forward(lambda x: x)


def test_reptile_direction_points_from_adapted_weights_to_theta():
    g = torch.Generator().manual_seed(0)
    params = init_mlp((1, 8, 1), g)
    tasks = SinusoidFamily().sample(4, 10, 10, g)
    direction, _ = reptile_meta_gradient(batched_mlp, params, tasks, 0.01, 3)
    x = torch.cat([tasks.x_support, tasks.x_query], 1)
    y = torch.cat([tasks.y_support, tasks.y_query], 1)
    adapted = adapt(batched_mlp, params, x, y, 0.01, 3)
    for k in params:
        torch.testing.assert_close(direction[k], params[k] - adapted[k].mean(0))


@pytest.mark.parametrize(
    "kwargs, exc, words",
    [
        ({"method": "maml++"}, ValueError, "method must be one of"),
        ({"iterations": 0}, ValueError, "iterations must be > 0"),
        ({"inner_lr": -0.1}, ValueError, "inner_lr must be > 0"),
        ({"final_lr_fraction": 2.0}, ValueError, "final_lr_fraction must be in (0, 1]"),
        ({"hidden": (40, 0)}, ValueError, "hidden must be a tuple of positive ints"),
        ({"meta_batch": 2.5}, TypeError, "meta_batch must be an int"),
    ],
)
def test_config_rejects_bad_values(kwargs, exc, words):
    with pytest.raises(exc) as info:
        MetaConfig(**kwargs)
    assert words in str(info.value)


def test_meta_train_rejects_bad_arguments():
    with pytest.raises(TypeError, match="config must be a MetaConfig"):
        meta_train({"method": "maml"}, seed=0)
    with pytest.raises(TypeError, match="seed must be an int"):
        meta_train(MetaConfig(iterations=1), seed=torch.Generator())
    with pytest.raises(TypeError, match="family must be a SinusoidFamily"):
        MetaConfig(family="sine")


@pytest.mark.parametrize("method, steps", [("maml", 1), ("fomaml", 1), ("reptile", 5), ("pretrain", 0)])
def test_every_method_lowers_held_out_error_in_a_short_run(method, steps):
    """300 meta-iterations: each method improves what it optimises (for pretrain: the unadapted fit)."""
    torch.set_num_threads(1)
    held_out = SinusoidFamily().sample(200, 10, 50, torch.Generator().manual_seed(99))
    untrained = meta_train(MetaConfig(method=method, iterations=1, outer_lr=1e-12), seed=0).params
    config = MetaConfig(method=method, iterations=300, inner_steps=max(steps, 1))
    result = meta_train(config, seed=0)
    before = adaptation_curve(untrained, held_out, 0.01, steps).mean(0)
    after = adaptation_curve(result.params, held_out, 0.01, steps).mean(0)
    assert after[steps] < 0.85 * before[steps], (method, before, after)
    assert len(result.log) == 300 and result.train_seconds > 0 and result.episodes == []
    assert result.evaluations.steps == [300 * config.meta_batch]  # the final parameters, scored on held-out tasks


# ---------------------------------------------------------------- bad inputs, refused with the argument named
from course_lib.meta.maml import maml_meta_gradient  # noqa: E402
from tests.bad_inputs import bad, refused  # noqa: E402

_P = init_mlp((1, 8, 1), generator=torch.Generator().manual_seed(0))
_TASKS = SinusoidFamily().sample(3, 5, 5, torch.Generator().manual_seed(0))
_XS, _YS = _TASKS.x_support, _TASKS.y_support
BAD_INPUTS = [
    bad("init-sizes-one", lambda: init_mlp((4,)), ValueError, "sizes"),
    bad("init-sizes-zero", lambda: init_mlp((1, 0, 1)), ValueError, "sizes"),
    bad("adapt-alpha-negative", lambda: adapt(batched_mlp, _P, _XS, _YS, -0.1, 1), ValueError, "alpha"),
    bad("adapt-alpha-str", lambda: adapt(batched_mlp, _P, _XS, _YS, "0.01", 1), TypeError, "alpha"),
    bad("adapt-steps-negative", lambda: adapt(batched_mlp, _P, _XS, _YS, 0.01, -1), ValueError, "steps"),
    bad("adapt-y-shape", lambda: adapt(batched_mlp, _P, _XS, _YS[:, :4], 0.01, 1), ValueError, "y"),
    bad("adapt-x-2d", lambda: adapt(batched_mlp, _P, _XS[:, :, 0], _YS[:, :, 0], 0.01, 1), ValueError, "x"),
    bad(
        "adapt-y-nan",
        lambda: adapt(batched_mlp, _P, _XS, torch.full_like(_YS, float("nan")), 0.01, 1),
        ValueError,
        "y",
        "finite",
    ),
    bad("adapt-params-list", lambda: adapt(batched_mlp, list(_P.values()), _XS, _YS, 0.01, 1), TypeError, "params"),
    bad(
        "adapt-first-order-str",
        lambda: adapt(batched_mlp, _P, _XS, _YS, 0.01, 1, first_order="no"),
        TypeError,
        "first_order",
    ),
    bad("adapt-forward", lambda: adapt("mlp", _P, _XS, _YS, 0.01, 1), TypeError, "forward"),
    bad("maml-tasks-type", lambda: maml_meta_gradient(batched_mlp, _P, {"x": _XS}, 0.01), TypeError, "tasks"),
    bad("maml-steps-zero", lambda: maml_meta_gradient(batched_mlp, _P, _TASKS, 0.01, 0), ValueError, "steps"),
    bad("reptile-alpha-zero", lambda: reptile_meta_gradient(batched_mlp, _P, _TASKS, 0.0, 1), ValueError, "alpha"),
    bad("task-losses-shape", lambda: task_losses(batched_mlp, _P, _XS, _YS[:2]), ValueError, "y"),
    bad("module-forward-type", lambda: module_forward(lambda x: x), TypeError, "module"),
    bad("curve-steps-negative", lambda: adaptation_curve(_P, _TASKS, 0.01, -1), ValueError, "max_steps"),
    bad("config-method", lambda: MetaConfig(method="maml2"), ValueError, "method"),
    bad("config-final-lr", lambda: MetaConfig(final_lr_fraction=1.5), ValueError, "final_lr_fraction"),
    bad("config-family", lambda: MetaConfig(family="sinusoid"), TypeError, "family"),
    bad("config-meta-batch-zero", lambda: MetaConfig(meta_batch=0), ValueError, "meta_batch"),
    bad("train-seed-float", lambda: meta_train(MetaConfig(iterations=1), seed=0.5), TypeError, "seed"),
]


@pytest.mark.parametrize("call, exc, words", BAD_INPUTS)
def test_bad_input_is_refused_clearly(call, exc, words):
    refused(call, exc, words)


def test_maml_docstrings_use_the_course_notation_and_notebook_number():
    """Review 10-E1: the course writes tilde-theta for adapted weights (theta' is a target network's)."""
    from course_lib.meta import maml, tasks

    doc = maml.__doc__ + maml.maml_meta_gradient.__doc__ + maml.reptile_meta_gradient.__doc__
    assert "theta'" not in doc
    assert "notebook ``09``" not in maml.__doc__
    assert "varphi" not in tasks.__doc__ + tasks.SinusoidFamily.function.__doc__


def test_k_step_meta_gradient_of_a_linear_model_is_a_product_of_k_factors():
    """Review 10-E5: with k inner steps the meta-gradient is (I - alpha H)^k grad L^q(theta_k); H is constant for a
    linear model (nb10-06)."""
    import numpy as np

    from course_lib.meta.maml import batched_mlp
    from course_lib.meta.tasks import TaskBatch

    g = torch.Generator().manual_seed(0)
    xs, ys, xq, yq = (torch.randn(1, n, 1, generator=g, dtype=torch.float64) for n in (5, 5, 4, 4))
    task = TaskBatch(torch.ones(1), torch.zeros(1), xs, ys, xq, yq)
    w, b, alpha = 0.7, -0.3, 0.1
    params = {"w0": torch.tensor([[w]], dtype=torch.float64), "b0": torch.tensor([b], dtype=torch.float64)}
    x, y, x_q, y_q = (t.ravel().numpy() for t in (xs, ys, xq, yq))

    def grad(x, y, theta):  # gradient of mean (w x + b - y)^2 in (w, b)
        r = theta[0] * x + theta[1] - y
        return 2 * np.array([np.mean(r * x), np.mean(r)])

    hessian = 2 * np.array([[np.mean(x**2), np.mean(x)], [np.mean(x), 1.0]])
    for steps in (1, 2, 3):
        theta = np.array([w, b])
        for _ in range(steps):
            theta = theta - alpha * grad(x, y, theta)
        want = np.linalg.matrix_power(np.eye(2) - alpha * hessian, steps) @ grad(x_q, y_q, theta)
        got, _ = maml_meta_gradient(batched_mlp, params, task, alpha, steps=steps)
        assert np.allclose([got["w0"].item(), got["b0"].item()], want, rtol=1e-10, atol=1e-12), steps
