"""Script jobs that Snakemake sends to a warm worker itself (paperkit.workflow.scripts_in_forks,
installed by the pre-flight): no Python of their own between Snakemake and the fork, the same
outputs and exit status, the plain route where the job needs its own process, and nothing left
running when the build is interrupted."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from paperkit import warm
from tests.buildutil import TOY_JOB, warm_sandbox

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")

SNAKEFILE = '''
import os
from paperkit.rules import BUILD_PID_ENV, build_pid
from paperkit.workflow import scripts_in_forks
os.environ[BUILD_PID_ENV] = str(build_pid())  # as the pre-flight does
scripts_in_forks()

rule all:
    input: "out.json"

rule job:
    output: "out.json"
    params: fail=config.get("fail", 0), sleep=config.get("sleep", 0)
    threads: config.get("threads", 1)
    BENCHMARK
    script: "job.py"
'''
# The job records who stands for it: in a fork, the client named by the fork marker (the
# process that sent the job); else its own parent (the shell Snakemake started).
JOB = TOY_JOB + '''
from paperkit.rules import fork_client
client = fork_client()
argv = open(f"/proc/{client or os.getppid()}/cmdline", "rb").read().decode().split("\\0")
own = open("/proc/self/cmdline", "rb").read().decode().split("\\0")
json.dump({"fork": client is not None, "client": argv, "self": own, "pid": os.getpid(),
           "threads": os.environ.get("OMP_NUM_THREADS")}, open(snakemake.output[0], "w"))
'''


@pytest.fixture
def project(tmp_path):
    (tmp_path / "job.py").write_text(JOB)
    with warm_sandbox(tmp_path, "pj") as env:
        yield tmp_path, env


def _snakefile(path: Path, benchmark: bool = False) -> None:
    line = 'benchmark: "bench.tsv"' if benchmark else ""
    (path / "Snakefile").write_text(SNAKEFILE.replace("BENCHMARK", line))


def _snakemake(path: Path, env: dict[str, str], *config: str, **popen) -> subprocess.Popen:
    exe = str(Path(sys.executable).with_name("snakemake"))
    args = [exe, "--cores", "2", *(["--config", *config] if config else [])]
    return subprocess.Popen(args, cwd=path, env=env, text=True, **popen)


def _build(path: Path, env: dict[str, str], *config: str) -> subprocess.CompletedProcess:
    proc = _snakemake(path, env, *config, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _out(path: Path) -> dict:
    return json.loads((path / "out.json").read_text())


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_snakemake_sends_the_script_to_the_worker_without_a_python_of_its_own(project):
    path, env = project
    _snakefile(path)
    proc = _build(path, env, "threads=2")
    assert proc.returncode == 0, proc.stderr
    out = _out(path)
    assert out["fork"] is True
    # the fork's client is Snakemake itself, not a `python .snakemake/scripts/...` process
    assert Path(out["client"][1]).name == "snakemake", out["client"]
    assert not any(".snakemake/scripts" in a for a in out["client"])
    assert out["threads"] == "2"  # the job's environment, as Snakemake's shell sets it


def test_without_the_setting_the_script_runs_in_its_own_python(project):
    path, env = project
    _snakefile(path)
    env.pop(warm.ENV)
    proc = _build(path, env)
    assert proc.returncode == 0, proc.stderr
    out = _out(path)
    assert out["fork"] is False and any(".snakemake/scripts" in a for a in out["self"])


def test_a_benchmarked_job_keeps_its_own_process_to_be_measured(project):
    path, env = project
    _snakefile(path, benchmark=True)
    proc = _build(path, env)
    assert proc.returncode == 0, proc.stderr
    out = _out(path)
    # handed over by its own Python, as before (the benchmark measures that process)
    assert out["fork"] is True and any(".snakemake/scripts" in a for a in out["client"])
    assert (path / "bench.tsv").exists()


def test_a_failing_script_fails_its_rule_with_its_message_and_leaves_no_output(project):
    path, env = project
    _snakefile(path)
    proc = _build(path, env, "fail=1")
    assert proc.returncode != 0
    assert "the job failed on purpose" in proc.stderr
    assert "Error in rule job" in proc.stderr
    assert not (path / "out.json").exists()


def _sleeping_job(path: Path, env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    """A build whose job sleeps; the build's process and the fork running the job."""
    _snakefile(path)
    proc = _snakemake(path, env, "sleep=60", stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL)
    pid_file = path / "job.pid"
    deadline = time.monotonic() + 60
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return proc, int(pid_file.read_text())


def _ends(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _alive(pid)


def test_an_interrupted_build_ends_the_fork_running_its_job(project):
    path, env = project
    proc, fork = _sleeping_job(path, env)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) != 0
    assert _ends(fork)
    assert not (path / "out.json").exists()


def test_a_killed_build_takes_the_fork_running_its_job_with_it(project):
    path, env = project
    proc, fork = _sleeping_job(path, env)
    proc.kill()
    proc.wait(timeout=30)
    assert _ends(fork)
