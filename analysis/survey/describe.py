"""Weighted descriptive estimates of the survey, and the paper's descriptive results.

Estimators (all checked against R ``survey`` 4.1 in tests/analysis/survey/test_describe.py,
fixtures made by tests/fixtures/r/make_describe_fixtures.R):

* **Percentages and standard errors.** Linearization on the survey design of
  :mod:`analysis.survey.design` (config ``weighting``: ``variance``, ``cluster``,
  ``strata``, ``fpc``; checked against R in tests/analysis/stats/test_calibration.py). With
  ``variance: calibrated`` (the default) the SE knows that the weights were raked: R's
  calibrated design, ``svymean`` on ``calibrate(calfun = "raking")``; a share that raking
  fixes (gender, age band, region) then has an SE of zero. With ``variance: fixed`` the
  raked weights are taken as given, R ``svydesign(ids = ~1, weights = ~w)``: the variance of
  a percentage is ``n/(n-1) * sum(z_i^2)`` with ``z_i = w_i (y_i - p) / sum(w)``. Without
  weighting settings (``describe_frame(..., weighting=None)``) the fixed formula is used.
  ``variance_comparison`` gives the headline shares' SEs under both conventions.
* **Domains** (e.g. "among commercial users", "rural") are estimated on the subset of the
  design, as R ``svymean(~y, subset(design, domain))`` does for this design; rows with a
  missing answer are dropped from the base (the item's own non-response).
* **Confidence intervals** at ``ci_level`` (0.95 by default). ``ci_method = "logit"`` (default): R
  ``svyciprop(method = "logit")``, a Wald interval on the logit scale with t(n-1)
  quantiles, which stays inside [0, 100] for percentages near 0 (1% disapprove).
  ``ci_method = "wald"``: R ``confint(svymean(...))``, p +- z * SE.
* **Crosstab tests.** Rao-Scott second-order correction of the Pearson chi-square of the
  weighted table, referred to an F distribution: R ``svychisq(statistic = "F")`` (the
  default) on the complete cases of the two variables.

Counts are given both unweighted (``n``: respondents in the base, ``count``: respondents
with the attribute) and weighted (``weighted_n``, ``weighted_count``; weights have mean 1
over the valid sample, so weighted counts are on the respondent scale).

Entry point for Snakemake: :func:`describe_survey` writes ``results/descriptives.json``
(keys mirror ``survey.*`` of ``data/reference/published_values.yaml`` where a published value
exists) and one CSV plus one Markdown pipe table per table of the paper.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.stats import calibration as cal
from analysis.stats.proportions import (
    CI_METHODS,
    indicator,
    json_round,
    rao_scott_test,
    weighted_proportion,
)
from analysis.survey import status
from analysis.survey.design import (
    DESIGN_COLUMNS,
    describe_variance,
    survey_design,
    variance_method,
)
from analysis.survey.labels import (
    ADV_ITEMS,
    APPROVAL_GROUPS,
    APPROVAL_LEVELS,
    CATEGORY_KEYS,
    GROUP_LABELS,
    PROFILE_GROUPS,
    RESPONSIBLE,
    USE_ITEMS,
    WHO_SHOULD_RUN,
)
from analysis.survey.weighting import read_targets
from paperkit.io import write_json, write_text
from paperkit.tables import cell, frame_table
from paperkit.variables import FORMATTERS, p_digits

BINARY_COLUMNS = (
    "male", "urban", "use_sesame", "use_tencent", "use_local_pilot", "use_none",
    "use_dont_know", "commercial_user", "lives_in_pilot_locality", "mutual_mistrust",
    "received_benefits", "received_disadvantages", *RESPONSIBLE,
    *(f"adv_{k}" for k in ADV_ITEMS), *(f"dis_{k}" for k in ADV_ITEMS),
)
REQUIRED_COLUMNS = (
    "resp_id", "approval", "who_should_run", "score_vs_peers", "knows_calc",
    *CATEGORY_KEYS, *BINARY_COLUMNS,
)


class DescribeInputError(ValueError):
    """The cleaned file, the weights or the targets break a rule this stage relies on."""


# --------------------------------------------------------------------------- inputs


def load_inputs(clean_path: str | Path, weights_path: str | Path) -> pd.DataFrame:
    """Cleaned respondents joined to their weights (column ``weight``), checked."""
    clean = pd.read_parquet(clean_path)
    weights = pd.read_parquet(weights_path)
    check_clean(clean, str(clean_path))
    return attach_weights(clean, weights, str(weights_path))


def check_clean(frame: pd.DataFrame, source: str) -> None:
    """Refuse a cleaned file this stage cannot describe correctly, naming row and column."""
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise DescribeInputError(f"{source}: missing column(s) {missing} (rule: CONTRACT layout)")
    dup = frame["resp_id"].duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise DescribeInputError(f"{source}: row {row}, column 'resp_id': duplicate "
                                 f"{frame['resp_id'].iloc[row]!r} (rule: unique)")
    for col, allowed in CATEGORY_KEYS.items():
        _check_values(frame, col, set(allowed), source)
    for col in BINARY_COLUMNS:
        _check_values(frame, col, {0, 1}, source)
    _check_values(frame, "approval", set(APPROVAL_LEVELS), source)
    _check_values(frame, "who_should_run", set(WHO_SHOULD_RUN), source)
    _check_values(frame, "score_vs_peers", {1, 2, 3, 4, 5}, source)
    _check_values(frame, "knows_calc", {1, 2, 3}, source)


def _check_values(frame: pd.DataFrame, col: str, allowed: set[Any], source: str) -> None:
    values = frame[col]
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    bad = values.notna() & ~values.isin(list(allowed))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DescribeInputError(
            f"{source}: row {row}, column '{col}': value {values.iloc[row]!r} not in "
            f"{sorted(map(str, allowed))} (rule: allowed values)"
        )


def attach_weights(clean: pd.DataFrame, weights: pd.DataFrame, source: str) -> pd.DataFrame:
    """Join weights by resp_id; every respondent needs exactly one positive finite weight."""
    for col in ("resp_id", "weight"):
        if col not in weights.columns:
            raise DescribeInputError(f"{source}: missing column '{col}' (rule: resp_id, weight)")
    dup = weights["resp_id"].duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise DescribeInputError(f"{source}: row {row}, column 'resp_id': duplicate "
                                 f"{weights['resp_id'].iloc[row]!r} (rule: unique)")
    w = pd.to_numeric(weights["weight"], errors="coerce")
    bad = ~(np.isfinite(w.to_numpy(dtype=float, na_value=np.nan)) & (w > 0).to_numpy())
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DescribeInputError(f"{source}: row {row}, column 'weight': "
                                 f"{weights['weight'].iloc[row]!r} (rule: positive, finite)")
    lookup = pd.Series(w.to_numpy(dtype=float), index=weights["resp_id"].astype(str))
    ids = clean["resp_id"].astype(str)
    absent = ~ids.isin(lookup.index)
    if absent.any():
        row = int(np.flatnonzero(absent.to_numpy())[0])
        raise DescribeInputError(f"{source}: no weight for resp_id {ids.iloc[row]!r} "
                                 f"(cleaned file row {row}; rule: one weight per respondent)")
    out = clean.copy()
    out["weight"] = lookup.reindex(ids).to_numpy()
    return out


# --------------------------------------------------------------------------- results


class _Describer:
    """Holds the weighted frame, settings and design so every estimate is made the same way."""

    def __init__(self, frame: pd.DataFrame, settings: Mapping[str, Any],
                 design: cal.Design | None = None, method: cal.Method = "fixed"):
        self.frame = frame
        self.s = dict(settings)
        self.design, self.method = design, method
        if self.s["ci_method"] not in CI_METHODS:
            raise ValueError(f"describe.ci_method must be one of {CI_METHODS}")
        # Read-only memos: the estimates reuse the same few columns and indicators many
        # times, and converting them again on every use dominated the step's time.
        self.weights = frame["weight"].to_numpy(dtype=float, copy=True)
        self._plain: dict[str, pd.Series] = {}
        self._indicators: dict[tuple, pd.Series] = {}

    def est(self, y: pd.Series, domain: pd.Series | None = None) -> dict[str, Any]:
        e = weighted_proportion(y, self.weights, domain, self.s["ci_level"],
                                self.s["ci_method"], design=self.design, method=self.method)
        return e.as_dict()

    def values(self, name: str) -> pd.Series:
        """Column ``name`` with categoricals as objects (shared: do not modify)."""
        if name not in self._plain:
            self._plain[name] = _plain(self.frame[name])
        return self._plain[name]

    def col(self, name: str, codes: Iterable[Any] = (1,)) -> pd.Series:
        """Indicator of ``codes`` in column ``name`` (shared: do not modify)."""
        codes = tuple(codes)
        if (name, codes) not in self._indicators:
            self._indicators[name, codes] = indicator(self.values(name), codes)
        return self._indicators[name, codes]

    def test(self, rows: str | pd.Series, cols: str, domain: pd.Series | None = None
             ) -> dict[str, Any]:
        r = self.values(rows) if isinstance(rows, str) else rows
        rname = rows if isinstance(rows, str) else str(rows.name)
        res = rao_scott_test(r, self.values(cols), self.weights, domain, rname,
                             cols, design=self.design, method=self.method)
        return res.as_dict()


def _plain(values: pd.Series) -> pd.Series:
    """Categoricals as objects so that isin/grouping see the labels."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.astype(object)
    return values


