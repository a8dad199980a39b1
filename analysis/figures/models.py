"""Figures of the ordered-logit models, drawn from results/models.json (no refitting) with
the outcome's labels from the survey codebook."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.figures.style import DOUBLE_COLUMN_IN, OKABE_ITO, note, save_figure, set_theme
from analysis.survey import status
from analysis.survey.codebook import SurveyCodebook, load_survey_codebook
from paperkit.io import read_json
from paperkit.variables import FORMATTERS


def _note_text(results: dict[str, Any]) -> str:
    weighted = "Weighted" if results.get("weight_type") else "Unweighted"
    return status.with_status(f"{weighted}. N = {results['common_sample_n']:,}.",
                              results["simulated"])


def _level(results: dict[str, Any]) -> str:
    """The confidence level the model results were computed at ("95%")."""
    return FORMATTERS["level"](results["ci_level"])


def coefficient_plot(results: dict[str, Any], out_dir: Path) -> list[Path]:
    """Log-odds with their CIs (at ``ci_level``) of the full (last) model, top to bottom."""
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
    ax.set_xlabel(f"Log-odds of higher approval ({_level(results)} CI)")
    ax.set_title(f"Model {len(results['model_order'])}: {model.get('label', '')}".rstrip(": "))
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    note(fig, _note_text(results))
    return save_figure(fig, out_dir / "coefficients")


def outcome_labels(codebook: SurveyCodebook, outcome: str) -> dict[str, str]:
    """Code -> label of the outcome's scale ("5" -> "strongly approve"), from the codebook.
    The scale's direction is checked where the codebook is first read (the clean rule)."""
    for variable in codebook.variables.values():
        if variable.clean_name == outcome:
            return {str(code): label for code, label in variable.codes.items()}
    raise KeyError(f"{codebook.path}: no variable has clean_name {outcome!r} (the model outcome)")


def predicted_plot(results: dict[str, Any], out_dir: Path,
                   levels: dict[str, str] | None = None) -> list[Path]:
    """Average predicted probability of each approval level across the strongest predictors.

    ``levels`` names the outcome codes in the legend (the codebook's labels, not 1-5).
    """
    levels = levels or {}
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
            ax.plot(part["value"], part["prob"], color=colour, lw=1.2,
                    label=levels.get(_code(cat), str(cat)))
            ax.fill_between(part["value"], part["lower"], part["upper"], color=colour, alpha=0.2,
                            lw=0)
        ax.set_xlabel(labels.get(term, term), fontsize=7)
        ax.set_ylim(0, 1)
    axes[0][0].set_ylabel("Predicted probability")
    handles, labs = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labs, title="Approval", loc="upper center", ncol=min(len(labs), 5),
               bbox_to_anchor=(0.5, 1.12), frameon=False, fontsize=7)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    note(fig, _note_text(results) + f" Other covariates at observed values; {_level(results)} CIs.")
    return save_figure(fig, out_dir / "predicted_probabilities")


def _code(category: Any) -> str:
    """'5', 5 and 5.0 all name code 5."""
    try:
        return str(int(float(category)))
    except (TypeError, ValueError):
        return str(category)


def make_model_figures(models_json: str | Path, out_dir: str | Path,
                       codebook: str | Path | None = None) -> list[Path]:
    """CHEAP Snakemake step: write the coefficient and predicted-probability figures."""
    results = read_json(models_json)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    set_theme()
    levels = (outcome_labels(load_survey_codebook(codebook), results["outcome"])
              if codebook else None)
    return coefficient_plot(results, out) + predicted_plot(results, out, levels)
