"""Before a build starts: content decides, not file times, and a dead build leaves no lock.

Snakemake reruns a rule when an input is newer than the rule's outputs (and, for files
under its checksum limit, only when the content also differs from what it recorded).
A file whose content changed while its modification time did not move forward -- a
copy with ``cp -p``, ``rsync -a``, an unpacked archive -- is invisible to that rule.
Every job records the content it was built from when it finishes
(:mod:`paperkit.freshness`); :func:`preflight` verifies the raw data against their
manifest, then gives every output whose record no longer matches the files an old
modification time (kept, and given back when the files match again), so that Snakemake
rebuilds it; an output with no record at all is deleted. It writes nothing next to the inputs (a
read-only ``data/raw`` builds) and marks nothing as seen: a dry run, ``make lint`` or a
build stopped after the pre-flight leaves the next build the same decision.

:func:`release_stale_lock` removes the lock of a build that was killed (``kill -9``),
but only when no Snakemake process of the project is alive; a second build while one
runs is refused here, with a message that names the running one (a dry run or
``--lint`` next to it is allowed, and changes nothing).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from paperkit.freshness import (
    CACHE,
    Digests,
    clear_stale_note,
    downstream,
    invalidate,
    mark_paper_out_of_date,
    stale_outputs,
)
from paperkit.manifest import ManifestError, verify_manifest
from paperkit.rules import BUILD_PID_ENV, build_pid, builds, is_snakemake

LOCKS = Path(".snakemake/locks")


class BuildRunning(RuntimeError):
    """Another Snakemake process works in the same project folder."""


# --------------------------------------------------------------------------- locks


def _argv(pid: str) -> list[str]:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    return []


def _ancestors(pid: int) -> set[int]:
    """``pid`` and the processes that started it (``timeout snakemake``, ``time ...``)."""
    chain = set()
    while pid > 1 and pid not in chain:
        chain.add(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return chain


def live_snakemake(root: str | Path) -> list[int]:
    """Pids of the other Snakemake processes working in ``root`` (from /proc); this build's
    own process and those that started it (a wrapper such as ``timeout``; for a build run in
    a warm worker's fork, the launcher and its own starters) are not others."""
    # (a fork's own ancestors are its worker and whoever started the worker: not this build)
    here, own = Path(root).resolve(), {os.getpid()} | _ancestors(build_pid())
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in own or not is_snakemake(_argv(entry)):
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


# --------------------------------------------------------------------------- outputs


def workflow_outputs(rules: Iterable) -> list[str]:
    """Every output the workflow's rules can make that exists now (log files aside); a
    rule with wildcards contributes the files that match its output pattern."""
    from snakemake.io import expand, glob_wildcards

    found: set[str] = set()
    for rule in rules:
        for pattern in rule.output:
            pattern = str(pattern)
            if "{" not in pattern:
                found.add(pattern)
                continue
            matches = glob_wildcards(pattern)
            names = matches._fields
            found.update(expand(pattern, zip, **{n: getattr(matches, n) for n in names}))
    return sorted(found)


# --------------------------------------------------------------------------- entry


def _refuse_second_build(root: Path, others: list[int]) -> None:
    shown = ", ".join(f"{pid} ({' '.join(_argv(str(pid))[:4]).strip()})" for pid in others)
    raise BuildRunning(
        f"another build is running in {root} (process {shown}). Wait until it has "
        "finished (or stop it), then run the command again. Do not remove its lock: the "
        "running build would go on writing outputs that no record describes.")


def preflight(root: str | Path, raw: Iterable[str], manifest: str | None,
              register_command: str, outputs: Iterable[str] = (),
              paper: Iterable[str] = ()) -> dict[str, str]:
    """Everything a build must do before its jobs are planned; returns the stale outputs.

    Refuses a second build while one runs; names this process as the build (rule scripts
    die with it, paperkit.rules); releases a stale lock; verifies the raw data -- an
    unregistered change stops the build here, naming the files and ``register_command``
    -- and invalidates every output in ``outputs`` that is not built from the current
    content. When anything the ``paper`` was built from is stale, or the raw data stop
    the build, the paper's folder says so (OUT_OF_DATE.txt), until its inputs match again.
    """
    root, outputs = Path(root), list(outputs)
    others = live_snakemake(root)
    if others and builds(sys.argv):
        _refuse_second_build(root, others)
    os.environ[BUILD_PID_ENV] = str(build_pid())
    if release_stale_lock(root):
        print("preflight: removed the lock of an earlier build that was killed",
              file=sys.stderr)
    paper = list(paper)
    digests = Digests(root, CACHE)
    current = {rel: digests(rel) for rel in sorted(set(raw))}
    try:
        if manifest:  # a paper without raw data to register has no manifest
            verify_manifest(manifest, root, digests={k: v for k, v in current.items() if v},
                            register_hint=register_command)
    except ManifestError as exc:
        if paper:
            mark_paper_out_of_date(root, paper, f"the raw data changed: {exc}", failed=False)
        raise
    if others:  # a dry run or --lint next to a running build: look, change nothing
        return {}
    stale = stale_outputs(root, outputs, digests)
    digests.save()
    if paper and (set(paper) & set(stale) or downstream(root, stale) & set(paper)):
        mark_paper_out_of_date(root, paper, "it depends on outputs that are stale:\n" + "\n".join(
            f"  {rel}: {why}" for rel, why in sorted(stale.items())), failed=False)
    elif paper:
        clear_stale_note(root, paper)
    invalidate(root, stale)
    _report(stale, set(outputs))
    return stale


def _report(stale: dict[str, str], outputs: set[str]) -> None:
    """One line naming the changed files the author knows (never a staged copy or an
    intermediate result), one for outputs without a record."""
    prefix = "built from other content of "
    changed = sorted({name for why in stale.values() if why.startswith(prefix)
                      for name in why[len(prefix):].split(", ")} - outputs)
    n_changed = sum(why.startswith(prefix) for why in stale.values())
    if changed:
        print(f"preflight: changed since the outputs were built from them: "
              f"{', '.join(changed)} (rebuilding what depends on them)", file=sys.stderr)
    elif n_changed:
        print("preflight: intermediate results changed since the outputs were built from "
              "them (an interrupted build?); rebuilding what depends on them", file=sys.stderr)
    unrecorded = len(stale) - n_changed
    if unrecorded:
        print(f"preflight: {unrecorded} output(s) have no record of what they were built "
              "from (made by an earlier version or by hand); rebuilding them", file=sys.stderr)
