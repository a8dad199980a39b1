"""The no-op without Snakemake: when no file changed since the last finished build,
there is nothing to run, and saying so takes a file walk instead of a workflow load.

Snakemake needs about a second to start, load the workflow and check the DAG before it
can say "Nothing to be done". This module makes the same decision from file metadata:

- :func:`start` (called by the pre-flight, before any job is planned) takes a snapshot of every file
  of the project folder (path, size, modification and change times, inode), the
  environment, the command line and the interpreter with its installed packages;
- :func:`record` (called when a build finished without error, or found nothing to do)
  writes that snapshot to
  :data:`STAMP`, with the files the build wrote (the declared outputs and logs of its
  jobs) as they are now. A file that changed during the build and is not an output, or
  that appeared or vanished, is recorded as unknown: the next build runs Snakemake;
- ``python -m paperkit.uptodate -- ARGS`` (the Makefile's ``make paper``) exits 0 only when
  the stamp exists, was written by a build run with the same ARGS, environment and
  interpreter, and every file of the project (and every input outside it) is exactly as
  recorded; anything else, including an unreadable stamp, exits 1 and the Makefile runs
  Snakemake, which decides as always.

The change time (``st_ctime``) cannot be set by tools that copy files with their
modification time (``cp -p``, ``rsync -a``, unpacking an archive), so a file replaced that
way is seen. A build that stopped changed files (Snakemake removes a job's old outputs
before running it), so the stamp no longer matches; one stopped before any job changed
nothing, and the stamp's "nothing to be done" still holds. A build of other targets writes
its own command line into the stamp, which ``make paper`` then does not take.

Standard library only: this runs before anything else, on every ``make paper``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import sysconfig
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

STAMP = Path(".snakemake/paperkit/uptodate.json")
# Folders whose content no rule reads: version control, Snakemake's own records (the
# stamp lives there), virtual environments (checked through their package folders) and
# tool caches.
SKIP_DIRS = frozenset({".git", ".snakemake", "node_modules", "__pycache__", ".pytest_cache",
                       ".ruff_cache", ".mypy_cache", ".ipynb_checkpoints", ".hypothesis"})
# Variables a shell or make sets per command, the build's own pid (paperkit.rules) and the
# warm worker's idle time, memory record and launcher pid (paperkit/warm.py): none changes
# an output.
VOLATILE_ENV = frozenset({"_", "OLDPWD", "PWD", "SHLVL", "PAPERKIT_BUILD_PID",
                          "PAPERKIT_WARM_IDLE_S", "PAPERKIT_WARM_PEAKS",
                          "PAPERKIT_WARM_CLIENT"})
# External programs whose presence changes what a build does (the Quarto engine).
TOOLS = ("quarto",)
UNKNOWN = "unknown"
# Snakemake's words for a run with no job to run (snakemake.common.NOTHING_TO_BE_DONE_MSG).
NOTHING_TO_BE_DONE = "Nothing to be done (all requested files are present and up to date)."

_started: dict[str, Any] | None = None


def _skipped(name: str) -> bool:
    return name in SKIP_DIRS or name.startswith(".venv")


def _stat(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def tree(root: str | Path) -> dict[str, list[int]]:
    """Every file under ``root`` (relative path -> size, mtime, ctime, inode), the
    folders of :data:`SKIP_DIRS` left out."""
    out: dict[str, list[int]] = {}
    stack = [str(root)]
    base = len(str(root)) + 1
    while stack:
        folder = stack.pop()
        with contextlib.suppress(OSError), os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if not _skipped(entry.name):
                        stack.append(entry.path)
                    continue
                stat = _stat(entry.path)
                if stat is not None:
                    out[entry.path[base:]] = stat
    return out


def context(argv: Iterable[str]) -> dict[str, Any]:
    """What besides the files decides a build: its command line, environment, working
    folder, interpreter, installed packages and external tools (``PATH`` is part of the
    environment)."""
    env = {k: v for k, v in os.environ.items() if k not in VOLATILE_ENV}
    packages = sorted({sysconfig.get_paths()[k] for k in ("purelib", "platlib")})
    tools = {}
    for name in TOOLS:
        where = shutil.which(name)
        tools[name] = [where, _stat(where) if where else None]
    return {"argv": list(argv), "env": env, "cwd": os.getcwd(),
            "python": [os.path.realpath(sys.executable), _stat(sys.executable)],
            "packages": {p: _stat(p) for p in packages}, "tools": tools}


def start(workflow: Any = None, root: str | Path = ".") -> None:
    """Before any job: remember the files as they are now. With Snakemake's ``workflow``,
    a run that finds nothing to do records the stamp too (Snakemake calls no ``onsuccess``
    handler then; it logs :data:`NOTHING_TO_BE_DONE`, which a filter on its logger sees)."""
    global _started
    _started = {"context": context(sys.argv[1:]), "files": tree(root)}
    if workflow is not None:
        import logging

        def on_nothing_to_do(entry: logging.LogRecord) -> bool:
            if entry.getMessage() == NOTHING_TO_BE_DONE and not workflow.dryrun:
                record_workflow(workflow)
            return True

        logging.getLogger("snakemake.logging").addFilter(on_nothing_to_do)


def _inside(rel: str, outputs: set[str], folders: tuple[str, ...]) -> bool:
    return rel in outputs or rel.startswith(folders)


def stamp_files(before: Mapping[str, list[int]], after: Mapping[str, list[int]],
                outputs: Iterable[str]) -> dict[str, Any]:
    """The files to record: outputs as they are now, every other file as it was when the
    build started, or unknown when it changed, appeared or vanished during the build."""
    outputs = {os.path.normpath(o) for o in outputs}
    folders = tuple(o + os.sep for o in outputs)
    files: dict[str, Any] = {}
    for rel, stat in after.items():
        if _inside(rel, outputs, folders):
            files[rel] = stat
        else:
            files[rel] = stat if before.get(rel) == stat else UNKNOWN
    for rel in before.keys() - after.keys():
        if not _inside(rel, outputs, folders):
            files[rel] = UNKNOWN
    return files


def record(outputs: Iterable[str], outside: Iterable[str] = (), root: str | Path = ".") -> bool:
    """After a build that finished without error: write the stamp (see the module
    docstring). ``outputs``: every file and folder the build's jobs may write;
    ``outside``: input files outside ``root``. Returns whether a stamp was written."""
    if _started is None:
        return False
    files = stamp_files(_started["files"], tree(root), outputs)
    extra = {os.path.abspath(p): _stat(p) for p in outside}
    stamp = {"context": _started["context"], "files": files, "outside": extra}
    path = Path(root) / STAMP
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(stamp), encoding="utf-8")
    tmp.replace(path)
    return True


def workflow_files(workflow: Any) -> tuple[list[str], list[str]]:
    """From Snakemake's finished ``workflow``: every output and log of its jobs (relative
    paths), and every input outside the working folder."""
    cwd = os.getcwd()
    outputs, outside = set(), set()
    for job in workflow.dag.jobs:
        benchmark = getattr(job, "benchmark", None)
        for f in [*job.output, *job.log, *([benchmark] if benchmark else [])]:
            outputs.add(os.path.relpath(os.path.abspath(str(f)), cwd))
        for f in job.input:
            path = os.path.abspath(str(f))
            if not path.startswith(cwd + os.sep):
                outside.add(path)
    return sorted(outputs), sorted(outside)


def record_workflow(workflow: Any, owned: Iterable[str] = ()) -> bool:
    """:func:`record` for a finished Snakemake run (its ``onsuccess`` handler); ``owned``:
    folders a rule writes whole beyond its declared outputs (the rendered paper's)."""
    outputs, outside = workflow_files(workflow)
    return record([*outputs, *owned], outside)


def up_to_date(argv: Iterable[str], root: str | Path = ".", ignore: Iterable[str] = ()
               ) -> bool:
    """Whether the last finished build, run with ``argv``, left nothing to do. ``ignore``:
    files a later step of the same command writes, which no rule reads (the run report)."""
    try:
        stamp = json.loads((Path(root) / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(stamp, dict) or stamp.get("context") != context(argv):
        return False
    outside = stamp.get("outside") or {}
    if any(_stat(path) != stat for path, stat in outside.items()):
        return False
    skip = {os.path.normpath(p) for p in ignore}
    recorded = {k: v for k, v in (stamp.get("files") or {}).items() if k not in skip}
    return recorded == {k: v for k, v in tree(root).items() if k not in skip}


def main(argv: list[str] | None = None) -> int:
    """``python -m paperkit.uptodate [--ignore FILE]... -- SNAKEMAKE_ARGS``: 0 when
    nothing is to be done."""
    args = list(sys.argv[1:] if argv is None else argv)
    ignore = []
    while len(args) > 1 and args[0] == "--ignore":
        ignore.append(args[1])
        args = args[2:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not up_to_date(args, ignore=ignore):
        return 1
    print("Nothing to be done: no file changed since the last finished build "
          "(paperkit.uptodate; Snakemake was not started).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
