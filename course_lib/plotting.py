"""The course's figures. The only module of the package that imports matplotlib."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from course_lib.stats import bootstrap_ci, iqm, mean_confidence_band, normalized_scores, performance_profile

__all__ = [
    "use_course_style",
    "plot_learning_curves",
    "learning_curve_band",
    "legend_outside",
    "show_frame",
    "plot_grid_paths",
    "plot_adaptation",
    "plot_interval_estimates",
    "plot_performance_profiles",
    "plot_sample_efficiency",
    "save_figure",
    "COLORS",
]

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b"]


def use_course_style() -> None:
    """One look for every figure of the course: readable on a projector and in the book."""
    mpl.rcParams.update(
        {
            "figure.figsize": (6.4, 3.8),
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 11,
            "axes.labelsize": 10,
            "legend.fontsize": 9,
            "legend.frameon": False,
            "axes.prop_cycle": mpl.cycler(color=COLORS),
            # Chinese labels (the seed's terms) fall back to a CJK font where one is installed (fonts-noto-cjk)
            "font.family": ["sans-serif", *_installed(CJK_FONTS)[:1]],
        }
    )


#: Fonts with Chinese glyphs, in order of preference (Debian's fonts-noto-cjk, Adobe's, macOS's, Windows').
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei")


def _installed(names: Sequence[str]) -> list[str]:
    """The font families among ``names`` that matplotlib knows (none is required)."""
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    return [n for n in names if n in known]


BANDS = {
    "ci": "{confidence:.0%} CI of the mean",  # Student-t interval of the mean over runs, point by point
    "iqr": "25-75th percentile of runs",  # the middle half of the runs themselves
}


def learning_curve_band(
    ys: np.ndarray, band: str = "ci", *, confidence: float = 0.95, bounds: tuple[float, float] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The centre line and band of a learning curve over runs: ``(centre, low, high)``, each ``(points,)``.

    ``band="ci"``: the mean and a Student-t confidence interval of the mean (:func:`course_lib.stats.mean_confidence_band`).
    ``band="iqr"``: the median and the 25th-75th percentiles of the runs.
    ``bounds=(low, high)``: the values a run can take (CartPole returns lie in [0, 500]); the band is
    clipped to them, since neither a mean nor a percentile of such values can leave that range.
    """
    ys = np.asarray(ys, dtype=float)
    if band not in BANDS:
        raise ValueError(f"band must be one of {tuple(BANDS)}, got {band!r}")
    if band == "ci":
        centre, lo, hi = mean_confidence_band(ys, confidence)
    else:
        if ys.ndim != 2:
            raise ValueError(f"ys must have shape (runs, points), got {ys.shape}")
        lo, centre, hi = np.percentile(ys, [25, 50, 75], axis=0)
    if bounds is not None:
        low, high = bounds
        if not low < high:
            raise ValueError(f"bounds must be (low, high) with low < high, got {bounds!r}")
        lo, hi = np.clip(lo, low, high), np.clip(hi, low, high)
    return centre, lo, hi


def plot_learning_curves(
    curves: Mapping[str, tuple[Sequence[float], np.ndarray]],
    ax: plt.Axes | None = None,
    *,
    xlabel: str = "environment steps",
    ylabel: str = "return",
    band: str = "ci",
    confidence: float = 0.95,
    bounds: tuple[float, float] | None = None,
) -> plt.Axes:
    """Plot one curve per method with a band over runs (seeds); the legend says what the band is.

    Args:
        curves: ``{label: (x, ys)}`` with ``x`` of length ``points`` and ``ys``
            of shape ``(runs, points)``.
        band, confidence, bounds: see :func:`learning_curve_band`.

    The legend sits outside the axes, on the right, so it never hides data.
    """
    if not isinstance(curves, Mapping):
        raise TypeError(f"curves must be a mapping {{label: (x, ys)}}, got {type(curves).__name__}")
    for label, (x, ys) in curves.items():
        if np.ndim(ys) != 2:
            raise ValueError(f"ys of {label!r} must have shape (runs, points), got {np.shape(ys)}")
        if np.shape(x) != (np.shape(ys)[1],):
            raise ValueError(
                f"x of {label!r} must have one entry per point ({np.shape(ys)[1]} points), got {np.shape(x)}"
            )
    ax = ax or plt.gca()
    what = BANDS.get(band, "").format(confidence=confidence)
    centre_name = "mean" if band == "ci" else "median"
    for (label, (x, ys)), color in zip(curves.items(), COLORS * 3):
        centre, lo, hi = learning_curve_band(ys, band, confidence=confidence, bounds=bounds)
        ax.plot(x, centre, color=color, label=f"{label}: {centre_name} of {np.shape(ys)[0]} runs")
        ax.fill_between(x, lo, hi, color=color, alpha=0.2, linewidth=0)
    ax.fill_between([], [], [], color="0.5", alpha=0.3, linewidth=0, label=f"band: {what}")
    if bounds is not None:
        pad = 0.03 * (bounds[1] - bounds[0])
        ax.set_ylim(bounds[0] - pad, bounds[1] + pad)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    legend_outside(ax)
    return ax


