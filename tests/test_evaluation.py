"""IQM, bootstrap confidence intervals, SolveTracker and the evaluation rollout."""

import numpy as np
import pytest
import torch
from scipy import stats

from course_lib.evaluation import SolveTracker, bootstrap_ci, evaluate, iqm


def test_iqm_is_the_mean_of_the_middle_half():
    x = np.array([0.0, 1, 2, 3, 4, 5, 6, 1000])
    assert iqm(x) == pytest.approx(np.mean([2, 3, 4, 5]))
    assert iqm(x) == pytest.approx(stats.trim_mean(x, 0.25))


def test_bootstrap_ci_covers_the_estimate_and_is_reproducible():
    rng = np.random.default_rng(0)
    scores = rng.normal(10, 2, size=20)
    est, lo, hi = bootstrap_ci(scores)
    assert lo < est < hi and hi - lo < 4
    assert bootstrap_ci(scores) == (est, lo, hi)
    # stratified over two tasks: each column is resampled on its own
    est2, lo2, hi2 = bootstrap_ci(np.stack([scores, scores + 100], axis=1), np.mean)
    assert lo2 < est2 < hi2
    assert bootstrap_ci([5.0, 5.0, 5.0]) == (5.0, 5.0, 5.0)


def test_bootstrap_ci_coverage_is_near_nominal():
    rng = np.random.default_rng(1)
    hits = 0
    for _ in range(200):
        _, lo, hi = bootstrap_ci(rng.normal(0, 1, size=30), np.mean, n_resamples=500, seed=int(rng.integers(1 << 30)))
        hits += lo <= 0 <= hi
    assert 0.88 <= hits / 200 <= 0.99


@pytest.mark.parametrize("bad, exc", [([1.0], ValueError), ([[[1.0]]], ValueError)])
def test_bootstrap_bad_input(bad, exc):
    with pytest.raises(exc, match="scores must have shape"):
        bootstrap_ci(bad)


def test_iqm_bad_input():
    with pytest.raises(ValueError, match="not be empty"):
        iqm([])
    with pytest.raises(ValueError, match="finite"):
        iqm([1.0, float("nan")])


def test_solve_tracker():
    t = SolveTracker(475)
    for steps, r in [(4000, 100), (8000, 480), (12000, 400), (16000, 500)]:
        t.record(steps, steps / 1000, r)
    assert t.first_solved == (8000, 8.0)
    assert t.stable_after_solve == pytest.approx(2 / 3)
    assert t.final_return == 500
    assert SolveTracker().first_solved is None and SolveTracker().stable_after_solve is None


def test_evaluate_runs_one_episode_per_env():
    returns = evaluate(lambda o: torch.zeros(len(o), dtype=torch.long), "CartPole-v1", 5)
    assert returns.shape == (5,) and (returns < 20).all() and (returns >= 8).all()
    with pytest.raises(ValueError, match="n_episodes must be > 0"):
        evaluate(lambda o: o, "CartPole-v1", 0)


def test_binned_means_of_a_calibrated_predictor_follow_the_diagonal():
    from course_lib.evaluation import binned_means

    g = torch.Generator().manual_seed(0)
    pred = torch.rand(4000, generator=g) * 100
    target = pred + 20 * torch.randn(4000, generator=g)  # noisy single outcomes around the mean
    mv, mt = binned_means(pred, target, 8)
    assert (mt - mv).abs().max() < 3 and torch.all(mv[1:] > mv[:-1])
    with pytest.raises(ValueError, match="1-D of the same shape"):
        binned_means(pred, target[:10])
    with pytest.raises(ValueError, match="at least bins"):
        binned_means(pred[:3], target[:3], 8)


def test_eval_schedule_fires_once_per_interval_and_at_the_end():
    from course_lib.evaluation import EvalSchedule, SolveTracker

    sched = EvalSchedule(4000)
    fired = [s for s in range(256, 20_001, 256) if sched.due(s)]
    assert fired == [4096, 8192, 12032, 16128]  # the first step at or past each multiple of 4,000
    tracker = SolveTracker()
    assert EvalSchedule.final_due(tracker, 100)
    tracker.record(100, 1.0, 20.0)
    assert not EvalSchedule.final_due(tracker, 100) and EvalSchedule.final_due(tracker, 200)
    assert not any(EvalSchedule(0).due(s) for s in range(0, 10_000, 100))


def test_autocorrelation_of_an_ar1_process_is_phi_to_the_k():
    from course_lib.evaluation import autocorrelation

    rng = np.random.default_rng(0)
    phi, n = 0.8, 50_000
    x = np.zeros(n)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + rng.normal()
    acf = autocorrelation(x, 5)
    np.testing.assert_allclose(acf, phi ** np.arange(1, 6), atol=0.03)
    assert abs(autocorrelation(rng.normal(size=n), 1)[0]) < 4 / np.sqrt(n)  # white noise
    with pytest.raises(ValueError, match="constant"):
        autocorrelation(np.ones(100), 3)


def test_lean_policy():
    import torch

    from course_lib.rl.policies import lean_policy

    obs = torch.tensor([[0.0, 0.0, 0.1, 0.0], [0.0, 0.0, -0.1, 0.0], [0.0, 0.0, 0.05, -0.2]])
    assert lean_policy(obs, eps=0.0).tolist() == [1, 0, 0]
    many = lean_policy(obs[:1].repeat(10_000, 1), eps=1.0, generator=torch.Generator().manual_seed(0))
    assert 0.45 < many.float().mean() < 0.55  # all random
    with pytest.raises(ValueError, match="eps"):
        lean_policy(obs, eps=2.0)
