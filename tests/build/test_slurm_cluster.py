"""The paper builds on a real single-node SLURM cluster through profiles/slurm, following
profiles/slurm/README.md step by step, with and without job accounting.

The cluster (munged, slurmctld, slurmd; with accounting also mariadbd and slurmdbd) runs
on localhost from a temporary folder and is stopped by PID (tests/slurm_cluster.py);
Debian's packages are installed when missing. Where the daemons cannot start the test is
skipped with the reason; on CI (CI=true) it fails instead.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from tests.buildutil import cluster_env, copy_project, local_rules, project_env
from tests.slurm_cluster import ClusterUnavailable, single_node_cluster

pytestmark = [pytest.mark.slow, pytest.mark.build, pytest.mark.xdist_group("slurm")]

ON_CI = os.environ.get("CI", "").lower() == "true"
HARD_TIMEOUT_S = 1200  # the whole SLURM build; SIGKILL after it (the plugin may ignore SIGTERM)
PARTITION, ACCOUNT = "paper", "paperlab"  # a non-default partition, an account of the user
COMPARED = ["results/numbers.json", "results/tables", "figures"]


def _unavailable(reason: str) -> None:
    message = f"no local SLURM cluster: {reason}"
    if ON_CI:
        pytest.fail(f"{message} (CI=true: the cluster test must run)")
    pytest.skip(message)


def _run_killable(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """Run ``argv`` in its own process group; SIGKILL the group after HARD_TIMEOUT_S."""
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=HARD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"SLURM build killed after {HARD_TIMEOUT_S} s:\n{out[-4000:]}")
    return proc.returncode, out


def _files(root: Path) -> dict[str, bytes]:
    found = {}
    for rel in COMPARED:
        path = root / rel
        for file in sorted([path] if path.is_file() else path.rglob("*")):
            if file.is_file() and file.name != "README.md":
                found[str(file.relative_to(root))] = file.read_bytes()
    return found


def _set_site(profile: Path) -> None:
    """The README's one place for account and partition: the profile's two commented lines."""
    text = profile.read_text()
    for key, value in (("slurm_account", ACCOUNT), ("slurm_partition", PARTITION)):
        text, n = re.subn(rf"^  # {key}: YOUR_\w+$", f"  {key}: {value}", text,
                          flags=re.MULTILINE)
        assert n == 1, f"{profile}: no commented '{key}' line to fill in"
    profile.write_text(text)


@pytest.fixture(scope="module")
def slurm_venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """README steps 1-2 once: .venv exists, then `make cluster-env`."""
    project = copy_project(tmp_path_factory.mktemp("slurm-env") / "project")
    cluster_env(project)
    return project / ".venv", project / ".venv-slurm"


@pytest.mark.parametrize("accounting", [False, True], ids=["without-accounting", "with-accounting"])
def test_paper_builds_on_slurm_with_the_heavy_jobs_submitted_and_outputs_as_a_local_build(
        accounting: bool, slurm_venv: tuple[Path, Path], built: Path, tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    for venv in slurm_venv:
        (project / venv.name).symlink_to(venv)
    _set_site(project / "profiles" / "slurm" / "config.yaml")
    command = [".venv-slurm/bin/snakemake", "--profile", "profiles/slurm",
               "--slurm-keep-successful-logs"]
    try:
        with single_node_cluster(tmp_path / "slurm", accounting, partitions=("debug", PARTITION),
                                 accounts=(ACCOUNT,)) as info:
            returncode, out = _run_killable(command, project, info.client_env(project_env(project)))
            records = info.jobcomp_records()
    except ClusterUnavailable as exc:
        _unavailable(exc.reason)
    assert returncode == 0, out[-6000:]

    # every job of a non-local rule went through sbatch, ran in SLURM and completed there
    run_id = re.search(r"SLURM run ID: (\S+)", out).group(1)
    submitted = re.findall(r"submitted with SLURM jobid (\d+) \(log: \S+/slurm_logs/rule_(\w+)/",
                           out)
    stats = out.split("Job stats:", 1)[1].split("\n\n", 1)[0]
    planned = {r: int(n) for r, n in re.findall(r"^(\w+)\s+(\d+)\s*$", stats, flags=re.MULTILINE)}
    expected = {r: n for r, n in planned.items() if r not in local_rules(project) | {"total"}}
    assert expected and "model" in expected
    assert Counter(rule for _, rule in submitted) == Counter(expected)
    jobs = {r["JobId"]: r for r in records if r["Name"] == run_id}
    assert sorted(jobs) == sorted(job for job, _ in submitted)
    assert {(r["JobState"], r["Partition"], r["Account"]) for r in jobs.values()} == {
        ("COMPLETED", PARTITION, ACCOUNT)}

    assert _files(project) == _files(built)
    assert (project / "build/paper/_manuscript/index.pdf").stat().st_size > 0
    # the SLURM route writes no run report; `make report` (README) adds it afterwards
    report = project / "build/paper/_manuscript/report.html"
    assert not report.exists()
    if not accounting:
        proc = subprocess.run(["make", "--no-print-directory", "-o", ".venv/.installed", "report"],
                              cwd=project, env=project_env(project), capture_output=True,
                              text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert report.stat().st_size > 0
