"""The seven ordered-logit models side by side, from results/models.json (no refitting).

One display table is built once and written three ways: a Markdown pipe table (renders in
HTML, typst PDF and DOCX through pandoc), HTML through great_tables, and CSV.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pandas as pd
from great_tables import GT

from analysis.survey import status
from paperkit.io import read_json, write_text
from paperkit.tables import cell, frame_table

DECIMALS = 3


class ModelTableError(ValueError):
    """models.json lacks what the table needs."""


def stars(p: float, levels: list[float]) -> str:
    """One star per significance level the p-value is below (levels sorted descending)."""
    return "*" * sum(p < a for a in sorted(levels, reverse=True))


def star_note(levels: list[float]) -> str:
    parts = [f"{'*' * (i + 1)} p < {a:g}" for i, a in enumerate(sorted(levels, reverse=True))]
    return ", ".join(parts)


def _num(x: float, d: int = DECIMALS) -> str:
    text = f"{x:.{d}f}"
    return "0." + "0" * d if text == "-0." + "0" * d else text.replace("-", "\u2212")


def _coef_order(models: dict[str, Any], order: list[str]) -> list[str]:
    seen: list[str] = []
    for mid in order:
        for name in models[mid]["coefficient_order"]:
            if name not in seen:
                seen.append(name)
    return seen


def display_table(results: dict[str, Any]) -> pd.DataFrame:
    """Rows: coefficient and (SE) lines, thresholds, fit statistics; one column per model."""
    try:
        order, models = results["model_order"], results["models"]
    except KeyError as exc:
        raise ModelTableError(f"models.json: key {exc} missing") from None
    levels = results.get("significance", [0.05, 0.01, 0.001])
    labels = results.get("labels", {})
    cols = [f"({i + 1})" for i in range(len(order))]
    rows: list[dict[str, str]] = []

    def add(label: str, cells: list[str]) -> None:
        rows.append({"": label, **dict(zip(cols, cells, strict=True))})

    for name in _coef_order(models, order):
        coef, se = [], []
        for mid in order:
            c = models[mid]["coefficients"].get(name)
            coef.append("" if c is None else _num(c["coef"]) + stars(c["p"], levels))
            se.append("" if c is None else f"({_num(c['se'])})")
        add(labels.get(name, name), coef)
        add("", se)
    for name in models[order[-1]]["threshold_order"]:
        add(f"Threshold {name}", [_num(models[m]["thresholds"][name]["value"]) for m in order])
    add("N", [f"{models[m]['nobs']:,}" for m in order])
    add("Weighted N", [f"{models[m]['weighted_nobs']:,.1f}" for m in order])
    add("Log pseudo-likelihood", [_num(models[m]["llf"], 1) for m in order])
    add("McFadden pseudo-R\u00b2", [_num(models[m]["pseudo_r2"]) for m in order])
    return pd.DataFrame(rows, columns=["", *cols])


def table_note(results: dict[str, Any]) -> str:
    first = results["models"][results["model_order"][0]]
    se = {"sandwich (calibrated)": "Sandwich (linearization calibrated to the raking margins)",
          "sandwich (fixed)": "Sandwich (linearization, raked weights taken as given)",
          }.get(first.get("cov_type"), "Cluster-robust" if first.get("n_clusters") else (
              "Sandwich (robust)" if first.get("weight_type") == "sampling" else "Model-based"))
    weighted = "Weighted" if first.get("weight_type") else "Unweighted"
    return (
        f"Ordered logit log-odds (positive = higher approval). {se} standard errors in "
        f"parentheses. {star_note(results.get('significance', [0.05, 0.01, 0.001]))}. "
        + status.with_status(f"{weighted}; one common sample of N = "
                             f"{results['common_sample_n']:,}.", results["simulated"])
    )


def to_markdown(table: pd.DataFrame, note: str, caption: str) -> str:
    """The table with its caption above and its note (significance stars) below."""
    body = frame_table(table, "l" + "r" * (table.shape[1] - 1), literal=True)
    return "\n".join([f": {caption}", "", body, cell(note, literal=True), ""])


def to_html(table: pd.DataFrame, note: str, caption: str) -> str:
    gt = (
        GT(table)
        .with_id("model-table")
        .tab_header(title=caption)
        .cols_align("right", columns=list(table.columns[1:]))
        .tab_source_note(html.escape(note))
    )
    return gt.as_raw_html()


def make_model_table(models_json: str | Path, out_dir: str | Path) -> list[Path]:
    """CHEAP Snakemake step: write model_table.md, .html and .csv into ``out_dir``."""
    results = read_json(models_json)
    table = display_table(results)
    note = table_note(results)
    caption = "Ordered-logit models of approval of social credit systems"
    out = Path(out_dir)
    paths = [out / "model_table.md", out / "model_table.html", out / "model_table.csv"]
    write_text(paths[0], to_markdown(table, note, caption))
    write_text(paths[1], to_html(table, note, caption))
    write_text(paths[2], table.to_csv(index=False, lineterminator="\n"))
    return paths
