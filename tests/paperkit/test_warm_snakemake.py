"""Snakemake run in a fork of a worker that loaded it once (``python -m paperkit.warm
snakemake``, what `make paper` runs): the same build and exit status, the launcher standing
for the build, its jobs handed to their own workers, and nothing left when it is stopped."""

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

# At load, the Snakefile records where it runs, names the build as the pre-flight does and
# lists the other builds of the folder; the rule script says whether it ran in a fork.
SNAKEFILE = '''
import glob, json, os, sys
from paperkit.preflight import live_snakemake
from paperkit.rules import BUILD_PID_ENV, build_pid
from paperkit.rules import builds
from paperkit.warm import prestart
os.environ[BUILD_PID_ENV] = str(build_pid())
runtime = os.environ["XDG_RUNTIME_DIR"] + "/paperkit-warm-*/"
before = set(glob.glob(runtime + "*.starting") + glob.glob(runtime + "*.sock"))
if builds(sys.argv):
    prestart()  # as the pre-flight does
after = set(glob.glob(runtime + "*.starting") + glob.glob(runtime + "*.sock"))
with open(f"load-{config.get('tag', 'a')}.json", "w") as fh:
    json.dump({"pid": os.getpid(), "ppid": os.getppid(), "build": build_pid(),
               "others": live_snakemake("."), "argv": sys.argv,
               "servers": sorted(after)}, fh)

rule all:
    input: "out.txt"

rule job:
    output: "out.txt"
    params: fail=config.get("fail", 0), sleep=config.get("sleep", 0)
    script: "job.py"
'''
JOB = TOY_JOB + '''
from paperkit.warm import in_fork
open(snakemake.output[0], "w").write(f"{in_fork()}\\n")
'''


@pytest.fixture
def project(tmp_path):
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    (tmp_path / "job.py").write_text(JOB)
    with warm_sandbox(tmp_path, "ps") as env:
        yield tmp_path, env


def _launch(path: Path, env: dict[str, str], *config: str, **popen) -> subprocess.Popen:
    args = ["--cores", "1", *(["--config", *config] if config else [])]
    return subprocess.Popen(warm.snakemake_argv(args), cwd=path, env=env, text=True,
                            **popen)


def _build(path: Path, env: dict[str, str], *config: str) -> subprocess.CompletedProcess:
    proc = _launch(path, env, *config, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _load(path: Path, tag: str = "a") -> dict:
    return json.loads((path / f"load-{tag}.json").read_text())


def _argv(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")


def _wait_for(predicate, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_the_build_runs_in_a_fork_of_the_snakemake_worker_and_its_job_in_a_job_worker(
        project):
    path, env = project
    proc = _build(path, env)
    assert proc.returncode == 0, proc.stderr
    load = _load(path)
    parent = _argv(load["ppid"])
    assert parent[1:4] == ["-m", "paperkit.warm", "serve"] and "snakemake.cli" in parent
    assert (path / "out.txt").read_text() == "True\n"  # not taken for a cluster job
    # Snakemake's worker and the jobs' one, started while Snakemake loads the workflow
    assert len({Path(p).name.split(".")[0] for p in load["servers"]}) == 2
    assert sorted(len(_argv(pid)) > 5 for pid in warm.workers(path)) == [True, True]


def test_a_dry_run_through_the_launcher_starts_no_job_worker(project):
    path, env = project
    dry = subprocess.run(warm.snakemake_argv(["--cores", "1", "-n"]), cwd=path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert dry.returncode == 0, dry.stderr
    assert [_argv(pid)[5] for pid in warm.workers(path)] == ["snakemake.cli"]


def test_a_second_build_forks_the_same_worker(project):
    path, env = project
    assert _build(path, env).returncode == 0
    first = _load(path)["ppid"]
    assert _build(path, env, "tag=b").returncode == 0
    assert _load(path, "b")["ppid"] == first


def test_a_failed_build_exits_with_snakemakes_status_and_message(project):
    path, env = project
    proc = _build(path, env, "fail=1")
    assert proc.returncode == 1
    assert "the job failed on purpose" in proc.stderr
    assert not (path / "out.txt").exists()


def test_without_the_setting_the_launcher_becomes_snakemake_itself(project):
    path, env = project
    env = {k: v for k, v in env.items() if k != warm.ENV}
    proc = _launch(path, env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    load = _load(path)
    assert load["pid"] == proc.pid and load["build"] == proc.pid  # exec: the same process
    assert (path / "out.txt").read_text() == "False\n"
    assert warm.workers(path) == []


def test_the_launcher_stands_for_the_build_and_a_second_build_sees_it(project):
    path, env = project
    first = _launch(path, env, "sleep=60", stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL)
    try:
        assert _wait_for((path / "job.pid").exists)
        load = _load(path)
        assert load["build"] == first.pid and load["others"] == []
        second = _build(path, env, "tag=b")
        # the second build's pre-flight finds the first (its launcher), not itself
        assert _load(path, "b")["others"] == [first.pid], second.stderr
    finally:
        first.kill()
        first.wait()


def _sleeping_build(path: Path, env: dict[str, str]) -> tuple[subprocess.Popen, int, int]:
    """A build whose job sleeps: its launcher, the Snakemake fork and the job's pids."""
    launcher = _launch(path, env, "sleep=60", stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    assert _wait_for((path / "job.pid").exists)
    return launcher, _load(path)["pid"], int((path / "job.pid").read_text())


def _ended(*pids: int) -> bool:
    return all(_wait_for(lambda p=p: not Path(f"/proc/{p}").exists(), 30) for p in pids)


def test_stopping_the_launcher_ends_snakemake_and_its_job(project):
    path, env = project
    launcher, fork, job = _sleeping_build(path, env)
    launcher.send_signal(signal.SIGINT)  # Ctrl-C: passed on to Snakemake
    launcher.wait(timeout=60)
    assert launcher.returncode != 0
    assert _ended(fork, job)
    assert not (path / "out.txt").exists()


def test_a_killed_launcher_takes_the_build_with_it(project):
    path, env = project
    launcher, fork, job = _sleeping_build(path, env)
    launcher.kill()  # make killed: setpriv's --pdeathsig
    launcher.wait()
    assert _ended(fork, job)
