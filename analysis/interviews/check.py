"""What the build will find in your coded interviews, before any build.

``make check-interviews`` (``python -m analysis check-interviews``) prints this report.

Reads the project (``paths.interviews``), the codebook and the mapping file
(``themes.*``) named in the validated config/config.yaml and prints, for a researcher
about to use their own NVivo, ATLAS.ti, MAXQDA, QualCoder or Taguette export: the tool and
format version, how text positions were counted, the sources by type, the cases and how
they are defined, the coders, every mapped, ignored and unmapped code, how each coding is
accounted for, who counts as an interviewee, and every problem the build would stop on,
all in one run; the command exits 1 while there is a problem.

Nothing here is written to results/: transcripts never leave the terminal, and only
names of documents, cases and codes are shown, no text.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from analysis.interviews.mapping import Mapping, MappingError, match_codes
from analysis.interviews.study import StudyError, account, interviewees
from analysis.interviews.themes import (
    BarrierCodebook,
    ThemesError,
    analyse,
    load_barrier_codebook,
    load_study_mapping,
)
from analysis.project import project_path
from analysis.qda.qdpx import Project, QdpxError, read_qdpx, source_kinds


def _describe_project(project: Project) -> list[str]:
    pos = project.positions
    lines = [
        f"Project: {project.path} (XML member {project.member!r})",
        f"  tool: {project.origin or '(not named)'}; namespace {project.namespace}; "
        f"version {project.version}",
    ]
    if pos is not None:
        how = (f"{pos.boundary_share:.0%} of segment ends on word boundaries"
               if pos.distinguishable else
               "no character in the texts tells the conventions apart")
        lines.append(f"  text positions: {pos.convention.label} ({how})")
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(source_kinds(project).items()))
    lines.append(f"Sources: {len(project.sources)} ({kinds or 'none'}); "
                 f"{sum(1 for t in project.texts.values() if t)} with text")
    by = Counter()
    for case in project.cases.values():
        by.update({"SourceRef": bool(case.sources), "SelectionRef": bool(case.selections),
                   "CodeRef": bool(case.codes)})
    lines.append(
        f"Cases: {len(project.cases)}"
        + (f" (with SourceRef {by['SourceRef']}, SelectionRef {by['SelectionRef']}, "
           f"CodeRef {by['CodeRef']})" if project.cases else
           " (none: each document is one interviewee)")
    )
    coders = Counter(project.users.get(s.coder, s.coder) or "(unknown)" for s in project.segments)
    lines.append("Coders: " + (", ".join(f"{c} ({n} codings)" for c, n in sorted(coders.items()))
                               or "none"))
    return lines


def _describe_codes(project: Project, mapping: Mapping) -> tuple[list[str], list[str]]:
    keys, ignored, problems = match_codes(project, mapping)
    used = Counter(s.code for s in project.segments)
    lines = [f"Codes: {len(project.codes)} in the project; mapping {mapping.path}"]
    for key in mapping.codes:
        guids = [g for g, k in keys.items() if k == key]
        names = "; ".join(f"{'/'.join(project.codes[g].path)} ({used[g]} codings)"
                          for g in guids) or "NOT FOUND"
        lines.append(f"  {key} <- {names}")
    for guid in sorted(ignored, key=lambda g: project.codes[g].path):
        lines.append(f"  ignored: {'/'.join(project.codes[guid].path)} ({used[guid]} codings)")
    case_codes = project.case_codes()
    unmapped = [g for g in used if g not in keys and g not in ignored and g not in case_codes]
    for guid in sorted(unmapped, key=lambda g: project.codes[g].path):
        code = project.codes[guid]
        lines.append(f"  UNMAPPED: {'/'.join(code.path)} ({used[guid]} codings"
                     f"{'' if code.codable else ', category code'})")
    if case_codes:
        lines.append(f"  case codes (case membership): {len(case_codes)}")
    return lines, problems


def _describe_people(project: Project, mapping: Mapping) -> tuple[list[str], list[str]]:
    keys, ignored, problems = match_codes(project, mapping)
    names, left = interviewees(project, mapping)
    _rows, counts, unplaced = account(project, mapping, keys, ignored, names)
    lines = [f"Codings: {len(project.segments)}: "
             + ", ".join(f"{what} {n}" for what, n in sorted(counts.items()))
             + (f", NOT PLACED {sum(map(len, unplaced.values()))}" if unplaced else "")]
    if project.note_codings:
        lines.append(f"  and {project.note_codings} coding(s) inside <Notes> (memos): not "
                     "interview material, not tallied")
    lines.append(f"Interviewees: {len(names)}")
    for reason, listed in left.items():
        lines.append(f"  not interviewees ({reason}): {'; '.join(listed)}")
    return lines, problems


def report(config: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The check of the files the validated config names."""
    themes = config["themes"]
    participants = themes.get("participants")
    return report_files(
        project_path(config["paths"]["interviews"]), project_path(themes["codebook"]),
        project_path(themes["mapping"]), str(project_path(participants)) if participants
        else None, themes,
    )


def report_files(
    qdpx: Path, codebook_path: Path, mapping_path: Path, participants: str | None,
    themes: dict[str, Any],
) -> tuple[list[str], list[str]]:
    """The lines to print and the problems found (empty when the build will succeed)."""
    codebook: BarrierCodebook = load_barrier_codebook(codebook_path)
    mapping = load_study_mapping(mapping_path, codebook)
    project = read_qdpx(qdpx, mapping.positions, mapping.min_word_boundary_share)
    lines = _describe_project(project)
    code_lines, problems = _describe_codes(project, mapping)
    people_lines, _same = _describe_people(project, mapping)
    lines += code_lines + people_lines
    if not problems:
        settings = {**themes, "participants": participants}
        try:
            result = analyse(project, codebook, settings, mapping)
            design = result["design"]
            lines.append(f"  participants {design['participants']}, non-participants "
                         f"{design['non_participants']}, in model cities "
                         f"{design['from_model_cities']}; demographics complete")
        except (StudyError, ThemesError, MappingError, QdpxError) as exc:
            problems.append(str(exc))
    return lines, problems