def describe_frame(
    frame: pd.DataFrame,
    settings: Mapping[str, Any],
    targets: Mapping[str, Mapping[str, float]] | None = None,
    weighting: Mapping[str, Any] | None = None,
    design: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Every descriptive estimate of the paper as a nested dict (frame has ``weight``).

    ``settings`` is the validated ``describe`` section of the config (defaults filled);
    ``weighting`` (the config section) gives the raking margins and the variance settings
    of :mod:`analysis.survey.design`, ``design`` the sampling design's columns; without
    ``weighting`` the weights are taken as given.
    """
    columns = design
    design = None if weighting is None else survey_design(frame, weighting, design=columns)
    method = "fixed" if weighting is None else variance_method(weighting)
    d = _Describer(frame, settings, design, method)
    raked = list(weighting["margins"]) if weighting else list(targets or {})
    out: dict[str, Any] = {"meta": _meta(d, weighting, raked, columns),
                           "design": _design(frame)}
    out.update(_composition(d, targets or {}, raked))
    out["use"] = _use(d)
    out["approval"] = _approval(d)
    out["approval_distribution"] = {
        key: d.est(d.col("approval", [code])) for code, key in APPROVAL_LEVELS.items()
    }
    out["approval_by_group"], group_tests = _approval_by_group(d)
    out["doubters_profile"], doubter_tests = _doubters(d)
    out["commercial_urban_rural"], ur_tests = _urban_rural(d)
    out["other"] = _other(d)
    out["who_should_manage"] = {
        key: d.est(d.col("who_should_run", [label])) for label, key in WHO_SHOULD_RUN.items()
    }
    out["responsible_data_use"] = {key: d.est(d.col(c)) for c, key in RESPONSIBLE.items()}
    out["tests"] = {**group_tests, **doubter_tests, **ur_tests}
    if design is not None:
        out["variance_comparison"] = _variance_comparison(d, out["approval"])
    return out


# Headline shares whose SEs the appendix gives under both conventions (keys of "approval").
HEADLINE_SHARES = {
    "approve_any": "Approve (4–5), all",
    "approve_strongly": "Strongly approve, all",
    "disapprove_any": "Disapprove (1–2), all",
    "doubters": "Doubters (1–3), all",
    "approve_commercial_users": "Approve, commercial users",
    "approve_local_pilot_members": "Approve, local-pilot members",
    "strong_commercial_users": "Strongly approve, commercial users",
    "strong_local_pilot_members": "Strongly approve, local-pilot members",
    "approve_urban": "Approve, urban",
    "approve_rural": "Approve, rural",
}


def _variance_comparison(d: _Describer, approval: Mapping[str, Any]) -> dict[str, Any]:
    """SE of each headline share with calibrated and with fixed weights, and their ratio."""
    other = "fixed" if d.method == "calibrated" else "calibrated"
    redone = _approval(_Describer(d.frame, d.s, d.design, other))
    shares = {}
    for key, label in HEADLINE_SHARES.items():
        se = {d.method: approval[key]["se"], other: redone[key]["se"]}
        # A share of 0% or 100% has no sampling variance: the ratio is undefined (null),
        # and a sentence quoting it stops the build (a null variable), not a crash.
        ratio = (json_round(se["calibrated"] / se["fixed"])
                 if se["fixed"] and se["calibrated"] is not None else None)
        shares[key] = {"label": label, "pct": approval[key]["pct"],
                       "se_calibrated": se["calibrated"], "se_fixed": se["fixed"],
                       "ratio": ratio}
    ratios = [s["ratio"] for s in shares.values() if s["ratio"] is not None]
    return {"shares": shares, "order": list(HEADLINE_SHARES),
            "ratio_min": min(ratios) if ratios else None,
            "ratio_max": max(ratios) if ratios else None,
            "undefined": [k for k, s in shares.items() if s["ratio"] is None]}


def _meta(d: _Describer, weighting: Mapping[str, Any] | None, raked: list[str],
          design: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {
        "ci_level": d.s["ci_level"],
        "ci_method": d.s["ci_method"],
        "units": "pct, se and ci in percent of the weighted base; n/count unweighted",
        "variance_method": d.method,
        "variance": (describe_variance(weighting, design) if weighting else
                     "linearization, weights as given (R svydesign(ids=~1, weights=~w))"),
        "raking_margins": raked,
        # the sampling design's columns and its degrees of freedom (R's degf: PSUs less
        # strata), which the Methods state in words (analysis.paper.numbers)
        "design_columns": {k: (design or {}).get(k) or None for k in DESIGN_COLUMNS},
        "design_df": (cal.degrees_of_freedom(d.design) if d.design is not None
                      else len(d.frame) - 1),
        "test": "Rao-Scott second-order F (R svychisq statistic='F'), complete cases",
        "definitions": {
            k: d.s[k] for k in ("approve_codes", "strong_codes", "doubter_codes",
                                "higher_than_peers_codes", "dont_know_calc_codes")
        },
    }


def _design(frame: pd.DataFrame) -> dict[str, Any]:
    w = frame["weight"].to_numpy(dtype=float)
    n = len(w)
    deff = float(n * np.dot(w, w) / w.sum() ** 2)
    return {
        "n_valid": n,
        "weighted_n": json_round(float(w.sum())),
        "weight_min": json_round(float(w.min())),
        "weight_max": json_round(float(w.max())),
        "deff_kish": json_round(deff),
        "n_effective": json_round(n / deff),
        "margin_of_error": json_round(100 * cal.Z95 * math.sqrt(deff * 0.25 / n)),
    }


def _composition(d: _Describer, targets: Mapping[str, Mapping[str, float]],
                 raked: Sequence[str]) -> dict[str, Any]:
    """Unweighted and weighted shares, and the target of each share that raking fixed.

    ``composition_target`` entries carry ``raked``: the weighted share of a raked margin is
    the target by construction, so it has no sampling interval (its calibrated SE is 0).
    """
    unweighted = _Describer(d.frame.assign(weight=1.0), d.s)
    comp_w, comp_u, comp_t = {}, {}, {}
    for var, cats in CATEGORY_KEYS.items():
        for level, key in cats.items():
            comp_w[key] = d.est(d.col(var, [level]))
            comp_u[key] = unweighted.est(unweighted.col(var, [level]))
            if var in targets and str(level) in targets[var]:
                comp_t[key] = {"pct": json_round(100 * float(targets[var][str(level)])),
                               "raked": var in raked}
    return {"composition_weighted": comp_w, "composition_unweighted": comp_u,
            "composition_target": comp_t}


def _use(d: _Describer) -> dict[str, Any]:
    f = d.frame
    both = (d.col("use_sesame") * d.col("use_tencent"))
    return {
        "any_commercial": d.est(d.col("commercial_user")),
        "sesame": d.est(d.col("use_sesame")),
        "tencent": d.est(d.col("use_tencent")),
        "sesame_and_tencent": d.est(both),
        "local_government": d.est(d.col("use_local_pilot")),
        "none": d.est(d.col("use_none")),
        "dont_know": d.est(d.col("use_dont_know")),
        "lives_in_pilot_locality": d.est(d.col("lives_in_pilot_locality")),
        "aware_among_pilot_locality": d.est(d.col("use_local_pilot"),
                                            f["lives_in_pilot_locality"] == 1),
    }


def _approval(d: _Describer) -> dict[str, Any]:
    f, s = d.frame, d.s
    approve, strong = d.col("approval", s["approve_codes"]), d.col("approval", s["strong_codes"])
    out = {
        "approve_any": d.est(approve),
        "approve_strongly": d.est(strong),
        "neutral": d.est(d.col("approval", [3])),
        "disapprove_any": d.est(d.col("approval", [1, 2])),
        "doubters": d.est(d.col("approval", s["doubter_codes"])),
        "no_national_scs": d.est(d.col("who_should_run", ["should not exist"])),
        "strong_local_pilot_members": d.est(strong, f["use_local_pilot"] == 1),
        "strong_commercial_users": d.est(strong, f["commercial_user"] == 1),
        "approve_local_pilot_members": d.est(approve, f["use_local_pilot"] == 1),
        "approve_commercial_users": d.est(approve, f["commercial_user"] == 1),
        "strong_age_51_65": d.est(strong, d.values("age_band") == "51-65"),
    }
    for var in ("urban", "region"):
        for level, key in CATEGORY_KEYS[var].items():
            name = key.removeprefix("region_")
            out[f"approve_{name}"] = d.est(approve, d.values(var) == level)
    return out


def _approval_by_group(d: _Describer) -> tuple[dict[str, Any], dict[str, Any]]:
    s = d.s
    approve, strong = d.col("approval", s["approve_codes"]), d.col("approval", s["strong_codes"])
    doubt = d.col("approval", s["doubter_codes"])
    out: dict[str, Any] = {}
    tests: dict[str, Any] = {}
    for var in APPROVAL_GROUPS:
        values = d.values(var)
        out[var] = {
            key: {"approve_any": d.est(approve, values == level),
                  "approve_strongly": d.est(strong, values == level),
                  "doubters": d.est(doubt, values == level)}
            for level, key in CATEGORY_KEYS[var].items()
        }
        tests[f"approval_by_{var}"] = d.test("approval", var)
    return out, tests


def _doubters(d: _Describer) -> tuple[dict[str, Any], dict[str, Any]]:
    doubt = d.col("approval", d.s["doubter_codes"]).rename("doubter")
    groups = {"doubters": doubt == 1, "others": doubt == 0}
    out: dict[str, Any] = {name: {} for name in groups}
    tests: dict[str, Any] = {}
    for var in PROFILE_GROUPS:
        for level, key in CATEGORY_KEYS[var].items():
            for name, dom in groups.items():
                out[name][key] = d.est(d.col(var, [level]), dom)
        tests[f"doubters_by_{var}"] = d.test(doubt, var)
    return out, tests


def _urban_rural(d: _Describer) -> tuple[dict[str, Any], dict[str, Any]]:
    f = d.frame
    users = f["commercial_user"] == 1
    items = [f"adv_{k}" for k in ADV_ITEMS] + ["received_benefits"]
    items += [f"dis_{k}" for k in ADV_ITEMS] + ["received_disadvantages"]
    out: dict[str, Any] = {}
    tests: dict[str, Any] = {}
    for item in items:
        y = d.col(item)
        out[item] = {"all": d.est(y, users),
                     "urban": d.est(y, users & (f["urban"] == 1)),
                     "rural": d.est(y, users & (f["urban"] == 0))}
        tests[f"{item}_by_urban"] = d.test(item, "urban", users)
    return out, tests


def _other(d: _Describer) -> dict[str, Any]:
    f, s = d.frame, d.s
    users = f["commercial_user"] == 1
    urban, rural = users & (f["urban"] == 1), users & (f["urban"] == 0)
    dont_know = d.col("knows_calc", s["dont_know_calc_codes"])
    w = f["weight"].to_numpy(dtype=float)
    out = {
        "score_higher_than_peers": d.est(d.col("score_vs_peers", s["higher_than_peers_codes"]),
                                         users),
        "mutual_mistrust": d.est(d.col("mutual_mistrust")),
        "dont_know_calc_rural": d.est(dont_know, rural),
        "dont_know_calc_urban": d.est(dont_know, urban),
        "commercial_users_n": {"n": int(users.sum()),
                               "weighted_n": json_round(float(w[users.to_numpy()].sum()))},
    }
    pairs = {"any_benefit": "received_benefits", "credit_easy": "adv_credit_access",
             "deposit_free": "adv_deposit_free", "visa": "adv_visa",
             "any_disadvantage": "received_disadvantages",
             "credit_difficulty": "dis_credit_access"}
    for key, col in pairs.items():
        out[f"{key}_urban"] = d.est(d.col(col), urban)
        out[f"{key}_rural"] = d.est(d.col(col), rural)
    return out


# --------------------------------------------------------------------------- tables


def _fmt(x: float | None, decimals: int) -> str:
    return "" if x is None else f"{x:.{decimals}f}"


def _pct_ci(e: Mapping[str, Any], dec: int) -> str:
    lo, hi = e["ci"]
    return f"{_fmt(e['pct'], dec)} ({_fmt(lo, dec)}–{_fmt(hi, dec)})"


def _p(t: Mapping[str, Any]) -> str:
    """The test's p-value in the paper's one style (``.023``, ``< .001``), as in the text."""
    return "" if t["p_value"] is None else p_digits(t["p_value"])


def build_tables(res: Mapping[str, Any], decimals: int = 1) -> dict[str, pd.DataFrame]:
    """The paper's descriptive tables, as display-ready string frames."""
    dec = decimals
    tables: dict[str, pd.DataFrame] = {"composition": _composition_table(res, dec)}
    tables["scs_use"] = _simple(res["use"], {**USE_ITEMS,
                                             "lives_in_pilot_locality": "Lives in a pilot locality",
                                             "aware_among_pilot_locality":
                                             "In local pilot (of those living in one)"},
                                "SCS use", dec)
    tables["approval_distribution"] = _simple(
        res["approval_distribution"],
        {v: v.replace("_", " ").capitalize() for v in APPROVAL_LEVELS.values()}, "Approval", dec)
    tables["approval_by_group"] = _approval_table(res, dec)
    tables["approval_by_use"] = _simple(res["approval"], {
        "approve_local_pilot_members": "Approve (4–5), local-pilot members",
        "approve_commercial_users": "Approve (4–5), commercial users",
        "strong_local_pilot_members": "Strongly approve, local-pilot members",
        "strong_commercial_users": "Strongly approve, commercial users"}, "Group", dec)
    tables["doubters_profile"] = _doubter_table(res, dec)
    tables["commercial_urban_rural"] = _urban_rural_table(res, dec)
    tables["who_should_run"] = _simple(res["who_should_manage"], {
        v: k.capitalize() for k, v in WHO_SHOULD_RUN.items()}, "Who should run a nationwide SCS",
        dec)
    tables["responsible_data_use"] = _simple(res["responsible_data_use"], {
        v: v.replace("_", " ").capitalize() for v in RESPONSIBLE.values()},
        "Uses personal data responsibly", dec)
    tables["other"] = _simple({k: v for k, v in res["other"].items() if "pct" in v},
                              {k: k.replace("_", " ").capitalize() for k in res["other"]},
                              "Indicator", dec)
    return {name: _at_level(table, res["meta"]["ci_level"]) for name, table in tables.items()}


def _at_level(table: pd.DataFrame, ci_level: float) -> pd.DataFrame:
    """Headers name the level the intervals were computed at (``describe.ci_level``)."""
    level = FORMATTERS["level"](ci_level)
    return table.rename(columns=lambda c: c.replace("95% CI", f"{level} CI"))


RAKED_CELL = "raked to target"


def _composition_table(res: Mapping[str, Any], dec: int) -> pd.DataFrame:
    """Achieved weighted share against the target for the raking margins, with no interval
    (raking fixes them); an interval only for the shares raking leaves free."""
    rows = []
    for var, cats in CATEGORY_KEYS.items():
        for level, key in cats.items():
            t = res["composition_target"].get(key)
            w = res["composition_weighted"][key]
            lo, hi = w["ci"]
            raked = bool(t and t.get("raked"))
            rows.append({"Variable": GROUP_LABELS[var], "Category": _level_label(var, level),
                         "n": str(res["composition_unweighted"][key]["count"]),
                         "Unweighted %": _fmt(res["composition_unweighted"][key]["pct"], dec),
                         "Weighted %": _fmt(w["pct"], dec),
                         "95% CI": RAKED_CELL if raked else f"{_fmt(lo, dec)}–{_fmt(hi, dec)}",
                         "Target %": "" if t is None else _fmt(t["pct"], dec)})
    return pd.DataFrame(rows)


def _level_label(var: str, level: Any) -> str:
    if var == "urban":
        return "urban" if level == 1 else "rural"
    return str(level)


def _simple(section: Mapping[str, Any], labels: Mapping[str, str], head: str, dec: int
            ) -> pd.DataFrame:
    rows = [{head: label, "n": str(section[key]["n"]),
             "Weighted % (95% CI)": _pct_ci(section[key], dec)}
            for key, label in labels.items() if key in section]
    return pd.DataFrame(rows)


def _approval_table(res: Mapping[str, Any], dec: int) -> pd.DataFrame:
    rows = []
    for var in APPROVAL_GROUPS:
        test = res["tests"][f"approval_by_{var}"]
        for i, (level, key) in enumerate(CATEGORY_KEYS[var].items()):
            g = res["approval_by_group"][var][key]
            rows.append({"Group": GROUP_LABELS[var] if i == 0 else "",
                         "Category": _level_label(var, level), "n": str(g["approve_any"]["n"]),
                         "Approve (4–5) % (95% CI)": _pct_ci(g["approve_any"], dec),
                         "Strongly approve %": _fmt(g["approve_strongly"]["pct"], dec),
                         "Rao–Scott F (p)": f"{_fmt(test['f'], 2)} ({_p(test)})" if i == 0
                         else ""})
    return pd.DataFrame(rows)


def _doubter_table(res: Mapping[str, Any], dec: int) -> pd.DataFrame:
    rows = []
    for var in PROFILE_GROUPS:
        test = res["tests"][f"doubters_by_{var}"]
        for i, (level, key) in enumerate(CATEGORY_KEYS[var].items()):
            rows.append({"Variable": GROUP_LABELS[var] if i == 0 else "",
                         "Category": _level_label(var, level),
                         "Doubters (1–3) %": _pct_ci(res["doubters_profile"]["doubters"][key], dec),
                         "Others (4–5) %": _pct_ci(res["doubters_profile"]["others"][key], dec),
                         "p (Rao–Scott)": _p(test) if i == 0 else ""})
    return pd.DataFrame(rows)


def _urban_rural_table(res: Mapping[str, Any], dec: int) -> pd.DataFrame:
    rows = []
    for item, cells in res["commercial_urban_rural"].items():
        kind, _, name = item.partition("_")
        label = ("Any benefit" if item == "received_benefits" else "Any disadvantage"
                 if item == "received_disadvantages" else ADV_ITEMS[name])
        advantage = kind == "adv" or item == "received_benefits"
        rows.append({"Type": "Advantage" if advantage else "Disadvantage",
                     "Item": label, "Urban % (95% CI)": _pct_ci(cells["urban"], dec),
                     "Rural % (95% CI)": _pct_ci(cells["rural"], dec),
                     "p (Rao–Scott)": _p(res["tests"][f"{item}_by_urban"])})
    return pd.DataFrame(rows)


def _align(table: pd.DataFrame) -> str:
    """Label columns left, numeric columns (estimates, intervals, p-values) right."""
    return "".join("l" if i < 2 or not _numeric_col(table[c]) else "r"
                   for i, c in enumerate(table.columns))


def _numeric_col(values: pd.Series) -> bool:
    text = values.astype(str).str.replace(r"[\s()–<.\-0-9]", "", regex=True)
    return bool((text == "").all())


# The standard errors' convention in the study's words (see analysis.survey.design).
SE_WORDS = {"calibrated": "standard errors calibrated to the raking margins",
            "fixed": "standard errors with the raked weights taken as given"}
# How the confidence intervals are formed (describe.ci_method), in the study's words.
CI_WORDS = {"logit": "on the logit scale", "wald": "as Wald intervals on the percentage scale"}


def table_note(res: Mapping[str, Any]) -> str:
    """The note under every descriptive table: N, weighting and data status (the
    dataset's own flag, which the describe step puts into ``meta``)."""
    meta = res["meta"]
    margins = ", ".join(m.replace("_", " ") for m in meta.get("raking_margins", []))
    se = SE_WORDS.get(meta.get("variance_method"), "linearised standard errors")
    weighting = (f"Weighted percentages (weights raked to the population margins of "
                 f"{margins}), {se}, {100 * meta['ci_level']:.0f}% confidence intervals "
                 f"{CI_WORDS[meta['ci_method']]}" if margins else "Unweighted percentages")
    note = (f"{weighting}. N = {res['design']['n_valid']:,} valid respondents; a row's "
            "percentage is of those in its base who answered.")
    return status.with_status(note, meta["simulated"])


def write_tables(tables: Mapping[str, pd.DataFrame], out_dir: str | Path,
                 note: str = "") -> list[Path]:
    """One CSV and one Markdown pipe table per table (with ``note`` under it), written
    atomically."""
    out = Path(out_dir)
    written = []
    for name in sorted(tables):
        csv_path, md_path = out / f"{name}.csv", out / f"{name}.md"
        write_text(csv_path, tables[name].to_csv(index=False, lineterminator="\n"))
        body = frame_table(tables[name], _align(tables[name]))
        write_text(md_path, f"{body.rstrip()}\n\n{cell(note, literal=True)}\n" if note else body)
        written += [csv_path, md_path]
    return written


# --------------------------------------------------------------------------- entry point


def describe_survey(
    clean_path: str | Path,
    weights_path: str | Path,
    targets_path: str | Path,
    settings: Mapping[str, Any],
    out_json: str | Path,
    out_tables_dir: str | Path,
    weighting: Mapping[str, Any] | None = None,
    design: Mapping[str, Any] | None = None,
) -> None:
    """Snakemake entry point: descriptives.json plus the descriptive tables (CSV + Markdown).

    ``weighting`` (raking margins, variance convention) and ``design`` (the sampling
    design's columns): the config sections behind the SEs.
    """
    frame = load_inputs(clean_path, weights_path)
    targets = read_targets(targets_path)
    res = describe_frame(frame, settings, targets, weighting, design)
    res["meta"]["simulated"] = status.is_simulated(pd.read_parquet(clean_path), clean_path)
    tables = build_tables(res, int(settings["table_decimals"]))
    write_tables(tables, out_tables_dir, table_note(res))
    write_json(out_json, res)
