"""What each output was built from, by content: recorded by the job, checked before a build.

Snakemake decides from file times (and, for small files, the input checksums it stored);
a file copied with ``cp -p`` keeps an old time and may slip past both. Here every job
records, when it has finished, the content digest of each input it read (hashed before
the job ran and again after it; a change in between fails the job): a *build record*
under ``.snakemake/paperkit/built/``, one per job. Before a build,
:func:`stale_outputs` compares every record with the content the files have now. An
output whose record differs, or that has no record at all, is *stale*: the pre-flight
gives it an old modification time (:func:`invalidate`; its own time comes back if the
inputs are put back before it was rebuilt), so that Snakemake reruns the job that makes
it; it never touches an input or the raw data. Nothing is marked as seen before a job
has used it, so any interleaving of copies, dry runs and interrupted builds ends with
outputs built from the files as they are now.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from paperkit.io import write_json, write_text
from paperkit.manifest import sha256_file

BUILT = Path(".snakemake/paperkit/built")
CACHE = Path(".snakemake/paperkit/digests.json")
OUT_OF_DATE = "OUT_OF_DATE.txt"
NO_RECORD = "no record of what it was built from"
_STALE_NOTE = "The paper in this folder is out of date:"
_FAILED_NOTE = ("The last build stopped with an error, so the paper in this folder may be "
                "out of date:")


class InputChangedDuringJob(RuntimeError):
    """An input's content changed while the job that read it ran."""


# --------------------------------------------------------------------------- digests


def _stat_key(st: os.stat_result) -> list[int]:
    """Changes whenever the content may have: a write always moves ctime, which no tool
    can set back (``cp -p`` and ``touch -d`` restore mtime only)."""
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


class Digests:
    """Content digests of files and folders, memoised by stat (size, times, inode).

    A folder's digest covers the names and contents of every file under it. A missing
    path has the digest ``None``. The memo only saves hashing; it never decides.
    """

    def __init__(self, root: str | Path, cache: Path | None = None) -> None:
        self.root = Path(root)
        self.cache_path = self.root / cache if cache else None
        self.memo: dict[str, dict] = {}
        if self.cache_path:
            with contextlib.suppress(OSError, ValueError):
                data = json.loads(self.cache_path.read_text(encoding="utf-8"))
                self.memo = data if isinstance(data, dict) else {}
        self.fresh: dict[str, dict] = {}
        self.seen: dict[str, str | None] = {}

    def _file(self, rel: str, path: Path, st: os.stat_result) -> str:
        key = _stat_key(st)
        prev = self.memo.get(rel)
        if isinstance(prev, dict) and prev.get("stat") == key:
            digest = prev["sha256"]
        else:
            digest = sha256_file(path)
        self.fresh[rel] = {"sha256": digest, "stat": key}
        return digest

    def __call__(self, rel: str) -> str | None:
        rel = Path(rel).as_posix()
        if rel in self.seen:
            return self.seen[rel]
        path = self.root / rel
        try:
            st = path.stat()
        except OSError:
            self.seen[rel] = None
            return None
        if path.is_dir():
            tree = hashlib.sha256()
            for sub in sorted(p for p in path.rglob("*") if p.is_file()):
                sub_rel = sub.relative_to(self.root).as_posix()
                tree.update(f"{sub.relative_to(path).as_posix()}\0"
                            f"{self._file(sub_rel, sub, sub.stat())}\n".encode())
            digest = "tree:" + tree.hexdigest()
        else:
            digest = self._file(rel, path, st)
        self.seen[rel] = digest
        return digest

    def save(self) -> None:
        """Keep the memo for the next run (under .snakemake/, never next to the data)."""
        if self.cache_path and self.fresh != self.memo:
            with contextlib.suppress(OSError):
                write_json(self.cache_path, self.fresh)


def input_digests(paths: Iterable[str], root: str | Path = ".") -> dict[str, str | None]:
    """Digest of every input path (a file or a folder; ``None`` when absent)."""
    digests = Digests(root)
    return {Path(p).as_posix(): digests(str(p)) for p in sorted({str(p) for p in paths})}


# --------------------------------------------------------------------------- records


def _record_path(outputs: Iterable[str], root: Path) -> Path:
    key = hashlib.sha256("\0".join(sorted(outputs)).encode()).hexdigest()[:32]
    return root / BUILT / f"{key}.json"


def read_records(root: str | Path) -> list[dict]:
    """Every build record (unreadable ones are skipped: their outputs count as unrecorded)."""
    folder = Path(root) / BUILT
    records = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        with contextlib.suppress(OSError, ValueError):
            record = json.loads(path.read_text(encoding="utf-8"))
            if (isinstance(record, dict) and isinstance(record.get("outputs"), list)
                    and isinstance(record.get("inputs"), dict)):
                records.append(record)
    return records


