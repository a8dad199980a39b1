"""What residents know of the two systems, from the 30 coded interviews of design C.

Unit of analysis: interviewee (case) x code presence, as for the barrier tally of design
I, whose coder selection and reliability this reuses (analysis/interviews/themes.py).
Every interviewee carries the case variables City, Province and Region; the region must
be the one data/codebook/provinces.csv gives for the province. Every problem is reported
at once; every coding is tallied or reported.

Privacy: transcripts and case names never leave ``data/``; outputs hold codes, counts,
coder pseudonyms and city names (the cities are a design fact, not an identifier).
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.civilized.codebook import (
    CivilizedCodebook,
    CivilizedError,
    coder_name,
    load_civilized_codebook,
    match_codes,
    raise_if,
    share,
    unmapped_codings,
)
from analysis.project import REGISTER_COMMAND
from analysis.qda.coding import case_code_matrix, coder_ranking, reliability, select_coding
from analysis.qda.qdpx import Project, read_qdpx
from paperkit.io import write_json, write_text
from paperkit.manifest import verify_registered
from paperkit.tables import pipe_table

UNIT_OF_ANALYSIS = (
    "interviewee x code presence: a code counts once per interviewee if the coder applied "
    "it to at least one passage of that interviewee's transcript"
)
NOT_EXCLUSIVE = "Codes are not mutually exclusive: an interviewee can hold several views."


def read_regions(path: str | Path) -> dict[str, str]:
    """Province (English name) -> region, from the province table."""
    with open(path, encoding="utf-8", newline="") as fh:
        return {row["province_en"]: row["region"] for row in csv.DictReader(fh)}


def validate_cases(project: Project, codebook: CivilizedCodebook, regions: dict[str, str],
                   provinces_path: str) -> tuple[pd.DataFrame, list[str]]:
    """City, province and region of every interviewee, and every problem with them."""
    where = f"{project.path}!project.qde"
    if not project.cases:
        return pd.DataFrame(), [f"{where}: Cases: rule: every interviewee must be a Case "
                                "with the variables " + str(list(codebook.case_variables.values()))]
    problems, rows = [], {}
    for guid, case in sorted(project.cases.items(), key=lambda kv: kv[1].name):
        here = f"{where}: Case {case.name!r}"
        values = {k: str(case.variables.get(v, "")).strip()
                  for k, v in codebook.case_variables.items()}
        problems += [f"{here}: rule: variable {codebook.case_variables[k]!r} is missing or "
                     "blank" for k, v in values.items() if not v]
        if values["province"] and values["province"] not in regions:
            problems.append(f"{here}: rule: province {values['province']!r} is not in "
                            f"{provinces_path}")
        elif values["province"] and values["region"] and \
                regions[values["province"]] != values["region"]:
            problems.append(f"{here}: rule: region {values['region']!r} contradicts "
                            f"{provinces_path}, which puts {values['province']} in "
                            f"{regions[values['province']]!r}")
        if not case.sources:
            problems.append(f"{here}: rule: has no transcript (SourceRef)")
        rows[guid] = values
    return pd.DataFrame.from_dict(rows, orient="index"), problems


def one_resident_per_transcript(project: Project) -> list[str]:
    """Each coded transcript belongs to exactly one interviewee (Case): a transcript in no
    Case, or in two, would give its codings to nobody or to an arbitrary one of them."""
    holders: dict[str, list[str]] = {}
    for case in sorted(project.cases.values(), key=lambda c: c.name):
        for src in case.sources:
            holders.setdefault(src, []).append(f"{case.name!r} (GUID {case.guid})")
    problems = []
    for src in sorted({s.source for s in project.segments}):
        name = project.sources[src].name if src in project.sources else src
        where = f"{project.path}: transcript {name!r} (GUID {src})"
        cases = holders.get(src, [])
        if len(cases) > 1:
            problems.append(f"{where}: rule: one interviewee per transcript: it is held by "
                            f"{len(cases)} Cases, {', '.join(cases)}; keep it in one Case "
                            "(split a joint interview into one transcript per resident)")
        elif not cases and project.cases:
            problems.append(f"{where}: rule: every coded transcript belongs to an "
                            "interviewee: no Case holds it; add it to its resident's Case")
    return problems


def read_residents(qdpx: str | Path, codebook: CivilizedCodebook, provinces: str | Path
                   ) -> tuple[Project, pd.DataFrame, pd.DataFrame]:
    """The project, the interviewees' case variables and the long coding table."""
    project = read_qdpx(qdpx)
    keys, problems = match_codes(project, codebook.code_paths, codebook.path)
    problems += unmapped_codings(project, keys)
    cases, more = validate_cases(project, codebook, read_regions(provinces), str(provinces))
    problems += more + one_resident_per_transcript(project)
    raise_if(problems)
    case_of = project.case_of_source()
    long = pd.DataFrame(sorted({(case_of[s.source], coder_name(project, s.coder), keys[s.code])
                                for s in project.segments}), columns=["case", "coder", "code"])
    return project, cases, long


