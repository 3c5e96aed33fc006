"""The evaluation rollout, the evaluation schedule and SolveTracker."""

import pytest
import torch

from course_lib.rl.evaluation import EvalSchedule, SolveTracker, evaluate


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


def test_eval_schedule_fires_once_per_interval_and_at_the_end():
    sched = EvalSchedule(4000)
    fired = [s for s in range(256, 20_001, 256) if sched.due(s)]
    assert fired == [4096, 8192, 12032, 16128]  # the first step at or past each multiple of 4,000
    tracker = SolveTracker()
    assert EvalSchedule.final_due(tracker, 100)
    tracker.record(100, 1.0, 20.0)
    assert not EvalSchedule.final_due(tracker, 100) and EvalSchedule.final_due(tracker, 200)
    assert not any(EvalSchedule(0).due(s) for s in range(0, 10_000, 100))


def test_solve_tracker_lower_is_better_and_no_threshold():
    t = SolveTracker(0.5, higher_is_better=False)
    for steps, loss in [(10, 2.0), (20, 0.4), (30, 0.6)]:
        t.record(steps, 0.0, loss)
    assert t.first_solved == (20, 0.0) and t.stable_after_solve == pytest.approx(0.5)
    assert t.steps == [10, 20, 30] and t.scores == [2.0, 0.4, 0.6]
    none = SolveTracker(None)
    none.record(1, 0.0, 1e9)
    assert none.first_solved is None and none.final_return == 1e9


# ---------------------------------------------------------------- bad inputs, refused with the argument named
from tests.bad_inputs import bad, refused  # noqa: E402


def _zeros(obs):
    return torch.zeros(len(obs), dtype=torch.long)


BAD_INPUTS = [
    bad("evaluate-episodes-zero", lambda: evaluate(_zeros, "CartPole-v1", 0), ValueError, "n_episodes"),
    bad("evaluate-seed-negative", lambda: evaluate(_zeros, "CartPole-v1", 2, seed=-1), ValueError, "seed"),
    bad("evaluate-act-not-callable", lambda: evaluate("greedy", "CartPole-v1", 2), TypeError, "act"),
    bad("evaluate-unknown-env", lambda: evaluate(_zeros, "CartPole-v7", 2), ValueError, "env_id"),
    bad(
        "evaluate-wrong-action-count",
        lambda: evaluate(lambda o: torch.zeros(1, dtype=torch.long), "CartPole-v1", 3),
        ValueError,
        "act",
        "(3,)",
    ),
    bad("tracker-threshold-str", lambda: SolveTracker("475"), TypeError, "threshold"),
    bad("tracker-flag-str", lambda: SolveTracker(475.0, higher_is_better="yes"), TypeError, "higher_is_better"),
    bad("tracker-record-nan", lambda: SolveTracker(475.0).record(100, 1.0, float("nan")), ValueError, "score"),
    bad("tracker-record-steps-negative", lambda: SolveTracker(475.0).record(-1, 1.0, 10.0), ValueError, "steps"),
    bad("schedule-every-negative", lambda: EvalSchedule(-5), ValueError, "every"),
    bad("schedule-every-float", lambda: EvalSchedule(1000.0), TypeError, "every"),
]


@pytest.mark.parametrize("call, exc, words", BAD_INPUTS)
def test_bad_input_is_refused_clearly(call, exc, words):
    refused(call, exc, words)
