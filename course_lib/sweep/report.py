"""Summarise a results file: per trainer, environment and overrides, the final returns' mean and IQM with a
bootstrap confidence interval (:mod:`course_lib.stats`; Agarwal et al., 2021)."""

from __future__ import annotations

import json
import math
import os

import numpy as np

from course_lib.stats import bootstrap_ci
from course_lib.sweep.results import read_records, trial_status

__all__ = ["summarize", "format_table"]


def summarize(results: str | os.PathLike, *, confidence: float = 0.95, seed: int = 0) -> list[dict]:
    """One row per (trainer, env, overrides): ``n`` finished trials, ``failed`` trials (no ok record), and the
    final return's ``mean``, ``iqm``, ``iqm_low``, ``iqm_high`` (``nan`` bounds with fewer than 2 runs).

    A trial recorded ok more than once (two drivers on one file) counts once, with its first record.
    """
    records = read_records(results)
    if not records:
        raise ValueError(f"results file {results} holds no records")
    done, _ = trial_status(records)
    groups: dict[tuple, dict] = {}
    seen = set()
    for r in records:
        key = (r["trainer"], r["env_id"], json.dumps(r["overrides"], sort_keys=True))
        g = groups.setdefault(key, {"scores": [], "trials": set()})
        g["trials"].add(r["trial_id"])
        if r.get("status") == "ok" and r["trial_id"] not in seen:
            seen.add(r["trial_id"])
            score = r["metrics"]["final_return"]
            g["scores"].append(math.nan if score is None else score)
    rows = []
    for (trainer, env, overrides), g in groups.items():
        scores = np.asarray(g["scores"], dtype=float)
        row = {"trainer": trainer, "env_id": env, "overrides": overrides, "n": len(scores)}
        row["failed"] = len(g["trials"] - done)
        if len(scores) == 0:
            row.update(mean=math.nan, iqm=math.nan, iqm_low=math.nan, iqm_high=math.nan)
        elif len(scores) == 1:
            row.update(mean=scores[0], iqm=scores[0], iqm_low=math.nan, iqm_high=math.nan)
        else:
            est, lo, hi = bootstrap_ci(scores, confidence=confidence, seed=seed)
            row.update(mean=float(scores.mean()), iqm=est, iqm_low=lo, iqm_high=hi)
        rows.append(row)
    return rows


def format_table(rows: list[dict]) -> str:
    """The rows of :func:`summarize` as a plain-text table."""
    header = ("trainer", "env", "overrides", "n", "failed", "mean", "IQM", "95% CI")
    lines = [header]
    for r in rows:
        ci = "" if math.isnan(r["iqm_low"]) else f"[{r['iqm_low']:.1f}, {r['iqm_high']:.1f}]"
        overrides = "" if r["overrides"] == "{}" else r["overrides"]
        lines.append(
            (
                r["trainer"],
                r["env_id"],
                overrides,
                str(r["n"]),
                str(r["failed"]),
                f"{r['mean']:.1f}",
                f"{r['iqm']:.1f}",
                ci,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)
