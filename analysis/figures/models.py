"""Figures of the ordered-logit models, drawn from results/models.json only (no refitting)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.figures.style import DOUBLE_COLUMN_IN, OKABE_ITO, note, save_figure, set_theme
from paperkit.io import read_json


def _note_text(results: dict[str, Any]) -> str:
    weighted = "Weighted" if results.get("weight_type") else "Unweighted"
    return f"{weighted}. N = {results['common_sample_n']:,}. Simulated data."


def coefficient_plot(results: dict[str, Any], out_dir: Path) -> list[Path]:
    """Log-odds with 95% CIs of the full (last) model, top to bottom in table order."""
    model = results["models"][results["model_order"][-1]]
    labels = results.get("labels", {})
    names = model["coefficient_order"]
    coefs = model["coefficients"]
    y = np.arange(len(names))[::-1]
    fig, ax = plt.subplots(figsize=(DOUBLE_COLUMN_IN * 0.75, 0.22 * len(names) + 0.9))
    est = np.array([coefs[n]["coef"] for n in names])
    lo = np.array([coefs[n]["ci_lower"] for n in names])
    hi = np.array([coefs[n]["ci_upper"] for n in names])
    ax.errorbar(est, y, xerr=[est - lo, hi - est], fmt="o", ms=3, lw=1, color=OKABE_ITO[0])
    ax.axvline(0, color="#666666", lw=0.8, ls="--")
    ax.set_yticks(y, [labels.get(n, n) for n in names])
    ax.set_xlabel("Log-odds of higher approval (95% CI)")
    ax.set_title(f"Model {len(results['model_order'])}: {model.get('label', '')}".rstrip(": "))
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    note(fig, _note_text(results))
    return save_figure(fig, out_dir / "coefficients")


def predicted_plot(results: dict[str, Any], out_dir: Path) -> list[Path]:
    """Average predicted probability of each approval level across the strongest predictors."""
    curves = results["predicted"]["curves"]
    labels = results.get("labels", {})
    terms = list(curves)
    fig, axes = plt.subplots(
        1, len(terms), figsize=(DOUBLE_COLUMN_IN, 2.4), sharey=True, squeeze=False
    )
    for ax, term in zip(axes[0], terms, strict=True):
        frame = pd.DataFrame(curves[term])
        for i, (cat, part) in enumerate(frame.groupby("category", sort=False)):
            colour = OKABE_ITO[i % len(OKABE_ITO)]
            ax.plot(part["value"], part["prob"], color=colour, lw=1.2, label=str(cat))
            ax.fill_between(part["value"], part["lower"], part["upper"], color=colour, alpha=0.2,
                            lw=0)
        ax.set_xlabel(labels.get(term, term), fontsize=7)
        ax.set_ylim(0, 1)
    axes[0][0].set_ylabel("Predicted probability")
    handles, labs = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labs, title="Approval", loc="upper center", ncol=len(labs),
               bbox_to_anchor=(0.5, 1.08), frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    note(fig, _note_text(results) + " Other covariates at observed values; 95% CIs.")
    return save_figure(fig, out_dir / "predicted_probabilities")


def make_model_figures(models_json: str | Path, out_dir: str | Path) -> list[Path]:
    """CHEAP Snakemake step: write the coefficient and predicted-probability figures."""
    results = read_json(models_json)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    set_theme()
    return coefficient_plot(results, out) + predicted_plot(results, out)
