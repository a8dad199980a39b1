"""Start-up paid once: rule scripts run in a process forked from a warm worker.

Each Snakemake job of a ``script:`` rule starts a new Python, which then imports the same
libraries as every other job (pandas, matplotlib, scipy: about two seconds on a small
machine, most of a cheap rule's time). With ``PAPERKIT_WARM`` set (``make paper`` sets it
to the modules to preload), a rule script whose first statement is ::

    from paperkit.warm import handoff

    handoff(snakemake)

hands its job to a worker that imported those modules once: the worker forks, and the
fork runs the same script file (Snakemake's preamble and all) in the job's working
folder, environment, arguments, standard input, output and error, while the job's own
process waits and exits with the fork's exit status. Snakemake still sees one job per
rule, with its log, its exit status and its outputs; the fork imports the project's own
code afresh, so an edit to the analysis is seen at once. Without ``PAPERKIT_WARM`` (any
plain ``snakemake`` run), or in a cluster job (the build that submitted it, named by
``PAPERKIT_BUILD_PID``, is no Snakemake process of this machine), ``handoff`` returns and
the script runs as always.

Where the workflow includes paperkit's pre-flight, Snakemake does not even start that
Python: :func:`paperkit.workflow.scripts_in_forks` has Snakemake send the script file to the
worker itself (:func:`run_script`), with the environment and streams its shell would have
given the job, and take the fork's exit status as the job's (about 0.12 s of one core saved
a job; an interrupted build ends the forks). ``handoff`` stays for every other route: a
benchmarked job, another workflow, a job whose Snakemake has no such method.

What the worker holds is only what it preloaded: it is keyed by the interpreter, its
installed packages, this file, the working folder, the preload list and the environment,
so a change to any of them starts a new worker. It ends after :data:`IDLE_S` seconds
without a job (``PAPERKIT_WARM_IDLE_S``), or when its folder is gone. A job whose process
dies (Snakemake stopped, ``kill -9``) closes its connection, and the worker kills the
fork and everything it started at once. Linux only (``SCM_RIGHTS`` file descriptors,
``pidfd``); elsewhere ``handoff`` returns and the script runs as always.

The same workers fork the notebooks' Jupyter kernels (:func:`kernel_command`) and
Snakemake itself (:func:`run_snakemake`, ``python -m paperkit.warm snakemake ARGS``, what
`make paper` runs): its worker loaded Snakemake, its plugins and its scheduler's solver
once, and the launcher stands for the build (the pre-flight names it, see
:func:`paperkit.rules.build_pid`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib
import json
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from paperkit import uptodate

ENV = "PAPERKIT_WARM"  # space-separated modules to preload; empty or unset: no worker
IDLE_S = 600.0
IDLE_ENV = "PAPERKIT_WARM_IDLE_S"  # seconds without a job before the worker ends
PEAKS_ENV = "PAPERKIT_WARM_PEAKS"  # a folder where each fork writes its peak memory
START_TIMEOUT_S = 60.0
# Variables a shell, make or the build set per command or per job (Snakemake's temporary
# folder of the job; the pid of the process that starts a notebook's kernel, which
# ipykernel reads only to end the kernel when that parent is gone, and the fork's parent
# is the worker, so it falls back to watching for its worker's end), and this module's own
# settings that the fork reads from the job's environment: not part of the key. The
# thread counts Snakemake sets per job are: the linear-algebra libraries read them when
# the worker imports them.
VOLATILE_ENV = uptodate.VOLATILE_ENV | {"MAKEFLAGS", "MAKELEVEL", "MFLAGS", "TMPDIR", "TMP",
                                        "TEMP", "TEMPDIR", "JPY_PARENT_PID",
                                        "JPY_SESSION_NAME"}
# What Snakemake sets for a job of one thread, the default (snakemake/shell.py).
ONE_THREAD_ENV = {name: "1" for name in (
    "OMP_NUM_THREADS", "GOTO_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")}
# What a notebook's Jupyter kernel loads before its first cell (IPython, ipykernel, zmq):
# preloaded by the worker whose forks are the build's kernels (kernel_command). Nothing
# that changes what the cells do (no plotting library: its backend is the kernel's choice).
KERNEL_MODULE = "ipykernel_launcher"
# (Not ipykernel's debugger: debugpy warns on import, which would go to the worker's log.)
KERNEL_PRELOAD = ["zmq", "tornado.ioloop", "jupyter_client.session",
                  "IPython.core.interactiveshell", "ipykernel.kernelapp", "ipykernel.ipkernel",
                  "ipykernel.zmqshell", "IPython.display", "sqlite3", "psutil"]
# What Snakemake's own start loads (about a second and a half on a small machine, before it
# reads the workflow), its argument parser (which collects the installed plugins), its
# job scheduler's solver, and what it imports at its first script job (pandas and numpy,
# to store the job's params: a third of a second or more before that job starts):
# preloaded by the worker whose forks run the builds of `make paper` (run_snakemake).
# ``module:function`` calls the function once imported.
SNAKEMAKE_MODULE = "snakemake"
SNAKEMAKE_PRELOAD = ["snakemake.cli", "snakemake.api", "snakemake.workflow", "snakemake.dag",
                     "snakemake.scheduling.job_scheduler", "snakemake.executors.local",
                     "snakemake.script", "snakemake.storage", "pulp", "jsonschema",
                     "smart_open", "requests", "snakemake.cli:get_argument_parser", "numpy",
                     "pandas"]
# Signals the job's own process passes on to the fork and what it started (a kernel
# manager interrupts its kernel with SIGINT; a scheduler ends a job with SIGTERM).
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
             signal.SIGUSR2)
_HEADER = struct.Struct("!I")


# ------------------------------------------------------------------------- the job side


def _stat(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def worker_key(preload: list[str], env: dict[str, str], cwd: str) -> str:
    """What a worker's preloaded state depends on, as a short hash."""
    packages = sorted({sysconfig.get_paths()[k] for k in ("purelib", "platlib")})
    parts = {
        "python": [os.path.realpath(sys.executable), _stat(sys.executable)],
        "packages": {p: _stat(p) for p in packages}, "code": _stat(__file__),
        "preload": preload, "cwd": cwd,
        "env": sorted((k, v) for k, v in env.items() if k not in VOLATILE_ENV),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:20]


