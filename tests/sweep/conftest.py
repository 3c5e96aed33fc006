"""The ``toy`` fixture: registers ``tests.sweep.helpers.toy_train`` as trainer "toy" and builds its grids."""

import pytest

from course_lib.sweep import TRAINERS, Grid
from course_lib.sweep.grid import TrainerSpec


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(TRAINERS, "toy", TrainerSpec("tests.sweep.helpers:toy_train", "tests.sweep.helpers:ToyConfig"))

    def grid(mode: str, marker_dir, seeds=(0, 1, 2)) -> Grid:
        return Grid(
            trainers={"toy": {"mode": [mode]}},
            envs=["CartPole-v1"],
            seeds=list(seeds),
            base={"marker_dir": str(marker_dir)},
        )

    return grid
