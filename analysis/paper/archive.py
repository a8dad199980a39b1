"""The study's replication package: which raw files it ships and how each is de-identified.

The privacy rules come from the codebooks: survey columns marked ``identifying: true``
are re-clocked or pseudonymised; interview transcripts (designs I and C) are withheld and
case names pseudonymised everywhere; the documents of design C (manual and websites) are
public material and ship unchanged. paperkit.archive does the packing.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from paperkit.archive import (
    REF_TIME,
    ArchiveError,
    ArchiveSpec,
    build_archive,
    deidentify_csv,
    deidentify_qdpx,
    deidentify_tidy,
    rename,
)
from paperkit.io import read_yaml

NAME = "scs-paper-replication"
DATA_DIRS = {
    "data/raw/": "Simulated stand-in, de-identified for the package (see above)",
    "data/codebook/": "Codebooks (survey, interviews) and the province-to-region table",
    "data/targets/": "Population margins for raking",
    "data/reference/": "Published values (Kostka 2019; Li & Kostka 2022) and simulation truth",
}


def identifying_columns(codebook_path: Path) -> dict[str, str]:
    """Identifying columns of the survey codebook and their types, in codebook order."""
    variables = read_yaml(codebook_path)["variables"]
    return {name: v["type"] for name, v in variables.items() if v.get("identifying")}


def _rel(path: Path, root: Path) -> str:
    return path.resolve().relative_to(root.resolve()).as_posix()


def deidentified_raw(root: Path, config: dict[str, Any]) -> dict[str, bytes]:
    """Every file of data/raw as the package ships it (path relative to root -> bytes)."""
    paths = config["paths"]
    raw_dir = root / "data" / "raw"
    survey, qdpx = root / paths["raw_survey"], root / paths["interviews"]
    codebook = root / paths["survey_codebook"]
    out = {_rel(survey, root): deidentify_csv(survey, identifying_columns(codebook),
                                              str(codebook))}
    out[_rel(qdpx, root)], names = deidentify_qdpx(qdpx)
    # Design C: resident transcripts withheld like the interviews; the documents (a
    # government manual, public project websites) hold no personal data and ship as they are.
    residents = root / paths["civilized_interviews"]
    out[_rel(residents, root)], resident_names = deidentify_qdpx(residents)
    names = {**names, **resident_names}
    public = {_rel(root / paths[k], root)
              for k in ("civilized_manual", "civilized_websites", "civilized_documents")}
    for path in sorted(raw_dir.rglob("*")):
        rel = _rel(path, root)
        if not path.is_file() or rel in out or path.name == "MANIFEST.sha256":
            continue
        if rel in public:
            out[rel] = path.read_bytes()
        elif path.suffix == ".csv" and path.parent == qdpx.parent:
            out[rel] = deidentify_tidy(path, names)
        elif path.suffix in (".md", ".qdc", ".yaml", ".txt"):
            out[rel] = rename(path.read_text(encoding="utf-8"), names).encode("utf-8")
        else:
            raise ArchiveError(f"{path}: no de-identification rule for this raw file; "
                               "add one in analysis/paper/archive.py before shipping it")
    manifest = "".join(f"{hashlib.sha256(out[p]).hexdigest()}  {p}\n"
                       for p in sorted(out) if not p.endswith("/README.md"))
    out[_rel(raw_dir / "MANIFEST.sha256", root)] = manifest.encode("utf-8")
    return out


def archive_spec(root: Path, config: dict[str, Any]) -> ArchiveSpec:
    """Everything the archiver needs to know about this study."""
    codebook = root / config["paths"]["survey_codebook"]
    identifying = ", ".join(f"`{c}`" for c in identifying_columns(codebook))
    return ArchiveSpec(
        name=NAME,
        formats=list(config["paper"]["formats"]),
        epoch=int(config["paper"]["source_date_epoch"]),
        raw=deidentified_raw(root, config),
        data_dirs=DATA_DIRS,
        readme_fields={"identifying": identifying,
                       "ref_time": REF_TIME.strftime("%Y-%m-%d %H:%M")},
    )


def build(root: Path, config: dict[str, Any], out_dir: Path | None = None) -> Path:
    """Write dist/scs-paper-replication-<version>.zip from the project and its last build."""
    return build_archive(root, archive_spec(root, config), out_dir)