def socket_path(key: str) -> Path:
    """Where the worker for ``key`` listens (a short path: sockets allow 107 bytes)."""
    base = Path(os.environ.get("XDG_RUNTIME_DIR") or "/tmp") / f"paperkit-warm-{os.getuid()}"
    base.mkdir(mode=0o700, exist_ok=True)
    return base / f"{key}.sock"


def _send(conn: socket.socket, payload: dict[str, Any], fds: list[int] = ()) -> None:
    data = json.dumps(payload).encode()
    msg = _HEADER.pack(len(data)) + data
    if fds:
        socket.send_fds(conn, [msg], list(fds))
    else:
        conn.sendall(msg)


def _recv_exact(conn: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = conn.recv(n - len(out))
        if not chunk:
            raise ConnectionError("worker connection closed")
        out += chunk
    return out


def _recv(conn: socket.socket, nfds: int = 0) -> tuple[dict[str, Any], list[int]]:
    if nfds:
        msg, fds, _, _ = socket.recv_fds(conn, _HEADER.size, nfds)
        if len(msg) < _HEADER.size:
            msg += _recv_exact(conn, _HEADER.size - len(msg))
    else:
        msg, fds = _recv_exact(conn, _HEADER.size), []
    (size,) = _HEADER.unpack(msg)
    return json.loads(_recv_exact(conn, size)), list(fds)


def _connect(path: Path) -> socket.socket | None:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(str(path))
    except OSError:
        conn.close()
        return None
    return conn


def _starting(path: Path) -> int | None:
    """The pid of a worker started for ``path`` that does not listen yet, if it lives."""
    try:
        pid = int(Path(f"{path}.starting").read_text())
    except (OSError, ValueError):
        return None
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None
    return None if state in ("Z", "X") else pid  # a zombie never listens


def _spawn(path: Path, argv: list[str], env: dict[str, str] | None = None) -> None:
    """Start a server at ``path`` running ``argv`` with ``env`` (the caller holds the lock
    and found none listening or starting); it removes ``<path>.starting`` once it listens."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    with open(f"{path}.log", "ab") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True, close_fds=True, env=env)
    Path(f"{path}.starting").write_text(str(proc.pid))


def _serve_argv(path: Path, preload: list[str]) -> list[str]:
    return [sys.executable, "-m", "paperkit.warm", "serve", str(path), *preload]


def connect(path: Path, argv: list[str], env: dict[str, str] | None = None) -> socket.socket:
    """Connect to the server at ``path``, starting it with ``argv`` (in ``env``, by default
    this process's) when there is none (one job, or the pre-flight, starts it; the others
    wait on a lock for it to listen)."""
    with open(f"{path}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        conn = _connect(path)
        if conn is not None:
            return conn
        if _starting(path) is None:
            _spawn(path, argv, env)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            conn = _connect(path)
            if conn is not None:
                return conn
            if _starting(path) is None and _connect(path) is None:
                break  # it died before listening
            time.sleep(0.02)
    raise RuntimeError(f"paperkit: nothing listens at {path} (see {path}.log)")


def _wanted() -> list[str]:
    """The modules to preload, or none where no worker is used (no ``PAPERKIT_WARM``, or
    off Linux)."""
    if not sys.platform.startswith("linux"):
        return []
    return os.environ.get(ENV, "").split()


def in_fork() -> bool:
    """Whether this process is a warm worker's fork (a job's script runs there)."""
    from paperkit.rules import fork_client

    return fork_client() is not None


def thread_env(threads: int) -> dict[str, str]:
    """What Snakemake sets for a job of ``threads`` threads (snakemake/shell.py)."""
    return {name: str(threads) for name in ONE_THREAD_ENV}


def prestart(threads: int = 1) -> None:
    """Start the worker for this folder's jobs of ``threads`` threads now, without waiting
    for it: its imports then overlap Snakemake's workflow load and DAG (the pre-flight
    starts the one-thread worker, the workflow's start the others its jobs need), and the
    first jobs find it ready or about to be. Does nothing without ``PAPERKIT_WARM``."""
    preload = _wanted()
    if not preload:
        return
    env = {**os.environ, **thread_env(threads)}
    path = socket_path(worker_key(preload, env, os.getcwd()))
    with open(f"{path}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        conn = _connect(path)
        if conn is not None:
            conn.close()
            return
        if _starting(path) is None:
            _spawn(path, _serve_argv(path, preload), env)


def handoff(smk: Any = None) -> None:
    """Run this rule script in a warm worker's fork and exit with its status; return at
    once (the script runs here) without ``PAPERKIT_WARM``, off Linux, or in the fork."""
    preload = [] if in_fork() else _wanted()  # in the fork, the script runs on
    if not preload or _cluster_job():
        return  # a cluster job: the build that started it runs on another machine
    from paperkit.rules import die_with_build

    die_with_build()  # the job still dies with the build
    conn = _worker(preload, "the job")
    if conn is None:
        return
    script = os.path.abspath(sys.argv[0])
    _delegate(conn, {"script": script, "argv": sys.argv}, script)


# The forks running the script jobs this Snakemake process sent (run_script): fork -> job.
_SCRIPT_FORKS: dict[int, str] = {}
_SCRIPT_FORKS_LOCK = threading.Lock()


def job_env(threads: int, resources: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The environment Snakemake's shell gives a job of ``threads`` threads
    (snakemake/shell.py): this process's, the thread counts, the job's temporary folder."""
    env = {**os.environ, **thread_env(threads)}
    tmp = (resources or {}).get("tmpdir")
    if tmp:
        env.update(dict.fromkeys(("TMPDIR", "TMP", "TEMPDIR", "TEMP"), str(tmp)))
    return env


