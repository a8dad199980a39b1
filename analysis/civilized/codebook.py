"""The codebook of design C (data/codebook/civilized_codebook.yaml) and code matching.

Codes of a REFI-QDA project are matched to the codebook's stable keys by their path of
names in the project's code tree. Problems are collected, not raised one at a time, so
that a researcher sees every mismatch of a project in one run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.qda.qdpx import Project
from paperkit.io import read_yaml


class CivilizedError(ValueError):
    """Design C's inputs break rules; the message lists every problem with file and rule."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = problems[:50]
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{len(problems)} problem(s):\n  " + "\n  ".join(shown) + more)


def raise_if(problems: list[str]) -> None:
    """Raise one error listing every problem, if there is any."""
    if problems:
        raise CivilizedError(problems)


@dataclass(frozen=True)
class CivilizedCodebook:
    """Keys, labels and code paths of the document and interview codes."""

    path: str
    dimensions: dict[str, dict[str, str]]  # key -> {label, definition, example}
    dimension_paths: dict[str, tuple[str, ...]]
    themes: list[str]
    codes: dict[str, dict[str, str]]  # key -> {theme, label, definition, example}
    code_paths: dict[str, tuple[str, ...]]
    case_variables: dict[str, str]  # city/province/region -> variable name
    regions: list[str]


REQUIRED_CODE_FIELDS = ("label", "definition", "example")


def load_civilized_codebook(path: str | Path) -> CivilizedCodebook:
    """Read and check the codebook: every code has a label, a definition and an example."""
    raw = read_yaml(path)
    problems: list[str] = []
    try:
        docs, ivs = raw["documents"], raw["interviews"]
        dims, codes, themes = docs["dimensions"], ivs["codes"], list(ivs["themes"])
        for section, entries in (("documents.dimensions", dims), ("interviews.codes", codes)):
            for key, entry in entries.items():
                problems += [f"{path}: {section}.{key}: rule: needs a non-empty {f!r}"
                             for f in REQUIRED_CODE_FIELDS if not str(entry.get(f, "")).strip()]
        problems += [f"{path}: interviews.codes.{k}: rule: theme {c.get('theme')!r} is not one "
                     f"of interviews.themes {themes}"
                     for k, c in codes.items() if c.get("theme") not in themes]
        variables = dict(ivs["case_variables"])
        missing = {"city", "province", "region"} - set(variables)
        if missing:
            problems.append(f"{path}: interviews.case_variables: rule: needs {sorted(missing)}")
        raise_if(problems)
        return CivilizedCodebook(
            str(path), dims, {k: (docs["root"], d["label"]) for k, d in dims.items()}, themes,
            codes, {k: (c["theme"], c["label"]) for k, c in codes.items()}, variables,
            list(ivs["regions"]))
    except (KeyError, TypeError, AttributeError) as exc:
        raise CivilizedError([f"{path}: rule: codebook lacks required key {exc}"]) from exc


def match_codes(project: Project, paths: dict[str, tuple[str, ...]], codebook_path: str
                ) -> tuple[dict[str, str], list[str]]:
    """Map project code GUIDs to codebook keys; report codebook codes the project lacks."""
    by_path = {code.path: guid for guid, code in project.codes.items()}
    keys, problems = {}, []
    for key, path in paths.items():
        if path in by_path:
            keys[by_path[path]] = key
        else:
            problems.append(f"{project.path}!project.qde: CodeBook: rule: no code "
                            f"{'/'.join(path)!r}, required by {codebook_path} ({key})")
    return keys, problems


def unmapped_codings(project: Project, keys: dict[str, str]) -> list[str]:
    """Every coding whose code is not a codebook code: reported, never silently dropped."""
    return [
        f"{project.path}!project.qde: TextSource {project.sources[seg.source].name!r}, "
        f"selection {seg.selection}: rule: coded with "
        f"{'/'.join(project.codes[seg.code].path)!r}, which is not a code of the codebook "
        "(recode it or add it to the codebook)"
        for seg in project.segments if seg.code not in keys
    ]


def share(n: int, total: int) -> dict[str, Any]:
    """A count with its percentage of ``total`` (None when there is no denominator)."""
    return {"n": int(n), "pct": round(100 * int(n) / int(total), 2) if total else None,
            "of": int(total)}


def coder_name(project: Project, guid: str) -> str:
    return project.users.get(guid, guid) or "(unknown)"
