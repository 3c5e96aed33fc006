"""The MAML meta-gradient three ways: SymPy's derivation, course_lib.meta.maml (autograd),
and central finite differences of the meta-objective; and an independent nested torch.func.grad."""

import numpy as np
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.derivations import maml as M
from course_lib.meta.maml import adapt, batched_mlp, maml_meta_gradient, task_losses
from course_lib.meta.tasks import TaskBatch

small = st.floats(-2, 2, allow_nan=False).map(lambda v: round(v, 3))
points = st.lists(st.tuples(small, small), min_size=2, max_size=4)


def as_task(xs, ys, xq, yq) -> TaskBatch:
    t = lambda v: torch.tensor(v, dtype=torch.float64).view(1, -1, 1)  # noqa: E731
    return TaskBatch(torch.ones(1), torch.zeros(1), t(xs), t(ys), t(xq), t(yq))


def linear_params(wv, bv):
    return {"w0": torch.tensor([[wv]], dtype=torch.float64), "b0": torch.tensor([bv], dtype=torch.float64)}


@settings(max_examples=25, deadline=None)
@given(points, points, small, small, st.floats(0.001, 0.3))
def test_meta_gradient_sympy_autograd_and_finite_differences_agree(support, query, wv, bv, av):
    xs, ys = zip(*support)
    xq, yq = zip(*query)
    terms = M.meta_gradient_terms(*(list(map(sp.nsimplify, v)) for v in (xs, ys, xq, yq)))
    sym = np.array(M.evaluate(terms["formula"], wv, bv, av))
    sym_fo = np.array(M.evaluate(terms["first_order"], wv, bv, av))
    task = as_task(xs, ys, xq, yq)
    g, _ = maml_meta_gradient(batched_mlp, linear_params(wv, bv), task, av, 1)
    auto = np.array([g["w0"].item(), g["b0"].item()])
    g_fo, _ = maml_meta_gradient(batched_mlp, linear_params(wv, bv), task, av, 1, first_order=True)
    auto_fo = np.array([g_fo["w0"].item(), g_fo["b0"].item()])

    def objective(wx, bx):
        p = adapt(batched_mlp, linear_params(wx, bx), task.x_support, task.y_support, av, 1)
        return task_losses(batched_mlp, p, task.x_query, task.y_query).item()

    eps = 1e-6
    fd = np.array(
        [
            (objective(wv + eps, bv) - objective(wv - eps, bv)) / (2 * eps),
            (objective(wv, bv + eps) - objective(wv, bv - eps)) / (2 * eps),
        ]
    )
    np.testing.assert_allclose(auto, sym, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(fd, sym, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(auto_fo, sym_fo, rtol=1e-8, atol=1e-9)
    # first-order MAML differs from MAML by exactly alpha * H * grad L_q(theta')
    H = np.array(terms["hessian"].tolist(), dtype=float)
    np.testing.assert_allclose(auto - auto_fo, -av * H @ sym_fo, rtol=1e-7, atol=1e-9)


def test_symbolic_formula_and_first_order_gap():
    xs, ys = [sp.Rational(1, 2), -1, 2], [1, 0, sp.Rational(3, 2)]
    xq, yq = [0, 1], [sp.Rational(1, 3), 2]
    assert M.check_meta_gradient_formula(xs, ys, xq, yq)
    assert M.check_first_order_drops_the_hessian_term(xs, ys, xq, yq)


def test_second_order_matches_nested_torch_func_grad_on_an_mlp():
    """An independent computation: nested torch.func.grad, second order by construction."""
    from course_lib.meta.maml import init_mlp
    from course_lib.meta.tasks import SinusoidFamily

    g = torch.Generator().manual_seed(0)
    params = init_mlp((1, 16, 16, 1), g)
    tasks = SinusoidFamily().sample(5, 10, 10, g)

    def meta_loss(theta):
        def support_loss(q):
            return task_losses(batched_mlp, q, tasks.x_support, tasks.y_support).sum()

        p = {k: v.expand(5, *v.shape) for k, v in theta.items()}
        for _ in range(2):
            grads = torch.func.grad(support_loss)(p)
            p = {k: p[k] - 0.01 * grads[k] for k in p}
        return task_losses(batched_mlp, p, tasks.x_query, tasks.y_query).mean()

    ref = torch.func.grad(meta_loss)(params)
    ours, _ = maml_meta_gradient(batched_mlp, params, tasks, 0.01, 2)
    fo, _ = maml_meta_gradient(batched_mlp, params, tasks, 0.01, 2, first_order=True)
    for k in params:
        torch.testing.assert_close(ours[k], ref[k], rtol=1e-4, atol=1e-6)
    assert any((fo[k] - ref[k]).abs().max() > 1e-6 for k in params), "first order must differ on an MLP"
