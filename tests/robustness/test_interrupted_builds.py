"""A build killed at any point and rerun gives the same bytes as an uninterrupted one.

Snakemake marks each job's outputs incomplete until the job finishes, and our rule
outputs are written to temporary names and renamed into place (paperkit/io.py), so a
SIGKILL can leave at most a temporary file or an output flagged incomplete, never a
half-written file that a rerun would take as up to date. The test kills the whole
process group (Snakemake and its rule scripts) after seeded random delays, reruns to
completion, and compares every result, table and figure byte for byte with a
reference build that was never interrupted.
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

from tests.buildutil import SNAKEMAKE, copy_project, project_env, snakemake
from tests.robustness.conftest import tree_digest

pytestmark = [pytest.mark.slow, pytest.mark.build, pytest.mark.xdist_group("build")]

#: Everything up to the numbers, tables and figures: every analysis rule runs for these.
TARGETS = ["results/numbers.json", "results/tables/appendix", "results/tables/models",
           "figures/describe", "figures/models", "figures/themes"]
COMPARED = ["results", "figures", "build/paper/_variables.yml"]
KILLS = 3
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


def _start(project: Path, log: Path) -> subprocess.Popen:
    with open(log, "w") as fh:
        return subprocess.Popen(
            [SNAKEMAKE, "--cores", "2", "--rerun-incomplete", *TARGETS], cwd=project,
            env=project_env(project), stdout=fh, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the kill takes the rule scripts too
        )


def _running_jobs(log: Path) -> set[str]:
    """Jobs started but not finished when the build was killed, by their rule message."""
    text = log.read_text()
    started = dict(re.findall(r"\nJob (\d+): ([^\n]*)", text))
    done = set(re.findall(r"Finished jobid: (\d+)", text))
    return {message for job, message in started.items() if job not in done}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, str]:
    project = copy_project(tmp_path_factory.mktemp("reference") / "project")
    snakemake(project, *TARGETS)
    return _snapshot(project)


def test_killed_builds_resume_to_byte_identical_outputs(reference, tmp_path):
    project = copy_project(tmp_path / "project")
    rng = random.Random(SEED)
    interrupted: list[set[str]] = []
    for attempt in range(KILLS):
        log = tmp_path / f"attempt{attempt}.log"
        proc = _start(project, log)
        time.sleep(rng.uniform(2.0, 14.0))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        interrupted.append(_running_jobs(log))
        snakemake(project, "--unlock")  # a killed Snakemake cannot remove its lock
        for tmp in (project / "results").rglob("*.tmp"):  # what atomic_path could leave
            assert tmp.name.startswith("."), f"a temporary file under a real name: {tmp}"
    final = snakemake(project, "--rerun-incomplete", *TARGETS)
    assert "Finished" in final.stdout + final.stderr or "Nothing to be done" in final.stderr
    assert _snapshot(project) == reference, f"rules killed mid-run: {interrupted}"
    again = snakemake(project, "--dry-run", *TARGETS)
    assert "Nothing to be done" in again.stdout + again.stderr
    assert any(interrupted), "no kill landed while a rule was running; adjust the delays"
