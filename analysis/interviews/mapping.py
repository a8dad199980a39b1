"""The mapping file: a researcher's QDA project seen as the study's codebook.

A project coded in NVivo, ATLAS.ti, MAXQDA, QualCoder or Taguette has its own code tree,
case variables and documents. The mapping file (``themes.mapping``; schema and defaults in
config/interview_mapping.schema.yaml) says which of the project's codes is which study
barrier, where each interviewee's status and demographics are, and which documents are
not interviews, so that nothing in the tool has to be renamed. Labels printed in the
tables come from the codebook, never from the project's code names.

Every problem is collected and reported at once: all missing codes, all unmapped codes
with codings, all cases without demographics, each with its file and entry.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.project import PROJECT_ROOT
from analysis.qda.qdpx import Code, Project
from paperkit.config import ConfigError, load_config

SCHEMA_PATH = PROJECT_ROOT / "config" / "interview_mapping.schema.yaml"
STATUS_KEYS = ("participant", "non_participant", "model_city")


class MappingError(ValueError):
    """The mapping file does not fit the codebook or the project; names every misfit."""


@dataclass(frozen=True)
class Mapping:
    path: str
    codes: dict[str, list[str]]  # study key (barrier key or status:<key>) -> code specs
    status_variables: dict[str, tuple[str, list[Any]]]  # status key -> (variable, values)
    demographics: dict[str, dict[str, Any]]
    participants_key: str
    ignore_codes: list[str]
    exclude_documents: list[re.Pattern[str]]
    exclude_cases: list[re.Pattern[str]]
    positions: str
    min_word_boundary_share: float


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _patterns(raw: list[str], where: str) -> list[re.Pattern[str]]:
    out = []
    for pattern in raw:
        try:
            out.append(re.compile(pattern))
        except re.error as exc:
            raise MappingError(f"{where}: {pattern!r} is not a regular expression: {exc}") from exc
    return out


def load_mapping(path: str | Path, barrier_keys: list[str], variables: list[str]) -> Mapping:
    """Read and validate the mapping file against its schema and the codebook's keys."""
    try:
        raw = load_config(path, SCHEMA_PATH)
    except ConfigError as exc:
        raise MappingError(str(exc).replace("invalid configuration", "invalid mapping")) from exc
    problems = [f"barriers: codebook key {k!r} is not mapped" for k in barrier_keys
                if k not in raw["barriers"]]
    problems += [f"barriers: {k!r} is not a barrier key of the codebook {barrier_keys}"
                 for k in raw["barriers"] if k not in barrier_keys]
    problems += [f"demographics: {v!r} is not a demographic variable of the codebook "
                 f"{variables}" for v in raw["demographics"] if v not in variables]
    if problems:
        raise MappingError(f"{path}:\n  " + "\n  ".join(problems))
    codes = {k: _as_list(v) for k, v in raw["barriers"].items()}
    status_vars = {}
    for key, rule in raw["status"].items():
        if "code" in rule:
            codes[f"status:{key}"] = _as_list(rule["code"])
        else:
            status_vars[key] = (rule["variable"], list(rule["values"]))
    people = raw["interviewees"]
    return Mapping(
        str(path), codes, status_vars, raw["demographics"], raw["participants_key"],
        list(raw["ignore_codes"]),
        _patterns(people["exclude_documents"], f"{path}: interviewees.exclude_documents"),
        _patterns(people["exclude_cases"], f"{path}: interviewees.exclude_cases"),
        raw["positions"]["convention"], float(raw["positions"]["min_word_boundary_share"]),
    )


def spellings(code: Code) -> set[str]:
    """The ways a researcher may write a code: path with '/', '\\' or ' > ', GUID."""
    guid = code.guid.strip("{}").lower()
    return {"/".join(code.path), "\\".join(code.path), " > ".join(code.path), guid}


def _find(spec: str, project: Project, index: dict[str, list[str]]) -> list[str] | str:
    """GUIDs a spec names, or the reason it names none."""
    key = spec.strip()
    hits = index.get(key) or index.get(key.strip("{}").lower())
    if hits:
        return hits
    by_name = [g for g, c in project.codes.items() if c.name == key]
    if len(by_name) == 1:
        return by_name
    if by_name:
        paths = sorted("/".join(project.codes[g].path) for g in by_name)
        return f"{spec!r} names {len(by_name)} codes {paths}: write the full path"
    close = difflib.get_close_matches(key, sorted({"/".join(c.path) for c in
                                                   project.codes.values()}), n=1)
    hint = f" (closest: {close[0]!r})" if close else ""
    return f"no code {spec!r} in the project{hint}"


def resolve_codes(project: Project, mapping: Mapping) -> tuple[dict[str, str], set[str]]:
    """Project code GUID -> study key, and the GUIDs of ignored codes; every misfit at once."""
    keys, ignored, problems = match_codes(project, mapping)
    if problems:
        raise MappingError(
            f"{mapping.path}: {len(problems)} mapping "
            f"{'entry does' if len(problems) == 1 else 'entries do'} not fit {project.where}:"
            "\n  " + "\n  ".join(problems)
        )
    return keys, ignored


def match_codes(
    project: Project, mapping: Mapping
) -> tuple[dict[str, str], set[str], list[str]]:
    """As :func:`resolve_codes`, returning the problems instead of raising."""
    index: dict[str, list[str]] = {}
    for guid, code in project.codes.items():
        for spelling in spellings(code):
            index.setdefault(spelling, []).append(guid)
    keys: dict[str, str] = {}
    problems = []
    for key, specs in mapping.codes.items():
        for spec in specs:
            found = _find(spec, project, index)
            if isinstance(found, str):
                problems.append(f"{_entry(key)}: {found}")
                continue
            for guid in found:
                if keys.get(guid, key) != key:
                    problems.append(f"{_entry(key)}: code {spec!r} is already mapped to "
                                    f"{_entry(keys[guid])}")
                keys[guid] = key
    ignored = set()
    for spec in mapping.ignore_codes:
        found = _find(spec, project, index)
        if isinstance(found, str):
            problems.append(f"ignore_codes: {found}")
            continue
        for guid in found:
            if guid in keys:  # a coding is counted one way: tallied or ignored, not both
                problems.append(
                    f"ignore_codes: code {'/'.join(project.codes[guid].path)!r} (GUID {guid}) "
                    f"is also mapped to {_entry(keys[guid])}: remove it from one of the two")
        ignored.update(found)
    problems += case_codes_mapped(project, keys)
    return keys, ignored, problems


def case_codes_mapped(project: Project, keys: dict[str, str]) -> list[str]:
    """A code that stands for a case (NVivo's case nodes) and is also mapped to a study
    key would count one way or the other depending on the tool: refuse it."""
    problems = []
    holders: dict[str, list[str]] = {}
    for case in sorted(project.cases.values(), key=lambda c: c.name):
        for code in case.codes:
            holders.setdefault(code, []).append(repr(case.name))
    for guid in sorted(set(holders) & set(keys)):
        problems.append(
            f"{_entry(keys[guid])}: code {'/'.join(project.codes[guid].path)!r} (GUID {guid}) "
            f"is the case code of {', '.join(holders[guid])} in {project.where}: a code is "
            "either a case (membership) or a study key, not both; map a separate code")
    return problems


def _entry(key: str) -> str:
    return f"status.{key[7:]}" if key.startswith("status:") else f"barriers.{key}"


def excluded(name: str, patterns: list[re.Pattern[str]]) -> bool:
    return any(p.search(name) for p in patterns)
