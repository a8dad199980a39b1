"""Figures of design C, drawn from results/overlap.json and results/residents.json only.

The overlap heatmap (NCCA category x dimension, share of the category's items) and the
bar chart of interview themes need nothing but counts, so restyling them never re-reads
the documents or the transcripts.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from analysis.figures.style import DOUBLE_COLUMN_IN, OKABE_ITO, note, save_figure, set_theme
from paperkit.io import read_json

FIGURE_STEMS = ("fig_civilized_overlap", "fig_civilized_residents")


def overlap_heatmap(result: dict[str, Any]) -> plt.Figure:
    """Share of each NCCA category's items overlapping in each dimension, with counts."""
    dims, cats = result["dimension_order"], result["category_order"]
    share = np.array([[result["categories"][c]["dimensions"][d]["pct"] for d in dims]
                      for c in cats], dtype=float)
    fig, ax = plt.subplots(figsize=(DOUBLE_COLUMN_IN, 0.42 * len(cats) + 1.6))
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=100, aspect="auto")
    for i, c in enumerate(cats):
        for j, d in enumerate(dims):
            cell = result["categories"][c]["dimensions"][d]
            ax.text(j, i, f"{cell['n']}/{cell['of']}", ha="center", va="center", fontsize=7,
                    color="white" if share[i, j] > 60 else "black")
    ax.set_xticks(range(len(dims)),
                  [textwrap.fill(result["dimensions"][d]["label"], 24) for d in dims])
    ax.set_yticks(range(len(cats)), [result["categories"][c]["label"] for c in cats])
    ax.grid(False)
    fig.colorbar(image, ax=ax, shrink=0.8, label="Items of the category (%)")
    sim = " Simulated documents." if result["source"]["simulated"] else ""
    note(fig, f"N = {result['design']['n_manual_items']} manual items. Cells: items coded in "
              f"the dimension / items of the category. Dimensions not exclusive.{sim}")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def residents_chart(result: dict[str, Any]) -> plt.Figure:
    """Interviewees holding each code, grouped and coloured by theme."""
    keys, codes = result["code_order"], result["codes"]
    colours = {t: OKABE_ITO[i % len(OKABE_ITO)] for i, t in enumerate(result["themes"])}
    n = result["design"]["n_interviews"]
    fig, ax = plt.subplots(figsize=(DOUBLE_COLUMN_IN, 0.3 * len(keys) + 1.2))
    y = np.arange(len(keys))[::-1]
    ax.barh(y, [codes[k]["n"] for k in keys], color=[colours[codes[k]["theme"]] for k in keys])
    for yi, k in zip(y, keys, strict=True):
        ax.text(codes[k]["n"] + 0.3, yi, f"{codes[k]['n']} ({codes[k]['pct']:.0f}%)",
                va="center", fontsize=6)
    ax.set_yticks(y, [codes[k]["label"] for k in keys])
    ax.set_xlim(0, n * 1.15)
    ax.set_xlabel(f"Interviewees (of {n})")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[t]) for t in result["themes"]]
    ax.legend(handles, result["themes"], loc="upper center", bbox_to_anchor=(0.35, -0.12),
              ncol=len(handles), frameon=False, handlelength=1.0, columnspacing=1.0)
    ax.grid(axis="y", visible=False)
    sim = " Simulated interviews." if result["source"]["simulated"] else ""
    note(fig, f"N = {n} interviewees in {result['design']['n_cities']} cities. Codes are not "
              f"mutually exclusive.{sim}")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def make_civilized_figures(overlap_json: str | Path, residents_json: str | Path,
                           out_dir: str | Path) -> list[Path]:
    """Snakemake entry: draw the two figures (PNG) from the two results files."""
    set_theme()
    out_dir = Path(out_dir)
    return (save_figure(overlap_heatmap(read_json(overlap_json)), out_dir / FIGURE_STEMS[0])
            + save_figure(residents_chart(read_json(residents_json)), out_dir / FIGURE_STEMS[1]))