def run_script(fname: str, threads: int, resources: Mapping[str, Any] | None = None
               ) -> int | None:
    """Called by Snakemake for a ``script:`` job (see
    :func:`paperkit.workflow.scripts_in_forks`): run the script file ``fname`` (Snakemake's
    preamble and all) in a fork of this folder's job worker, with the job's environment and
    this process's streams, exactly as ``python fname`` would; return its exit status, or
    None, having run nothing, where no worker serves (no ``PAPERKIT_WARM``, off Linux, a
    cluster job, or none can start): the caller then starts the script's own Python."""
    preload = _wanted()
    if not preload or not warm_build():
        return None
    env = job_env(threads, resources)
    try:
        path = socket_path(worker_key(preload, env, os.getcwd()))
        conn = connect(path, _serve_argv(path, preload), env)
    except (OSError, RuntimeError) as exc:
        print(f"paperkit.warm: warning: {exc}; the job runs in its own process",
              file=sys.stderr)
        return None
    with conn:
        try:
            _send(conn, _job_request({"script": os.path.abspath(fname), "argv": [fname]}, env),
                  [0, 1, 2])
        except OSError:
            return None  # nothing was forked
        fork = None
        try:
            fork = int(_recv(conn)[0]["pid"])
            with _SCRIPT_FORKS_LOCK:
                _SCRIPT_FORKS[fork] = fname
            reply, _ = _recv(conn)
        except (ConnectionError, ValueError):
            print(f"paperkit.warm: the worker ended while running {fname}", file=sys.stderr)
            return 1
        finally:
            with _SCRIPT_FORKS_LOCK:
                _SCRIPT_FORKS.pop(fork, None)
    return int(reply["status"])


