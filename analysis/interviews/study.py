"""Interviewees, their codings and their demographics: a project read through the mapping.

Who is an interviewee: with Cases, every case not excluded by
``interviewees.exclude_cases`` (nor made only of documents excluded by
``interviewees.exclude_documents``); without Cases (most NVivo and MAXQDA exports),
every document not excluded. A document in no case is not an interviewee.

Every coding is accounted for, none is dropped quietly: it is tallied (a mapped code on
an interviewee's material), case membership (NVivo's case codes), ignored by the mapping
(``ignore_codes``) or in an excluded document, and counted as such; anything else (a code
in no mapping entry, a category code, a coding outside every case) stops the build with
the coding, its code and its source named, all at once.
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.interviews.mapping import Mapping, excluded, resolve_codes
from analysis.qda.qdpx import Project, Segment, open_csv

log = logging.getLogger(__name__)
MAX_LISTED = 5


class StudyError(ValueError):
    """The project, read through the mapping, breaks a rule of the study."""


@dataclass
class Study:
    """The project as the analysis sees it: interviewees x coders x study keys."""

    units: list[str]  # interviewee ids (case or source GUIDs), sorted
    names: dict[str, str]  # id -> case or document name (messages and the check only)
    long: pd.DataFrame  # one row per (unit, coder, key) presence
    keys: dict[str, str]  # code GUID -> study key
    accounting: dict[str, int] = field(default_factory=dict)
    not_interviewees: dict[str, list[str]] = field(default_factory=dict)


def excluded_documents(project: Project, mapping: Mapping) -> set[str]:
    return {g for g, s in project.sources.items() if excluded(s.name, mapping.exclude_documents)}


def interviewees(
    project: Project, mapping: Mapping, keys: dict[str, str] | None = None
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Interviewee id -> name, and the documents/cases left out, by reason."""
    docs_out = excluded_documents(project, mapping)
    left: dict[str, list[str]] = defaultdict(list)
    for guid in sorted(docs_out):
        left["excluded by interviewees.exclude_documents"].append(project.sources[guid].name)
    if not project.cases:
        return {g: s.name for g, s in project.sources.items() if g not in docs_out}, dict(left)
    units = {}
    for guid, case in project.cases.items():
        if excluded(case.name, mapping.exclude_cases):
            left["case excluded by interviewees.exclude_cases"].append(case.name)
        elif case.sources and set(case.sources) <= docs_out:
            left["case of excluded documents only"].append(case.name)
        else:
            units[guid] = case.name
    in_case = {s for case in project.cases.values() for s in case.sources}
    in_case |= {s.source for s, cases in zip(project.segments,
                                                project.cases_of_segments(set(keys or ())),
                                                strict=True) if cases}
    for guid in sorted(set(project.sources) - in_case - docs_out):
        left["document in no case"].append(project.sources[guid].name)
    return units, dict(left)


def build_study(project: Project, mapping: Mapping) -> Study:
    """Account for every coding; raise StudyError naming each one that cannot be placed."""
    keys, ignored = resolve_codes(project, mapping)
    names, left = interviewees(project, mapping, keys)
    rows, counts, unplaced = account(project, mapping, keys, ignored, names)
    if unplaced:
        raise StudyError(_unplaced_message(project, mapping, unplaced))
    long = pd.DataFrame(sorted(rows), columns=["case", "coder", "code"])
    return Study(sorted(names), names, long, keys, dict(sorted(counts.items())), left)


def account(
    project: Project, mapping: Mapping, keys: dict[str, str], ignored: set[str],
    names: dict[str, str],
) -> tuple[set[tuple[str, str, str]], Counter[str], dict[tuple[str, str], list[Segment]]]:
    """Presence rows, counts per disposition, and the codings that cannot be placed."""
    case_codes = project.case_codes()
    docs_out = excluded_documents(project, mapping)
    rows: set[tuple[str, str, str]] = set()
    counts: Counter[str] = Counter()
    unplaced: dict[tuple[str, str], list[Segment]] = defaultdict(list)
    for seg, cases in zip(project.segments, project.cases_of_segments(set(keys)), strict=True):
        units = [c for c in cases if c in names]
        if seg.code in case_codes:
            counts["case membership (case codes)"] += 1
        elif seg.code in ignored:
            counts["ignored (ignore_codes)"] += 1
        elif seg.source in docs_out or (cases and not units):
            counts["in excluded documents or cases"] += 1
        elif not units:
            unplaced[("in no case", seg.code)].append(seg)
        elif seg.code not in keys:
            unplaced[("unmapped", seg.code)].append(seg)
        else:
            counts["tallied"] += 1
            coder = project.users.get(seg.coder, seg.coder) or "(unknown)"
            rows.update((unit, coder, keys[seg.code]) for unit in units)
    return rows, counts, unplaced


def _unplaced_message(
    project: Project, mapping: Mapping, unplaced: dict[tuple[str, str], list[Segment]]
) -> str:
    n = sum(len(v) for v in unplaced.values())
    lines = [f"{project.where}: {n} coding(s) cannot be tallied (every coding must be):"]
    for (reason, guid), segs in sorted(unplaced.items(), key=lambda kv: kv[0]):
        code = project.codes[guid]
        what = "" if code.codable else ", a category code (isCodable=false)"
        examples = "; ".join(
            f"coding {s.coding or s.selection} in source {project.sources[s.source].name!r}"
            for s in segs[:MAX_LISTED]
        )
        more = f"; and {len(segs) - MAX_LISTED} more" if len(segs) > MAX_LISTED else ""
        if reason == "unmapped":
            why = (f"code {'/'.join(code.path)!r} ({guid}{what}) is in no entry of "
                   f"{mapping.path}")
        else:
            why = f"code {'/'.join(code.path)!r} ({guid}) applied outside every case"
        lines.append(f"  {why}: {len(segs)} coding(s): {examples}{more}")
    lines.append(
        "Map each code to a study key (barriers/status), list it under ignore_codes, exclude "
        "its documents (interviewees.exclude_documents) or put them in a case."
    )
    return "\n".join(lines)


