"""Figures of the interview themes, drawn from results/themes.json only.

Kept apart from :mod:`analysis.interviews.themes` so that restyling a figure never re-reads the
coded interviews: the figures need nothing but counts, which also keeps transcripts out
of this step entirely.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from analysis.figures.style import DOUBLE_COLUMN_IN, OKABE_ITO, note, save_figure, set_theme
from paperkit.io import read_json

FIGURE_STEMS = ("fig_themes_barriers", "fig_themes_cooccurrence", "fig_themes_demographics")


def figure_note(result: dict[str, Any]) -> str:
    """'N = 39 non-participants. Simulated interviews.' from the JSON."""
    den = result["denominator"]
    group = den["group"].replace("_", "-") if den["group"] != "all" else "interviewees"
    text = f"N = {den['n']} {group}."
    if result["source"].get("simulated"):
        text += " Simulated interviews."
    return text


def _ordered_barriers(result: dict[str, Any]) -> list[str]:
    order = {c: i for i, c in enumerate(result["categories"])}
    keys = result["barrier_order"]
    return sorted(keys, key=lambda k: (order[result["barriers"][k]["category"]], keys.index(k)))


def barrier_chart(result: dict[str, Any]) -> plt.Figure:
    """Horizontal bars of interviewees naming each barrier, coloured and grouped by category."""
    keys = _ordered_barriers(result)
    bars = result["barriers"]
    colours = {c: OKABE_ITO[i % len(OKABE_ITO)] for i, c in enumerate(result["categories"])}
    fig, ax = plt.subplots(figsize=(DOUBLE_COLUMN_IN, 0.3 * len(keys) + 1.0))
    y = np.arange(len(keys))[::-1]
    ax.barh(y, [bars[k]["n"] for k in keys], color=[colours[bars[k]["category"]] for k in keys])
    for yi, k in zip(y, keys, strict=True):
        ax.text(
            bars[k]["n"] + 0.4,
            yi,
            f"{bars[k]['n']} ({bars[k]['pct']:.0f}%)",
            va="center",
            fontsize=6,
        )
    ax.set_yticks(y, [textwrap.shorten(bars[k]["label"], 60, placeholder="…") for k in keys])
    ax.set_xlim(0, result["denominator"]["n"] * 1.15)
    ax.set_xlabel(f"Interviewees naming the barrier (of {result['denominator']['n']})")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[c]) for c in result["categories"]]
    ax.legend(
        handles,
        result["categories"],
        loc="upper center",
        bbox_to_anchor=(0.35, -0.09),
        ncol=len(handles),
        frameon=False,
        handlelength=1.0,
        columnspacing=1.0,
    )
    ax.grid(axis="y", visible=False)
    note(fig, figure_note(result) + " Codes are not mutually exclusive.")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def cooccurrence_heatmap(result: dict[str, Any]) -> plt.Figure:
    """X'X of the case x code matrix: off-diagonal co-occurrence, diagonal the tallies."""
    codes = result["cooccurrence"]["codes"]
    matrix = np.asarray(result["cooccurrence"]["matrix"])
    labels = [textwrap.shorten(result["barriers"][c]["label"], 34, placeholder="…") for c in codes]
    fig, ax = plt.subplots(figsize=(DOUBLE_COLUMN_IN, DOUBLE_COLUMN_IN * 0.85))
    image = ax.imshow(matrix, cmap="Blues", vmin=0)
    for i in range(len(codes)):
        for j in range(len(codes)):
            colour = "white" if matrix[i, j] > matrix.max() * 0.6 else "black"
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=5, color=colour)
    ax.set_xticks(range(len(codes)), labels, rotation=60, ha="right")
    ax.set_yticks(range(len(codes)), labels)
    ax.grid(False)
    fig.colorbar(image, ax=ax, shrink=0.7, label="Interviewees naming both")
    note(fig, figure_note(result) + " Diagonal: interviewees naming the barrier.")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def demographics_chart(result: dict[str, Any]) -> plt.Figure:
    """Table A1 as one small bar panel per demographic variable."""
    bands = result["demographic_bands"]
    variables = list(dict.fromkeys(bands[b]["variable"] for b in result["demographic_order"]))
    ncols = 2
    nrows = -(-len(variables) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(DOUBLE_COLUMN_IN, 1.5 * nrows + 0.4))
    axes = np.atleast_1d(axes).ravel()
    for ax in axes[len(variables) :]:
        ax.set_visible(False)
    for ax, var in zip(axes, variables, strict=False):
        keys = [b for b in result["demographic_order"] if bands[b]["variable"] == var]
        counts = [result["demographics"][b] for b in keys]
        y = np.arange(len(keys))[::-1]
        ax.barh(y, counts, color=OKABE_ITO[0])
        ax.set_yticks(y, [bands[b]["label"] for b in keys])
        ax.set_title(var)
        for yi, c in zip(y, counts, strict=True):
            ax.text(c + 0.5, yi, str(c), va="center", fontsize=6)
        ax.grid(axis="y", visible=False)
    for ax in axes:
        ax.set_xlim(0, result["demographics_n"] * 0.95)
    note(
        fig,
        f"N = {result['demographics_n']} interviewees (Table A1)."
        + (" Simulated interviews." if result["source"].get("simulated") else ""),
    )
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def make_theme_figures(themes_json: str | Path, out_dir: str | Path) -> list[Path]:
    """Snakemake entry: draw the three theme figures (PNG) from the JSON."""
    result = read_json(themes_json)
    set_theme()
    out_dir = Path(out_dir)
    written: list[Path] = []
    for stem, draw in zip(
        FIGURE_STEMS, (barrier_chart, cooccurrence_heatmap, demographics_chart), strict=True
    ):
        written += save_figure(draw(result), out_dir / stem)
    return written
