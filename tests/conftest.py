"""Shared fixtures: one cold build of the whole project, reused by the build tests."""

from __future__ import annotations

import pytest

from paperkit.rules import AUDIT_ENV
from tests.buildutil import copy_project, snakemake

#: Where the cold build's rule scripts record the files they read (paperkit.rules).
READS = "logs/reads"


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """A scratch copy of the project, built once from raw data to the rendered paper (each
    rule script recording what it reads, see tests/build/test_declared_inputs.py)."""
    project = copy_project(tmp_path_factory.mktemp("build") / "project")
    snakemake(project, **{AUDIT_ENV: str(project / READS)})
    return project
