"""Specification curves of the headline estimates (Simonsohn, Simmons and Nelson 2020).

For each headline estimate: the estimate and its confidence interval in every feasible
specification, sorted by size (the paper's own specification marked), and below it which
alternative of each varying choice the specification used. Reads only
results/robustness/estimates.parquet.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.figures.style import DOUBLE_COLUMN_IN, OKABE_ITO, note, save_figure, set_theme
from analysis.survey import status
from paperkit.io import read_json

BASELINE = "s0000"
META = ("spec", "estimate", "label", "status", "value", "lower", "upper")


def _varying(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in META and frame[c].nunique() > 1]


def _rows(frame: pd.DataFrame, choices: list[str]) -> list[str]:
    """Indicator rows: every alternative of every varying choice (choice=value)."""
    return [v for c in choices for v in sorted(frame[c].unique())]


def _curve(ax: plt.Axes, ind: plt.Axes, data: pd.DataFrame, rows: list[str],
           choices: list[str], first: bool) -> None:
    data = data.sort_values(["value", "spec"]).reset_index(drop=True)
    x = np.arange(len(data))
    base = (data["spec"] == BASELINE).to_numpy()
    ax.vlines(x, data["lower"], data["upper"], color="#BBBBBB", linewidth=0.6)
    ax.scatter(x[~base], data.loc[~base, "value"], s=5, color=OKABE_ITO[0], zorder=3)
    ax.scatter(x[base], data.loc[base, "value"], s=18, color=OKABE_ITO[5], marker="D", zorder=4,
               label="paper's specification")
    if data["lower"].min() < 0 < data["upper"].max():
        ax.axhline(0, color="#444444", linewidth=0.6)
    ax.set_title(data["label"].iloc[0], loc="left", fontsize=8)
    ax.set_xticks([])
    for r, row in enumerate(rows):
        choice = row.split("=", 1)[0]
        on = (data[choice] == row).to_numpy() if choice in choices else np.zeros(len(x), bool)
        ind.scatter(x[on], np.full(on.sum(), r), s=3, color="#222222", marker="s")
    ind.set_yticks(range(len(rows)))
    ind.set_yticklabels(rows if first else [""] * len(rows))
    ind.set_ylim(len(rows) - 0.5, -0.5)
    ind.set_xticks([])
    ind.grid(False)


def fig_specification_curves(estimates: pd.DataFrame, columns: int = 2,
                             simulated: bool | None = None) -> plt.Figure:
    """A panel per headline estimate (``columns`` side by side): the sorted curve above,
    the choices of each specification below."""
    ok = estimates[estimates["status"] == "ok"]
    ids = list(dict.fromkeys(estimates["estimate"]))
    choices = _varying(estimates)
    rows = _rows(ok, choices)
    n_rows = -(-len(ids) // columns)
    ind_h = 0.11 * len(rows) + 0.1
    fig, axes = plt.subplots(
        2 * n_rows, columns, figsize=(DOUBLE_COLUMN_IN, n_rows * (1.8 + ind_h) + 0.3),
        squeeze=False, gridspec_kw={"height_ratios": [1.8, ind_h] * n_rows})
    for k in range(n_rows * columns):
        row, col = 2 * (k // columns), k % columns
        top, bottom = axes[row, col], axes[row + 1, col]
        data = ok[ok["estimate"] == ids[k]] if k < len(ids) else pd.DataFrame()
        if data.empty:
            top.set_axis_off()
            bottom.set_axis_off()
            if k < len(ids):
                top.set_title(f"{ids[k]}: not computed in any specification", loc="left")
            continue
        _curve(top, bottom, data, rows, choices, first=k % columns == 0)
    n_spec, n_ok = estimates["spec"].nunique(), ok["spec"].nunique()
    note(fig, status.with_status(
        f"{n_ok} of {n_spec} specifications feasible, each sorted by the estimate; bars: "
        "confidence intervals at each estimate's own level; diamond: the paper's own "
        "specification.", simulated))
    fig.tight_layout(rect=(0, 0.03, 1, 1), h_pad=0.4)
    return fig


def make_robustness_figures(estimates_path: str | Path, cleaning_path: str | Path,
                            out_dir: str | Path) -> list[Path]:
    """Snakemake entry point: the specification-curve figure as PNG (the data
    status in its note as the cleaning stage recorded it from the survey's codebook)."""
    set_theme()
    frame = pd.read_parquet(estimates_path)
    simulated = bool(read_json(cleaning_path)["source"]["simulated"])
    return save_figure(fig_specification_curves(frame, simulated=simulated),
                       Path(out_dir) / "specification_curves")