def end_scripts(signum: int = signal.SIGTERM) -> int:
    """Send ``signum`` to the forks running this process's script jobs and what they
    started (Snakemake cancels its jobs: the build was interrupted); how many."""
    with _SCRIPT_FORKS_LOCK:
        forks = list(_SCRIPT_FORKS)
    for fork in forks:
        _signal_group(fork, signum)
    return len(forks)


def kernel_command(cmd: list[str]) -> list[str]:
    """The command that starts a notebook's Jupyter kernel: where the build uses warm
    workers, ipykernel of this interpreter becomes a fork of a worker that loaded the
    kernel's own machinery once (:data:`KERNEL_PRELOAD`; about half a second a notebook
    otherwise); any other ``cmd`` is returned as it is."""
    if cmd[:3] != [sys.executable, "-m", KERNEL_MODULE] or not warm_build():
        return cmd
    return [sys.executable, "-m", "paperkit.warm", "kernel", *cmd[3:]]


def run_kernel(args: list[str]) -> None:
    """``python -m paperkit.warm kernel ARGS``: ``python -m ipykernel_launcher ARGS`` in a
    fork of the kernel worker, exiting with its status; in this process when no worker
    can start."""
    conn = _worker(KERNEL_PRELOAD, "the kernel")
    if conn is None:
        os.execv(sys.executable, [sys.executable, "-m", KERNEL_MODULE, *args])
    _delegate(conn, {"module": KERNEL_MODULE, "argv": [KERNEL_MODULE, *args]},
              "the notebook's kernel")


def run_snakemake(args: list[str]) -> None:
    """``python -m paperkit.warm snakemake ARGS``: ``snakemake ARGS`` in a fork of this
    folder's Snakemake worker, which loaded Snakemake once (:data:`SNAKEMAKE_PRELOAD`),
    exiting with its status; Snakemake itself (``exec``) without ``PAPERKIT_WARM``, off
    Linux, or when no worker can start. The launcher stands for the
    build: the pre-flight names it as the build (its jobs die with it) and counts it as the
    folder's running Snakemake (a second build is refused)."""
    exe = str(Path(sys.executable).with_name(SNAKEMAKE_MODULE))
    if _wanted():
        from paperkit.rules import builds

        if builds([exe, *args]):
            with contextlib.suppress(OSError):  # else the pre-flight tries, or the first job
                prestart()  # the jobs' worker imports on the core Snakemake's start leaves
    conn = _worker(SNAKEMAKE_PRELOAD, "Snakemake") if _wanted() else None
    if conn is None:
        os.execv(exe, [exe, *args])
    _delegate(conn, {"module": SNAKEMAKE_MODULE, "argv": [exe, *args]}, "Snakemake")