def write_record(outputs: Iterable[str], inputs: Mapping[str, str | None],
                 root: str | Path = ".") -> Path:
    """Record that ``outputs`` were built from ``inputs`` (path -> digest); a record of
    an earlier job that made any of the same outputs is replaced."""
    root = Path(root)
    outputs = sorted(Path(o).as_posix() for o in outputs)
    path = _record_path(outputs, root)
    for record_file in (root / BUILT).glob("*.json") if (root / BUILT).is_dir() else []:
        if record_file == path:
            continue
        with contextlib.suppress(OSError, ValueError):
            old = json.loads(record_file.read_text(encoding="utf-8"))
            if set(old.get("outputs", [])) & set(outputs):
                record_file.unlink(missing_ok=True)
    write_json(path, {"outputs": outputs, "inputs": dict(inputs),
                      "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    return path


def check_unchanged(before: Mapping[str, str | None], root: str | Path = ".") -> None:
    """Fail when an input's content changed while the job ran: its output may mix both."""
    after = input_digests(before, root)
    changed = [p for p, d in before.items() if after.get(p) != d]
    if changed:
        raise InputChangedDuringJob(
            f"{', '.join(changed)}: changed while this job read it, so its outputs may "
            "come from neither version; run the build again (nothing was recorded as built)")


# --------------------------------------------------------------------------- pre-flight


def stale_outputs(root: str | Path, known: Iterable[str], digests: Digests,
                  ) -> dict[str, str]:
    """Output -> why it is stale, for every existing output among ``known``.

    Stale: the content of an input differs from the content its record says the job
    read, or no record names the output (built by an earlier version, or by hand). An
    input that is absent does not make its consumers stale: it is rebuilt first, and a
    new file reruns them as usual.
    """
    root = Path(root)
    known = {Path(k).as_posix() for k in known}
    recorded: dict[str, str] = {}
    stale: dict[str, str] = {}
    for record in read_records(root):
        # An input that is missing now is being rebuilt (its job's output was stale): the
        # content that job makes decides in this build, through Snakemake's file times.
        changed = sorted(p for p, d in record["inputs"].items()
                         if digests(p) is not None and digests(p) != d)
        for out in record["outputs"]:
            recorded[out] = ", ".join(changed)
    for out in sorted(known):
        if not (root / out).exists():
            continue
        if out not in recorded:
            stale[out] = NO_RECORD
        elif recorded[out]:
            stale[out] = f"built from other content of {recorded[out]}"
    return stale


def downstream(root: str | Path, outputs: Iterable[str]) -> set[str]:
    """Every recorded output built, directly or through other outputs, from ``outputs``."""
    records = read_records(root)
    reached, todo = set(), list(outputs)
    while todo:
        path = todo.pop()
        for record in records:
            if path in record["inputs"] or any(
                    p.startswith(path.rstrip("/") + "/") for p in record["inputs"]):
                for out in record["outputs"]:
                    if out not in reached:
                        reached.add(out)
                        todo.append(out)
    return reached


#: The modification time given to a stale output: older than any input, so Snakemake
#: reruns its job (an input newer than the output whose content differs from what
#: Snakemake recorded). Reversible: the original time is kept in INVALIDATED.
STALE_MTIME_NS = 1_000_000_000
INVALIDATED = Path(".snakemake/paperkit/invalidated.json")


def _time_carrier(path: Path) -> Path:
    """The file whose time Snakemake reads for an output (a folder output: its
    ``.snakemake_timestamp``)."""
    stamp = path / ".snakemake_timestamp"
    return stamp if path.is_dir() and stamp.exists() else path


def _read_invalidated(root: Path) -> dict[str, int]:
    with contextlib.suppress(OSError, ValueError):
        data = json.loads((root / INVALIDATED).read_text(encoding="utf-8"))
        if isinstance(data, dict):
            return {str(k): int(v) for k, v in data.items()}
    return {}


def invalidate(root: str | Path, stale: Mapping[str, str]) -> None:
    """Make Snakemake rerun the jobs of ``stale`` outputs without touching their bytes.

    A stale output gets an old modification time (its own time is kept); an output that
    is no longer stale (its input was put back, as a dry run or an interrupted build may
    leave it) gets its own time back, so that nothing reruns without cause. An output
    without any record cannot be compared and is deleted instead.
    """
    root = Path(root)
    kept = _read_invalidated(root)
    for rel, mtime in list(kept.items()):
        carrier = _time_carrier(root / rel)
        if rel in stale:
            continue
        with contextlib.suppress(OSError):
            if carrier.stat().st_mtime_ns == STALE_MTIME_NS:
                os.utime(carrier, ns=(mtime, mtime))
        del kept[rel]
    for rel, why in stale.items():
        if why == NO_RECORD:
            remove_output(root, rel)
            kept.pop(rel, None)
            continue
        carrier = _time_carrier(root / rel)
        st = carrier.stat()
        if st.st_mtime_ns != STALE_MTIME_NS:
            kept[rel] = st.st_mtime_ns
            os.utime(carrier, ns=(STALE_MTIME_NS, STALE_MTIME_NS))
    if kept != _read_invalidated(root):
        write_json(root / INVALIDATED, kept)


def remove_output(root: str | Path, rel: str) -> None:
    """Delete one stale output (a file or a folder output)."""
    path = Path(root) / rel
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def mark_paper_out_of_date(root: str | Path, paper: Iterable[str], why: str,
                           failed: bool = True) -> None:
    """Say in the paper's folder that the paper there does not match the inputs (a failed
    build, or ``failed=False``: inputs it depends on changed since it was rendered)."""
    root = Path(root)
    head = _FAILED_NOTE if failed else _STALE_NOTE
    for folder in {(root / rel).parent for rel in paper}:
        if not folder.is_dir():
            continue
        write_text(folder / OUT_OF_DATE, f"{head}\n{why.strip()}\n\nRun `make paper` to "
                   "build it from the current inputs.\n")


def clear_stale_note(root: str | Path, paper: Iterable[str]) -> None:
    """The paper's inputs are current again: the pre-flight's note goes (a failed
    build's note stays until a build of the paper succeeds)."""
    for folder in {(Path(root) / rel).parent for rel in paper}:
        note = folder / OUT_OF_DATE
        with contextlib.suppress(OSError):
            if note.read_text(encoding="utf-8").startswith(_STALE_NOTE):
                note.unlink()


def clear_out_of_date(folder: str | Path) -> None:
    """A freshly rendered paper: the out-of-date note goes."""
    (Path(folder) / OUT_OF_DATE).unlink(missing_ok=True)
