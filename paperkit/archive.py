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
* REFI-QDA projects are de-identified by :mod:`paperkit.deidentify` (the same code as
  ``python -m paperkit deidentify``); :func:`deidentify_tidy` gives tidy CSV exports of
  such a project the same pseudonyms.

The code, configuration and documents come from git: what it tracks at the commit the
package names (``git ls-tree HEAD``), never the working folder, so an untracked private
note or ``.env`` cannot travel, and uncommitted changes to tracked files stop the build.
The last step is the leak gate (:mod:`paperkit.leakgate`): every file that would be
written is scanned for runs of the withheld texts and for the replaced names; a hit stops
the build and nothing is written.

A study that ships the manifest of its de-identified raw files lets a replicator rebuild
the paper from the package.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
import shutil
import stat
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paperkit.io import parse_yaml
from paperkit.leakgate import Secrets, name_pattern, scan, stop_on
from paperkit.render import EXTENSIONS
from paperkit.replication import MANIFEST, readme, ro_crate

REF_TIME = dt.datetime(2000, 1, 1)
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
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
    ``secrets`` is what the leak gate must never find (the withheld texts' runs and the
    replaced names); ``generators`` maps each file that writes simulated stand-in texts
    (and so holds them by construction) to why: those files are scanned for names only.
    ``published_quotes`` are the quotes the authors cleared for publication (the paper
    prints them): only their own words are exempt from the gate, nothing around them.
    ``file_notes`` says, per data file, what was withheld or replaced (README table).
    ``description`` is the package's one-sentence description (RO-Crate). The README
    template's study fields (``readme_fields``) include what a replicator needs to plan:
    the measured runtime and the resources the workflow declares.
    """

    name: str
    formats: list[str]
    epoch: int
    raw: dict[str, bytes]
    data_dirs: dict[str, str]
    readme_fields: dict[str, str] = field(default_factory=dict)
    secrets: Secrets = field(default_factory=lambda: Secrets.build([], []))
    generators: dict[str, str] = field(default_factory=dict)
    published_quotes: tuple[str, ...] = ()
    file_notes: dict[str, str] = field(default_factory=dict)
    description: str = "Replication package: code, data and the paper as built, with the " \
                       "Snakemake workflow that rebuilds it."


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


def rename(text: str, names: dict[str, str]) -> str:
    """``text`` with every name of ``names`` replaced by its pseudonym."""
    pattern = name_pattern(names)
    if pattern is None:
        return text
    return pattern.sub(lambda m: names[m.group(0)], text)


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


# --------------------------------------------------------------------- package contents


def _git(root: Path, *args: str, data: bytes | None = None) -> bytes:
    git = shutil.which("git")
    if git is None:
        raise ArchiveError("git is not installed: the package holds what git tracks")
    proc = subprocess.run([git, "-C", str(root), *args], input=data, capture_output=True)
    if proc.returncode != 0:
        raise ArchiveError(f"{root}: `git {' '.join(args[:2])}` failed: "
                           f"{proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


def check_committed(root: Path) -> str:
    """The commit the package is built from; uncommitted changes to tracked files stop it.

    The package holds what git tracks at a commit, so that the commit it names is exactly
    what it holds; a changed tracked file would be shipped as committed, not as edited.
    """
    top = Path(_git(root, "rev-parse", "--show-toplevel").decode().strip())
    if top.resolve() != root.resolve():
        raise ArchiveError(f"{root}: not the top folder of a git repository ({top} is); "
                           "the package holds what git tracks at a commit")
    changed = _git(root, "status", "--porcelain=v1", "-z", "--untracked-files=no").split(b"\0")
    paths = [c[3:].decode(errors="replace") for c in changed if c.strip()]
    if paths:
        listed = ", ".join(paths[:10]) + (f" and {len(paths) - 10} more" if len(paths) > 10
                                          else "")
        raise ArchiveError(f"uncommitted changes to tracked files: {listed}. The package "
                           "holds what git tracks at a commit: commit them (or `git stash` "
                           "them) and run `make archive` again")
    return _git(root, "rev-parse", "HEAD").decode().strip()


def tracked_files(root: Path, commit: str) -> dict[str, bytes]:
    """Every file git tracks at ``commit`` (path -> bytes); untracked files never travel.

    Raw data are added separately (de-identified); the project README moves to docs/
    because the package's README.md is the replication README.
    """
    entries = []
    for entry in _git(root, "ls-tree", "-r", "-z", "--full-tree", commit).split(b"\0"):
        if not entry:
            continue
        meta, path = entry.split(b"\t", 1)
        mode, kind, sha = meta.decode().split()
        rel = path.decode("utf-8", errors="surrogateescape")
        if kind != "blob" or mode == "120000" or rel.startswith("data/raw/"):
            continue
        entries.append((rel, sha))
    batch = _git(root, "cat-file", "--batch", data="".join(f"{s}\n" for _r, s in entries
                                                         ).encode())
    files, pos = {}, 0
    for rel, _sha in entries:
        header_end = batch.index(b"\n", pos)
        size = int(batch[pos:header_end].split()[2])
        files[rel] = batch[header_end + 1:header_end + 1 + size]
        pos = header_end + 1 + size + 1
    files["docs/README-project.md"] = files.pop("README.md", b"")
    return files


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
        # Snakemake's bookkeeping (.snakemake_timestamp of directory outputs) is no output.
        for path in sorted(p for p in base.rglob("*")
                           if p.is_file() and p.name != ".snakemake_timestamp"):
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


def package_contents(root: Path, spec: ArchiveSpec, commit: str) -> dict[str, bytes]:
    """Every file of the package (path inside the top folder -> bytes), metadata included."""
    files = tracked_files(root, commit)
    files.update(spec.raw)
    for src, dst in built_files(root, spec.formats):
        files[dst] = (root / src).read_bytes()
    meta = citation(root)
    fields = {**spec.readme_fields, "commit": commit}
    files["README.md"] = readme(root, fields, spec.data_dirs, files, meta, spec.file_notes
                                ).encode("utf-8")
    files["ro-crate-metadata.json"] = ro_crate(spec.data_dirs, files, meta, spec.description)
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


def leak_gate(files: dict[str, bytes], spec: ArchiveSpec) -> None:
    """Stop the build if any file would carry withheld text or a replaced name.

    The study's generators of simulated texts are scanned for names only (they hold the
    stand-in texts by construction); everything else for both.
    """
    secrets = spec.secrets.without(spec.published_quotes)
    scanned = {p: d for p, d in files.items() if p not in spec.generators}
    hits = scan(scanned, secrets)
    names_only = Secrets(frozenset(), secrets.names)
    hits += scan({p: d for p, d in files.items() if p in spec.generators}, names_only)
    stop_on(hits, "the package")


def build_archive(root: Path, spec: ArchiveSpec, out_dir: Path | None = None) -> Path:
    """Write ``<out_dir or root/dist>/<name>-<version>.zip`` from the project and its build.

    The contents are what git tracks at HEAD (clean), the de-identified raw data and the
    built outputs; the leak gate runs last, and the ZIP is moved into place only after it
    passed.
    """
    commit = check_committed(root)
    version = str(citation(root).get("version", "0"))
    top = f"{spec.name}-{version}"
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", spec.epoch))
    files = package_contents(root, spec, commit)
    leak_gate(files, spec)
    return write_zip(files, (out_dir or root / "dist") / f"{top}.zip", top, epoch)
