"""Exclusion rules and the cleaned analysis file of the survey.

The paper reports a participant flow (started -> completed -> excluded by reason ->
valid), so every exclusion must be traceable: each rule is named in config (``cleaning:
rules``), with its parameter and a reason, and applied to *every* started row. A row
records the first rule it failed, in the configured order (that is the flow's "reason"),
and all rules it failed (so the effect of reordering or dropping a rule can be read off
the log without re-running).

Rules (parameters in config):

``incomplete``      ``finished`` is not 1.
``speeder``         duration (end - start) below ``fraction_of_median`` x the median
                    duration of the finished rows.
``straight_liner``  ``k`` or more identical consecutive answers over the ``grid`` columns
                    (raw names, in questionnaire order); a blank breaks a run.
``inconsistent``    any of the named ``checks`` in :data:`INCONSISTENCY_CHECKS` holds.
``duplicate``       a ``respondent_id`` already seen: every submission but the first by
                    ``start_time`` (ties by file line) fails.

Inconsistency checks read cleaned names (``clean_name`` in the codebook), so a real export
with other raw column names only needs its codebook.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.survey import status
from analysis.survey.codebook import (
    SurveyCodebook,
    check_approval_direction,
    load_survey_codebook,
)
from analysis.survey.reader import SurveyData, read_survey
from analysis.survey.validation import (
    CLEAN_CATEGORIES,
    CLEAN_COLUMNS,
    CLEAN_FLOATS,
    COMMERCIAL_ONLY,
    END,
    FINISHED,
    ID_COLUMN,
    START,
    Issue,
    ValidationError,
    check_unique,
    validate_clean,
    validate_raw,
)
from paperkit.io import atomic_path
from paperkit.manifest import sha256_file, verify_registered

AGE_BANDS = ((14, 30, "14-30"), (31, 50, "31-50"), (51, 65, "51-65"))
ADV_ITEMS = ["credit_access", "loan_rates", "visa", "deposit_free", "transport", "dating"]


class CleaningError(ValueError):
    """The rules in config cannot be applied to this file."""


# --- the rules ---------------------------------------------------------------------


def _need(frame: pd.DataFrame, column: str, rule: str) -> pd.Series:
    if column not in frame.columns:
        raise CleaningError(
            f"rule '{rule}' needs column '{column}', which the file/codebook does not provide"
        )
    return frame[column]


def _eq1(series: pd.Series) -> pd.Series:
    return series.eq(1).fillna(False).astype(bool)


def durations(raw: pd.DataFrame) -> pd.Series:
    """Questionnaire time in seconds (NA when not finished)."""
    return (_need(raw, END, "speeder") - _need(raw, START, "speeder")).dt.total_seconds()


def rule_incomplete(raw: pd.DataFrame, named: pd.DataFrame, params: Mapping) -> pd.Series:
    return ~_eq1(_need(raw, FINISHED, "incomplete"))


def rule_speeder(raw: pd.DataFrame, named: pd.DataFrame, params: Mapping) -> pd.Series:
    seconds = durations(raw)
    finished = _eq1(raw[FINISHED])
    threshold = float(params["fraction_of_median"]) * seconds[finished].median()
    return (finished & (seconds < threshold)).fillna(False).astype(bool)


def longest_run(grid: pd.DataFrame) -> pd.Series:
    """Longest run of identical consecutive non-blank values in each row."""
    values = grid.astype("float64").to_numpy()
    best = np.where(np.isnan(values[:, 0]), 0, 1) if values.shape[1] else np.zeros(len(grid))
    run = best.copy()
    for j in range(1, values.shape[1]):
        same = values[:, j] == values[:, j - 1]  # NaN never equals
        run = np.where(same, run + 1, np.where(np.isnan(values[:, j]), 0, 1))
        best = np.maximum(best, run)
    return pd.Series(best.astype(int), index=grid.index)


def rule_straight_liner(raw: pd.DataFrame, named: pd.DataFrame, params: Mapping) -> pd.Series:
    grid = pd.DataFrame({c: _need(raw, c, "straight_liner") for c in params["grid"]})
    return longest_run(grid) >= int(params["k"])


def _commercial(named: pd.DataFrame, rule: str) -> pd.Series:
    return _eq1(_need(named, "use_sesame", rule)) | _eq1(_need(named, "use_tencent", rule))


def _reported_score(named: pd.DataFrame, rule: str) -> pd.Series:
    return _need(named, "sesame_score", rule).notna() | _need(named, "tencent_score", rule).notna()


#: Named inconsistency checks: a row is inconsistent if any configured check is True.
INCONSISTENCY_CHECKS: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    "use_none_with_commercial_use": lambda d: _eq1(_need(d, "use_none", "inconsistent"))
    & _commercial(d, "inconsistent"),
    "use_none_with_score": lambda d: _eq1(_need(d, "use_none", "inconsistent"))
    & _reported_score(d, "inconsistent"),
    "use_none_with_local_pilot": lambda d: _eq1(_need(d, "use_none", "inconsistent"))
    & _eq1(_need(d, "use_local_pilot", "inconsistent")),
    "dont_know_with_use": lambda d: _eq1(_need(d, "use_dont_know", "inconsistent"))
    & (_commercial(d, "inconsistent") | _eq1(_need(d, "use_local_pilot", "inconsistent"))),
}


def rule_inconsistent(raw: pd.DataFrame, named: pd.DataFrame, params: Mapping) -> pd.Series:
    out = pd.Series(False, index=raw.index)
    for name in params["checks"]:
        if name not in INCONSISTENCY_CHECKS:
            raise CleaningError(
                f"unknown inconsistency check '{name}'; known: {sorted(INCONSISTENCY_CHECKS)}"
            )
        out |= INCONSISTENCY_CHECKS[name](named).fillna(False).astype(bool)
    return out


def rule_duplicate(raw: pd.DataFrame, named: pd.DataFrame, params: Mapping) -> pd.Series:
    ids = _need(raw, ID_COLUMN, "duplicate")
    order = pd.DataFrame({"id": ids, "start": _need(raw, START, "duplicate"),
                          "pos": np.arange(len(raw))}, index=raw.index)
    order = order.sort_values(["id", "start", "pos"], na_position="last", kind="stable")
    first = ~order["id"].duplicated(keep="first") | order["id"].isna()
    return ~first.reindex(raw.index)


RULES: dict[str, Callable[[pd.DataFrame, pd.DataFrame, Mapping], pd.Series]] = {
    "incomplete": rule_incomplete,
    "speeder": rule_speeder,
    "straight_liner": rule_straight_liner,
    "inconsistent": rule_inconsistent,
    "duplicate": rule_duplicate,
}


def recode_missing(typed: pd.DataFrame, codebook: SurveyCodebook) -> pd.DataFrame:
    """Codebook ``missing_codes`` (refused, don't know) become NA."""
    out = typed.copy()
    for name, var in codebook.variables.items():
        if var.missing_codes and name in out.columns:
            out[name] = out[name].mask(out[name].isin(list(var.missing_codes)))
    return out


def named_view(typed: pd.DataFrame, codebook: SurveyCodebook) -> pd.DataFrame:
    """Answers under their cleaned names, missing codes as NA."""
    mapping = {k: v for k, v in codebook.clean_names().items() if k in typed.columns}
    return recode_missing(typed, codebook)[list(mapping)].rename(columns=mapping)


def apply_rules(typed: pd.DataFrame, codebook: SurveyCodebook, rules: Mapping[str, Any]
                ) -> pd.DataFrame:
    """One boolean column per configured rule, in configured order."""
    unknown = [name for name in rules if name not in RULES]
    if unknown:
        raise CleaningError(f"unknown cleaning rule(s) {unknown}; known: {list(RULES)}")
    raw, named = recode_missing(typed, codebook), named_view(typed, codebook)
    return pd.DataFrame({name: RULES[name](raw, named, params or {})
                         for name, params in rules.items()}, index=typed.index)


def exclusion_log(flags: pd.DataFrame, ids: pd.Series, lines: pd.Series) -> pd.DataFrame:
    """respondent_id, line, first_rule, all_rules (';'-joined, configured order)."""
    failed = flags.any(axis=1)
    names = np.array(flags.columns)
    rows = flags[failed]
    return pd.DataFrame({
        "respondent_id": ids[failed].astype("string").to_numpy(),
        "line": lines[failed].astype("int64").to_numpy(),
        "first_rule": [names[r.to_numpy()][0] for _, r in rows.iterrows()],
        "all_rules": [";".join(names[r.to_numpy()]) for _, r in rows.iterrows()],
    })


# --- the cleaned analysis file -----------------------------------------------------


def _labelled(series: pd.Series, codebook: SurveyCodebook, raw_name: str, clean: str) -> pd.Series:
    var = codebook[raw_name]
    cats, ordered = CLEAN_CATEGORIES[clean]
    labels = series.map(lambda v: pd.NA if pd.isna(v) else var.codes.get(int(v), pd.NA))
    return pd.Categorical(labels, categories=[var.codes[c] for c in sorted(var.codes)],
                          ordered=var.ordered or ordered)


def _age_band(age: pd.Series) -> pd.Categorical:
    cats, _ = CLEAN_CATEGORIES["age_band"]
    labels = pd.Series(pd.NA, index=age.index, dtype="object")
    for lo, hi, label in AGE_BANDS:
        labels[age.between(lo, hi)] = label
    return pd.Categorical(labels, categories=cats, ordered=True)


def _any(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """1 if any column is 1, 0 if all are 0, NA otherwise."""
    block = frame[columns]
    out = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    out[block.notna().all(axis=1)] = 0
    out[block.eq(1).any(axis=1).fillna(False)] = 1
    return out


def _score_magnitude(named: pd.DataFrame, codebook: SurveyCodebook) -> pd.Series:
    """Reported score on [0, 1]: Sesame if reported, else Tencent, over the scale range."""
    ranges = {v.clean_name: v.range for v in codebook.variables.values() if v.clean_name}
    parts = []
    for name in ("sesame_score", "tencent_score"):
        lo, hi = ranges.get(name) or (np.nan, np.nan)
        parts.append((named[name].astype("float64") - lo) / (hi - lo))
    return parts[0].fillna(parts[1]).astype("float64")


def build_clean(typed: pd.DataFrame, codebook: SurveyCodebook, provinces: pd.DataFrame
                ) -> pd.DataFrame:
    """The valid rows in the cleaned layout of docs/CONTRACT.md."""
    named = named_view(typed, codebook).reset_index(drop=True)
    raw_of = {clean: raw for raw, clean in codebook.clean_names().items()}
    out = pd.DataFrame(index=named.index)
    for col in CLEAN_COLUMNS:
        if col in CLEAN_CATEGORIES and col in named.columns:
            out[col] = _labelled(named[col], codebook, raw_of[col], col)
        elif col in CLEAN_FLOATS and col in named.columns:
            out[col] = named[col].astype("float64")
        elif col in named.columns and col not in ("resp_id", "province"):
            out[col] = named[col].astype("Int64")
    out["resp_id"] = named["resp_id"].astype("string")
    out["age10"] = out["age"].astype("float64") / 10
    out["age_band"] = _age_band(out["age"])
    out["male"] = out["gender"].eq("male").astype("Int64").where(out["gender"].notna())
    prov = provinces.set_index("code")
    codes = named["province"].astype("Int64")
    out["province"] = codes.map(prov["province_en"]).astype("string")
    out["region"] = pd.Categorical(codes.map(prov["region"]),
                                   categories=CLEAN_CATEGORIES["region"][0])
    commercial = (out["use_sesame"].eq(1) | out["use_tencent"].eq(1)).fillna(False)
    out["commercial_user"] = commercial.astype("Int64")
    out["score_magnitude"] = _score_magnitude(named, codebook).where(commercial)
    out["received_benefits"] = _any(out, [f"adv_{a}" for a in ADV_ITEMS]).where(commercial)
    out["received_disadvantages"] = _any(out, [f"dis_{a}" for a in ADV_ITEMS]).where(commercial)
    missing = [c for c in CLEAN_COLUMNS if c not in out.columns]
    if missing:
        raise CleaningError(
            f"{codebook.path}: no codebook variable has clean_name {missing}, which the "
            "cleaned layout of docs/CONTRACT.md needs"
        )
    for col in COMMERCIAL_ONLY:
        out[col] = out[col].where(commercial)
    return out[CLEAN_COLUMNS]


def read_provinces(path: str | Path) -> pd.DataFrame:
    table = pd.read_csv(path, dtype={"code": "int64"}, encoding="utf-8-sig")
    need = {"code", "province_en", "region"}
    if not need <= set(table.columns):
        raise CleaningError(f"{path}: needs columns {sorted(need)}, has {list(table.columns)}")
    bad = sorted(set(table["region"]) - set(CLEAN_CATEGORIES["region"][0]))
    if bad or table["code"].duplicated().any():
        raise CleaningError(f"{path}: unknown region(s) {bad} or repeated province codes")
    return table


def check_province_codes(data: SurveyData, typed: pd.DataFrame, provinces: pd.DataFrame,
                         provinces_path: str | Path) -> None:
    """Every province code of the export has a row (name, region) in the provinces table.

    Without one the respondent would have no region and fall out of the raking silently;
    the issue names the row, the code and the table to add it to.
    """
    if "province" not in typed.columns:
        return
    codes = typed["province"]
    unknown = codes.notna() & ~codes.isin(provinces["code"])
    if unknown.any():
        ids = typed[ID_COLUMN].astype("string") if ID_COLUMN in typed else None
        rule = (f"province code not in {provinces_path}: add a row 'code,province_en,region' "
                "for it")
        raise ValidationError(data.path, [
            Issue(data.path, int(data.lines[i]), None if ids is None else str(ids[i]),
                  "province", int(codes[i]), rule)
            for i in typed.index[unknown.to_numpy()]
        ])


def _all_excluded(raw_path: str | Path, flags: pd.DataFrame) -> str:
    """Say at cleaning, not at weighting, that no respondent is left, and why."""
    first = flags.idxmax(axis=1)
    counts = ", ".join(f"{rule}: {int((first == rule).sum())}" for rule in flags.columns
                       if (first == rule).any())
    return (
        f"{raw_path}: all {len(flags)} respondents were excluded by the cleaning rules "
        f"(by first rule failed: {counts}); no valid respondent is left to analyse. Check the "
        "export, or the rules and their parameters under cleaning.rules in config/config.yaml"
    )


# --- flow and entry point ----------------------------------------------------------


def flow(typed: pd.DataFrame, flags: pd.DataFrame, rules: Mapping[str, Any]) -> dict[str, Any]:
    """started -> completed -> excluded by first rule -> valid, plus all-failure counts."""
    failed = flags.any(axis=1)
    first = flags.idxmax(axis=1)[failed]
    out: dict[str, Any] = {
        "started": int(len(typed)),
        "completed": int(_eq1(typed[FINISHED]).sum()),
        "excluded_total": int(failed.sum()),
        "excluded_by_first_rule": {r: int((first == r).sum()) for r in flags.columns},
        "failed_by_rule": {r: int(flags[r].sum()) for r in flags.columns},
        "valid": int((~failed).sum()),
        "rule_order": list(flags.columns),
        "rules": {name: dict(params or {}) for name, params in rules.items()},
    }
    out["completion_rate"] = round(out["completed"] / out["started"], 6)
    if "speeder" in rules:
        seconds = durations(typed)[_eq1(typed[FINISHED])]
        frac = float(rules["speeder"]["fraction_of_median"])
        out["median_duration_seconds"] = float(seconds.median())
        out["speeder_threshold_seconds"] = round(frac * float(seconds.median()), 3)
    return out


def _write_log(tmp: Path, target: Path, log: pd.DataFrame) -> None:
    """Parquet if the target ends in .parquet, else CSV."""
    if target.suffix == ".parquet":
        log.to_parquet(tmp, index=False)
    else:
        log.to_csv(tmp, index=False, lineterminator="\n")


def clean_survey(raw_path: str | Path, codebook_path: str | Path, provinces_path: str | Path,
                 registered: Mapping[str, str | None], rules: Mapping[str, Any],
                 out_clean: str | Path, out_log: str | Path, out_flow: str | Path) -> None:
    """Verify, read, validate and clean the raw export; write all three outputs or none.

    ``rules`` is ``config["cleaning"]["rules"]`` (the whole ``config["cleaning"]`` section
    is accepted too). ``registered``: the raw file's registered checksum (path -> sha256,
    from the raw-data manifest), verified before anything is read.
    """
    from analysis.project import REGISTER_COMMAND

    if set(rules) == {"rules"} and isinstance(rules["rules"], Mapping):
        rules = rules["rules"]
    verify_registered(registered, register_hint=REGISTER_COMMAND)
    codebook = load_survey_codebook(codebook_path)
    check_approval_direction(codebook)
    data = read_survey(raw_path, codebook.columns)
    typed = validate_raw(data, codebook)
    flags = apply_rules(typed, codebook, rules)
    valid = typed[~flags.any(axis=1)]
    if valid.empty:
        raise CleaningError(_all_excluded(raw_path, flags))
    provinces = read_provinces(provinces_path)
    check_province_codes(data, typed, provinces, provinces_path)
    for column in sorted({ID_COLUMN} | {n for n, v in codebook.variables.items() if v.unique}):
        check_unique(valid, column, f"{raw_path} after exclusions", data.lines)
    clean = status.mark(build_clean(valid, codebook, provinces), codebook.dataset)
    validate_clean(clean, f"cleaned file from {raw_path}")
    log = exclusion_log(flags, typed[ID_COLUMN], data.lines)
    summary = flow(typed, flags, rules)
    summary["source"] = {"file": Path(raw_path).name, "format": data.format,
                         "encoding": data.encoding, "sha256": sha256_file(raw_path),
                         "simulated": clean.attrs[status.ATTR]}
    text = json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    # Everything is computed before the first byte is written; the three files are then
    # written to temporary names and renamed together, so a failure leaves none of them.
    with contextlib.ExitStack() as stack:
        tmp_clean, tmp_log, tmp_flow = (
            stack.enter_context(atomic_path(p)) for p in (out_clean, out_log, out_flow)
        )
        clean.to_parquet(tmp_clean, index=False)
        _write_log(tmp_log, Path(out_log), log)
        tmp_flow.write_text(text, encoding="utf-8", newline="\n")
