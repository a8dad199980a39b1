"""The pip lock file and the per-rule conda environments pin the same versions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.buildutil import ROOT


ENVS = ROOT / "envs"


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock(name: str = "requirements.lock") -> dict[str, str]:
    pins = {}
    for line in (ENVS / name).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[_norm(name)] = version
    return pins


def _conda_pins(path: Path) -> dict[str, str]:
    env = yaml.safe_load(path.read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    pins = {}
    for spec in pip:
        assert "==" in spec, f"{path.name}: '{spec}' is not pinned with =="
        name, version = spec.split("==")
        pins[_norm(name)] = version
    return pins


CONDA_FILES = sorted([*ENVS.glob("*.yaml"), *(ROOT / "paperkit/workflow/envs").glob("*.yaml")])


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-slurm.lock"])
def test_every_lock_line_is_an_exact_pin(lock: str):
    for line in (ENVS / lock).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[A-Za-z0-9_.+!\-]+", line), line


@pytest.mark.parametrize("env_file", CONDA_FILES, ids=lambda p: p.name)
def test_conda_environment_pins_equal_the_lock_file(env_file: Path):
    lock = _lock()
    for name, version in _conda_pins(env_file).items():
        assert name in lock, f"{env_file.name}: {name} is not in requirements.lock"
        assert version == lock[name], f"{env_file.name}: {name}=={version}, lock has {lock[name]}"


def test_every_direct_requirement_is_locked():
    lock = _lock()
    for line in (ENVS / "requirements.in").read_text().splitlines():
        name = line.split("#")[0].strip()
        if name:
            assert _norm(name) in lock, f"requirements.in names {name}, the lock does not pin it"


def test_every_conda_environment_of_the_workflow_exists():
    used = {
        (path.parent / env).resolve()
        for path in [ROOT / "Snakefile", *sorted((ROOT / "rules").glob("*.smk")),
                     *sorted((ROOT / "paperkit" / "workflow").glob("*.smk"))]
        for env in re.findall(r'"((?:\.\./)?envs/[\w-]+\.yaml)"', path.read_text())
    }
    assert used, "the workflow names no conda environment"
    for env in used:
        assert env.is_file(), f"the workflow uses {env}, which does not exist"


def test_installed_versions_match_the_lock_file():
    from importlib import metadata

    lock = _lock()
    for dist in ("snakemake", "pandas", "numpy", "statsmodels", "seaborn", "typst"):
        assert metadata.version(dist) == lock[_norm(dist)], dist


def test_slurm_executor_is_kept_out_of_the_main_environment():
    """Installed in .venv, Snakemake would import it, and it would probe the cluster, at
    every start; it lives in .venv-slurm (make cluster-env) on top of the same pins."""
    main, slurm = _lock(), _lock("requirements-slurm.lock")
    assert "snakemake-executor-plugin-slurm" in slurm
    assert not any(name.startswith("snakemake-executor-plugin-slurm") for name in main)
    for name, version in slurm.items():
        assert main.get(name, version) == version, f"{name}: {version} here, {main[name]} in .venv"
