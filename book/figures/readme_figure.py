"""Draw the README's figure, Baird's counterexample from notebook 07, into ``book/figures/baird.png``.

    .venv/bin/python book/figures/readme_figure.py            # rewrite the committed PNG
    .venv/bin/python book/figures/readme_figure.py OUT.png    # draw it elsewhere (tests/test_readme_figure.py does)

Expected semi-gradient TD(0) with linear features (``course_lib.rl.linear_td.expected_td``, the chapter's own code):
off-policy without a target network it diverges; a target network copied every 100 updates makes it converge
(slowly, with swings); on-policy it converges. No training, no randomness: about a second on one core.
"""

from __future__ import annotations

import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from course_lib.envs import baird  # noqa: E402
from course_lib.plotting import use_course_style  # noqa: E402
from course_lib.rl.linear_td import expected_td  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
RUNS = {
    "off-policy, no target network": dict(distribution=baird.BEHAVIOUR_DISTRIBUTION, target_every=1),
    "off-policy, target copied every 100 updates": dict(distribution=baird.BEHAVIOUR_DISTRIBUTION, target_every=100),
    "on-policy, no target network": dict(distribution=baird.ON_POLICY_DISTRIBUTION, target_every=1),
}


def curves(steps: int = 20_000) -> dict[str, np.ndarray]:
    """max_s |v_w(s)| after each expected update, per run, ``(steps + 1,)``."""
    X = baird.FEATURES
    out = {}
    for name, kw in RUNS.items():
        ws = expected_td(
            X,
            baird.TARGET_TRANSITIONS,
            np.zeros(7),
            w0=baird.INITIAL_WEIGHTS,
            gamma=0.99,
            alpha=0.01,
            steps=steps,
            **kw,
        )
        out[name] = np.abs(ws @ X.T).max(1)
    return out


def draw(path: pathlib.Path) -> dict[str, np.ndarray]:
    use_course_style()
    data = curves()
    fig, ax = plt.subplots(figsize=(8, 3.6))
    for name, values in data.items():
        ax.semilogy(values, label=name)
    ax.set(
        xlabel="expected TD(0) update",
        ylabel=r"$\max_s |v_w(s)|$ (true value: 0)",
        ylim=(1e-3, 1e12),
        title="The deadly triad in one picture (notebook 07): Baird's counterexample",
    )
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)
    return data


if __name__ == "__main__":
    draw(pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "baird.png")