def analyse(project: Project, cases: pd.DataFrame, long: pd.DataFrame, codebook: CivilizedCodebook,
            settings: dict[str, Any]) -> dict[str, Any]:
    """Everything results/residents.json holds, computed before anything is written."""
    rule = settings["tally_coder"]
    if rule not in ("primary", "union") and rule not in coder_ranking(long):
        raise CivilizedError([f"config civilized.tally_coder: rule: {rule!r} is not a coder of "
                              f"{project.path} {coder_ranking(long)}"])
    keys = list(codebook.codes)
    chosen, coders = select_coding(long, rule, "civilized.tally_coder")
    m = case_code_matrix(chosen, list(cases.index), keys)
    n = len(m)
    both = (m["knows_ncca"] == 1) & (m["knows_scs"] == 1)
    rel = reliability(long, keys, str(project.path),
                      "interviewee x code presence over the double-coded interviewees")
    return {
        "design": {
            "n_interviews": n, "n_cities": int(cases["city"].nunique()),
            "n_provinces": int(cases["province"].nunique()),
            "regions": {r.lower(): int((cases["region"] == r).sum()) for r in codebook.regions},
            "cities_by_region": {r.lower(): int(cases.loc[cases["region"] == r, "city"]
                                               .nunique()) for r in codebook.regions},
        },
        "codes": {k: {"theme": codebook.codes[k]["theme"], "label": codebook.codes[k]["label"],
                      **share(m[k].sum(), n)} for k in keys},
        "code_order": keys,
        "themes": codebook.themes,
        "knowledge": {
            "both": share(both.sum(), n),
            "neither": share(((m["knows_ncca"] == 0) & (m["knows_scs"] == 0)).sum(), n),
            "only_ncca": share(((m["knows_ncca"] == 1) & (m["knows_scs"] == 0)).sum(), n),
            "only_scs": share(((m["knows_ncca"] == 0) & (m["knows_scs"] == 1)).sum(), n),
        },
        "conflates_among_knowing_both": share(m.loc[both, "conflates"].sum(), both.sum()),
        "reliability": rel,
        "tally_coder": {"rule": rule, "coders": coders},
        "accounting": {"codings_read": len(project.segments), "unit_code_presences": len(long)},
        "unit_of_analysis": UNIT_OF_ANALYSIS,
        "notes": [NOT_EXCLUSIVE],
        "source": {"format": "REFI-QDA", "simulated": "SIMULATED" in project.name.upper()},
    }


def markdown_tables(result: dict[str, Any]) -> dict[str, str]:
    """Interviewee tallies per code and the reliability per code."""
    sim = " Simulated interviews." if result["source"]["simulated"] else ""
    codes, d = result["codes"], result["design"]
    tallies = pipe_table(
        ["Theme", "Code", "n", "%"],
        [[c["theme"], c["label"], c["n"], f"{c['pct']:.0f}"]
         for c in (codes[k] for k in result["code_order"])],
        "llrr", widths=(22, 40, 6, 6),
    ) + (f"\nN = {d['n_interviews']} interviewees in {d['n_cities']} cities. "
         f"{NOT_EXCLUSIVE}{sim}\n")
    rel = result["reliability"]
    alpha = rel.get("krippendorff_alpha_nominal")
    by_code = pipe_table(
        ["Theme", "Code", "Agreement (%)", "Cohen's kappa"],
        [[codes[k]["theme"], codes[k]["label"], f"{v['agreement_pct']:.1f}",
          "not defined" if v["kappa"] is None else f"{v['kappa']:.2f}"]
         for k, v in rel.get("per_code", {}).items()],
        "llrr", widths=(22, 40, 12, 12),
    ) + (f"\n{rel.get('n_cases', 0)} double-coded interviews; unit: {UNIT_OF_ANALYSIS}. "
         "Kappa is not defined when both coders are constant on a code. Krippendorff's alpha "
         f"(nominal, all units): {'not defined' if alpha is None else f'{alpha:.2f}'}.{sim}\n")
    return {"residents_codes": tallies, "residents_reliability": by_code}


def tally_residents(qdpx_path: str | Path, provinces: str | Path, codebook_path: str | Path,
                    settings: dict[str, Any], out_json: str | Path, out_tables_dir: str | Path,
                    registered: dict[str, str | None] | None = None) -> None:
    """Snakemake entry: read and validate, tally, then write the JSON and Markdown tables
    (``registered``: path -> checksum from the raw-data manifest, verified first)."""
    if registered is not None:
        verify_registered(registered, register_hint=REGISTER_COMMAND)
    codebook = load_civilized_codebook(codebook_path)
    project, cases, long = read_residents(qdpx_path, codebook, provinces)
    result = analyse(project, cases, long, codebook, settings)
    result["source"]["sha256"] = hashlib.sha256(Path(qdpx_path).read_bytes()).hexdigest()
    for stem, text in markdown_tables(result).items():
        write_text(Path(out_tables_dir) / f"{stem}.md", text)
    write_json(out_json, result)
