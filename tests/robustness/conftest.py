"""Scratch projects for the robustness suite, and the checks every bad input must pass.

Each test module builds ONE scratch copy of the project (module fixture) and swaps a
single input at a time, restoring its bytes, its modification time and the manifest
afterwards, so that one case never leaks into the next and an up-to-date upstream
output (e.g. the cleaned survey for the targets cases) is not rebuilt for every case.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.buildutil import copy_project, planned_rules, snakemake

MANIFEST = "data/raw/MANIFEST.sha256"


def tree_digest(directory: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``directory`` (empty if absent)."""
    if not directory.exists():
        return {}
    return {
        p.relative_to(directory).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*")) if p.is_file()
    }


def register(project: Path, rel: str) -> None:
    """Record ``rel`` in the scratch manifest through the real command line."""
    proc = subprocess.run(
        [sys.executable, "-m", "paperkit.manifest", "register", rel, "--root", str(project),
         "--manifest", MANIFEST],
        cwd=project, capture_output=True, text=True,
    )
    if proc.returncode != 0:
        raise AssertionError(f"registering {rel} failed:\n{proc.stdout}{proc.stderr}")


@contextlib.contextmanager
def replaced(project: Path, rel: str, data: bytes, *, register_it: bool) -> Iterator[Path]:
    """Put ``data`` at ``rel`` for the duration; restore bytes, mtime and manifest after."""
    path, manifest = project / rel, project / MANIFEST
    original, stat = path.read_bytes(), path.stat()
    manifest_bytes, manifest_stat = manifest.read_bytes(), manifest.stat()
    path.write_bytes(data)
    try:
        if register_it:
            register(project, rel)
        yield path
    finally:
        path.write_bytes(original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        manifest.write_bytes(manifest_bytes)
        os.utime(manifest, ns=(manifest_stat.st_atime_ns, manifest_stat.st_mtime_ns))


def assert_failed_cleanly(
    proc: subprocess.CompletedProcess, *, rule: str | None, file: str, problem: str
) -> None:
    """Non-zero exit; the one-line error names the rule, the file and the problem."""
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0, f"the build succeeded on a bad {file}:\n{text[-3000:]}"
    if rule is not None:
        line = re.search(rf"ERROR in rule '{rule}': \w+: [\s\S]*?(?=\n\n|\Z)", proc.stderr)
        assert line, f"no 'ERROR in rule {rule!r}' message:\n{text[-3000:]}"
        text = line.group(0)
    assert file.lower() in text.lower(), f"the message does not name {file}:\n{text[-3000:]}"
    assert re.search(problem, text), f"the message does not say {problem!r}:\n{text[-3000:]}"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """One scratch copy of the project per test module, nothing built yet."""
    return copy_project(tmp_path_factory.mktemp("robust") / "project")


def build(project: Path, *targets: str) -> subprocess.CompletedProcess:
    """Run Snakemake to ``targets`` in the scratch copy, failing the test if it fails."""
    return snakemake(project, *targets)


def copy_of_build(built: Path, directory: Path) -> Path:
    """A copy of the session's finished build (modification times and Snakemake metadata
    included), checked to be up to date; the session's build itself is never modified."""
    copy = directory / "project"
    shutil.copytree(built, copy, symlinks=True)
    assert planned_rules(copy) == set(), "the copied build is not up to date"
    return copy
