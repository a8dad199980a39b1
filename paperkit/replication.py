"""The two generated metadata files of the replication package: README and RO-Crate.

The README fills the AEA-style template ``docs/REPLICATION_README.md`` with what only the
build knows (dataset list, software versions, figure and table provenance, measured
runtime); the RO-Crate (``ro-crate-metadata.json``) describes the same package for
machines, following the Workflow Run Crate profile: the Snakefile is the
``ComputationalWorkflow``, one ``CreateAction`` records the run with the raw data and
codebooks as inputs (``object``) and the paper, numbers and figures as outputs
(``result``).
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Any

from paperkit.provenance import items_from_json, markdown

TEMPLATE = "docs/REPLICATION_README.md"
MANIFEST = "MANIFEST-sha256.txt"
PROFILES = {
    "process": "https://w3id.org/ro/wfrun/process/0.5",
    "workflow": "https://w3id.org/ro/wfrun/workflow/0.5",
    "wfcrate": "https://w3id.org/workflowhub/workflow-ro-crate/1.0",
}
# Formats mimetypes does not know; every File entity of the crate gets one.
FORMATS = {
    ".qdpx": "application/zip", ".qdc": "application/xml", ".qde": "application/xml",
    ".yaml": "application/yaml", ".yml": "application/yaml", ".md": "text/markdown",
    ".ipynb": "application/x-ipynb+json", ".cff": "application/yaml", ".lock": "text/plain",
    ".typ": "text/plain", ".lua": "text/x-lua", ".bib": "application/x-bibtex",
    ".qmd": "text/markdown", ".smk": "text/plain", ".parquet": "application/vnd.apache.parquet",
    ".sha256": "text/plain", ".docx": "application/vnd.openxmlformats-officedocument."
                                      "wordprocessingml.document",
}


def encoding_format(path: str) -> str:
    """The media type of a package file (plain text for extension-less files such as
    LICENSE or the Snakefile)."""
    suffix = Path(path).suffix.lower()
    return FORMATS.get(suffix) or mimetypes.guess_type(path)[0] or (
        "text/plain" if not suffix or suffix in (".txt", ".sh") else "application/octet-stream")


def _package_mb(files: dict[str, bytes]) -> int:
    return max(1, round(sum(len(b) for b in files.values()) / 1e6))


def data_source(path: str, data_dirs: dict[str, str]) -> str:
    """What a data file of the package is, from the folder it lies in."""
    return next((d for prefix, d in data_dirs.items() if path.startswith(prefix)), "")


def dataset_rows(files: dict[str, bytes], data_dirs: dict[str, str],
                 file_notes: dict[str, str] | None = None) -> list[str]:
    """One Markdown table row per data file of the package: its folder's description and
    what was done to the file before shipping it."""
    rows = []
    notes_of = {"data/raw/MANIFEST.sha256": "checksums of the shipped raw files",
                **(file_notes or {})}
    for path in sorted(p for p in files if p.startswith("data/")):
        source = data_source(path, data_dirs)
        rows.append(f"| `{path}` | {source} | {notes_of.get(path, 'unchanged')} | Yes |")
    return rows


def software_list(files: dict[str, bytes]) -> tuple[str, str]:
    """(python version, Markdown bullet list) from the built numbers file."""
    numbers = json.loads(files["outputs/results/numbers.json"])
    software = numbers.get("software", {})
    items = [f"  - {name} {version}" for name, version in sorted(software.items())]
    return str(software.get("python", "3.11")), "\n".join(items)


def readme(root: Path, fields: dict[str, str], data_dirs: dict[str, str],
           files: dict[str, bytes], meta: dict[str, Any],
           file_notes: dict[str, str] | None = None) -> str:
    """The package README: the template with the build's lists and the study's fields."""
    python, software = software_list(files)
    record = json.loads(files["outputs/results/tables/provenance/provenance.json"])
    provenance = markdown(items_from_json(record), wrap_paths=False)
    template = (root / TEMPLATE).read_text(encoding="utf-8")
    return template.format(
        title=meta["title"],
        version=meta.get("version", ""),
        date=meta.get("date-released", ""),
        dataset_list="\n".join(dataset_rows(files, data_dirs, file_notes)),
        python=python,
        software=software,
        package_mb=_package_mb(files),
        manifest=MANIFEST,
        figures_tables=provenance.replace("| @", "| ").strip(),
        **fields,
    )


def _file_entity(path: str, data: bytes, description: str = "") -> dict[str, Any]:
    entity: dict[str, Any] = {"@id": path, "@type": "File", "contentSize": str(len(data)),
                              "encodingFormat": encoding_format(path)}
    if description:
        entity["description"] = description
    return entity


def ro_crate(data_dirs: dict[str, str], files: dict[str, bytes], meta: dict[str, Any],
             description: str) -> bytes:
    """ro-crate-metadata.json of the package (RO-Crate 1.1, Workflow Run Crate 0.5)."""
    inputs = sorted(p for p in files if p.startswith("data/"))
    outputs = sorted(p for p in files if p.startswith("outputs/"))
    date = str(meta.get("date-released", ""))
    authors = [{"@id": "#author-" + str(i), "@type": "Person" if "family-names" in a
                else "Organization", "name": a.get("name") or
                f"{a.get('given-names', '')} {a.get('family-names', '')}".strip()}
               for i, a in enumerate(meta.get("authors", []), start=1)]
    graph: list[dict[str, Any]] = [
        {"@id": "ro-crate-metadata.json", "@type": "CreativeWork",
         "about": {"@id": "./"},
         "conformsTo": [{"@id": "https://w3id.org/ro/crate/1.1"},
                        {"@id": PROFILES["wfcrate"]}]},
        {"@id": "./", "@type": "Dataset", "name": meta["title"],
         "description": description,
         "version": str(meta.get("version", "")), "datePublished": date,
         "publisher": {"@id": authors[0]["@id"]} if authors else {"@id": "#publisher"},
         "license": {"@id": "https://spdx.org/licenses/MIT"},
         "author": [{"@id": a["@id"]} for a in authors],
         "conformsTo": [{"@id": v} for v in PROFILES.values()],
         "mainEntity": {"@id": "Snakefile"},
         "mentions": {"@id": "#run"},
         "hasPart": [{"@id": p} for p in ("Snakefile", *inputs, *outputs, "README.md",
                                           "LICENSE", "LICENSE-DATA.md", "CITATION.cff")]},
        *authors,
        *([] if authors else [{"@id": "#publisher", "@type": "Organization",
                               "name": "the authors of the package"}]),
        {"@id": "Snakefile", "@type": ["File", "SoftwareSourceCode", "ComputationalWorkflow"],
         "name": "Snakemake workflow: raw data to manuscript",
         "encodingFormat": "text/plain",
         "programmingLanguage": {"@id": "#snakemake"},
         "license": {"@id": "https://spdx.org/licenses/MIT"},
         "input": [{"@id": "#param-" + p} for p in inputs],
         "output": [{"@id": "#param-" + p} for p in outputs]},
        {"@id": "#snakemake", "@type": "ComputerLanguage", "name": "Snakemake",
         "identifier": {"@id": "https://snakemake.readthedocs.io"},
         "url": {"@id": "https://snakemake.github.io"}},
        {"@id": "#run", "@type": "CreateAction",
         "name": "Build of the paper from the raw data (snakemake --cores 2)",
         "endTime": date, "instrument": {"@id": "Snakefile"},
         "object": [{"@id": p} for p in inputs], "result": [{"@id": p} for p in outputs]},
        {"@id": "https://spdx.org/licenses/MIT", "@type": "CreativeWork", "name": "MIT"},
        {"@id": "https://spdx.org/licenses/CC-BY-4.0", "@type": "CreativeWork",
         "name": "CC BY 4.0"},
        *({"@id": u, "@type": "CreativeWork", "name": n, "version": u.rsplit("/", 1)[1]}
          for n, u in zip(("Process Run Crate", "Workflow Run Crate", "Workflow RO-Crate"),
                          PROFILES.values(), strict=True)),
    ]
    for path in inputs + outputs:
        io_kind = "input" if path in inputs else "output"
        graph.append({"@id": "#param-" + path, "@type": "FormalParameter",
                      "additionalType": "File", "name": path,
                      "description": f"workflow {io_kind} {path}"})
        entity = _file_entity(path, files[path], data_source(path, data_dirs))
        entity["exampleOfWork"] = {"@id": "#param-" + path}
        if path in inputs:
            entity["license"] = {"@id": "https://spdx.org/licenses/CC-BY-4.0"}
        graph.append(entity)
    for path in ("README.md", "LICENSE", "LICENSE-DATA.md", "CITATION.cff"):
        graph.append(_file_entity(path, files.get(path, b"")))
    crate = {"@context": "https://w3id.org/ro/crate/1.1/context", "@graph": graph}
    return (json.dumps(crate, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode()
