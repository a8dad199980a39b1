"""Shared fixtures: one cold build of the whole project, reused by the build tests."""

from __future__ import annotations

import pytest

from tests.buildutil import copy_project, snakemake


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """A scratch copy of the project, built once from raw data to the rendered paper."""
    project = copy_project(tmp_path_factory.mktemp("build") / "project")
    snakemake(project)
    return project
