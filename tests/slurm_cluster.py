"""Throw-away single-node SLURM cluster on localhost, for tests and benchmarks.

Everything (munge key, slurm.conf, state, spool, logs, MariaDB datadir) lives
under one temporary folder; every daemon is started in the foreground as a
child process and stopped by its PID (no systemd, no /etc changes).

Two modes:

* ``accounting=True``: munged + mariadbd + slurmdbd + slurmctld + slurmd,
  ``AccountingStorageType=accounting_storage/slurmdbd`` -> ``sacct`` works.
* ``accounting=False``: munged + slurmctld + slurmd,
  ``AccountingStorageType=accounting_storage/none`` -> ``sacct`` fails with
  "Slurm accounting storage is disabled".

In both modes ``JobCompType=jobcomp/filetxt`` writes one line per finished job
to ``ClusterInfo.jobcomp_file``, a portable "did it go through SLURM" check.

Needs root and Debian's apt (packages are installed when missing). Any reason
the cluster cannot be started raises :class:`ClusterUnavailable`, e.g.::

    try:
        with single_node_cluster(tmp_path, accounting=False) as info:
            subprocess.run(["sbatch", "--wrap", "hostname"], env=info.client_env())
    except ClusterUnavailable as exc:
        pytest.skip(exc.reason)
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

__all__ = [
    "ClusterInfo", "ClusterUnavailable", "SlurmCluster", "ensure_packages", "single_node_cluster",
]

_SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# binary -> Debian package providing it
_BASE_BINARIES = {
    "munged": "munge",
    "mungekey": "munge",
    "slurmctld": "slurm-wlm",
    "slurmd": "slurm-wlm",
    "sinfo": "slurm-wlm",
    "sbatch": "slurm-wlm",
    "scontrol": "slurm-wlm",
}
_ACCOUNTING_BINARIES = {
    "slurmdbd": "slurmdbd",
    "sacctmgr": "slurm-wlm",
    "mariadbd": "mariadb-server",
    "mariadb-install-db": "mariadb-server",
    "mariadb": "mariadb-server",
}
CLIENT_TOOLS = ("sbatch", "srun", "salloc", "squeue", "scancel", "scontrol", "sinfo", "sacct",
                "sacctmgr", "sshare", "sstat", "sprio")
# apt-get waits for other users of the package database instead of failing at once
_APT = ["apt-get", "-o", "DPkg::Lock::Timeout=600", "-o", "Acquire::Retries=3"]
_apt_updated = False


class ClusterUnavailable(RuntimeError):
    """The cluster cannot be started here; ``reason`` is suitable for ``pytest.skip``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class ClusterInfo:
    """What a client (test) needs to talk to the running cluster."""

    root: Path
    conf_file: Path
    env: dict[str, str]  # variables to add to a client's environment (SLURM_CONF, PATH)
    nodename: str
    partition: str  # the default partition
    partitions: tuple[str, ...]
    cluster_name: str
    accounting: bool
    jobcomp_file: Path
    log_dir: Path
    pids: dict[str, int] = field(default_factory=dict)

    def client_env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """``base`` (default ``os.environ``) plus :attr:`env`, minus inherited ``SLURM_*``."""
        source = os.environ if base is None else base
        merged = {k: v for k, v in source.items() if not k.startswith("SLURM_")}
        merged.update(self.env)
        return merged

    def jobcomp_records(self) -> list[dict[str, str]]:
        """Finished jobs from the ``jobcomp/filetxt`` log (works with and without accounting)."""
        if not self.jobcomp_file.exists():
            return []
        return [dict(re.findall(r"(\w+)=(\S*)", line))
                for line in self.jobcomp_file.read_text().splitlines() if line.strip()]


def _which(name: str) -> str | None:
    return shutil.which(name, path=os.environ.get("PATH", "") + ":" + _SBIN_PATH)


