"""Before a build starts: content decides, not file times, and a dead build leaves no lock.

Snakemake reruns a rule when an input is newer than the rule's outputs (and, for files
under its checksum limit, only when the content also differs from what it recorded).
A file whose content changed while its modification time did not move forward -- a
copy with ``cp -p``, ``rsync -a``, an unpacked archive -- is invisible to that rule:
the build says "Nothing to be done" and the paper stays stale. Here
:func:`scan_inputs` hashes the workflow's source files against the content each had at
the previous build (a record under ``.snakemake/``), and :func:`mark_changed` marks every
file whose content changed as new (its mtime set to now), so that Snakemake's own mtime
and checksum logic reruns exactly what depends on it. Files whose size, times and inode
are unchanged are not hashed again, so a build with nothing to do stays fast.

:func:`release_stale_lock` removes the lock of a build that was killed (``kill -9``),
but only when no Snakemake process of the project is alive; :func:`preflight` runs both
and verifies the raw data against their manifest before any job starts.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from paperkit.io import write_json
from paperkit.manifest import sha256_file, verify_manifest
from paperkit.rules import BUILD_PID_ENV

RECORD = Path(".snakemake/paperkit/content.json")
LOCKS = Path(".snakemake/locks")
METADATA = Path(".snakemake/metadata")


@dataclass
class Scan:
    """What :func:`scan_inputs` found: the files whose content changed since the record,
    every file's digest, and the record to write once they are marked."""

    changed: list[str] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)
    record: dict[str, dict] = field(default_factory=dict)


def _stat_key(st: os.stat_result) -> list[int]:
    """Changes whenever the content may have: a write always moves ctime, which no tool
    can set back (``cp -p`` and ``touch -d`` restore mtime only)."""
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _read_record(path: Path) -> dict[str, dict] | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files = record.get("files") if isinstance(record, dict) else None
    return files if isinstance(files, dict) else None


def _has_built(root: Path) -> bool:
    """True when Snakemake recorded outputs here before (a build ran without a record)."""
    with contextlib.suppress(OSError), os.scandir(root / METADATA) as entries:
        return next(entries, None) is not None
    return False


def scan_inputs(paths: Iterable[str], root: str | Path, record: Path = RECORD) -> Scan:
    """Hash ``paths`` (relative to ``root``) and compare them with the record; touch nothing.

    Missing files and directories are skipped (the rules that need them report them).
    Without a record but with an earlier build every file counts as changed, once:
    Snakemake's checksums then decide which outputs are stale.
    """
    root = Path(root)
    old = _read_record(root / record)
    all_changed = old is None and _has_built(root)
    scan = Scan(record=dict(old or {}))
    for rel in sorted(set(paths)):
        path = root / rel
        try:
            st = path.stat()
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        prev = scan.record.get(rel)
        same = isinstance(prev, dict) and prev.get("stat") == _stat_key(st)
        digest = prev["sha256"] if same else sha256_file(path)
        if all_changed or (isinstance(prev, dict) and prev.get("sha256") != digest):
            scan.changed.append(rel)
        scan.digests[rel] = digest
        scan.record[rel] = {"sha256": digest, "stat": _stat_key(st)}
    return scan


def mark_changed(scan: Scan, root: str | Path, record: Path = RECORD) -> None:
    """Set the mtime of every changed file to now, so Snakemake reruns what depends on it,
    and record the content each file has now."""
    root = Path(root)
    for rel in scan.changed:
        os.utime(root / rel)
        scan.record[rel]["stat"] = _stat_key((root / rel).stat())
    if scan.record != _read_record(root / record):
        write_json(root / record, {"files": scan.record})


# --------------------------------------------------------------------------- locks


def _argv(pid: str) -> list[str]:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    return []


def _is_snakemake(argv: list[str]) -> bool:
    """A Snakemake main process (``.../snakemake ...`` or ``python -m snakemake``), not a
    rule script that merely lives under ``.snakemake/scripts``."""
    head = argv[:3]
    if any(Path(a).name == "snakemake" for a in head):
        return True
    return any(a == "-m" and b == "snakemake" for a, b in zip(head, head[1:], strict=False))


def live_snakemake(root: str | Path) -> list[int]:
    """Pids of the other Snakemake processes working in ``root`` (from /proc)."""
    here, own = Path(root).resolve(), os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == own or not _is_snakemake(_argv(entry)):
            continue
        with contextlib.suppress(OSError):
            if Path(os.readlink(f"/proc/{entry}/cwd")).resolve() == here:
                found.append(int(entry))
    return found


def release_stale_lock(root: str | Path) -> bool:
    """Remove the lock of a killed build; keep it while a Snakemake of ``root`` runs."""
    locks = Path(root) / LOCKS
    held = sorted(locks.glob("*.lock")) if locks.is_dir() else []
    if not held or live_snakemake(root):
        return False
    for lock in held:
        lock.unlink(missing_ok=True)
    return True


# --------------------------------------------------------------------------- entry


def preflight(root: str | Path, inputs: Iterable[str], manifest: str | None,
              register_command: str) -> Scan:
    """Everything a build must do before its jobs are planned.

    Names this process as the build (rule scripts die with it, paperkit.rules), releases
    a stale lock, verifies the raw data -- an unregistered change stops the build here,
    naming the files and ``register_command``, before anything is touched -- and marks
    the inputs whose content changed as new.
    """
    root = Path(root)
    os.environ[BUILD_PID_ENV] = str(os.getpid())
    if release_stale_lock(root):
        print("preflight: removed the lock of an earlier build that was killed",
              file=sys.stderr)
    scan = scan_inputs(inputs, root)
    if manifest:  # a paper without raw data to register has no manifest
        verify_manifest(manifest, root, digests=scan.digests, register_hint=register_command)
    mark_changed(scan, root)
    if scan.changed:
        print("preflight: content changed since the last build (rebuilding what depends on "
              "it): " + ", ".join(scan.changed), file=sys.stderr)
    return scan