def legend_outside(ax: plt.Axes, **kwargs) -> None:
    """Put ``ax``'s legend to the right of the axes, where it cannot cover a data point."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, **kwargs)


def show_frame(frame: np.ndarray, ax: plt.Axes | None = None, title: str = "") -> plt.Axes:
    """Show one ``render_mode="rgb_array"`` frame of an environment: ``(height, width, 3)``."""
    if np.ndim(frame) != 3 or np.shape(frame)[2] not in (3, 4):
        raise ValueError(f"frame must have shape (height, width, 3) (an RGB image), got {np.shape(frame)}")
    ax = ax or plt.gca()
    ax.imshow(frame)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def plot_grid_paths(
    paths: Mapping[str, Sequence[int]],
    shape: tuple[int, int],
    ax: plt.Axes | None = None,
    *,
    cells: Mapping[str, Sequence[int]] | None = None,
    title: str = "",
) -> plt.Axes:
    """Draw state sequences on a grid world whose state is ``row * n_cols + col``.

    Args:
        paths: ``{label: [s_0, s_1, ...]}``, drawn as lines through cell centres.
        shape: ``(n_rows, n_cols)``.
        cells: ``{label: [states]}`` to shade, e.g. ``{"cliff": range(37, 47)}``.
    """
    ax = ax or plt.gca()
    n_rows, n_cols = shape
    ax.set_xlim(-0.5, n_cols - 0.5)
    ax.set_ylim(n_rows - 0.5, -0.5)
    ax.set_xticks(np.arange(-0.5, n_cols, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, n_rows, 1), minor=True)
    ax.grid(which="minor", color="0.85")
    ax.grid(which="major", visible=False)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    ax.set_aspect("equal")
    shades = ["0.25", "#fdd49e", "#c7e9c0"]
    for (label, states), color in zip((cells or {}).items(), shades):
        for k, s in enumerate(states):
            r, c = divmod(int(s), n_cols)
            ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), 1, 1, color=color, label=label if k == 0 else None))
    offsets = np.linspace(-0.12, 0.12, max(len(paths), 1))
    for (label, path), color, off in zip(paths.items(), COLORS, offsets):
        rc = np.array([divmod(int(s), n_cols) for s in path], dtype=float)
        ax.plot(rc[:, 1] + off, rc[:, 0] + off, "-o", color=color, ms=3, lw=2, label=f"{label} ({len(path) - 1} steps)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=4)
    if title:
        ax.set_title(title)
    return ax


def plot_adaptation(
    x: np.ndarray,
    y_true: np.ndarray,
    x_support: np.ndarray,
    y_support: np.ndarray,
    predictions: Mapping[str, np.ndarray],
    ax: plt.Axes | None = None,
    *,
    title: str = "",
) -> plt.Axes:
    """Few-shot regression before and after adaptation: the true function, the K support points, predictions.

    Args:
        x, y_true: a dense grid and the task's true function on it.
        predictions: ``{label: y on the grid}``, e.g. ``{"before": ..., "after 1 step": ...}``.
    """
    ax = ax or plt.gca()
    ax.plot(x, y_true, color="k", lw=2, label="true function")
    styles = [":", "--", "-"]
    for (label, y), color, style in zip(predictions.items(), COLORS, styles * 3):
        ax.plot(x, y, style, color=color, lw=1.8, label=label)
    ax.scatter(x_support, y_support, color="k", marker="^", s=40, zorder=5, label=f"{len(x_support)} support points")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    legend_outside(ax, fontsize=8)
    if title:
        ax.set_title(title)
    return ax


# ---------------------------------------------------------------- comparing algorithms over many runs (chapter 13)
# ``runs[algorithm][env_id]`` holds ``final`` (runs,), ``steps`` (points,), ``curves`` (runs, points), as
# :func:`course_lib.sweep.load_runs` gives them; ``bounds[env_id] = (low, high)`` for normalising.


def _pooled_normalized(runs: Mapping, algo: str, bounds: Mapping) -> np.ndarray:
    envs = sorted(runs[algo])
    n = min(len(runs[algo][e]["final"]) for e in envs)
    scores = np.stack([runs[algo][e]["final"][:n] for e in envs], axis=1)  # (runs, tasks)
    return normalized_scores(scores, [bounds[e][0] for e in envs], [bounds[e][1] for e in envs])


def plot_interval_estimates(runs: Mapping, bounds: Mapping, *, seed: int = 0, confidence: float = 0.95) -> plt.Figure:
    """Final scores as interval estimates: per environment the IQM of the final returns, and over all
    environments the IQM of the normalised scores, each with a percentile-bootstrap interval (stratified
    over environments in the pooled panel; Agarwal et al., 2021)."""
    algos = list(runs)
    envs = list(dict.fromkeys(e for a in algos for e in runs[a]))
    fig, axes = plt.subplots(1, len(envs) + 1, figsize=(3.1 * (len(envs) + 1), 0.5 * len(algos) + 1.6))
    for ax, env in zip(axes, [*envs, None]):
        for i, algo in enumerate(algos):
            if env is None:
                scores = _pooled_normalized(runs, algo, bounds)
            elif env in runs[algo]:
                scores = runs[algo][env]["final"]
            else:
                continue
            est, lo, hi = bootstrap_ci(scores, iqm, confidence=confidence, seed=seed)
            color = COLORS[i % len(COLORS)]
            ax.plot([lo, hi], [i, i], color=color, linewidth=6, alpha=0.35, solid_capstyle="butt")
            ax.plot([est], [i], "|", color=color, markersize=14, markeredgewidth=2)
        ax.set_yticks(range(len(algos)), algos if env == envs[0] else [""] * len(algos))
        ax.set_ylim(-0.7, len(algos) - 0.3)
        ax.invert_yaxis()
        ax.grid(axis="y", visible=False)
        if env is None:
            ax.set_title("both, normalised")
            ax.set_xlabel("IQM (0 random, 1 solved)")
        else:
            ax.set_title(env)
            ax.set_xlabel("IQM of final return")
    fig.tight_layout()
    return fig


def plot_performance_profiles(
    runs: Mapping, bounds: Mapping, *, seed: int = 0, taus: np.ndarray | None = None
) -> plt.Figure:
    """Performance profiles of the normalised final scores, all environments pooled: the share of runs above
    each threshold, with 95% stratified-bootstrap bands (:func:`course_lib.stats.performance_profile`)."""
    pooled = {algo: _pooled_normalized(runs, algo, bounds) for algo in runs}
    if taus is None:
        top = max(float(p.max()) for p in pooled.values())
        taus = np.linspace(0.0, max(top, 1.0) + 0.05, 61)
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for i, (algo, scores) in enumerate(pooled.items()):
        profile, lo, hi = performance_profile(scores, taus, seed=seed)
        color = COLORS[i % len(COLORS)]
        ax.plot(taus, profile, color=color, label=algo)
        ax.fill_between(taus, lo, hi, color=color, alpha=0.2, linewidth=0)
    ax.axvline(1.0, color="0.4", linestyle=":", linewidth=1)
    ax.set_xlabel("normalised score τ (0 random policy, 1 solved)")
    ax.set_ylabel("share of runs with score > τ")
    ax.set_ylim(-0.02, 1.02)
    legend_outside(ax)
    return fig


def plot_sample_efficiency(runs: Mapping, bounds: Mapping, *, seed: int = 0) -> plt.Figure:
    """Sample-efficiency curves: per environment, the IQM over runs of the evaluation return at each
    evaluation, with a 95% percentile-bootstrap band; the dotted line is the env's "solved" return."""
    algos = list(runs)
    envs = list(dict.fromkeys(e for a in algos for e in runs[a]))
    fig, axes = plt.subplots(1, len(envs), figsize=(4.2 * len(envs), 3.3), squeeze=False)
    for ax, env in zip(axes[0], envs):
        for i, algo in enumerate(algos):
            run = runs[algo].get(env)
            if run is None or run["curves"] is None:
                continue
            est = np.empty((3, len(run["steps"])))
            for k in range(len(run["steps"])):
                est[:, k] = bootstrap_ci(run["curves"][:, k], iqm, seed=seed)
            color = COLORS[i % len(COLORS)]
            ax.plot(run["steps"], est[0], color=color, label=algo)
            ax.fill_between(run["steps"], est[1], est[2], color=color, alpha=0.2, linewidth=0)
        ax.axhline(bounds[env][1], color="0.4", linestyle=":", linewidth=1)
        ax.set_title(env)
        ax.set_xlabel("environment steps")
        ax.set_ylabel("IQM of evaluation return")
    legend_outside(axes[0][-1])
    fig.tight_layout()
    return fig


def save_figure(fig: plt.Figure, path) -> None:
    """Write ``fig`` (PNG, or what the suffix says) and close it."""
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
