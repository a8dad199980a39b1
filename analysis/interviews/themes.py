"""Interview themes: the barrier tally (Table 1), demographics (Table A1), reliability.

Unit of analysis: the interviewee (case) x code *presence*. A case has a code when the
chosen coder applied it to at least one segment of the case's transcript(s); a code is
counted once per person however often it was applied. Codes are not mutually exclusive,
so the percentages of a category do not add up to 100.

Reliability is measured on the double-coded subset with the same unit: for each code,
the two coders agree on a case when both applied it or both did not. Per code we report
percent agreement and Cohen's kappa (undefined, and then reported as such with the
agreement, when both coders are constant on the subset, i.e. chance agreement is 1);
over all case x code units, Krippendorff's alpha for nominal data.

Privacy: transcripts and case names never leave ``data/``. Outputs carry only codes,
counts, coder pseudonyms ("Coder A") and demographic bands.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.interviews.mapping import Mapping, load_mapping
from analysis.interviews.study import (
    Study,
    build_study,
    demographics,
    status_from_variables,
)
from analysis.project import PROJECT_ROOT, REGISTER_COMMAND
from analysis.qda.coding import (
    QdaError,
    case_code_matrix,
    reliability,
    select_coding,
)
from analysis.qda.qdpx import (
    Case,
    Code,
    Project,
    Segment,
    Source,
    read_participants,
    read_qdpx,
    read_segments_csv,
    source_kinds,
)
from paperkit.io import read_yaml, write_json, write_text
from paperkit.manifest import verify_registered
from paperkit.tables import pipe_table

log = logging.getLogger(__name__)
STATUS_KEYS = ("participant", "non_participant", "model_city")
RELIABILITY_UNIT = "case x code presence over the double-coded cases and the barrier codes"
UNIT_OF_ANALYSIS = (
    "interviewee x code presence: a code counts once per interviewee if the coder applied "
    "it to at least one segment of that interviewee's transcript"
)
NOT_EXCLUSIVE = "Codes are not mutually exclusive: an interviewee can name several barriers."
DENOMINATOR_LABELS = {
    "non_participants": "interviewees not taking part in a local government-run SCS",
    "participants": "interviewees taking part in a local government-run SCS",
    "all": "all interviewees",
}


class ThemesError(QdaError):
    """The coded interviews, the mapping and the codebook do not fit together."""


@dataclass(frozen=True)
class BarrierCodebook:
    """The YAML codebook: the study's barrier keys, their printed labels and categories,
    and the demographic bands. Which project code is which barrier is the mapping's job."""

    path: str
    categories: list[str]
    barriers: dict[str, dict[str, str]]  # key -> {category, label}
    demographics: dict[str, dict[str, str]]  # variable -> {band key: label}


_STOP = {"of", "the", "and", "or", "to", "a", "an", "in", "on", "for", "by", "with"}


def label_mismatch(key: str, category: str, label: str) -> str | None:
    """Why the label does not print the barrier its key names (the text and the claims
    refer to barriers by key: 'concerns_abuse_of_power' must not be labelled 'Fear of
    deductions'), or None. The key is the category, then words of the label; a word
    matches a label word with the same first five letters."""
    words = key.split("_")
    if words[0] != category.lower():
        return (f"the key starts with {words[0]!r} but the barrier's category is "
                f"{category!r}: keys are <category>_<words of the label>")
    label_words = [w[:5] for w in re.findall(r"[a-z]+", label.lower())]
    missing = [w for w in words[1:] if w not in _STOP and w[:5] not in label_words]
    if missing:
        return (f"label {label!r} does not name what the key says ({', '.join(missing)} "
                "missing): two labels swapped? Tables and figures print the label, the text "
                "and the claims use the key")
    return None


def load_barrier_codebook(path: str | Path) -> BarrierCodebook:
    """Read data/codebook/interview_codebook.yaml."""
    raw = read_yaml(path)
    try:
        barriers = raw["barriers"]
        for key, b in barriers.items():
            if b["category"] not in raw["categories"]:
                raise ThemesError(f"{path}: barriers.{key}: unknown category {b['category']!r}")
            if not str(b["label"]).strip():
                raise ThemesError(f"{path}: barriers.{key}: empty label")
            problem = label_mismatch(key, b["category"], str(b["label"]))
            if problem:
                raise ThemesError(f"{path}: barriers.{key}: {problem}")
        return BarrierCodebook(str(path), list(raw["categories"]), barriers, raw["demographics"])
    except (KeyError, TypeError) as exc:
        raise ThemesError(f"{path}: codebook lacks required key {exc}") from exc


