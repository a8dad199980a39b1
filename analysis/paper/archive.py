"""The study's replication package: which raw files it ships and how each is de-identified.

The privacy rules come from the codebooks: survey columns marked ``identifying: true``
are re-clocked or pseudonymised; the interview projects (designs I and C) go through
paperkit.deidentify (every text and free-text field withheld, case and document names
pseudonymised everywhere, only the variables the analysis reads kept, ages banded as the
codebook reports them); the documents of design C (manual and websites) are public
material and ship unchanged. paperkit.archive does the packing and the leak gate.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from analysis.civilized.codebook import load_civilized_codebook
from analysis.interviews.themes import load_barrier_codebook, load_study_mapping
from paperkit.archive import (
    REF_TIME,
    ArchiveError,
    ArchiveSpec,
    build_archive,
    deidentify_csv,
    deidentify_tidy,
    rename,
)
from paperkit.deidentify import AGE, Options, deidentify_participants, deidentify_project
from paperkit.io import read_json, read_yaml
from paperkit.leakgate import Secrets

NAME = "scs-paper-replication"
# {status}: "simulated stand-in" or "original", from each strand's own data (data_status).
DATA_DIRS = {
    "data/raw/survey/": "Survey (strand S, Kostka 2019): {survey} export; "
                        "identifying columns re-clocked (see above)",
    "data/raw/interviews/": "Interviews (strand I, Li & Kostka 2022): {interviews} "
                            "REFI-QDA project and exports; transcripts and free text "
                            "withheld, names pseudonymised (see above)",
    "data/raw/civilized/": "Civilized-city documents and resident interviews (strand C, "
                           "Trauth-Goik 2023, {civilized}): public documents unchanged; "
                           "resident transcripts withheld, names pseudonymised (see above)",
    "data/raw/": "Checksums and descriptions of the shipped raw files",
    "data/codebook/": "Codebooks (survey, interviews, civilized cities), the interview "
                      "mapping file and the province-to-region table; nothing withheld",
    "data/targets/": "Population margins for raking (published statistics); nothing withheld",
    "data/reference/": "Published values of the three studies and the simulation's true "
                       "parameters; nothing withheld",
}
# The simulators write the stand-in transcripts from their template sentences, so they hold
# them by construction (the leak gate scans them for names only). Real data have none.
BENCH_RESULTS = "bench/RESULTS.md"
GENERATORS = {
    "analysis/standin/interviews.py": "simulator of the stand-in interviews (strand I)",
    "analysis/standin/civilized.py": "simulator of the stand-in resident interviews (strand C)",
}


def data_status(root: Path, config: dict[str, Any]) -> dict[str, bool]:
    """Whether each strand's data are simulated, as the data say: the survey codebook's
    ``dataset.simulated`` flag and the flags the interview and document stages recorded."""
    survey = read_yaml(root / config["paths"]["survey_codebook"]).get("dataset", {})
    built = read_json(root / config["paper"]["numbers"])
    return {"survey": bool(survey.get("simulated")),
            "interviews": bool(built["interviews"]["source"]["simulated"]),
            "civilized": bool(built["overlap"]["source"]["simulated"]
                              or built["residents"]["source"]["simulated"])}


def requirements(root: Path, config: dict[str, Any]) -> str:
    """What a replicator needs to plan: the cold build's measured time (bench/RESULTS.md,
    written by `make bench`) and the resources the cluster rules declare (config)."""
    model = config["resources"]["model"]
    declared = (f"The model step, the only one sent to a cluster, declares `threads: "
                f"{model['threads']}`, `mem_mb: {model['mem_mb']}` and `runtime: "
                f"{model['runtime']}` (minutes); every other step takes seconds.")
    match = re.search(r"^\| cold build \| ([\d.]+) \| [^|]* \| (\d+) \|",
                      _text_or_empty(root / BENCH_RESULTS), re.M)
    if not match:
        return (f"The cold build's time was not measured ({BENCH_RESULTS} has no cold-build "
                f"row; `make bench` writes it). {declared}")
    return (f"A cold build from raw data to every format took a median of {match.group(1)} s "
            f"wall time ({match.group(2)} runs, two-core Linux machine, dependencies "
            f"installed; {BENCH_RESULTS}); installing `.venv` takes a few minutes more. "
            f"{declared}")


def _text_or_empty(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def identifying_columns(codebook_path: Path) -> dict[str, str]:
    """Identifying columns of the survey codebook and their types, in codebook order."""
    variables = read_yaml(codebook_path)["variables"]
    return {name: v["type"] for name, v in variables.items() if v.get("identifying")}


def _rel(path: Path, root: Path) -> str:
    return path.resolve().relative_to(root.resolve()).as_posix()


def interview_options(config: dict[str, Any], root: Path) -> Options:
    """Design I: keep the variables the analysis reads, band ages as Table A1 does, keep the
    names of documents and cases the mapping excludes (they are not interviewees)."""
    themes = config["themes"]
    codebook = load_barrier_codebook(root / themes["codebook"])
    mapping = load_study_mapping(root / themes["mapping"], codebook)
    keep = {str(mapping.demographics.get(v, {}).get("variable", v))
            for v in codebook.demographics}
    keep |= {var for var, _values in mapping.status_variables.values()}
    bands = tuple(label for var, labels in codebook.demographics.items() if AGE.search(var)
                  for label in labels.values())
    names = tuple(p.pattern for p in mapping.exclude_documents + mapping.exclude_cases)
    return Options(frozenset(keep), names, bands)


def resident_options(config: dict[str, Any], root: Path) -> Options:
    """Design C: the residents' city, province and region are what the analysis reads."""
    codebook = load_civilized_codebook(root / config["civilized"]["codebook"])
    return Options(frozenset(codebook.case_variables.values()))


