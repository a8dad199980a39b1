"""The SLURM profile of profiles/slurm, as shipped, plans the whole workflow (dry run, no
cluster needed), states no resources of its own, and local builds never touch cluster tools."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.buildutil import ROOT, SNAKEMAKE, cluster_env, copy_project, local_rules, project_env
from tests.slurm_cluster import CLIENT_TOOLS

PROFILE = ROOT / "profiles" / "slurm" / "config.yaml"
SITE_KEYS = {"slurm_account", "slurm_partition"}


def _settings() -> dict:
    return yaml.safe_load(PROFILE.read_text())


def _run(snakemake: str | Path, project: Path, *args: str, env: dict | None = None,
         ) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(snakemake), *args], cwd=project, env=env or project_env(project),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"snakemake {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def _rules(project: Path) -> set[str]:
    return set(_run(SNAKEMAKE, project, "--list-rules").stdout.split())


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(tmp_path_factory.mktemp("slurm") / "project")


def test_profile_uses_the_official_slurm_executor_with_squeue_status_and_no_conda() -> None:
    settings = _settings()
    assert settings["executor"] == "slurm"
    assert settings["slurm-status-command"] == "squeue"
    # the plugin falls back to sacct unless MinJobAge (default 300 s) >= 3 x this delay
    assert 0 < settings["slurm-init-seconds-before-status-checks"] <= 99
    assert "software-deployment-method" not in settings
    assert "sdm" not in settings


def test_profile_states_no_rule_resources_only_the_site_account_and_partition() -> None:
    settings = _settings()
    assert "set-resources" not in settings
    assert set(settings.get("default-resources") or {}) <= SITE_KEYS
    text = PROFILE.read_text()
    for key in SITE_KEYS:
        assert re.search(rf"^  # {key}: YOUR_\w+$", text, flags=re.MULTILINE), key


def test_every_rule_runs_locally_or_states_its_cluster_resources(project: Path) -> None:
    local = local_rules(project)
    assert local <= _rules(project)
    cluster = _rules(project) - local
    assert "model" in cluster
    smk = "\n".join(p.read_text() for p in sorted((project / "rules").glob("*.smk")))
    for rule in cluster:
        body = smk.split(f"\nrule {rule}:", 1)[1].split("\nrule ", 1)[0]
        resources = body.split("resources:", 1)[-1].split("log:", 1)[0]
        assert "mem_mb=" in resources and "runtime=" in resources, rule


def _planned(proc: subprocess.CompletedProcess) -> dict[str, str]:
    table = proc.stdout.split("Job stats:", 1)[1].split("\n\n", 1)[0]
    return dict(re.findall(r"^(\w+)\s+(\d+)\s*$", table, flags=re.MULTILINE))


def test_dry_run_with_the_shipped_profile_plans_every_job_of_the_local_build(project: Path) -> None:
    snakemake = cluster_env(project)
    proc = _run(snakemake, project, "--profile", str(PROFILE.parent), "--dry-run", "--forceall")
    local = _run(SNAKEMAKE, project, "--cores", "2", "--dry-run", "--forceall")
    assert "model" in _planned(proc) and "manuscript" in _planned(proc)
    assert _planned(proc) == _planned(local)


def test_heavy_rule_declares_its_resources_in_the_workflow() -> None:
    text = (ROOT / "rules" / "survey.smk").read_text()
    model = text.split("\nrule model:", 1)[1].split("\nrule ", 1)[0]
    resources = model.split("resources:", 1)[1].split("log:", 1)[0]
    assert "mem_mb=" in resources and "runtime=" in resources
    assert "threads:" in model


@pytest.mark.build
@pytest.mark.xdist_group("build")
def test_local_builds_never_call_cluster_tools_even_where_scontrol_hangs(built: Path,
                                                                          tmp_path: Path) -> None:
    """SLURM client tools on PATH whose every call hangs: the main venv never calls them."""
    fake, calls = tmp_path / "bin", tmp_path / "calls.log"
    fake.mkdir()
    for tool in CLIENT_TOOLS:
        (fake / tool).write_text(f'#!/bin/sh\necho "$0 $*" >> {calls}\nsleep 600\n')
        (fake / tool).chmod(0o755)
    env = project_env(built)
    env["PATH"] = f"{fake}:{env['PATH']}"
    for args in (["--dry-run"], []):  # what `snakemake -n` and a no-op `make paper` run
        proc = _run(SNAKEMAKE, built, "--cores", "2", *args, env=env)
        assert "Nothing to be done" in proc.stdout + proc.stderr
    assert not calls.exists(), calls.read_text()


def test_dry_run_with_the_profile_sends_the_large_robustness_grid_to_the_cluster(
        project: Path) -> None:
    """The large grid (>= 1,000 specifications) is planned through the SLURM profile: its
    shared step and every batch are cluster jobs with resources; the summary stays local."""
    from analysis.project import load_config
    from analysis.robustness.compute import grid_batches

    config = load_config(project / "config" / "config.yaml")
    config["robustness"]["grid"] = "large"
    n_batches = len(grid_batches(config))
    snakemake = cluster_env(project)
    proc = _run(snakemake, project, "--profile", str(PROFILE.parent), "--dry-run", "--forceall",
                "--config", "robustness={grid: large}")
    planned = _planned(proc)
    assert int(planned["robustness_batch"]) == n_batches
    assert planned["robustness_shared"] == planned["robustness_summary"] == "1"
    local = local_rules(project)
    assert {"robustness_summary", "figures_robustness"} <= local
    assert not {"robustness_batch", "robustness_shared"} & local