def load_study_mapping(path: str | Path, codebook: BarrierCodebook) -> Mapping:
    return load_mapping(path, list(codebook.barriers), list(codebook.demographics))


def add_status_variables(
    matrix: pd.DataFrame, project: Project, study: Study, mapping: Mapping,
    participants: str | None,
) -> pd.DataFrame:
    """Fill the status columns a mapping takes from variables or the participants CSV."""
    for key, holds in status_from_variables(project, study, mapping, participants).items():
        matrix[f"status:{key}"] = [int(holds[unit]) for unit in matrix.index]
    return matrix


def participation(matrix: pd.DataFrame, study: Study, mapping: Mapping) -> pd.Series:
    """True for participants; every interviewee needs exactly one participation status."""
    part = matrix["status:participant"]
    non = matrix["status:non_participant"]
    bad = matrix.index[(part + non) != 1]
    if len(bad):
        listed = ", ".join(
            f"{study.names[u]!r} ({'both' if part[u] else 'neither'})" for u in bad[:10]
        )
        raise ThemesError(
            f"{mapping.path}: status: {len(bad)} interviewee(s) need exactly one of "
            f"participant/non_participant in the tallied coding: {listed}. Code them, set "
            "the status variable, or exclude what is not an interview (interviewees.*)"
        )
    return part.astype(bool)


def analyse(
    project: Project, codebook: BarrierCodebook, settings: dict[str, Any], mapping: Mapping
) -> dict[str, Any]:
    """Everything results/themes.json holds, computed before anything is written."""
    study = build_study(project, mapping)
    long, cases = study.long, study.units
    barrier_keys = list(codebook.barriers)
    all_keys = barrier_keys + [f"status:{k}" for k in STATUS_KEYS]
    chosen, tally_coders = select_coding(long, settings.get("tally_coder", "primary"),
                                         "themes.tally_coder")
    matrix = add_status_variables(case_code_matrix(chosen, cases, all_keys), project, study,
                                  mapping, settings.get("participants"))
    is_part = participation(matrix, study, mapping)
    group = settings.get("denominator", "non_participants")
    mask = {"non_participants": ~is_part, "participants": is_part}.get(group)
    x = matrix.loc[mask if mask is not None else slice(None), barrier_keys]
    n_den = int(len(x))
    if n_den == 0:
        raise ThemesError(f"themes.denominator: group {group!r} has no interviewees")
    demo = demographics(project, study, codebook.demographics, mapping,
                        settings.get("participants"))
    _log_accounting(project, study)
    return {
        "barriers": _tallies(x, codebook, n_den),
        "categories": codebook.categories,
        "barrier_order": barrier_keys,
        "demographic_order": [band for bands in codebook.demographics.values() for band in bands],
        "denominator": {"group": group, "label": DENOMINATOR_LABELS[group], "n": n_den},
        "design": {
            "n_interviews": len(cases),
            "from_model_cities": int(matrix["status:model_city"].sum()),
            "participants": int(is_part.sum()),
            "non_participants": int((~is_part).sum()),
        },
        "demographics": _demographic_counts(demo, codebook),
        "demographics_n": len(cases),
        "demographic_bands": {
            band: {"variable": var, "label": value}
            for var, bands in codebook.demographics.items()
            for band, value in bands.items()
        },
        "cooccurrence": {
            "codes": barrier_keys,
            "matrix": (x.T @ x).to_numpy().astype(int).tolist(),
        },
        "reliability": reliability(long, barrier_keys, str(project.path), RELIABILITY_UNIT),
        "tally_coder": {"rule": settings.get("tally_coder", "primary"), "coders": tally_coders},
        "unit_of_analysis": UNIT_OF_ANALYSIS,
        "notes": [NOT_EXCLUSIVE],
        "source": {
            "format": "REFI-QDA",
            "namespace": project.namespace,
            "version": project.version,
            "schema_version": project.schema_version,
            "simulated": "SIMULATED" in project.name.upper(),
        },
    }


