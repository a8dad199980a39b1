"""Rule scripts in a warm worker's fork (paperkit/warm.py): the job's own folder,
environment, arguments, streams and exit status, the project's code imported afresh, and
nothing left running when the job's process dies."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from paperkit import rules, warm
from tests.buildutil import ROOT

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")

JOB = '''
import os, sys
from paperkit.warm import handoff
handoff(None)
import mymod
from paperkit.warm import in_fork
print("out", os.getcwd(), os.environ.get("X"), sys.argv[1:], mymod.VALUE,
      "1" if in_fork() else None, os.getppid(), "json" in sys.modules)
print("err", file=sys.stderr)
if os.environ.get("SLEEP"):
    open("fork.pid", "w").write(str(os.getpid()))
    import time; time.sleep(60)
sys.exit(int(os.environ.get("CODE", "0")))
'''


@pytest.fixture
def project(tmp_path):
    runtime = Path(tempfile.mkdtemp(prefix="pw"))  # short: a socket path has 107 bytes
    (tmp_path / "job.py").write_text(JOB)
    (tmp_path / "mymod.py").write_text("VALUE = 1\n")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}:{ROOT}", "XDG_RUNTIME_DIR": str(runtime),
           warm.ENV: "json", warm.IDLE_ENV: "30", "X": "x1"}
    env.pop(rules.CLIENT_ENV, None)
    env.pop("PAPERKIT_BUILD_PID", None)  # an in-process pre-flight test may have set it
    yield tmp_path, env
    for sock in runtime.rglob("*.sock"):
        subprocess.run(["pkill", "-f", str(sock)], check=False)
    shutil.rmtree(runtime, ignore_errors=True)


def _job(project, env, *args, **extra):
    return subprocess.run([sys.executable, "job.py", *args], cwd=project, env={**env, **extra},
                          capture_output=True, text=True, timeout=60)


def _fields(proc):
    return proc.stdout.split()


def test_a_job_runs_in_the_fork_with_its_folder_environment_arguments_and_streams(project):
    path, env = project
    proc = _job(path, env, "a", "b")
    assert proc.returncode == 0, proc.stderr
    out = _fields(proc)
    assert out[:7] == ["out", str(path), "x1", "['a',", "'b']", "1", "1"]
    assert out[-1] == "True"  # the preloaded module was already there
    assert proc.stderr.strip() == "err"


def test_the_exit_status_of_the_fork_is_the_jobs(project):
    path, env = project
    assert _job(path, env, CODE="3").returncode == 3
    assert _job(path, env).returncode == 0


def test_an_edit_to_the_projects_code_is_seen_by_the_next_job_of_the_same_worker(project):
    path, env = project
    first = _fields(_job(path, env))
    (path / "mymod.py").write_text("VALUE = 2\n")
    second = _fields(_job(path, env))
    assert first[-4] == "1" and second[-4] == "2"
    assert first[-2] == second[-2]  # the same worker forked both


def test_another_environment_gets_another_worker(project):
    path, env = project
    first = _fields(_job(path, env))
    other = _fields(_job(path, env, X="x2"))
    assert other[2] == "x2"
    assert first[-2] != other[-2]


def test_without_the_setting_the_script_runs_in_its_own_process(project):
    path, env = project
    env = {k: v for k, v in env.items() if k != warm.ENV}
    out = _fields(_job(path, env))
    assert out[-3] == "None"  # not a fork of a worker


def test_the_fork_dies_when_the_jobs_process_is_killed(project):
    path, env = project
    client = subprocess.Popen([sys.executable, "job.py"], cwd=path, env={**env, "SLEEP": "1"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pidfile = path / "fork.pid"
    deadline = time.monotonic() + 30
    while not pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    fork = int(pidfile.read_text())
    client.send_signal(signal.SIGKILL)
    client.wait()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{fork}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{fork}").exists()


def test_the_worker_ends_when_idle_and_the_next_job_starts_a_new_one(project):
    path, env = project
    env = {**env, warm.IDLE_ENV: "0.5"}
    first = _fields(_job(path, env))
    worker = int(first[-2])
    deadline = time.monotonic() + 15
    while Path(f"/proc/{worker}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(f"/proc/{worker}").exists()
    second = _fields(_job(path, env))
    assert second[0] == "out" and second[-2] != first[-2]


def test_stop_ends_the_workers_of_a_folder_only(project):
    path, env = project
    worker = int(_fields(_job(path, env))[-2])
    assert warm.workers(path) == [worker]
    assert warm.stop(path.parent) == 0
    assert warm.stop(path) == 1
    deadline = time.monotonic() + 10
    while Path(f"/proc/{worker}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{worker}").exists()
    assert _job(path, env).returncode == 0  # the next job starts another


def test_stop_ends_a_running_job_with_its_worker_and_leaves_no_empty_log(project):
    path, env = project
    client = subprocess.Popen([sys.executable, "job.py"], cwd=path, env={**env, "SLEEP": "1"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    pidfile = path / "fork.pid"
    deadline = time.monotonic() + 30
    while not pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    fork = int(pidfile.read_text())
    socket = warm.socket_path(warm.worker_key(["json"], {**env, "SLEEP": "1"}, str(path)))
    assert warm.stop(path) == 1
    assert client.wait(timeout=30) == 1
    assert "the worker ended" in client.stderr.read()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{fork}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{fork}").exists()
    assert not Path(f"{socket}.log").exists() and not socket.exists()


def test_a_job_recording_its_peak_elsewhere_uses_the_same_worker(project, tmp_path_factory):
    path, env = project
    first = _fields(_job(path, env))
    peaks = tmp_path_factory.mktemp("peaks")
    second = _fields(_job(path, env, **{warm.PEAKS_ENV: str(peaks)}))
    assert first[-2] == second[-2]
    assert [int(p.read_text()) > 0 for p in peaks.glob("*.kib")] == [True]


def test_a_worker_started_ahead_is_the_one_the_first_job_uses(project, monkeypatch):
    path, env = project
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(path)
    warm.prestart()
    deadline = time.monotonic() + 10
    while not warm.workers(path) and time.monotonic() < deadline:
        time.sleep(0.02)  # until the new process has become the worker
    assert len(warm.workers(path)) == 1
    out = _fields(_job(path, env, **warm.ONE_THREAD_ENV, MAKELEVEL="2"))  # as Snakemake's job
    assert warm.workers(path) == [int(out[-2])]


def test_a_job_arriving_while_the_worker_imports_is_forked_before_the_rest_loads(
        project, tmp_path_factory):
    path, env = project
    libs = tmp_path_factory.mktemp("libs")  # installed modules: outside the project folder
    for name in ("slow1", "slow2"):  # each takes two seconds to import
        (libs / f"{name}.py").write_text("import time\ntime.sleep(2)\n")
    (path / "early.py").write_text(
        "import os, sys\nfrom paperkit.warm import handoff\nhandoff(None)\n"
        "from paperkit.warm import in_fork\n"
        "print(int(in_fork()), 'slow1' in sys.modules, "
        "'slow2' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "early.py"], cwd=path,
                          env={**env, warm.ENV: "slow1 slow2",
                               "PYTHONPATH": f"{env['PYTHONPATH']}:{libs}"},
                          capture_output=True,
                          text=True, timeout=60)
    # forked after the module being imported when the job came, before the next one
    assert proc.stdout.split() == ["1", "True", "False"], proc.stderr


def test_a_cluster_job_runs_in_its_own_process(project):
    path, env = project
    out = _fields(_job(path, env, PAPERKIT_BUILD_PID="999999999"))
    assert out[-3] == "None"  # the submitting build is not on this machine: no worker


def test_a_worker_that_cannot_start_leaves_the_job_to_its_own_process(project):
    path, env = project
    proc = _job(path, env, **{warm.ENV: "json a_module_that_does_not_exist"},
                PYTHONPATH=f"{path}:{ROOT}", XDG_RUNTIME_DIR="/proc/no-such-place")
    assert proc.returncode == 0, proc.stderr
    assert "the job runs in its own process" in proc.stderr
    assert _fields(proc)[-3] == "None"
