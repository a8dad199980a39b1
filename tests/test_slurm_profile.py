"""The SLURM profile of profiles/slurm plans the whole workflow (dry run, no cluster needed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.buildutil import ROOT, copy_project, snakemake

PROFILE = ROOT / "profiles" / "slurm" / "config.yaml"


def _rules(project: Path) -> set[str]:
    return set(snakemake(project, "--list-rules").stdout.split())


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(tmp_path_factory.mktemp("slurm") / "project")


def _profile(project: Path) -> Path:
    """The shipped profile; without conda installed, its conda deployment is dropped."""
    settings = yaml.safe_load(PROFILE.read_text())
    if shutil.which("conda") is None and shutil.which("mamba") is None:
        settings.pop("software-deployment-method", None)
    target = project / ".test-profile"
    target.mkdir(exist_ok=True)
    (target / "config.yaml").write_text(yaml.safe_dump(settings))
    return target


def test_profile_uses_the_official_slurm_executor_and_names_existing_rules(project) -> None:
    settings = yaml.safe_load(PROFILE.read_text())
    assert settings["executor"] == "slurm"
    assert set(settings["set-resources"]) <= _rules(project)
    assert {"mem_mb", "runtime"} <= set(settings["default-resources"])


def test_dry_run_with_the_profile_plans_every_rule_of_the_build(project) -> None:
    proc = snakemake(project, "--profile", str(_profile(project)), "--dry-run", "--forceall")
    table = proc.stdout.split("Job stats:", 1)[1]
    planned = {line.split()[0] for line in table.splitlines()[3:] if line.strip()}
    assert "model" in planned and "manuscript" in planned
    assert _rules(project) - {"all"} <= planned | {"all"}


def test_heavy_rule_declares_its_resources_in_the_workflow() -> None:
    text = (ROOT / "rules" / "survey.smk").read_text()
    model = text.split("\nrule model:", 1)[1].split("\nrule ", 1)[0]
    resources = model.split("resources:", 1)[1].split("log:", 1)[0]
    assert "mem_mb=" in resources and "runtime=" in resources
    assert "threads:" in model