def _run(argv: list[str], timeout: float = 60, env: dict[str, str] | None = None,
         check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ClusterUnavailable(f"{argv[0]} failed: {exc}") from exc
    if check and proc.returncode != 0:
        raise ClusterUnavailable(
            f"{' '.join(argv)} exited {proc.returncode}: "
            f"{(proc.stderr or proc.stdout).strip()[-800:]}")
    return proc


def ensure_packages(accounting: bool) -> None:
    """Install slurm-wlm and munge (with accounting: slurmdbd, mariadb-server) where missing."""
    global _apt_updated
    wanted = dict(_BASE_BINARIES, **(_ACCOUNTING_BINARIES if accounting else {}))
    missing = sorted({pkg for binary, pkg in wanted.items() if _which(binary) is None})
    if not missing:
        return
    if os.geteuid() != 0:
        raise ClusterUnavailable(f"packages {missing} missing and not root, cannot apt-get install")
    if _which("apt-get") is None:
        raise ClusterUnavailable(f"packages {missing} missing and apt-get not available")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if not _apt_updated:
        _run([*_APT, "update"], timeout=900, env=env)
        _apt_updated = True
    _run([*_APT, "install", "-y", "--no-install-recommends", *missing], timeout=1500, env=env)
    still = sorted(b for b in wanted if _which(b) is None)
    if still:
        raise ClusterUnavailable(f"binaries {still} still missing after installing {missing}")


def _free_ports(count: int) -> list[int]:
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def _node_hardware() -> dict[str, str]:
    """CPU layout and RealMemory as slurmd itself detects it (``slurmd -C``)."""
    hw: dict[str, str] = {}
    slurmd = _which("slurmd")
    if slurmd:
        proc = _run([slurmd, "-C"], timeout=30, check=False)
        hw = dict(re.findall(r"(\w+)=(\S+)", proc.stdout.splitlines()[0] if proc.stdout else ""))
    keys = ("CPUs", "Boards", "SocketsPerBoard", "CoresPerSocket", "ThreadsPerCore", "RealMemory")
    if not all(k in hw for k in keys):
        meminfo = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
        mem_kb = int(meminfo.group(1)) if meminfo else 1024 * 1024
        return {"CPUs": str(os.cpu_count() or 1), "RealMemory": str(mem_kb // 1024)}
    return {k: hw[k] for k in keys}


class SlurmCluster:
    """A single-node cluster rooted at ``tmp``; :meth:`start` it, then :meth:`stop` it.

    ``partitions``: the first is the default partition, the others must be asked for.
    ``accounts``: with accounting, associations of the current user (``root``) with these
    accounts, so that ``sbatch -A <account>`` is valid.
    """

    def __init__(self, tmp: Path, accounting: bool, *, partitions: tuple[str, ...] = ("debug",),
                 accounts: tuple[str, ...] = (), cluster_name: str = "testcluster",
                 timeout: float = 60.0, install: bool = True) -> None:
        self.root = Path(tmp).resolve()
        self.accounting = accounting
        self.partitions = partitions
        self.partition = partitions[0]
        self.accounts = accounts
        self.cluster_name = cluster_name
        self.timeout = timeout
        self.install = install
        self.nodename = socket.gethostname().split(".")[0]
        self._procs: list[tuple[str, subprocess.Popen[bytes], IO[bytes]]] = []
        self._sockdir: Path | None = None
        self.info: ClusterInfo | None = None

    # -- process helpers -------------------------------------------------
    def _spawn(self, name: str, argv: list[str],
               env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        out = open(self.root / "log" / f"{name}.out", "ab")  # noqa: SIM115 (closed by stop())
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True, env=env)
        self._procs.append((name, proc, out))
        return proc

    def _log_tail(self, name: str) -> str:
        texts = []
        for path in sorted((self.root / "log").glob(f"{name}*")):
            with contextlib.suppress(OSError):
                texts.append(path.read_text(errors="replace")[-1500:])
        return "\n".join(texts)

    def _wait(self, what: str, ready: Callable[[], bool],
              proc: subprocess.Popen[bytes] | None = None, name: str = "") -> None:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if ready():
                return
            if proc is not None and proc.poll() is not None:
                raise ClusterUnavailable(
                    f"{name} exited with {proc.returncode} before {what}:\n{self._log_tail(name)}")
            time.sleep(0.2)
        raise ClusterUnavailable(
            f"timed out after {self.timeout:.0f}s waiting for {what}:\n{self._log_tail(name)}")

    # -- start -------------------------------------------------------------
    def start(self) -> ClusterInfo:
        """Install packages if needed, write configs, start the daemons, wait for an idle node."""
        if os.geteuid() != 0:
            raise ClusterUnavailable(
                "a local SLURM cluster needs root (SlurmUser=root, slurmd as root)")
        if self.install:
            ensure_packages(self.accounting)
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> ClusterInfo:
        root = self.root
        for sub in ("bin", "etc", "log", "run", "state", "spool", "munge"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        root.chmod(0o755)  # munged requires o+x on every directory above its socket
        run = root / "run"
        # UNIX socket paths are limited to 107 bytes; fall back to a short dir in /tmp.
        if len(str(run / "mariadb.sock")) > 100:
            self._sockdir = Path(tempfile.mkdtemp(prefix="slurm-", dir="/tmp"))
            self._sockdir.chmod(0o755)
            run = self._sockdir
        ctld_port, slurmd_port, dbd_port, db_port = _free_ports(4)
        conf = root / "etc" / "slurm.conf"
        path = os.environ.get("PATH", "").split(":")
        path += [d for d in _SBIN_PATH.split(":") if d not in path]
        bindir = self._write_client_wrappers(conf, ":".join(path))
        env = {"SLURM_CONF": str(conf), "PATH": ":".join([str(bindir), *path])}
        daemon_env = dict(os.environ, **env)
        for k in [k for k in daemon_env if k.startswith("SLURM_") and k != "SLURM_CONF"]:
            del daemon_env[k]

        # munge
        key, msock = root / "munge" / "munge.key", run / "munge.sock"
        _run(["mungekey", "--create", "--keyfile", str(key), "--bits", "1024"])
        key.chmod(0o400)
        munged = self._spawn("munged", [
            "munged", "--foreground", "--force", f"--socket={msock}", f"--key-file={key}",
            f"--pid-file={run / 'munged.pid'}", f"--log-file={root / 'log' / 'munged.log'}",
            f"--seed-file={root / 'munge' / 'munged.seed'}"], daemon_env)
        self._wait("munged socket", msock.exists, munged, "munged")

        hw = _node_hardware()
        acct = (f"AccountingStorageType=accounting_storage/slurmdbd\n"
                f"AccountingStorageHost=localhost\n"
                f"AccountingStoragePort={dbd_port}\n"
                # munge socket for the slurmdbd connection (AuthInfo is not used for it)
                f"AccountingStoragePass={msock}\n" if self.accounting
                else "AccountingStorageType=accounting_storage/none\n")
        node = " ".join(f"{k}={v}" for k, v in hw.items())
        partitions = "\n".join(
            f"PartitionName={p} Nodes={self.nodename} Default={'YES' if i == 0 else 'NO'} "
            "MaxTime=INFINITE State=UP" for i, p in enumerate(self.partitions))
        conf.write_text(f"""\
ClusterName={self.cluster_name}
SlurmctldHost={self.nodename}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
AuthType=auth/munge
AuthInfo=socket={msock}
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation={root / 'state'}
SlurmdSpoolDir={root / 'spool'}
SlurmctldPidFile={run / 'slurmctld.pid'}
SlurmdPidFile={run / 'slurmd.pid'}
SlurmctldLogFile={root / 'log' / 'slurmctld.log'}
SlurmdLogFile={root / 'log' / 'slurmd.log'}
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
MailProg=/bin/true
KillWait=5
DefMemPerCPU=500
InactiveLimit=0
{acct}JobCompType=jobcomp/filetxt
JobCompLoc={root / 'log' / 'jobcomp.txt'}
NodeName={self.nodename} NodeAddr=127.0.0.1 {node} State=UNKNOWN
{partitions}
""")
        # accounting: mariadbd + slurmdbd
        if self.accounting:
            self._start_accounting(run, msock, dbd_port, db_port, daemon_env)

        ctld = self._spawn("slurmctld", ["slurmctld", "-D", "-f", str(conf)], daemon_env)
        self._wait("slurmctld to answer 'scontrol ping'",
                   lambda: "UP" in _run(["scontrol", "ping"], env=daemon_env, check=False).stdout,
                   ctld, "slurmctld")
        slurmd = self._spawn("slurmd", ["slurmd", "-D", "-f", str(conf), "-N", self.nodename],
                             daemon_env)

        def node_idle() -> bool:
            out = _run(["sinfo", "-h", "-N", "-o", "%N %t"], env=daemon_env, check=False)
            return out.stdout.split()[-1:] == ["idle"]
        self._wait(f"node {self.nodename} idle in sinfo", node_idle, slurmd, "slurmd")
        self.info = ClusterInfo(
            root=root, conf_file=conf, env=env, nodename=self.nodename, partition=self.partition,
            partitions=self.partitions, cluster_name=self.cluster_name, accounting=self.accounting,
            jobcomp_file=root / "log" / "jobcomp.txt", log_dir=root / "log",
            pids={name: p.pid for name, p, _ in self._procs})
        return self.info

    def _write_client_wrappers(self, conf: Path, path: str) -> Path:
        """Write ``<root>/bin/<tool>`` scripts that pin ``SLURM_CONF``.

        Needed because snakemake-executor-plugin-slurm-jobstep strips every
        ``SLURM_*`` variable (SLURM_CONF included) before calling ``srun``
        inside the job; ``PATH`` survives, so the wrapper is found instead.
        """
        bindir = self.root / "bin"
        for tool in CLIENT_TOOLS:
            real = shutil.which(tool, path=path)
            if real is None:
                continue
            wrapper = bindir / tool
            wrapper.write_text(
                f'#!/bin/sh\nSLURM_CONF={conf}\nexport SLURM_CONF\nexec {real} "$@"\n')
            wrapper.chmod(0o755)
        return bindir

    def _start_accounting(self, run: Path, msock: Path, dbd_port: int, db_port: int,
                          daemon_env: dict[str, str]) -> None:
        root = self.root
        datadir, dbsock = root / "mysql", run / "mariadb.sock"
        _run(["mariadb-install-db", "--no-defaults", "--user=root", f"--datadir={datadir}",
              "--auth-root-authentication-method=socket", "--skip-test-db"], timeout=180)
        db = self._spawn("mariadbd", [
            "mariadbd", "--no-defaults", "--user=root", f"--datadir={datadir}",
            f"--socket={dbsock}",
            f"--pid-file={run / 'mariadbd.pid'}", f"--port={db_port}", "--bind-address=127.0.0.1",
            f"--log-error={root / 'log' / 'mariadbd.log'}", "--skip-log-bin",
            "--innodb-lock-wait-timeout=900"], daemon_env)
        self._wait("mariadbd socket", lambda: dbsock.exists() and _port_open(db_port), db,
                   "mariadbd")
        password = os.urandom(8).hex()
        sql = "".join(f"CREATE USER 'slurm'@'{h}' IDENTIFIED BY '{password}'; "
                      f"GRANT ALL ON slurm_acct_db.* TO 'slurm'@'{h}'; "
                      for h in ("localhost", "127.0.0.1"))
        _run(["mariadb", "--no-defaults", f"--socket={dbsock}", "-uroot", "-e", sql])
        dbd_conf = root / "etc" / "slurmdbd.conf"
        dbd_conf.write_text(f"""\
AuthType=auth/munge
AuthInfo=socket={msock}
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort={dbd_port}
SlurmUser=root
DebugLevel=info
LogFile={root / 'log' / 'slurmdbd.log'}
PidFile={run / 'slurmdbd.pid'}
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort={db_port}
StorageUser=slurm
StoragePass={password}
StorageLoc=slurm_acct_db
""")
        dbd_conf.chmod(0o600)
        # slurmdbd reads slurmdbd.conf from the directory of $SLURM_CONF
        dbd = self._spawn("slurmdbd", ["slurmdbd", "-D"], daemon_env)
        self._wait("slurmdbd port", lambda: _port_open(dbd_port), dbd, "slurmdbd")
        _run(["sacctmgr", "-i", "add", "cluster", self.cluster_name], env=daemon_env)
        for account in self.accounts:
            _run(["sacctmgr", "-i", "add", "account", account, f"cluster={self.cluster_name}"],
                 env=daemon_env)
            _run(["sacctmgr", "-i", "add", "user", "root", f"account={account}",
                  f"cluster={self.cluster_name}"], env=daemon_env)

    # -- stop --------------------------------------------------------------
    def stop(self, timeout: float = 20.0) -> None:
        """Cancel jobs; SIGTERM each daemon by PID, newest first; SIGKILL after ``timeout``."""
        names = [n for n, p, _ in self._procs if p.poll() is None]
        if "slurmctld" in names and self.info is not None:
            env = self.info.client_env()
            with contextlib.suppress(ClusterUnavailable):
                def queued() -> list[str]:
                    squeue = ["squeue", "-h", "-o", "%i"]
                    return _run(squeue, env=env, check=False, timeout=10).stdout.split()
                ids = queued()
                if ids:
                    _run(["scancel", *ids], env=env, check=False, timeout=10)
                    deadline = time.monotonic() + 10
                    while time.monotonic() < deadline and queued():
                        time.sleep(0.5)
        for _name, proc, out in reversed(self._procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(proc.pid, signal.SIGKILL)
                    proc.wait(5)
            out.close()
        self._kill_stray_stepds()
        self._procs.clear()
        if self._sockdir is not None:
            shutil.rmtree(self._sockdir, ignore_errors=True)
            self._sockdir = None

    def _kill_stray_stepds(self) -> None:
        """Kill slurmstepd processes (detached from slurmd) holding files under our root."""
        for proc_dir in Path("/proc").glob("[0-9]*"):
            with contextlib.suppress(OSError):
                if (proc_dir / "comm").read_text().strip() != "slurmstepd":
                    continue
                fds = (proc_dir / "fd").iterdir()
                if any(os.readlink(fd).startswith(str(self.root)) for fd in fds):
                    os.kill(int(proc_dir.name), signal.SIGKILL)


@contextlib.contextmanager
def single_node_cluster(tmp: Path, accounting: bool, **kwargs: object) -> Iterator[ClusterInfo]:
    """Run a single-node cluster in ``tmp`` for the duration of the ``with`` block."""
    cluster = SlurmCluster(tmp, accounting, **kwargs)  # type: ignore[arg-type]
    info = cluster.start()
    try:
        yield info
    finally:
        cluster.stop()


def main(argv: list[str] | None = None) -> int:
    """CLI: ``python slurm_cluster.py DIR [--accounting]``; runs until SIGTERM/SIGINT."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("dir", type=Path)
    parser.add_argument("--accounting", action="store_true")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        cluster = SlurmCluster(args.dir, args.accounting)
        info = cluster.start()
    except ClusterUnavailable as exc:
        print(f"cluster unavailable: {exc.reason}", flush=True)
        return 2
    print(f"up in {time.monotonic() - started:.1f}s; pids {info.pids}", flush=True)
    print(f"export SLURM_CONF={info.conf_file}", flush=True)
    stop = False

    def _handler(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True
    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)
    while not stop:
        time.sleep(0.5)
    cluster.stop()
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