def snakemake_argv(args: list[str]) -> list[str]:
    """The command that runs ``snakemake ARGS`` through :func:`run_snakemake`."""
    return [sys.executable, "-m", "paperkit.warm", "snakemake", *args]


def _worker(preload: list[str], what: str) -> socket.socket | None:
    """A connection to this folder's worker for ``preload`` (started if there is none);
    None, with a warning that ``what`` runs in its own process, when none can start."""
    try:
        path = socket_path(worker_key(preload, dict(os.environ), os.getcwd()))
        return connect(path, _serve_argv(path, preload))
    except (OSError, RuntimeError) as exc:
        print(f"paperkit.warm: warning: {exc}; {what} runs in its own process",
              file=sys.stderr)
        return None


def _job_request(request: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """``request`` with what the fork becomes: this process's folder and umask, ``env``, and
    this process as the client it stands for."""
    return {**request, "cwd": os.getcwd(), "env": env, "umask": _umask(), "client": os.getpid()}


def _delegate(conn: socket.socket, request: dict[str, Any], what: str) -> None:
    """Hand ``request`` with this process's folder, environment and streams to the worker
    at ``conn``; exit with the fork's status."""
    _send(conn, _job_request(request, dict(os.environ)), [0, 1, 2])
    try:
        fork = int(_recv(conn)[0]["pid"])
        for sig in FORWARDED:  # a signal to this process is one to the fork it stands for
            signal.signal(sig, lambda signum, _frame: _signal_group(fork, signum))
        reply, _ = _recv(conn)
    except ConnectionError:
        print(f"paperkit.warm: the worker ended while running {what}", file=sys.stderr)
        os._exit(1)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(int(reply["status"]))


def _signal_group(pid: int, signum: int) -> None:
    """Send ``signum`` to the fork ``pid`` and what it started (its own process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signum)


def warm_build() -> bool:
    """Whether this build keeps warm processes (``PAPERKIT_WARM`` set, Linux, and not a
    cluster job): the kernels' worker and typst's resident process (paperkit/resident.py)."""
    return bool(os.environ.get(ENV)) and sys.platform.startswith("linux") \
        and not _cluster_job()


def _cluster_job() -> bool:
    """Whether this is a cluster job: the build that started it (``PAPERKIT_BUILD_PID``)
    is no Snakemake process of this machine."""
    from paperkit.rules import BUILD_PID_ENV

    build = os.environ.get(BUILD_PID_ENV, "")
    return build.isdigit() and not _snakemake_here(int(build))


def _snakemake_here(pid: int) -> bool:
    """Whether ``pid`` is a Snakemake process (or a launcher of one) on this machine."""
    from paperkit.rules import is_snakemake

    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return False
    return is_snakemake(argv)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ------------------------------------------------------------------------- the worker


def _record_peak() -> None:
    """With ``PAPERKIT_WARM_PEAKS`` set to a folder, the fork writes its peak resident
    memory there (a benchmark's peak: the fork is no descendant of the build)."""
    folder = os.environ.get(PEAKS_ENV)
    if not folder:
        return
    import resource

    with contextlib.suppress(OSError):
        Path(folder).mkdir(parents=True, exist_ok=True)
        kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        (Path(folder) / f"{os.getpid()}.kib").write_text(str(kib))


def _project_modules(cwd: str) -> list[str]:
    """Modules the worker imported from the project folder (``paperkit`` itself, and any
    other not installed in the interpreter's own folders)."""
    installed = tuple({sys.prefix, sys.base_prefix, sys.exec_prefix,
                       *(sysconfig.get_paths()[k] for k in ("stdlib", "purelib", "platlib"))})
    root = cwd.rstrip(os.sep) + os.sep
    out = []
    for name, module in list(sys.modules.items()):
        where = getattr(module, "__file__", None) or ""
        if name == "paperkit" or name.startswith("paperkit.") or (
                where.startswith(root) and not where.startswith(installed)):
            out.append(name)
    return out


def _run_child(request: dict[str, Any], fds: list[int]) -> None:
    """In the fork: become the job (folder, environment, streams) and run its script."""
    import atexit
    import runpy
    import traceback

    os.setpgid(0, 0)
    for target, fd in zip((0, 1, 2), fds, strict=True):
        os.dup2(fd, target)
        os.close(fd)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL if sig != signal.SIGPIPE else signal.SIG_IGN)
    os.chdir(request["cwd"])
    os.umask(request["umask"])
    os.environ.clear()
    os.environ.update(request["env"])
    from paperkit.rules import CLIENT_ENV

    os.environ[CLIENT_ENV] = f"{request['client']}:{os.getpid()}"
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the job's own streams
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    # the worker's own modules of the project are dropped: the fork imports them afresh
    for name in _project_modules(request["cwd"]):
        del sys.modules[name]
    sys.argv = list(request["argv"])
    sys.path[0] = request["cwd"] if "module" in request else os.path.dirname(request["script"])
    status = 0
    try:
        if "module" in request:  # python -m MODULE
            runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
        else:
            runpy.run_path(request["script"], run_name="__main__")
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if exc.code is not None and not isinstance(exc.code, int):
            print(exc.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - report as Python would, then exit 1
        traceback.print_exc()
        status = 1
    with contextlib.suppress(Exception):
        atexit._run_exitfuncs()
    _record_peak()
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(status)


class _Worker:
    """One listening socket; per job a fork, its connection and its pidfd, all on one
    thread (forking from a threaded process is unsafe)."""

    def __init__(self, path: Path) -> None:
        self.path, self.sel = path, selectors.DefaultSelector()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(16)
        self.inode = _stat(str(path))
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}.starting").unlink()
        self.sel.register(self.listener, selectors.EVENT_READ, ("accept", None))
        self.jobs: dict[int, tuple[socket.socket, int]] = {}  # pid -> (conn, pidfd)
        self.last = time.monotonic()
        self.folder = Path.cwd()
        self.idle = float(os.environ.get(IDLE_ENV) or IDLE_S)

    def serve(self) -> None:
        """Run jobs until idle; then stop listening first (a job arriving now starts a new
        worker) and run what already connected before ending."""
        closing = False
        while True:
            events = self.poll(timeout=0 if closing else min(5.0, self.idle))
            if self.jobs:
                self.last = time.monotonic()
            elif closing and not events:
                return
            elif time.monotonic() - self.last > self.idle or not self.folder.is_dir() \
                    or _stat(str(self.path)) != self.inode:
                closing = True
                self._unlisten()

    def poll(self, timeout: float = 0) -> list[Any]:
        """Handle what happened within ``timeout`` seconds: a job arrived (fork it), a
        job's process died, a fork ended."""
        events = self.sel.select(timeout=timeout)
        for key, _ in events:
            kind, pid = key.data
            if kind == "accept":
                self._accept()
            elif kind == "conn":
                self._client_gone(pid)
            else:
                self._child_done(pid)
        return events

    def _unlisten(self) -> None:
        """Remove this worker's socket file (not one a newer worker made in its place)."""
        if _stat(str(self.path)) == self.inode:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    def _accept(self) -> None:
        conn, _ = self.listener.accept()
        try:
            request, fds = _recv(conn, nfds=3)
        except (ConnectionError, ValueError, OSError):
            conn.close()
            return
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            try:
                self.sel.close()
                self.listener.close()
                conn.close()
                _run_child(request, fds)
            finally:
                os._exit(1)
        for fd in fds:
            os.close(fd)
        with contextlib.suppress(OSError):
            _send(conn, {"pid": pid})
        pidfd = os.pidfd_open(pid)
        self.jobs[pid] = (conn, pidfd)
        self.sel.register(conn, selectors.EVENT_READ, ("conn", pid))
        self.sel.register(pidfd, selectors.EVENT_READ, ("child", pid))

    def end_jobs(self) -> None:
        """Kill the running forks and what they started (the worker is stopped)."""
        for pid in list(self.jobs):
            self._client_gone(pid)

    def _forget(self, pid: int) -> tuple[socket.socket, int]:
        conn, pidfd = self.jobs.pop(pid)
        self.sel.unregister(conn)
        self.sel.unregister(pidfd)
        os.close(pidfd)
        return conn, pidfd

    def _child_done(self, pid: int) -> None:
        _, status = os.waitpid(pid, 0)
        conn, _ = self._forget(pid)
        code = os.waitstatus_to_exitcode(status)
        with contextlib.suppress(OSError):
            _send(conn, {"status": code if code >= 0 else 128 - code})
        conn.close()

    def _client_gone(self, pid: int) -> None:
        """The job's process died (the build was stopped): end the fork and its children."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        conn, _ = self._forget(pid)
        conn.close()


def serve(path: Path, preload: list[str]) -> None:
    """Import ``preload``, then run jobs at ``path`` until idle (``python -m paperkit.warm``).
    It listens from the start: a job that arrives while the modules load is forked after the
    module at hand, and imports the rest itself (the first jobs of a build then use the
    second core instead of waiting for every import)."""
    worker = _Worker(path)
    signal.signal(signal.SIGTERM, exit_on_signal)  # `stop`: end as when idle
    try:
        for name in preload:
            try:
                module, _, call = name.partition(":")
                loaded = importlib.import_module(module)
                if call:
                    getattr(loaded, call)()
            except Exception as exc:  # noqa: BLE001 - a module that fails: the job's import
                print(f"paperkit.warm: not preloaded: {name}: {exc}", file=sys.stderr)
            worker.poll()
        worker.serve()
    finally:
        worker._unlisten()
        worker.end_jobs()
        drop_empty_log(path)


def exit_on_signal(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def drop_empty_log(path: Path) -> None:
    """Remove the server's log at ``path`` if nothing was written to it."""
    log = Path(f"{path}.log")
    with contextlib.suppress(OSError):
        if log.stat().st_size == 0:
            log.unlink()


# The long-lived processes of a project folder: warm workers, and typst's resident
# compiler (paperkit/resident.py).
SERVERS = (b"paperkit.warm", b"paperkit.resident")


def workers(folder: str | Path) -> list[int]:
    """The pids of this user's warm workers and resident processes serving ``folder``."""
    folder = os.path.realpath(folder)
    found: dict[int, list[bytes]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            if argv[1:2] == [b"-m"] and argv[2:3] and argv[2] in SERVERS and \
                    argv[3:4] == [b"serve"] and \
                    os.path.realpath(f"/proc/{entry}/cwd") == folder:
                found[int(entry)] = argv
    # a job's fork is no worker: it has its worker's command line (a worker that a build's
    # fork started has its own)
    return [pid for pid, argv in found.items() if found.get(_parent(pid)) != argv]


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def stop(folder: str | Path) -> int:
    """End the workers and resident processes of ``folder`` (``make clean``, a benchmark's
    cold build); returns how many there were. Their running jobs end with them (their
    job processes exit with status 1, saying the worker ended)."""
    pids = workers(folder)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    return len(pids)


def main(argv: list[str]) -> int:
    """``python -m paperkit.warm serve SOCKET MODULE...`` | ``kernel ARGS...`` |
    ``snakemake ARGS...`` | ``stop [FOLDER]``."""
    if argv[:1] == ["serve"] and len(argv) >= 2:
        serve(Path(argv[1]), argv[2:])
        return 0
    if argv[:1] == ["kernel"]:
        run_kernel(argv[1:])
        return 0
    if argv[:1] == ["snakemake"]:
        run_snakemake(argv[1:])
        return 0
    if argv[:1] == ["stop"] and len(argv) <= 2:
        print(f"paperkit.warm: stopped {stop(argv[1] if len(argv) > 1 else '.')} worker(s)")
        return 0
    print("usage: python -m paperkit.warm serve SOCKET MODULE... | kernel ARGS... | "
          "snakemake ARGS... | stop [FOLDER]",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
