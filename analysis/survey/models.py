"""The model stage: the paper's nested weighted ordered-logit models, as the config specifies.

The estimator is :mod:`analysis.stats.ordinal` (checked against R ``MASS::polr`` and
``survey::svyolr``); this module builds the common sample, fits each nested model,
picks the terms for the predicted-probability curves and writes ``results/models.json``.

Sampling-weight SEs come from the survey design of :mod:`analysis.survey.design` (config
``weighting``), built on every raked respondent: the common sample is a subset of it, so
its scores sit in the full sample with zeros elsewhere, R ``svyolr(..., design =
subset(design, ...))``. ``weighting.variance`` chooses calibrated or fixed weights;
``variance_comparison`` gives the last model's SEs under both.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.stats import calibration as cal
from analysis.stats.ordinal import (
    CI_LEVEL,
    ModelError,
    OrderedLogitResults,
    fit_frame,
    plain_scalar,
)
from analysis.survey import status
from analysis.survey.design import survey_design, variance_method
from paperkit.io import write_json


def model_terms(spec: Mapping[str, Any]) -> dict[str, list[str]]:
    """Cumulative terms of each nested model, in config order."""
    out, acc = {}, []
    for m in spec["models"]:
        for t in m["add"]:
            if t in acc:
                raise ModelError(f"models: term '{t}' added twice (model {m['id']})")
            acc.append(t)
        out[m["id"]] = list(acc)
    return out


def common_sample(frame: pd.DataFrame, spec: Mapping[str, Any]) -> pd.DataFrame:
    """Rows passing the sample filter and complete on the outcome, weight and all terms."""
    return frame.loc[sample_mask(frame, spec)].reset_index(drop=True)


def sample_mask(frame: pd.DataFrame, spec: Mapping[str, Any]) -> np.ndarray:
    """Which rows of ``frame`` form the common sample (see :func:`common_sample`)."""
    keep = pd.Series(True, index=frame.index)
    for col, value in spec.get("sample_filter", {}).items():
        if col not in frame.columns:
            raise ModelError(f"models.sample_filter: column '{col}' not in the data")
        keep &= frame[col].eq(value).fillna(False).astype(bool)
    all_terms = list(model_terms(spec).values())[-1]
    needed = [spec["outcome"], *all_terms] + ([spec["weight"]] if spec.get("weight") else [])
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ModelError(f"models: columns {missing} not in the data")
    keep &= frame[needed].notna().all(axis=1)
    return keep.to_numpy(dtype=bool)


def _grid(values: pd.Series, points: int) -> list[float]:
    vals = values.to_numpy(dtype=float)
    lo, hi = float(np.min(vals)), float(np.max(vals))
    if np.all(vals == np.round(vals)) and hi - lo <= 10:
        return [float(v) for v in np.arange(lo, hi + 1)]
    return [float(v) for v in np.linspace(lo, hi, points)]


def strongest_terms(res: OrderedLogitResults, data: pd.DataFrame, k: int) -> list[str]:
    """Numeric terms with the largest |coef x SD|: the effect of a typical difference."""
    scores = {}
    for spec in res.design.terms if res.design else []:
        if spec.kind == "numeric":
            sd = float(data[spec.name].astype(float).std())
            scores[spec.name] = abs(float(res.params[spec.name])) * sd
    return sorted(scores, key=lambda t: (-scores[t], t))[:k]


def _variance(frame: pd.DataFrame, spec: Mapping[str, Any],
              weighting: Mapping[str, Any] | None, rows: np.ndarray,
              design: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Keyword arguments of the fit that give design SEs (none without weighting settings)."""
    if weighting is None or spec.get("weight_type") != "sampling" or not spec.get("weight"):
        return {}
    return {"variance_design": survey_design(frame, weighting, weight=spec["weight"],
                                             design=design),
            "sample_rows": rows, "variance_method": variance_method(weighting)}