def _log_accounting(project: Project, study: Study) -> None:
    """Say in the log what was read and what was not tallied, by name."""
    conv = project.positions
    log.info("%s: %d sources (%s), %d codings, %d interviewees", project.where,
             len(project.sources), dict(sorted(source_kinds(project).items())),
             len(project.segments), len(study.units))
    if conv is not None:
        log.info("text positions read as %s%s", conv.convention.label,
                 "" if conv.distinguishable else " (no character in the texts tells the "
                 "conventions apart)")
    for what, n in study.accounting.items():
        log.info("codings %s: %d", what, n)
    if project.note_codings:
        log.info("codings inside <Notes> (memos, not interview material, not tallied): %d",
                 project.note_codings)
    for reason, names in study.not_interviewees.items():
        log.info("not interviewees (%s): %s", reason, "; ".join(names))


def _tallies(x: pd.DataFrame, codebook: BarrierCodebook, n_den: int) -> dict[str, dict[str, Any]]:
    return {
        key: {
            "category": codebook.barriers[key]["category"],
            "label": codebook.barriers[key]["label"],
            "n": int(x[key].sum()),
            "pct": round(100 * int(x[key].sum()) / n_den, 2),
            "denominator": n_den,
        }
        for key in x.columns
    }


def _demographic_counts(demo: pd.DataFrame, codebook: BarrierCodebook) -> dict[str, int]:
    out = {}
    for var, bands in codebook.demographics.items():
        counts = demo[var].value_counts()
        out.update({band: int(counts.get(band, 0)) for band in bands})
    return out


def project_from_tidy(
    segments_csv: str | Path, participants_csv: str | Path, codebook: BarrierCodebook,
    mapping: Mapping,
) -> Project:
    """Build a :class:`Project` from a segments CSV and a participants CSV.

    Lets tidy exports (QualCoder/Taguette, hand-made) go through the same analysis as a
    .qdpx. The CSV names codes by the last name of their mapped path; every case needs a
    row in the participants file.
    """
    paths = {tuple(spec.split("/")) for specs in mapping.codes.values() for spec in specs}
    by_name = {path[-1]: path for path in paths}
    segments = read_segments_csv(segments_csv, set(by_name))
    people = read_participants(participants_csv, list(codebook.demographics))
    project = Project(str(segments_csv), "tidy-export", "1.0", None, Path(segments_csv).name)
    for path in sorted(paths):
        for depth in range(1, len(path) + 1):
            sub = path[:depth]
            guid = "/".join(sub)
            parent = "/".join(sub[:-1]) or None
            project.codes[guid] = Code(guid, sub[-1], depth == len(path), parent, sub)
    for seg in segments:
        if seg.case not in people:
            raise ThemesError(
                f"{participants_csv}: case {seg.case!r} of {segments_csv} has no row "
                "(every case needs its demographics)"
            )
        project.users.setdefault(seg.coder, seg.coder)
        project.segments.append(
            Segment(seg.case, "/".join(by_name[seg.code]), seg.coder, seg.start, seg.end, "")
        )
    for case, values in people.items():
        project.sources[case] = Source(case, case)
        project.cases[case] = Case(case, case, dict(values), (case,))
    return project


# --- tables ------------------------------------------------------------------------------


