"""Validate a raw export against the codebook, and the cleaned file against the contract.

Every failure is collected (pandera ``lazy=True`` plus typing checks) and reported at
once, each with file, line, respondent ID, column, value and rule, so a data manager
fixes an export in one pass instead of one error per build.

What is a *format* error and what is an *exclusion* (the decision this module documents):

* Validation checks the format: required columns, types, allowed codes, ranges,
  blanks where the codebook requires an answer, and ``end_time`` after ``start_time``.
* A respondent ID that appears in several submissions is *not* a format error in the raw
  file: vendors deliver repeated submissions, and cleaning's ``duplicate`` rule keeps the
  first by ``start_time``. Two rows with the same ID *and* the same ``start_time`` are,
  however: that is a copied record, which the duplicate rule cannot order, so the raw
  check is "unique per submission" (always on).
* The codebook's ``unique: true`` means unique *after de-duplication*: it is enforced on
  the rows that survive cleaning (``validate_raw(strict_unique=True)`` or
  :func:`check_unique`), and ``resp_id`` is always unique in the cleaned file
  (:func:`validate_clean`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from analysis.survey.codebook import SurveyCodebook, Variable, evaluate_condition
from analysis.survey.reader import SurveyData

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
MAX_LISTED = 30
_RULE_KIND = re.compile(r"^.+?(?= \[| \(|:|$)")
ID_COLUMN = "respondent_id"
START, END, FINISHED = "start_time", "end_time", "finished"


@dataclass(frozen=True)
class Issue:
    """One failed cell (or column, when ``line`` is None)."""

    file: str
    line: int | None
    respondent_id: str | None
    column: str | None
    value: Any
    rule: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        who = f" (respondent_id {self.respondent_id})" if self.respondent_id else ""
        col = f" column '{self.column}'" if self.column else ""
        val = "" if self.value is None else f": value {self.value!r}"
        return f"{where}{who}{col}{val} -- rule: {self.rule}"


class ValidationError(ValueError):
    """All failures of one validation run; ``issues`` holds every one of them."""

    def __init__(self, source: str, issues: list[Issue], max_listed: int = MAX_LISTED):
        self.source = source
        self.issues = sorted(issues, key=_issue_key)
        by_rule = Counter(_RULE_KIND.match(i.rule).group(0) for i in self.issues)
        summary = ", ".join(f"{rule}: {n}" for rule, n in sorted(by_rule.items()))
        shown = "\n".join(f"  {i}" for i in self.issues[:max_listed])
        more = len(self.issues) - max_listed
        tail = f"\n  ... and {more} more (see .issues)" if more > 0 else ""
        super().__init__(
            f"{source}: validation failed with {len(self.issues)} problem(s) ({summary}); "
            f"nothing was written:\n{shown}{tail}"
        )


def _issue_key(issue: Issue) -> tuple:
    return (issue.line if issue.line is not None else -1, str(issue.column), issue.rule)


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, list | dict) and bool(pd.isna(value)))


# --- typing ------------------------------------------------------------------------


def _type_column(series: pd.Series, var: Variable) -> tuple[pd.Series, pd.Series, str]:
    """Return (typed series, mask of non-blank cells that failed typing, rule)."""
    present = series.notna()
    if var.type == "string":
        return series.astype("string"), pd.Series(False, index=series.index), ""
    if var.type == "timestamp":
        if pd.api.types.is_datetime64_any_dtype(series):
            typed = series
        else:
            typed = pd.to_datetime(series.astype("string"), format=TIMESTAMP_FORMAT,
                                   errors="coerce")
        return typed, present & typed.isna(), f"type: timestamp {TIMESTAMP_FORMAT}"
    numbers = pd.to_numeric(series, errors="coerce").astype("float64")
    infinite = numbers.notna() & ~np.isfinite(numbers)  # 'inf', '-inf', '1e999'
    numbers = numbers.mask(infinite)
    bad = present & numbers.isna()
    if var.type == "float":
        return numbers, bad, "type: finite number"
    fractional = numbers.notna() & (np.floor(numbers) != numbers)
    typed = numbers.where(~fractional).astype("Int64")
    return typed, bad | fractional, "type: integer"


def type_frame(data: SurveyData, codebook: SurveyCodebook) -> tuple[pd.DataFrame, list[Issue]]:
    """Convert codebook columns to their types; report cells that do not parse.

    A column in which more than MAX_LISTED cells fail (a changed timestamp format, a
    column of text) is one issue giving the count and the first cell, not a flood.
    """
    frame, issues = data.frame, []
    typed = pd.DataFrame(index=frame.index)
    ids = _ids(frame)
    for name, var in codebook.variables.items():
        if name not in frame.columns:
            continue
        typed[name], bad, rule = _type_column(frame[name], var)
        failed = frame.index[bad.to_numpy()]
        if len(failed) > MAX_LISTED:
            first = _issue(data, ids, failed[0], name, frame.at[failed[0], name], rule)
            issues.append(Issue(
                data.path, None, None, name, None,
                f"{rule}: {len(failed)} of {int(frame[name].notna().sum())} values fail, "
                f"the first on line {first.line} ({first.value!r}); is the whole column in "
                "another format?",
            ))
            continue
        issues += [_issue(data, ids, idx, name, frame.at[idx, name], rule) for idx in failed]
    return typed, issues


def _ids(frame: pd.DataFrame) -> pd.Series:
    if ID_COLUMN in frame.columns:
        return frame[ID_COLUMN].astype("string")
    return pd.Series(pd.NA, index=frame.index, dtype="string")


def _issue(data: SurveyData, ids: pd.Series, idx: Any, column: str | None, value: Any,
           rule: str) -> Issue:
    rid = ids.get(idx)
    value = None if _missing(value) else (value.item() if hasattr(value, "item") else value)
    return Issue(data.path, int(data.lines[idx]), None if pd.isna(rid) else str(rid), column,
                 value, rule)


# --- value labels of SPSS / Stata files --------------------------------------------


def _label_key(label: str) -> str:
    return " ".join(str(label).split()).casefold()


def label_issues(data: SurveyData, codebook: SurveyCodebook) -> list[Issue]:
    """A labelled file (.sav, .dta) whose own value labels disagree with the codebook.

    The codes are read as numbers, so a file whose labels reverse the approval scale or
    swap the genders would build with the codebook's meaning silently applied to the
    opposite answers. Every code the file labels differently (case and spacing aside)
    is an issue naming the column, the code, the label found and the label expected.
    """
    issues = []
    for column, labels in sorted(data.value_labels.items()):
        var = codebook.variables.get(column)
        if var is None:
            continue
        expected = {**var.codes, **var.missing_codes}
        for code, found in sorted(labels.items()):
            want = expected.get(code)
            if want is not None and _label_key(found) != _label_key(want):
                issues.append(Issue(
                    data.path, None, None, column, code,
                    f"value label: the file labels code {code} {found!r}, the codebook "
                    f"{codebook.path} says {want!r}",
                ))
    return issues


# --- codebook schema ---------------------------------------------------------------


def required_mask(var: Variable, typed: pd.DataFrame) -> pd.Series:
    """Rows where a blank in ``var`` is an error (see codebook ``required``)."""
    if var.required == "never":
        return pd.Series(False, index=typed.index)
    if var.required == "always":
        return pd.Series(True, index=typed.index)
    finished = (
        typed[FINISHED].eq(1).fillna(False).astype(bool)
        if FINISHED in typed.columns else pd.Series(True, index=typed.index)
    )
    if var.required == "if_finished" or not var.asked_if:
        return finished
    names = {c for c in typed.columns}
    try:
        asked = evaluate_condition(var.asked_if, typed[list(names)])
    except KeyError:  # a column used by the condition is missing; reported elsewhere
        return pd.Series(False, index=typed.index)
    return finished & asked


def _checks(var: Variable, typed: pd.DataFrame) -> list[pa.Check]:
    checks: list[pa.Check] = []
    if var.type in ("binary", "categorical") and var.codes:
        allowed = sorted(var.allowed_codes)
        checks.append(pa.Check(lambda s, a=allowed: s.isin(a), name=f"allowed codes {allowed}"))
    elif var.type in ("integer", "float") and var.range is not None:
        lo, hi = var.range
        extra = sorted(var.missing_codes)
        checks.append(pa.Check(
            lambda s, lo=lo, hi=hi, ex=extra: s.between(lo, hi) | s.isin(ex),
            name=f"range [{lo}, {hi}]" + (f" or missing code {extra}" if extra else ""),
        ))
    mask = required_mask(var, typed)
    if mask.any():
        checks.append(pa.Check(
            lambda s, m=mask: s.notna() | ~m, ignore_na=False,
            name=f"required ({var.required}"
            + (f": asked if {var.asked_if}" if var.required == "if_asked" and var.asked_if else "")
            + ")",
        ))
    return checks


def codebook_schema(codebook: SurveyCodebook, typed: pd.DataFrame) -> pa.DataFrameSchema:
    """A pandera schema for one typed frame (required masks depend on its rows)."""
    columns = {
        name: pa.Column(checks=_checks(var, typed), nullable=True, required=True)
        for name, var in codebook.variables.items()
    }
    if START in typed.columns and END in typed.columns and END in columns:
        start = typed[START]
        columns[END].checks.append(pa.Check(
            lambda s, st=start: s.isna() | st.isna() | (s > st), ignore_na=False,
            name="end_time after start_time",
        ))
    return pa.DataFrameSchema(columns, strict=False)


def _schema_issues(data: SurveyData, typed: pd.DataFrame, schema: pa.DataFrameSchema,
                   ids: pd.Series) -> list[Issue]:
    try:
        schema.validate(typed, lazy=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return []
    issues = []
    for row in cases.itertuples(index=False):
        if row.check == "column_in_dataframe":
            issues.append(Issue(data.path, None, None, str(row.failure_case), None,
                                "required column missing from the file"))
        elif pd.isna(row.index):
            issues.append(Issue(data.path, None, None, row.column, row.failure_case,
                                str(row.check)))
        else:
            issues.append(_issue(data, ids, row.index, row.column,
                                 data.frame.at[row.index, row.column], str(row.check)))
    return issues


def _unique_issues(data: SurveyData, typed: pd.DataFrame, codebook: SurveyCodebook, strict: bool,
                   ids: pd.Series) -> list[Issue]:
    """Identical submissions always; codebook ``unique: true`` columns when ``strict``."""
    issues = []
    if ID_COLUMN in typed.columns and START in typed.columns:
        # A start time that did not parse is reported as a type error, not as a copy.
        known = typed[ID_COLUMN].notna() & typed[START].notna()
        dup = typed[known].duplicated([ID_COLUMN, START], keep=False).reindex(
            typed.index, fill_value=False)
        rule = (f"unique per submission: ({ID_COLUMN}, {START}) repeats, a copied record "
                "that the duplicate rule cannot order")
        issues += [_issue(data, ids, i, ID_COLUMN, data.frame.at[i, ID_COLUMN], rule)
                   for i in typed.index[dup.to_numpy()]]
    for name, var in codebook.variables.items():
        if strict and var.unique and name in typed.columns:
            dup = typed.duplicated([name], keep=False) & typed[name].notna()
            issues += [_issue(data, ids, i, name, data.frame.at[i, name],
                              f"unique: {name} must not repeat")
                       for i in typed.index[dup.to_numpy()]]
    return issues


def validate_raw(data: SurveyData, codebook: SurveyCodebook, strict_unique: bool = False
                 ) -> pd.DataFrame:
    """Return the typed frame of a raw export, or raise ValidationError with every failure.

    ``strict_unique`` also enforces the codebook's ``unique: true`` columns, for a file that
    should already be de-duplicated; see the module docstring.
    """
    ids = _ids(data.frame)
    issues = [
        Issue(data.path, 1 if data.format == "csv" else None, None, col, None,
              "column not in the codebook")
        for col in data.frame.columns if col not in codebook.variables
    ]
    issues += label_issues(data, codebook)
    typed, type_issues = type_frame(data, codebook)
    issues += type_issues
    issues += _schema_issues(data, typed, codebook_schema(codebook, typed), ids)
    issues += _unique_issues(data, typed, codebook, strict_unique, ids)
    if issues:
        raise ValidationError(data.path, _dedupe(issues))
    return typed


def _dedupe(issues: list[Issue]) -> list[Issue]:
    """A cell that failed typing is blank afterwards: report its type, not also 'required'."""
    mistyped = {(i.line, i.column) for i in issues if i.rule.startswith("type:")}
    return [
        i for i in issues
        if not (i.rule.startswith("required") and (i.line, i.column) in mistyped)
    ]


def check_unique(frame: pd.DataFrame, column: str, source: str,
                 lines: pd.Series | None = None) -> None:
    """Strict uniqueness, for a frame that must already be de-duplicated."""
    dup = frame[column].duplicated(keep=False) & frame[column].notna()
    if dup.any():
        issues = [
            Issue(source, None if lines is None else int(lines[i]), str(frame.at[i, column]),
                  column, frame.at[i, column], f"unique: {column} must not repeat")
            for i in frame.index[dup.to_numpy()]
        ]
        raise ValidationError(source, issues)


# --- the cleaned analysis file (docs/CONTRACT.md) ----------------------------------

#: Categorical columns of the cleaned file: (categories in order, ordered?).
CLEAN_CATEGORIES: dict[str, tuple[list[str], bool]] = {
    "age_band": (["14-30", "31-50", "51-65"], True),
    "gender": (["female", "male"], False),
    "region": (["East", "Central", "West"], False),
    "income": (["<1000", "1000-4000", ">4000", "undisclosed"], True),
    "education": (["none", "low", "medium", "high"], True),
    "employment": (["employed", "not employed", "in education", "self-employed", "other"], False),
    "who_should_run": (["central government", "local governments",
                        "government with private firms", "private firms", "should not exist",
                        "don't know"], False),
}
_ADV = ["credit_access", "loan_rates", "visa", "deposit_free", "transport", "dating"]
#: Commercial users only: NA for everybody else.
COMMERCIAL_ONLY = [
    "score_vs_peers", "knows_calc", "received_info", "joined_auto", "score_fair",
    *[f"adv_{a}" for a in _ADV], "received_benefits", *[f"dis_{a}" for a in _ADV],
    "received_disadvantages",
]
_BINARY = [
    "male", "urban", "ccp_member", "use_sesame", "use_tencent", "use_local_pilot", "use_none",
    "use_dont_know", "commercial_user", "lives_in_pilot_locality", "received_info",
    "joined_auto", *[f"adv_{a}" for a in _ADV], "received_benefits",
    *[f"dis_{a}" for a in _ADV], "received_disadvantages",
    *[f"resp_{r}" for r in ("central", "provincial", "municipal", "soe", "foreign", "private")],
    "mutual_mistrust",
]
#: Integer columns (nullable Int64) and their ranges.
CLEAN_INTEGERS: dict[str, tuple[int, int]] = {
    "age": (14, 65), **dict.fromkeys(_BINARY, (0, 1)),
    "smartphone_time": (1, 6), "posting_freq": (1, 6), "confidence_gov": (1, 4),
    "score_vs_peers": (1, 5), "knows_calc": (1, 3), "score_fair": (1, 4), "fn_honest": (1, 5),
    "fn_regulations": (1, 4), "fn_quality_of_life": (1, 5), "approval": (1, 5),
}
CLEAN_FLOATS: dict[str, tuple[float, float]] = {
    "age10": (1.4, 6.5), "sesame_score": (350, 950), "tencent_score": (0, 850),
    "score_magnitude": (0, 1),
}
#: Column order of the cleaned file.
CLEAN_COLUMNS: list[str] = [
    "resp_id", "age", "age10", "age_band", "gender", "male", "province", "region", "urban",
    "income", "education", "employment", "smartphone_time", "posting_freq", "ccp_member",
    "confidence_gov", "use_sesame", "use_tencent", "use_local_pilot", "use_none",
    "use_dont_know", "commercial_user", "lives_in_pilot_locality", "sesame_score",
    "tencent_score", "score_magnitude", "score_vs_peers", "knows_calc", "received_info",
    "joined_auto", "score_fair", *[f"adv_{a}" for a in _ADV], "received_benefits",
    *[f"dis_{a}" for a in _ADV], "received_disadvantages", "fn_honest", "fn_regulations",
    "fn_quality_of_life", "who_should_run",
    *[f"resp_{r}" for r in ("central", "provincial", "municipal", "soe", "foreign", "private")],
    "mutual_mistrust", "approval",
]


def clean_schema() -> pa.DataFrameSchema:
    """The cleaned layout of docs/CONTRACT.md as a pandera schema."""
    cols: dict[str, pa.Column] = {
        "resp_id": pa.Column("string", nullable=False, unique=True),
        "province": pa.Column("string", nullable=False),
    }
    for name, (cats, ordered) in CLEAN_CATEGORIES.items():
        cols[name] = pa.Column(pd.CategoricalDtype(cats, ordered=ordered),
                               nullable=name not in ("age_band", "gender", "region"))
    for name, (lo, hi) in CLEAN_INTEGERS.items():
        cols[name] = pa.Column("Int64", pa.Check.in_range(lo, hi), nullable=name != "age")
    for name, (lo, hi) in CLEAN_FLOATS.items():
        cols[name] = pa.Column("float64", pa.Check.in_range(lo, hi), nullable=name != "age10")
    non_user = pa.Check(
        lambda df: df["commercial_user"].eq(1) | df[COMMERCIAL_ONLY].isna().all(axis=1),
        name="commercial-user questions are blank for non-users",
    )
    return pa.DataFrameSchema(
        {c: cols[c] for c in CLEAN_COLUMNS}, strict=True, ordered=True, checks=[non_user]
    )


def validate_clean(frame: pd.DataFrame, source: str) -> None:
    """Raise ValidationError unless ``frame`` has exactly the cleaned layout."""
    try:
        clean_schema().validate(frame, lazy=True)
    except SchemaErrors as exc:
        issues = []
        for row in exc.failure_cases.itertuples(index=False):
            rid = None
            if not pd.isna(row.index) and "resp_id" in frame.columns:
                rid = str(frame["resp_id"].iloc[int(row.index)])
            value = None if _missing(row.failure_case) else row.failure_case
            issues.append(Issue(source, None, rid, row.column, value, str(row.check)))
        raise ValidationError(source, issues) from None
