"""Glue between Snakemake's ``script:`` directive and the analysis functions.

Every rule script calls :func:`run`, so that each step logs to its rule's log
file, a failure prints one clear line (the error message, which names the file,
row, column and rule) instead of a traceback, and the full traceback is kept in
the log for whoever needs it.

A rule script also dies with the build that started it (:func:`die_with_build`): when
Snakemake is killed (``kill -9``, a closed terminal), an orphaned script would otherwise
run on and write its outputs after the build is gone, behind the back of the next one.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import logging
import os
import re
import select
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from paperkit.freshness import check_unchanged, input_digests, write_record

log = logging.getLogger("paperkit")


def _configure_logging(log_path: str | None) -> None:
    handlers: list[logging.Handler] = []
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w", encoding="utf-8"))
    logging.basicConfig(
        level=logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        handlers=handlers or None,
        force=True,
    )


#: Set by the workflow (paperkit.preflight) to the pid of the Snakemake process whose
#: death must end every rule script of the build.
BUILD_PID_ENV = "PAPERKIT_BUILD_PID"
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


def is_snakemake(argv: list[str]) -> bool:
    """Whether the command line ``argv`` is a Snakemake main process: ``.../snakemake ...``,
    ``python -m snakemake ...`` or ``python -m paperkit.warm snakemake ...`` (a build run in
    a warm worker's fork), not a rule script that merely lives under ``.snakemake/scripts``."""
    head = argv[:3]
    if any(Path(a).name == "snakemake" for a in head):
        return True
    return argv[1:2] == ["-m"] and (argv[2:3] == ["snakemake"]
                                    or argv[2:4] == ["paperkit.warm", "snakemake"])


#: Snakemake options that only look at the workflow: such a run builds nothing.
_LOOK_ONLY = frozenset({
    "--dry-run", "--dryrun", "--lint", "--list", "--list-rules", "--list-target-rules",
    "--lt", "--rulegraph", "--dag", "--filegraph", "--d3dag", "--summary",
    "--detailed-summary", "--list-changes", "--lc", "--list-input-changes", "--li",
    "--list-params-changes", "--lp", "--list-code-changes", "--print-compilation",
    "--list-untracked", "--report", "--containerize", "--export-cwl",
})


def builds(argv: list[str]) -> bool:
    """Does the Snakemake command line ``argv`` run jobs (not ``-n``, ``--lint``, ...)?"""
    for arg in argv[1:]:
        if arg.split("=", 1)[0] in _LOOK_ONLY:
            return False
        if re.fullmatch(r"-[A-Za-z]+", arg) and ("n" in arg or arg in ("-l", "-S", "-D")):
            return False
    return True


#: Set in a warm worker's fork (paperkit/warm.py) to ``<client>:<fork>``: the pid of the
#: process the fork stands for (for a build run there, the launcher the author started)
#: and the fork's own. The fork's children inherit it; only the fork itself matches its
#: second half: a build's jobs are no forks, and hand off to their own workers.
CLIENT_ENV = "PAPERKIT_WARM_CLIENT"


def fork_client() -> int | None:
    """In a warm worker's fork, the pid of the process it stands for; else None."""
    client, _, fork = os.environ.get(CLIENT_ENV, "").partition(":")
    return int(client) if client.isdigit() and fork == str(os.getpid()) else None


def build_pid() -> int:
    """The pid that stands for this build: the launcher of a build run in a warm worker's
    fork, else this process (called in the Snakemake main process)."""
    return fork_client() or os.getpid()


def _descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (children first), read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{entry}/stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        out += kids
        todo += kids
    return out


def _end_job(signum: int = signal.SIGTERM, frame: Any = None) -> None:
    """The build is gone: kill everything this script started, then the script itself."""
    for pid in _descendants(os.getpid()):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    os._exit(128 + signum)


def _watch(pid: int) -> None:
    """Block until process ``pid`` ends, then end this job (runs in a daemon thread)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        os.kill(os.getpid(), signal.SIGTERM)
        return
    select.select([fd], [], [])
    os.kill(os.getpid(), signal.SIGTERM)


def die_with_build() -> None:
    """End this process and its children as soon as the build that started it ends.

    The kernel sends SIGTERM when the parent (Snakemake, or a shell between) dies
    (``PR_SET_PDEATHSIG``); a watcher thread does the same when the Snakemake process
    named by ``PAPERKIT_BUILD_PID`` ends. Orphaned grandchildren (a renderer's
    subprocesses) are re-parented here (``PR_SET_CHILD_SUBREAPER``), so the handler
    finds and kills them too. Linux only; elsewhere this does nothing.
    """
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    signal.signal(signal.SIGTERM, _end_job)
    libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() == 1:  # the parent died before the line above took effect
        _end_job()
    build = os.environ.get(BUILD_PID_ENV, "")
    if build.isdigit():
        threading.Thread(target=_watch, args=(int(build),), daemon=True).start()


def source_paths(message: str, staged: Mapping[str, str]) -> str:
    """Name the files the author edits: ``build/paper/index.qmd`` -> ``paper/index.qmd``.

    ``staged`` maps a staging folder to the source folder it was copied from; a path under
    it (relative, or absolute under the working directory) is rewritten when the source
    file exists (generated files such as the variables file keep their staged path).
    """
    cwd = Path.cwd()
    for stage, source in staged.items():
        prefix = re.escape(Path(stage).as_posix().rstrip("/"))
        pattern = rf"(?:{re.escape(cwd.as_posix())}/)?{prefix}/([^\s:'\"`,;()]+)"

        def repl(m: re.Match[str], source: str = source) -> str:
            rel = m.group(1)
            return f"{source}/{rel}" if (Path(source) / rel).is_file() else m.group(0)

        message = re.sub(pattern, repl, message)
    return message


#: When set to a folder, every rule script records there the files it opened for reading
#: (``<rule>.<pid>.json``): the test that each rule declares every file its code reads.
AUDIT_ENV = "PAPERKIT_AUDIT_READS"
_READS: set[str] = set()


def _record_reads(rule: str, wildcards: dict[str, str]) -> None:
    """Watch ``open`` (Python's audit events) and write what was read when the job ends.

    Files opened by native code (Arrow's Parquet reader) are not seen; the record is a
    lower bound, which is what the test needs: a read it sees must be declared.
    """
    folder = os.environ.get(AUDIT_ENV)
    if not folder or _READS:
        return

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event != "open" or not args or not isinstance(args[0], str | bytes | os.PathLike):
            return
        mode, flags = (args[1] if len(args) > 1 else "r"), (args[2] if len(args) > 2 else 0)
        writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
        if not writes:
            _READS.add(os.path.normpath(os.path.join(os.getcwd(), os.fsdecode(args[0]))))

    def write() -> None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        record = {"rule": rule, "wildcards": wildcards, "reads": sorted(_READS)}
        (Path(folder) / f"{rule}.{os.getpid()}.json").write_text(json.dumps(record))

    _READS.add(os.devnull)  # marks the hook as installed (a script may call run() twice)
    sys.addaudithook(hook)
    atexit.register(write)


def _inputs_before(smk: Any) -> dict[str, str | None] | None:
    """The content of the job's inputs before it runs (paperkit.freshness), when the job
    belongs to a build (the pre-flight named it); ``None`` outside a build."""
    if not os.environ.get(BUILD_PID_ENV) or not hasattr(smk, "input"):
        return None
    return input_digests(str(p) for p in smk.input)


def run(smk: Any, func: Callable[..., Any], /, *, staged: Mapping[str, str] | None = None,
        **kwargs: Any) -> Any:
    """Call ``func(**kwargs)`` for the Snakemake job ``smk``; exit 1 with a clean message.

    When it succeeded, the job records the content of the inputs it was built from
    (:mod:`paperkit.freshness`), which the next build's pre-flight compares.

    ``staged`` (staging folder -> source folder) makes the message name source files.
    """
    die_with_build()
    _record_reads(str(smk.rule), {k: str(v) for k, v in smk.wildcards.items()})
    log_path = smk.log[0] if len(smk.log) else None
    _configure_logging(log_path)
    started = time.perf_counter()
    log.info("rule %s: %s", smk.rule, func.__module__ + "." + func.__qualname__)
    try:
        built_from = _inputs_before(smk)
        result = func(**kwargs)
        if built_from is not None:
            check_unchanged(built_from)
            write_record(list(smk.output), built_from)
    except Exception as exc:  # noqa: BLE001 - every failure must end the job cleanly
        log.error("%s", traceback.format_exc())
        where = f" (details in {log_path})" if log_path else ""
        text = source_paths(str(exc), staged) if staged else str(exc)
        message = f"ERROR in rule '{smk.rule}': {type(exc).__name__}: {text}{where}"
        print(f"\n{message}\n", file=sys.stderr)
        sys.exit(1)
    log.info("rule %s finished in %.2f s", smk.rule, time.perf_counter() - started)
    return result