def status_from_variables(
    project: Project, study: Study, mapping: Mapping, participants: str | None = None
) -> dict[str, dict[str, bool]]:
    """Status key -> interviewee -> holds, for statuses given by a variable's values
    (a case or document variable, or a column of the participants CSV)."""
    if not mapping.status_variables:
        return {}
    rows_csv = (read_participants_csv(participants, mapping.participants_key)
                if participants else None)
    values = {}
    for unit in study.units:
        row = _unit_values(project, study, unit, mapping, rows_csv)[0] if rows_csv else {}
        values[unit] = {**unit_variables(project, unit), **row}
    out: dict[str, dict[str, bool]] = {}
    for key, (variable, accepted) in mapping.status_variables.items():
        wanted = {_norm(v) for v in accepted}
        out[key] = {u: variable in values[u] and _norm(values[u][variable]) in wanted
                    for u in study.units}
    return out


def unit_variables(project: Project, unit: str) -> dict[str, Any]:
    """Case variables, then the variables of its documents (MAXQDA writes them there)."""
    if unit in project.cases:
        case = project.cases[unit]
        merged: dict[str, Any] = {}
        for src in case.sources:
            merged.update(project.sources[src].variables)
        return {**merged, **case.variables}
    return dict(project.sources[unit].variables)


def _norm(value: Any) -> str:
    return str(value).strip().casefold()


def _range(label: str) -> tuple[float, float] | None:
    """'20-29' -> (20, 29); '60+' -> (60, inf); else None."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:[-–]\s*(\d+(?:\.\d+)?)|(\+))\s*", label)
    if not match:
        return None
    low, high, plus = match.groups()
    return float(low), float("inf") if plus else float(high)


def band_of(value: Any, bands: dict[str, str], aliases: dict[str, list[Any]]) -> str | None:
    """The band key of a value: its label or an alias, or the numeric range it falls in."""
    text = _norm(value)
    for band, label in bands.items():
        if text == _norm(label) or text in {_norm(a) for a in aliases.get(band, [])}:
            return band
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    for band, label in bands.items():
        span = _range(label)
        if span and span[0] <= number < span[1] + 1:
            return band
    return None


def read_participants_csv(path: str | Path, key_name: str) -> dict[str, dict[str, str]]:
    """Rows of the participants CSV keyed by their first column (case or document name)."""
    header, rows = open_csv(Path(path), ())
    if not header:
        raise StudyError(f"{path}: empty file; the first column names the {key_name}")
    out: dict[str, dict[str, str]] = {}
    for line, row in enumerate(rows, start=2):
        key = (row[header[0]] or "").strip()
        if key in out:
            raise StudyError(f"{path}: row {line}: {key_name} {key!r} appears twice")
        out[key] = {k: (v or "").strip() for k, v in row.items()}
    return out


def demographics(
    project: Project, study: Study, codebook_demo: dict[str, dict[str, str]],
    mapping: Mapping, participants: str | None,
) -> pd.DataFrame:
    """Band key per interviewee and codebook variable; every problem reported at once."""
    rows_csv = (read_participants_csv(participants, mapping.participants_key)
                if participants else None)
    where = participants or project.where
    problems, out = [], {}
    for unit in study.units:
        values, missing = _unit_values(project, study, unit, mapping, rows_csv)
        if missing:
            problems.append(f"{missing} (participants CSV {participants}, keyed by "
                            f"{mapping.participants_key} name)")
            continue
        out[unit] = {}
        for var, bands in codebook_demo.items():
            spec = mapping.demographics.get(var, {})
            name = spec.get("variable", var)
            if name not in values or str(values[name]).strip() == "":
                have = sorted(k for k in values if str(values[k]).strip())
                problems.append(f"{study.names[unit]!r}: no value for variable {name!r} "
                                f"(values found: {have})")
                continue
            band = band_of(values[name], bands, spec.get("values", {}))
            if band is None:
                problems.append(f"{study.names[unit]!r}: variable {name!r} has value "
                                f"{values[name]!r}, which is none of the codebook's bands "
                                f"{sorted(bands.values())} nor a mapped alias")
                continue
            out[unit][var] = band
    if problems:
        raise StudyError(f"{where}: demographics of {len(problems)} interviewee(s):\n  "
                         + "\n  ".join(problems[:40]))
    return pd.DataFrame.from_dict(out, orient="index")


def _unit_values(
    project: Project, study: Study, unit: str, mapping: Mapping,
    rows_csv: dict[str, dict[str, str]] | None,
) -> tuple[dict[str, Any], str]:
    if rows_csv is None:
        return unit_variables(project, unit), ""
    keys = [study.names[unit]]
    if mapping.participants_key == "document" and unit in project.cases:
        keys = [project.sources[s].name for s in project.cases[unit].sources]
    for key in keys:
        if key in rows_csv:
            return rows_csv[key], ""
    return {}, f"{study.names[unit]!r}: no row for {' or '.join(map(repr, keys))}"
