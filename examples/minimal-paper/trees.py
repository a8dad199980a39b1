"""The example study: how tall trees grow for their girth (simulated measurements)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from paperkit.io import atomic_path, write_json  # noqa: E402

GIRTH_STEP_CM = 10  # the slope is reported per this many centimetres of girth
COLUMNS = {"tree_id": str, "species": str, "girth_cm": float, "height_m": float}


def read_trees(path: str | Path) -> pd.DataFrame:
    """The measurements; a missing column or a non-numeric cell names file, row and column."""
    frame = pd.read_csv(path, dtype=str)
    missing = sorted(set(COLUMNS) - set(frame.columns))
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}")
    for column in ("girth_cm", "height_m"):
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna()
        if bad.any():
            row = int(bad.to_numpy().argmax()) + 2  # header is line 1
            raise ValueError(f"{path}: line {row}, column {column}: "
                             f"{frame[column][bad].iloc[0]!r} is not a number")
        frame[column] = values
    return frame


def summarise(frame: pd.DataFrame) -> dict[str, Any]:
    """Counts, mean heights and the slope of height on girth (least squares)."""
    slope, intercept = np.polyfit(frame["girth_cm"], frame["height_m"], 1)
    return {
        "n_trees": int(len(frame)),
        "species": {sp: {"n": int(len(g)), "mean_height": float(g["height_m"].mean())}
                    for sp, g in frame.groupby("species", sort=True)},
        "girth_step_cm": GIRTH_STEP_CM,
        "slope_m_per_step": float(GIRTH_STEP_CM * slope),
        "intercept_m": float(intercept),
    }


def plot(frame: pd.DataFrame, out: str | Path) -> None:
    """Height against girth, one colour per species."""
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for species, group in frame.groupby("species", sort=True):
        ax.scatter(group["girth_cm"], group["height_m"], label=species, s=18)
    ax.set_xlabel("Girth (cm)")
    ax.set_ylabel("Height (m)")
    ax.legend(frameon=False)
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=150, metadata={"Software": None})
    plt.close(fig)


def analyse(data: str | Path, out_numbers: str | Path, out_figure: str | Path) -> None:
    """The example's one analysis step."""
    frame = read_trees(data)
    write_json(out_numbers, summarise(frame))
    plot(frame, out_figure)
