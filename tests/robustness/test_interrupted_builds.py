"""A build killed at any point recovers with the plain `make paper`, to the same bytes.

Snakemake marks each job's outputs incomplete until the job finishes, and our rule
outputs are written to temporary names and renamed into place (paperkit/io.py), so a
kill can leave at most a temporary file or an output flagged incomplete, never a
half-written file that a rerun would take as up to date. `make paper` reruns incomplete
jobs and releases a killed build's lock by itself (paperkit/preflight.py), and every
process of a killed build dies with it (Snakemake with make, rule scripts with
Snakemake: paperkit/rules.py), so nothing writes after the kill.

The test runs `make paper` exactly as an author does, kills it after seeded random
delays -- `kill -9` of make alone, `kill -9` of Snakemake alone, Ctrl-C (SIGINT to the
foreground process group) --, checks that no process of the killed build survives, reruns
the same command to completion and compares every result, table and figure byte for byte
with a reference build that was never interrupted.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.buildutil import copy_project, make, make_command, project_env
from tests.robustness.conftest import tree_digest

pytestmark = [pytest.mark.slow, pytest.mark.build, pytest.mark.xdist_group("build")]

COMPARED = ["results", "figures", "build/paper/_variables.yml"]
KILLS = ("kill -9 make", "kill -9 snakemake", "ctrl-c")
SEED = 20260522


def _snapshot(project: Path) -> dict[str, str]:
    """Digest of every compared file (logs and Snakemake metadata are not outputs)."""
    out: dict[str, str] = {}
    for rel in COMPARED:
        path = project / rel
        if path.is_file():
            out[rel] = tree_digest(path.parent)[path.name]
        else:
            out.update({f"{rel}/{k}": v for k, v in tree_digest(path).items()})
    return out


def _session(sid: int) -> list[tuple[int, str]]:
    """(pid, command) of every live process of session ``sid`` (zombies excluded)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) == sid and fields[0] != "Z":
            found.append((int(entry), cmd.strip()))
    return found


def _snakemake_pid(sid: int) -> int | None:
    for pid, cmd in _session(sid):
        if re.search(r"/snakemake --cores", cmd):
            return pid
    return None


def _start(project: Path, log: Path) -> subprocess.Popen:
    with open(log, "w") as fh:
        return subprocess.Popen(
            make_command(project), cwd=project, env=project_env(project), stdout=fh,
            stderr=subprocess.STDOUT, start_new_session=True,  # a terminal's job: own group
        )


def _kill(proc: subprocess.Popen, how: str) -> None:
    if how == "kill -9 make":
        os.kill(proc.pid, signal.SIGKILL)
    elif how == "kill -9 snakemake":
        pid = _snakemake_pid(proc.pid)
        os.kill(pid if pid else proc.pid, signal.SIGKILL)
    else:
        os.killpg(proc.pid, signal.SIGINT)


def _running_jobs(log: Path) -> set[str]:
    """Jobs started but not finished when the build was killed, by their rule message."""
    text = log.read_text()
    started = dict(re.findall(r"\nJob (\d+): ([^\n]*)", text))
    done = set(re.findall(r"Finished jobid: (\d+)", text))
    return {message for job, message in started.items() if job not in done}


def _wait_for_session_to_end(sid: int, seconds: float = 30.0) -> list[tuple[int, str]]:
    deadline = time.monotonic() + seconds
    while (alive := _session(sid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return alive


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, str]:
    project = copy_project(tmp_path_factory.mktemp("reference") / "project")
    make(project)
    return _snapshot(project)


def test_killed_make_paper_recovers_with_make_paper_to_byte_identical_outputs(
    reference, tmp_path
):
    project = copy_project(tmp_path / "project")
    rng = random.Random(SEED)
    interrupted: list[set[str]] = []
    for attempt, how in enumerate(KILLS):
        log = tmp_path / f"attempt{attempt}.log"
        proc = _start(project, log)
        deadline = time.monotonic() + rng.uniform(4.0, 16.0)
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        if proc.poll() is None:
            _kill(proc, how)
        proc.wait()
        survivors = _wait_for_session_to_end(proc.pid)
        assert not survivors, f"after {how}, processes of the killed build live on: {survivors}"
        interrupted.append(_running_jobs(log))
        before = tree_digest(project / "results")
        time.sleep(1.0)
        assert tree_digest(project / "results") == before, f"results changed after {how}"
        for tmp in (project / "results").rglob("*.tmp"):  # what atomic_path could leave
            assert tmp.name.startswith("."), f"a temporary file under a real name: {tmp}"
    final = make(project)  # the documented command, no flags, no --unlock
    assert "Paper: build/paper/_manuscript/index." in final.stdout
    assert _snapshot(project) == reference, f"rules killed mid-run: {interrupted}"
    again = make(project)
    assert "Nothing to be done" in again.stdout + again.stderr
    assert any(interrupted), "no kill landed while a rule was running; adjust the delays"


def test_a_lock_held_by_a_live_build_is_not_released(tmp_path):
    """The stale-lock release must never break into a build that is still running."""
    from paperkit.preflight import LOCKS, release_stale_lock

    project = tmp_path / "project"
    (project / LOCKS).mkdir(parents=True)
    lock = project / LOCKS / "0.input.lock"
    lock.write_text("x")
    sleeper = subprocess.Popen(["bash", "-c", "exec -a snakemake sleep 30"], cwd=project)
    try:
        time.sleep(0.3)
        assert not release_stale_lock(project) and lock.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert release_stale_lock(project) and not lock.exists()
