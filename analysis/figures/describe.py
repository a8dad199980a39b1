"""Figures of the descriptive results, drawn from results/descriptives.json only.

This is the cheap step of the build: it never reads the microdata, so restyling a figure
does not re-run the estimation. Every figure is a horizontal bar chart of weighted
percentages with confidence intervals (Okabe-Ito colours, sized for a journal column) and
carries a note naming the confidence level the intervals were computed at
(``describe.ci_level``, from the results), the unweighted N and that the data are simulated.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from analysis.figures.style import (
    DOUBLE_COLUMN_IN,
    OKABE_ITO,
    SINGLE_COLUMN_IN,
    note,
    save_figure,
    set_theme,
)
from analysis.survey import status
from analysis.survey.labels import (
    ADV_ITEMS,
    APPROVAL_GROUPS,
    APPROVAL_LEVELS,
    CATEGORY_KEYS,
    GROUP_LABELS,
    RESPONSIBLE,
    USE_ITEMS,
    WHO_SHOULD_RUN,
)
from paperkit.io import read_json
from paperkit.variables import FORMATTERS, format_p

RESPONSIBLE_LABELS = {
    "central_government": "Central government",
    "provincial_government": "Provincial government",
    "municipal_government": "Municipal government",
    "state_owned_companies": "State-owned firms",
    "foreign_companies": "Foreign firms",
    "private_companies": "Private firms",
}
APPROVAL_LABELS = {
    "strongly_disapprove": "Strongly disapprove",
    "somewhat_disapprove": "Somewhat disapprove",
    "neither": "Neither",
    "somewhat_approve": "Somewhat approve",
    "strongly_approve": "Strongly approve",
}


def _rows(section: Mapping[str, Any], labels: Mapping[str, str]) -> pd.DataFrame:
    """Estimates of ``section`` in label order, as a plotting frame."""
    rows = [{"key": k, "label": lab, "pct": section[k]["pct"], "lo": section[k]["ci"][0],
             "hi": section[k]["ci"][1], "n": section[k]["n"]}
            for k, lab in labels.items() if k in section and section[k]["pct"] is not None]
    return pd.DataFrame(rows)


def _bars(ax: plt.Axes, data: pd.DataFrame, hue: str | None = None,
          palette: Sequence[str] | None = None) -> None:
    """Horizontal bars with CI whiskers and the value printed past the whisker.

    seaborn (with scipy.stats, the largest import of the figure rules) is imported here,
    by the one figure rule that draws with it, not by the shared theme."""
    import seaborn as sns

    sns.barplot(data=data, x="pct", y="label", hue=hue, ax=ax, errorbar=None,
                palette=palette if hue else None, color=None if hue else OKABE_ITO[0],
                orient="h", saturation=1)
    bars = [p for p in ax.patches if p.get_height() > 0]
    ordered = data if hue is None else pd.concat(
        [data[data[hue] == h] for h in data[hue].unique()])
    for patch, (_, row) in zip(bars, ordered.iterrows(), strict=True):
        y = patch.get_y() + patch.get_height() / 2
        ax.errorbar(row["pct"], y, xerr=[[row["pct"] - row["lo"]], [row["hi"] - row["pct"]]],
                    fmt="none", ecolor="#222222", elinewidth=0.7, capsize=1.5)
        label = f"{row['pct']:.1f}" if row["pct"] < 1 else f"{row['pct']:.0f}"
        ax.text(row["hi"] + 1.5, y, label, va="center", fontsize=6)
    ax.set_xlim(0, 105)
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.set_xlabel("Percent (weighted)")
    ax.set_ylabel("")


def _note(fig: plt.Figure, n: int, base: str, data_note: str, meta: dict) -> None:
    """Wrap the note to the figure width and keep room for it under the axes; the
    confidence level is the one the intervals were computed at (describe.ci_level)."""
    level = FORMATTERS["level"](meta["ci_level"])
    text = (f"Weighted percentages, {level} CIs ({meta['ci_method']}). {base}: N = {n:,}. "
            f"{data_note}")
    width_in, height_in = fig.get_size_inches()
    lines = textwrap.wrap(text, width=int(width_in * 19))
    bottom = (0.12 * len(lines) + 0.05) / height_in
    fig.tight_layout(rect=(0, bottom, 1, 1))
    note(fig, "\n".join(lines))


def _single(rows: int) -> tuple[plt.Figure, plt.Axes]:
    return plt.subplots(figsize=(SINGLE_COLUMN_IN, 1.1 + 0.24 * rows))


def _bar_figure(res: Mapping[str, Any], data: pd.DataFrame, title: str, data_note: str,
                n: int | None = None) -> plt.Figure:
    """One single-column bar chart of weighted percentages with the standard note."""
    fig, ax = _single(len(data))
    _bars(ax, data)
    ax.set_title(title)
    n = int(data["n"].max()) if n is None else n
    _note(fig, n, "Respondents", data_note, res["meta"])
    return fig


def fig_approval_distribution(res: Mapping[str, Any], data_note: str) -> plt.Figure:
    data = _rows(res["approval_distribution"],
                 {k: APPROVAL_LABELS[k] for k in APPROVAL_LEVELS.values()})
    return _bar_figure(res, data, "Approval of social credit systems", data_note)


def fig_scs_use(res: Mapping[str, Any], data_note: str) -> plt.Figure:
    data = _rows(res["use"], USE_ITEMS)
    return _bar_figure(res, data, "Use of social credit systems (select all)", data_note,
                       n=res["design"]["n_valid"])


def fig_approval_by_group(res: Mapping[str, Any], data_note: str) -> plt.Figure:
    """Small multiples: share approving (4-5) by each socio-demographic grouping."""
    fig, axes = plt.subplots(3, 2, figsize=(DOUBLE_COLUMN_IN, 5.2), sharex=True)
    overall = res["approval"]["approve_any"]["pct"]
    for ax, var in zip(axes.flat, APPROVAL_GROUPS, strict=True):
        groups = res["approval_by_group"][var]
        labels = {key: _level_label(var, level) for level, key in CATEGORY_KEYS[var].items()}
        data = _rows({k: v["approve_any"] for k, v in groups.items()}, labels)
        data["label"] = [f"{lab} ({n:,})" for lab, n in zip(data["label"], data["n"],
                                                              strict=True)]
        _bars(ax, data)
        ax.axvline(overall, color=OKABE_ITO[5], lw=0.8, ls="--")
        p = res["tests"][f"approval_by_{var}"]["p_value"]
        ax.set_title(f"{GROUP_LABELS[var]} (Rao–Scott p {_p(p)})")
    for ax in axes[:-1].flat:
        ax.set_xlabel("")
    fig.suptitle("Approve somewhat or strongly, by group (dashed: all respondents)", fontsize=9)
    _note(fig, res["design"]["n_valid"], "Respondents (group n in brackets)", data_note,
          res["meta"])
    return fig


def fig_benefits_urban_rural(res: Mapping[str, Any], data_note: str) -> plt.Figure:
    """Advantages and disadvantages received by urban and rural commercial users."""
    sec = res["commercial_urban_rural"]
    fig, axes = plt.subplots(1, 2, figsize=(DOUBLE_COLUMN_IN, 2.9), sharey=True)
    for ax, kind, total, title in ((axes[0], "adv", "received_benefits", "Advantages"),
                                   (axes[1], "dis", "received_disadvantages", "Disadvantages")):
        labels = {f"{kind}_{k}": v for k, v in ADV_ITEMS.items()}
        labels[total] = "Any"
        frames = []
        for place in ("urban", "rural"):
            part = _rows({k: sec[k][place] for k in labels}, labels)
            frames.append(part.assign(place=place.capitalize()))
        _bars(ax, pd.concat(frames, ignore_index=True), hue="place",
              palette=[OKABE_ITO[0], OKABE_ITO[1]])
        ax.set_title(title)
        handles, names = ax.get_legend_handles_labels()
        ax.get_legend().remove()
    fig.legend(handles, names, loc="upper center", ncol=2, frameon=False,
               bbox_to_anchor=(0.5, 1.06))
    _note(fig, res["other"]["commercial_users_n"]["n"], "Commercial SCS users", data_note,
          res["meta"])
    return fig


def fig_who_should_run(res: Mapping[str, Any], data_note: str) -> plt.Figure:
    labels = {v: k.capitalize() for k, v in WHO_SHOULD_RUN.items()}
    data = _rows(res["who_should_manage"], labels)
    return _bar_figure(res, data, "Who should run a nationwide SCS?", data_note)


def fig_responsible_data_use(res: Mapping[str, Any], data_note: str) -> plt.Figure:
    labels = {v: RESPONSIBLE_LABELS[v] for v in RESPONSIBLE.values()}
    data = _rows(res["responsible_data_use"], labels)
    return _bar_figure(res, data, "Who uses personal data responsibly? (select all)", data_note)


FIGURES: dict[str, Callable[[Mapping[str, Any], str], plt.Figure]] = {
    "approval_distribution": fig_approval_distribution,
    "scs_use": fig_scs_use,
    "approval_by_group": fig_approval_by_group,
    "benefits_urban_rural": fig_benefits_urban_rural,
    "who_should_run": fig_who_should_run,
    "responsible_data_use": fig_responsible_data_use,
}


def _level_label(var: str, level: Any) -> str:
    if var == "urban":
        return "Urban" if level == 1 else "Rural"
    return str(level)


def _p(p: float | None) -> str:
    """The p-value as the text gives it (APA style, see paperkit.variables.format_p)."""
    if p is None or not math.isfinite(p):
        return "not tested"
    return format_p(p)


def make_descriptive_figures(
    descriptives_json: str | Path, out_dir: str | Path
) -> list[Path]:
    """Snakemake entry point: every descriptive figure as PNG in ``out_dir``;
    the notes' data status comes from the results (the dataset's own flag)."""
    res = read_json(descriptives_json)
    data_note = status.data_note(res["meta"]["simulated"])
    set_theme()
    written: list[Path] = []
    for stem, draw in FIGURES.items():
        written += save_figure(draw(res, data_note), Path(out_dir) / stem)
    return written
