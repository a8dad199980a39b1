"""Two clean builds of the same sources give byte-identical results, tables and figures.

The second build runs in its own scratch copy with a different PYTHONHASHSEED, so that
nothing may depend on hash order (set iteration, dict-of-set outputs) or on the clock.
The PDFs must have identical text and carry the fixed SOURCE_DATE_EPOCH as their date.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.buildutil import SNAKEMAKE, copy_project, project_env

pytestmark = [pytest.mark.build, pytest.mark.slow, pytest.mark.xdist_group("build")]

COMPARED = ["results/numbers.json", "results/tables", "figures", "build/paper/_variables.yml",
            "build/paper/notebooks"]


def _files(root: Path, rel: str) -> dict[str, bytes]:
    base = root / rel
    if base.is_file():
        return {rel: base.read_bytes()}
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(base.rglob("*")) if p.is_file()}


def _pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def second(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An independent clean build with another hash seed."""
    project = copy_project(tmp_path_factory.mktemp("second") / "project")
    env = project_env(project, PYTHONHASHSEED="4242")
    env.pop("SOURCE_DATE_EPOCH", None)
    proc = subprocess.run([SNAKEMAKE, "--cores", "2"], cwd=project, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return project


@pytest.mark.parametrize("rel", COMPARED)
def test_two_clean_builds_write_identical_bytes(built: Path, second: Path, rel: str) -> None:
    first, other = _files(built, rel), _files(second, rel)
    assert first and sorted(first) == sorted(other)
    differing = [name for name in first if first[name] != other[name]]
    assert differing == []


def test_two_clean_builds_give_pdfs_with_identical_text(built: Path, second: Path) -> None:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    pdf = "build/paper/_manuscript/index.pdf"
    assert _pdf_text(built / pdf) == _pdf_text(second / pdf)


def test_pdf_date_is_the_configured_source_date_epoch(second: Path) -> None:
    if shutil.which("pdfinfo") is None:
        pytest.skip("pdfinfo (poppler-utils) is not installed")
    epoch = yaml.safe_load((second / "config/config.yaml").read_text())["paper"][
        "source_date_epoch"]
    pdf = second / "build/paper/_manuscript/index.pdf"
    info = subprocess.run(["pdfinfo", "-isodates", str(pdf)], capture_output=True,
                          text=True).stdout
    created = next(line for line in info.splitlines() if line.startswith("CreationDate"))
    expected = dt.datetime.fromtimestamp(epoch, dt.UTC)
    assert expected.strftime("%Y-%m-%dT%H:%M:%S") in created
