"""The replication package: one versioned, de-identified, checksummed ZIP of the project.

The study builds an :class:`ArchiveSpec` (its name, formats, de-identified raw files and
README fields) and calls :func:`build_archive`, which writes ``dist/<name>-<version>.zip`` with
a single top folder holding the code, the de-identified raw data, codebooks, targets and
reference values, the lock and environment files, the paper as built (``outputs/``), the
Snakemake report, the AEA-style README, CITATION.cff, both licences, an RO-Crate
(``ro-crate-metadata.json``, Workflow Run Crate profile) and ``MANIFEST-sha256.txt``.

This module also holds the generic de-identifiers a study applies as its codebooks say:

* :func:`deidentify_csv` replaces the identifying columns of a CSV export. Timestamps are
  re-clocked (:func:`reclock`): the first identifying timestamp becomes ``REF_TIME`` plus
  one minute per rank of its value, and every other identifying timestamp keeps its
  offset from it, so durations and the order of records survive exactly while dates and
  clock times do not. Identifying strings become ordered pseudonyms (equal values stay
  equal);
* :func:`deidentify_qdpx` withholds the source texts of a REFI-QDA project (each replaced
  by a notice of the same length, so coded positions stay valid) and pseudonymises case
  names; :func:`deidentify_tidy` does the same to tidy CSV exports of such a project.

A study that ships the manifest of its de-identified raw files lets a replicator rebuild
the paper from the package.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import html
import io
import os
import re
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paperkit.io import parse_yaml
from paperkit.render import EXTENSIONS
from paperkit.replication import MANIFEST, readme, ro_crate

REF_TIME = dt.datetime(2000, 1, 1)
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
WITHHELD = "[Transcript withheld from the replication package; codings kept.] "
# Folders never packaged: caches anywhere, build outputs only at the top (analysis/figures/
# is code; figures/ is output).
SKIP_DIRS = {".venv", ".venv-slurm", ".git", ".snakemake", ".pytest_cache", ".ruff_cache",
             ".hypothesis", "__pycache__", ".ipynb_checkpoints", "_work", ".quarto"}
SKIP_TOP_DIRS = {"results", "build", "logs", "figures", "dist"}
# Built files copied into outputs/ (project path, package path), besides the paper formats.
BUILT = [
    ("build/paper/_manuscript/report.html", "outputs/paper/report.html"),
    ("results/numbers.json", "outputs/results/numbers.json"),
]
BUILT_DIRS = [
    ("build/paper/notebooks", "outputs/notebooks"),
    ("figures", "outputs/figures"),
    ("results/tables", "outputs/results/tables"),
]


@dataclass(frozen=True)
class ArchiveSpec:
    """What the study tells the archiver.

    ``raw`` holds every raw data file as the package ships it (already de-identified,
    with its manifest); ``data_dirs`` describes each data folder for the README and the
    RO-Crate; ``readme_fields`` fills the study's fields of the README template.
    """

    name: str
    formats: list[str]
    epoch: int
    raw: dict[str, bytes]
    data_dirs: dict[str, str]
    readme_fields: dict[str, str] = field(default_factory=dict)


class ArchiveError(RuntimeError):
    """The package cannot be built; the message names the file and the problem."""


# --------------------------------------------------------------------- de-identification


def reclock(rows: list[dict[str, str]], columns: list[str]) -> None:
    """Replace timestamp columns in place, keeping order of the first and all durations."""
    anchor, others = columns[0], columns[1:]
    parse = {r[anchor] for r in rows if r[anchor]}
    ranks = {v: i for i, v in enumerate(sorted(parse, key=_parse_time))}
    for row in rows:
        if not row[anchor]:
            raise ArchiveError(f"identifying timestamp {anchor!r} is blank in a row; "
                               "re-clocking needs it in every row")
        start = _parse_time(row[anchor])
        new = REF_TIME + dt.timedelta(minutes=ranks[row[anchor]])
        for col in others:
            if row[col]:
                row[col] = (new + (_parse_time(row[col]) - start)).strftime(TIMESTAMP_FORMAT)
        row[anchor] = new.strftime(TIMESTAMP_FORMAT)


def _parse_time(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, TIMESTAMP_FORMAT)


def pseudonymise(rows: list[dict[str, str]], column: str, prefix: str) -> dict[str, str]:
    """Replace a string column by ordered pseudonyms; return the mapping used."""
    mapping: dict[str, str] = {}
    for row in rows:
        if row[column]:
            row[column] = mapping.setdefault(row[column], f"{prefix}{len(mapping) + 1:04d}")
    return mapping


def deidentify_csv(raw: Path, kinds: dict[str, str], source: str) -> bytes:
    """A CSV export with its identifying columns replaced, the same bytes otherwise.

    ``kinds`` maps each identifying column to its type (``timestamp`` or ``string``), as
    the codebook ``source`` marks them.
    """
    data = raw.read_bytes()
    bom = data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    newline = "\r\n" if "\r\n" in text[:10_000] else "\n"
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows, header = list(reader), list(reader.fieldnames or [])
    if _write_csv(header, rows, newline, bom) != data:
        raise ArchiveError(f"{raw}: the CSV does not round-trip byte for byte; "
                           "de-identifying it would change more than the identifying columns")
    missing = sorted(set(kinds) - set(header))
    if missing:
        raise ArchiveError(f"{raw}: identifying columns {missing} of {source} are missing")
    times = [c for c, t in kinds.items() if t == "timestamp"]
    if times:
        reclock(rows, times)
    for column, kind in kinds.items():
        if kind == "string":
            pseudonymise(rows, column, f"{column[:3].upper()}-")
        elif kind != "timestamp":
            raise ArchiveError(f"{source}: {column}: no de-identification rule for "
                               f"identifying columns of type {kind!r}")
    return _write_csv(header, rows, newline, bom)


def _write_csv(header: list[str], rows: list[dict[str, str]], newline: str, bom: bool) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, header, lineterminator=newline)
    writer.writeheader()
    writer.writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8")


def _withheld(length: int) -> str:
    """A notice of exactly ``length`` code points, so coded positions stay valid."""
    return (WITHHELD * (length // len(WITHHELD) + 1))[:length]


def counted_length(text: str) -> int:
    """The longest a text is under any counting convention of QDA tools: UTF-16 units
    (an astral character counts two) with every line break counted as two (CRLF). A
    withheld notice this long, holding no astral character or line break, keeps every
    coded position of the original in range under whatever convention the tool used."""
    return len(text.encode("utf-16-le")) // 2 + text.count("\n") - text.count("\r\n")


INLINE_TEXT = re.compile(r"(<(?:\w+:)?PlainTextContent\b[^>]*>)(.*?)(</(?:\w+:)?PlainTextContent>)",
                         re.DOTALL)


def _withhold_inline(qde: str) -> str:
    """Transcripts held inside the project file (QualCoder writes them there) withheld."""
    def notice(m: re.Match[str]) -> str:
        return m.group(1) + _withheld(counted_length(html.unescape(m.group(2)))) + m.group(3)
    return INLINE_TEXT.sub(notice, qde)


def case_names(qde: str) -> dict[str, str]:
    """Map each case name of project.qde to its pseudonym ``case-NN`` (document order)."""
    names = re.findall(r'<Case\b[^>]*?\bname="([^"]*)"', qde)
    return {name: f"case-{i:02d}" for i, name in enumerate(dict.fromkeys(names), start=1)}


def rename(text: str, names: dict[str, str]) -> str:
    """``text`` with every name of ``names`` replaced by its pseudonym."""
    if not names:
        return text
    pattern = re.compile("|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)))
    return pattern.sub(lambda m: names[m.group(0)], text)


def deidentify_qdpx(path: Path) -> tuple[bytes, dict[str, str]]:
    """The REFI-QDA project without transcripts and with pseudonymous case names."""
    out = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        # The project file is project.qde in the standard, but tools name it freely
        # (ATLAS.ti: "<project name>.qde"); there is one .qde at the top of the ZIP.
        qdes = [n for n in src.namelist() if "/" not in n and n.lower().endswith(".qde")]
        if len(qdes) != 1:
            raise ArchiveError(f"{path}: expected one .qde project file at the top of the "
                               f"ZIP, found {qdes or 'none'}")
        qde_name = qdes[0]
        qde = _withhold_inline(src.read(qde_name).decode("utf-8"))
        names = case_names(qde)
        for info in sorted(src.infolist(), key=lambda i: i.filename):
            data = src.read(info.filename)
            if info.filename == qde_name:
                data = rename(qde, names).encode("utf-8")
            elif info.filename.lower().startswith("sources/"):
                text = data.decode("utf-8").removeprefix("\ufeff")
                data = _withheld(counted_length(text)).encode("utf-8")
            dst.writestr(_zipinfo(info.filename, info.date_time), data)
    return out.getvalue(), names


def deidentify_tidy(path: Path, names: dict[str, str]) -> bytes:
    """A tidy interview CSV with case names replaced and any ``text`` column emptied."""
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = list(reader.fieldnames or [])
    rows = []
    for row in reader:
        if "case" in row:
            row["case"] = names.get(row["case"], row["case"])
        if "text" in row:
            row["text"] = ""
        rows.append(row)
    newline = "\r\n" if "\r\n" in text[:10_000] else "\n"
    return _write_csv(header, rows, newline, path.read_bytes().startswith(b"\xef\xbb\xbf"))


def _rel(path: Path, root: Path) -> str:
    return path.resolve().relative_to(root.resolve()).as_posix()


# --------------------------------------------------------------------- package contents


def source_files(root: Path) -> Iterator[str]:
    """Code, configuration, documentation, codebooks: what a replicator needs to rerun.

    Raw data are added separately (de-identified); the project README moves to docs/
    because the package's README.md is the replication README.
    """
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        skip = SKIP_DIRS | (SKIP_TOP_DIRS if here == root else set())
        dirnames[:] = sorted(d for d in dirnames if d not in skip)
        for name in sorted(filenames):
            rel = _rel(here / name, root)
            if name.endswith(".pyc") or rel == "README.md" or rel.startswith("data/raw/"):
                continue
            yield rel


def built_files(root: Path, formats: list[str]) -> Iterator[tuple[str, str]]:
    """(project path, package path) of the built paper, report, numbers, figures, tables."""
    papers = [f"index.{EXTENSIONS[f]}" for f in formats]
    pairs = [(f"build/paper/_manuscript/{p}", f"outputs/paper/{p}") for p in papers]
    for src, dst in pairs + BUILT:
        if not (root / src).is_file():
            raise ArchiveError(f"{root / src}: missing; run `make paper` first")
        yield src, dst
    for src, dst in BUILT_DIRS:
        base = root / src
        if not base.is_dir():
            raise ArchiveError(f"{base}: missing; run `make paper` first")
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            rel = path.relative_to(base).as_posix()
            yield f"{src}/{rel}", f"{dst}/{rel}"


def _zipinfo(name: str, date_time: tuple[int, ...]) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=date_time[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    return info


def citation(root: Path) -> dict[str, Any]:
    """CITATION.cff: title, version, date and authors of the package."""
    path = root / "CITATION.cff"
    return parse_yaml(path.read_text(encoding="utf-8"), source=str(path))


def package_contents(root: Path, spec: ArchiveSpec) -> dict[str, bytes]:
    """Every file of the package (path inside the top folder -> bytes), metadata included."""
    files: dict[str, bytes] = {}
    for rel in source_files(root):
        files[rel] = (root / rel).read_bytes()
    files["docs/README-project.md"] = (root / "README.md").read_bytes()
    files.update(spec.raw)
    for src, dst in built_files(root, spec.formats):
        files[dst] = (root / src).read_bytes()
    meta = citation(root)
    files["README.md"] = readme(root, spec.readme_fields, spec.data_dirs, files, meta
                                ).encode("utf-8")
    files["ro-crate-metadata.json"] = ro_crate(spec.data_dirs, files, meta)
    files[MANIFEST] = manifest_text(files).encode("utf-8")
    return dict(sorted(files.items()))


def manifest_text(files: dict[str, bytes]) -> str:
    """``sha256sum -c`` format over every file of the package except the manifest."""
    return "".join(f"{hashlib.sha256(data).hexdigest()}  {path}\n"
                   for path, data in sorted(files.items()) if path != MANIFEST)


def write_zip(files: dict[str, bytes], target: Path, top: str, epoch: int) -> Path:
    """A deterministic ZIP: sorted entries, fixed times and modes; same input, same bytes."""
    when = dt.datetime.fromtimestamp(max(epoch, 315532800), dt.UTC).timetuple()[:6]
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path, data in sorted(files.items()):
            info = _zipinfo(f"{top}/{path}", when)
            if path.endswith((".sh", "/run")) or path.startswith(".ci/"):
                info.external_attr = (stat.S_IFREG | 0o755) << 16
            zf.writestr(info, data)
    tmp.replace(target)
    return target


def build_archive(root: Path, spec: ArchiveSpec, out_dir: Path | None = None) -> Path:
    """Write ``<out_dir or root/dist>/<name>-<version>.zip`` from the project and its build."""
    version = str(citation(root).get("version", "0"))
    top = f"{spec.name}-{version}"
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", spec.epoch))
    files = package_contents(root, spec)
    return write_zip(files, (out_dir or root / "dist") / f"{top}.zip", top, epoch)
