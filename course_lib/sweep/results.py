"""A sweep's results file: one JSON object per line, appended as each trial finishes.

Writes are append-only and durable: each record is one ``write`` of a whole line,
then ``flush`` and ``os.fsync``. A run killed mid-write can leave a partial last
line (no newline at its end); readers ignore it, and :class:`ResultsWriter` cuts it
off before appending, so the file stays one valid record per line.

Every record carries ``grid_hash`` (:attr:`course_lib.sweep.grid.Grid.hash`), ``trial_id``
and ``status`` (``"ok"`` or ``"error"``).
"""

from __future__ import annotations

import json
import os
import pathlib
from collections import Counter

__all__ = ["read_records", "ResultsWriter", "check_grid_hash", "trial_status"]


def read_records(path: str | pathlib.Path) -> list[dict]:
    """The records of a results file (``[]`` if it does not exist). A partial last line is ignored;
    a line that does not parse anywhere else means the file was damaged, and raises :class:`ValueError`."""
    path = pathlib.Path(path)
    if not path.exists():
        return []
    data = path.read_bytes()
    lines = data.split(b"\n")
    complete, partial = lines[:-1], lines[-1]  # after the last newline: b"" or a partial line
    records = []
    for i, line in enumerate(complete, 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}, line {i}: not a JSON record ({e}); the results file is damaged") from e
    del partial  # a record cut off by a killed run: ignored
    return records


def check_grid_hash(records: list[dict], grid_hash: str, path) -> None:
    """Raise :class:`ValueError` if any record was written by another grid."""
    other = sorted({r.get("grid_hash") for r in records} - {grid_hash}, key=str)
    if other:
        raise ValueError(
            f"results file {path} was written by a different grid (grid_hash {other}, this grid's is {grid_hash!r}); "
            "use another results file, or the grid that wrote it"
        )


def trial_status(records: list[dict]) -> tuple[set[str], Counter]:
    """``(ids of trials with an ok record, number of error records per trial id)``."""
    done = {r["trial_id"] for r in records if r.get("status") == "ok"}
    errors = Counter(r["trial_id"] for r in records if r.get("status") == "error")
    return done, errors


class ResultsWriter:
    """Append records to a results file, one durable line each (use as a context manager)."""

    def __init__(self, path: str | pathlib.Path) -> None:
        self.path = pathlib.Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "ab")  # noqa: SIM115  (closed in close())
        self._drop_partial_line()

    def _drop_partial_line(self) -> None:
        size = self._file.seek(0, os.SEEK_END)
        if size == 0:
            return
        with open(self.path, "rb") as f:
            data = f.read()
        if data.endswith(b"\n"):
            return
        keep = data.rfind(b"\n") + 1  # 0 when the only line is partial
        self._file.truncate(keep)
        self._file.seek(keep)
        os.fsync(self._file.fileno())

    def write(self, record: dict) -> None:
        line = json.dumps(record, sort_keys=True, allow_nan=True) + "\n"
        self._file.write(line.encode())
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