QDPX_NOTE = ("REFI-QDA project: every transcript replaced by a same-length notice (codings "
             "kept), memos, descriptions, selection names, links and sets withheld, case and "
             "document names pseudonymised, only the variables the analysis reads kept")
NOTES = {
    "segments": "case names pseudonymised; the text column emptied",
    "participants": "case names pseudonymised; demographic bands only",
    "tidy": "case names pseudonymised",
    "public": "public documents: unchanged",
    "renamed": "case and document names pseudonymised",
}


def deidentified_raw(root: Path, config: dict[str, Any]
                     ) -> tuple[dict[str, bytes], Secrets, dict[str, str]]:
    """Every file of data/raw as the package ships it (path relative to root -> bytes),
    what the leak gate must never find in the package, and what was done to each file."""
    paths = config["paths"]
    raw_dir = root / "data" / "raw"
    survey, qdpx = root / paths["raw_survey"], root / paths["interviews"]
    codebook = root / paths["survey_codebook"]
    out = {_rel(survey, root): deidentify_csv(survey, identifying_columns(codebook),
                                              str(codebook))}
    notes = {_rel(survey, root): "identifying columns re-clocked (see above); all others "
                                 "byte-identical"}
    notes[_rel(qdpx, root)] = notes[_rel(root / paths["civilized_interviews"], root)] = QDPX_NOTE
    design_i = deidentify_project(qdpx, options := interview_options(config, root))
    out[_rel(qdpx, root)] = design_i.data
    # Design C: resident transcripts withheld like the interviews; the documents (a
    # government manual, public project websites) hold no personal data and ship as they are.
    residents = root / paths["civilized_interviews"]
    design_c = deidentify_project(residents, resident_options(config, root))
    out[_rel(residents, root)] = design_c.data
    names = {**design_i.names, **design_c.names}
    secrets = design_i.beyond_guide() | design_c.beyond_guide()
    public = {_rel(root / paths[k], root)
              for k in ("civilized_manual", "civilized_websites", "civilized_documents")}
    for path in sorted(raw_dir.rglob("*")):
        rel = _rel(path, root)
        if not path.is_file() or rel in out or path.name == "MANIFEST.sha256":
            continue
        if rel in public:
            out[rel], notes[rel] = path.read_bytes(), NOTES["public"]
        elif path.name.endswith("_participants.csv") and path.parent == qdpx.parent:
            out[rel], withheld = deidentify_participants(path, "case", names, options)
            secrets = secrets | Secrets.build(withheld, [])
            notes[rel] = NOTES["participants"]
        elif path.suffix == ".csv" and path.parent == qdpx.parent:
            out[rel] = deidentify_tidy(path, names)
            notes[rel] = NOTES["segments" if path.stem.endswith("segments") else "tidy"]
        elif path.suffix in (".md", ".qdc", ".yaml", ".txt"):
            text = path.read_text(encoding="utf-8")
            out[rel] = rename(text, names).encode("utf-8")
            notes[rel] = NOTES["renamed"] if out[rel] != text.encode("utf-8") else "unchanged"
        else:
            raise ArchiveError(f"{path}: no de-identification rule for this raw file; "
                               "add one in analysis/paper/archive.py before shipping it")
    manifest = "".join(f"{hashlib.sha256(out[p]).hexdigest()}  {p}\n"
                       for p in sorted(out) if not p.endswith("/README.md"))
    out[_rel(raw_dir / "MANIFEST.sha256", root)] = manifest.encode("utf-8")
    return out, secrets, notes


def published_quotes(config: dict[str, Any], root: Path) -> tuple[str, ...]:
    """The quotes the paper prints: the example of each code of the civilized-city
    codebook (appendix table), cleared for publication with the codebook."""
    codebook = load_civilized_codebook(root / config["civilized"]["codebook"])
    return tuple(str(c["example"]) for c in (*codebook.codes.values(),
                                             *codebook.dimensions.values()))


def archive_spec(root: Path, config: dict[str, Any]) -> ArchiveSpec:
    """Everything the archiver needs to know about this study."""
    codebook = root / config["paths"]["survey_codebook"]
    identifying = ", ".join(f"`{c}`" for c in identifying_columns(codebook))
    raw, secrets, notes = deidentified_raw(root, config)
    status = {k: "simulated stand-in" if v else "original"
              for k, v in data_status(root, config).items()}
    simulated = any(v == "simulated stand-in" for v in status.values())
    return ArchiveSpec(
        name=NAME,
        formats=list(config["paper"]["formats"]),
        epoch=int(config["paper"]["source_date_epoch"]),
        raw=raw,
        data_dirs={k: v.format(**status) for k, v in DATA_DIRS.items()},
        readme_fields={"identifying": identifying,
                       "ref_time": REF_TIME.strftime("%Y-%m-%d %H:%M"),
                       "runtime": requirements(root, config)},
        description=("Replication package: code, de-identified "
                     + ("simulated " if simulated else "") + "data and the paper as built, "
                     "with the Snakemake workflow that rebuilds it."),
        secrets=secrets,
        generators=GENERATORS,
        published_quotes=published_quotes(config, root),
        file_notes=notes,
    )


def build(root: Path, config: dict[str, Any], out_dir: Path | None = None) -> Path:
    """Write dist/scs-paper-replication-<version>.zip from the project and its last build."""
    return build_archive(root, archive_spec(root, config), out_dir)