def fit_models(frame: pd.DataFrame, spec: Mapping[str, Any],
               weighting: Mapping[str, Any] | None = None, *,
               only: Collection[str] | None = None, extras: bool = True,
               brant: bool | None = None, design: Mapping[str, Any] | None = None
               ) -> dict[str, Any]:
    """Fit every nested model on the common sample; return the JSON-ready results.

    ``frame`` holds every raked respondent; ``weighting`` (the config section) gives the
    survey design of the sampling-weight SEs (without it: the sandwich of the sample alone).
    The robustness grid fits ``only`` the models its claims read, without the ``extras``
    (predicted curves, the SE comparison) that only the paper's tables show, and with the
    Brant tests only when a claim reads them (``brant``; default: with the extras).
    """
    keep = sample_mask(frame, spec)
    sample = frame.loc[keep].reset_index(drop=True)
    weights = spec.get("weight")
    variance = _variance(frame, spec, weighting, np.flatnonzero(keep), design)
    out: dict[str, Any] = {"models": {}, "model_order": [m["id"] for m in spec["models"]],
                           "n_models": len(spec["models"]),
                           "block_labels": [m.get("label", m["id"]) for m in spec["models"]],
                           # what the Methods say of the sample and the weights, in every
                           # run (the robustness grid's too, whose claims read them)
                           "weight": weights, "weight_type": spec.get("weight_type"),
                           "sample_filter": dict(spec.get("sample_filter", {})),
                           "variance_method": variance.get("variance_method")}
    results = {}
    for m in spec["models"]:
        if only is not None and m["id"] not in only:
            continue
        terms = model_terms(spec)[m["id"]]
        res = fit_frame(
            sample, spec["outcome"], terms, reference=spec.get("reference", {}),
            levels=spec.get("outcome_levels"), weights=weights,
            weight_type=spec.get("weight_type") if weights else None,
            max_iter=spec["max_iter"], **variance,
        )
        results[m["id"]] = res
        entry = res.to_dict(brant=extras if brant is None else brant)
        entry.update({"label": m.get("label", m["id"]), "terms": terms})
        out["models"][m["id"]] = entry
    if not extras:
        out["common_sample_n"] = int(len(sample))
        return out
    last = spec["models"][-1]["id"]
    full = results[last]
    pp = spec["predicted"]
    w = sample[weights].to_numpy(float) if weights else np.ones(len(sample))
    curves = {}
    for term in strongest_terms(full, sample, int(pp["top_k"])):
        table = full.average_predictions(sample, term, _grid(sample[term], pp["points"]), w)
        curves[term] = table.to_dict(orient="list")
    out["predicted"] = {"model": last, "curves": curves, "method": "weighted average predictions"}
    if variance:
        out["variance_comparison"] = _variance_comparison(full, variance, last)
    out.update({
        "common_sample_n": int(len(sample)),
        "common_sample_weighted_n": float(w.sum()),
        "outcome": spec["outcome"],
        "labels": dict(spec.get("labels", {})),
        "significance": list(spec["significance"]),
        # the level of every interval in models.json (OrderedLogitResults.conf_int and
        # the delta-method curves): captions and axis labels state it from here
        "ci_level": CI_LEVEL,
        "reference": {k: plain_scalar(v) for k, v in spec.get("reference", {}).items()},
    })
    return out


def _variance_comparison(res: OrderedLogitResults, variance: Mapping[str, Any], model: str
                         ) -> dict[str, Any]:
    """SE of every coefficient of ``res`` with calibrated and with fixed weights; ratio."""
    se = {m: np.sqrt(np.diag(res.design_vcov(variance["variance_design"],
                                              variance["sample_rows"], m)))[: len(res.names)]
          for m in cal.METHODS}
    ratio = se["calibrated"] / se["fixed"]
    return {"model": model, "ratio_min": float(ratio.min()), "ratio_max": float(ratio.max()),
            "coefficients": {
                name: {"coef": float(res.beta[j]), "se_calibrated": float(se["calibrated"][j]),
                       "se_fixed": float(se["fixed"][j]), "ratio": float(ratio[j])}
                for j, name in enumerate(res.names)}}


def fit_paper_models(
    clean_path: str | Path, weights_path: str | Path, spec: dict, out_json: str | Path,
    weighting: Mapping[str, Any] | None = None, design: Mapping[str, Any] | None = None,
) -> None:
    """EXPENSIVE Snakemake step: fit the seven models and write results/models.json
    (SEs on the survey design of ``weighting`` and ``design``, the config sections)."""
    clean = pd.read_parquet(clean_path)
    weights = pd.read_parquet(weights_path)
    for col in ("resp_id", "weight"):
        if col not in weights.columns:
            raise ModelError(f"{weights_path}: column '{col}' missing")
    if weights["resp_id"].duplicated().any():
        dup = weights.loc[weights["resp_id"].duplicated(), "resp_id"].iloc[0]
        raise ModelError(f"{weights_path}: resp_id {dup!r} appears twice (rule: unique ids)")
    wcol = spec.get("weight") or "weight"
    frame = clean.drop(columns=[wcol], errors="ignore").merge(
        weights[["resp_id", "weight"]].rename(columns={"weight": wcol}),
        on="resp_id", how="left", validate="one_to_one",
    )
    unweighted = frame[wcol].isna()
    if unweighted.any():
        raise ModelError(
            f"{weights_path}: no weight for {int(unweighted.sum())} respondents of {clean_path}, "
            f"first resp_id {frame.loc[unweighted, 'resp_id'].iloc[0]!r} (rule: every cleaned "
            "respondent has a weight)"
        )
    results = fit_models(frame, spec, weighting, design=design)
    results["simulated"] = status.is_simulated(clean, clean_path)
    write_json(out_json, results)
