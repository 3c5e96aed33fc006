"""SymPy: soft updates are an exponential moving average; the seed's §4.2.3 'derivation' is circular."""

import pytest

from course_lib.derivations import target as dt


def test_ema_closed_form():
    assert dt.check_ema_closed_form(8)


def test_ema_weights_sum_to_one_for_symbolic_n():
    assert dt.check_ema_weights_sum_to_one()


def test_seed_derivation_is_circular_and_outputs_are_not_averaged():
    assert dt.check_seed_is_circular()
    assert dt.check_output_is_not_averaged()


@pytest.mark.parametrize("tau, expected", [(0.5, 1.0), (0.005, 138.28), (1 - 0.5**0.1, 10.0)])
def test_half_life(tau, expected):
    assert dt.half_life(tau) == pytest.approx(expected, rel=1e-3)
