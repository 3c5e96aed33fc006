"""Tests of course_lib.sweep.results: the results file refuses another grid's records and damaged lines."""

import pytest

from course_lib.sweep import read_records, run_sweep
from course_lib.sweep.results import ResultsWriter
from tests.sweep.helpers import tiny_grid


def test_results_of_another_grid_fail_before_running(tmp_path):
    path = tmp_path / "r.jsonl"
    with ResultsWriter(path) as w:
        w.write({"grid_hash": "someothergrid", "trial_id": "x", "status": "ok"})
    with pytest.raises(ValueError, match="written by a different grid"):
        run_sweep(tiny_grid(), path, workers=1, progress=False)
    assert len(read_records(path)) == 1


def test_damaged_results_file_is_an_error(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"trial_id": "a"}\nnot json\n{"trial_id": "b"}\n')
    with pytest.raises(ValueError, match="line 2: not a JSON record"):
        read_records(path)