def tables(result: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """Table 1, Table A1 and the reliability table as data frames."""
    t1 = pd.DataFrame(
        [[b["category"], b["label"], k, b["n"], b["pct"]] for k, b in result["barriers"].items()],
        columns=["category", "barrier", "code", "n", "pct"],
    )
    t1["category"] = pd.Categorical(t1["category"], result["categories"], ordered=True)
    t1 = t1.sort_values("category", kind="stable").assign(
        category=lambda d: d["category"].astype(str)
    )
    demo, bands, n = result["demographics"], result["demographic_bands"], result["demographics_n"]
    ta1 = pd.DataFrame(
        [
            [bands[k]["variable"], bands[k]["label"], k, v, round(100 * v / n, 1)]
            for k, v in demo.items()
        ],
        columns=["variable", "label", "band", "n", "pct"],
    )
    rel = result["reliability"]
    tr = pd.DataFrame(
        [
            [
                result["barriers"][k]["category"],
                result["barriers"][k]["label"],
                k,
                v["agreement_pct"],
                "not defined" if v["kappa"] is None else f"{v['kappa']:.2f}",
            ]
            for k, v in rel.get("per_code", {}).items()
        ],
        columns=["category", "barrier", "code", "agreement_pct", "kappa"],
    )
    return {"table1_barriers": t1, "tableA1_demographics": ta1, "reliability": tr}


def markdown_tables(result: dict[str, Any], frames: dict[str, pd.DataFrame]) -> dict[str, str]:
    """Pipe tables with captions that state denominator, non-exclusivity and simulation."""
    den = result["denominator"]
    sim = " Simulated interviews." if result["source"]["simulated"] else ""
    t1 = frames["table1_barriers"]
    md1 = (
        pipe_table(
            ["Category", "Barrier", "n", "%"],
            [[r.category, r.barrier, r.n, f"{r.pct:.0f}"] for r in t1.itertuples()],
            "llrr",
        )
        + f"\nN = {den['n']} {den['label']}. {NOT_EXCLUSIVE}{sim}\n"
    )
    ta1 = frames["tableA1_demographics"]
    mda1 = (
        pipe_table(
            ["Variable", "Band", "n", "%"],
            [[r.variable, r.label, r.n, f"{r.pct:.0f}"] for r in ta1.itertuples()],
            "llrr",
        )
        + f"\nN = {result['demographics_n']} interviewees.{sim}\n"
    )
    rel = result["reliability"]
    tr = frames["reliability"]
    alpha = rel.get("krippendorff_alpha_nominal")
    mdr = pipe_table(
        ["Category", "Barrier", "Agreement (%)", "Cohen's kappa"],
        [[r.category, r.barrier, f"{r.agreement_pct:.1f}", r.kappa] for r in tr.itertuples()],
        "llrr",
    ) + (
        f"\n{rel.get('n_cases', 0)} double-coded transcripts; unit: {UNIT_OF_ANALYSIS}. "
        f"Kappa is not defined when both coders are constant on a code. Krippendorff's alpha "
        f"(nominal, all units): {'not defined' if alpha is None else f'{alpha:.2f}'}.{sim}\n"
    )
    return {"table1_barriers": md1, "tableA1_demographics": mda1, "reliability": mdr}


def _relative(path: Path) -> str:
    try:
        return path.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return path.name


def load_inputs(qdpx_path: str | Path, codebook_path: str | Path, mapping_path: str | Path,
                settings: dict[str, Any], participants: Sequence[str | Path] = ()
                ) -> tuple[Project, BarrierCodebook, Mapping, dict[str, Any]]:
    """The project, codebook and mapping :func:`analyse` needs, and the settings with the
    participants file the rule passes in (read once; the robustness grid analyses it per
    coder)."""
    codebook = load_barrier_codebook(codebook_path)
    mapping = load_study_mapping(mapping_path, codebook)
    resolved = dict(settings)
    resolved["participants"] = str(participants[0]) if participants else None
    project = read_qdpx(qdpx_path, mapping.positions, mapping.min_word_boundary_share)
    return project, codebook, mapping, resolved


def tally_themes(
    qdpx_path: str | Path,
    codebook_path: str | Path,
    mapping_path: str | Path,
    settings: dict[str, Any],
    out_json: str | Path,
    out_tables_dir: str | Path,
    participants: Sequence[str | Path] = (),
    registered: dict[str, str | None] | None = None,
) -> None:
    """Snakemake entry: read the project, compute, then write JSON, Markdown and CSV tables.

    ``settings`` is the ``themes`` section of config/config.yaml; the files it names are
    passed in by the rule (``participants``: the CSV of demographics, when there is one).
    ``registered`` (path -> checksum from the raw-data manifest) is verified first.
    Nothing is written unless every check passes.
    """
    qdpx_path = Path(qdpx_path)
    if registered is not None:
        verify_registered(registered, register_hint=REGISTER_COMMAND)
    project, codebook, mapping, resolved = load_inputs(qdpx_path, codebook_path, mapping_path,
                                                       settings, participants)
    result = analyse(project, codebook, resolved, mapping)
    result["source"]["file"] = _relative(qdpx_path)
    result["source"]["sha256"] = hashlib.sha256(qdpx_path.read_bytes()).hexdigest()
    frames = tables(result)
    md = markdown_tables(result, frames)
    out_dir = Path(out_tables_dir)
    for stem, frame in frames.items():
        write_text(out_dir / f"{stem}.csv", frame.to_csv(index=False, lineterminator="\n"))
        write_text(out_dir / f"{stem}.md", md[stem])
    write_json(out_json, result)
