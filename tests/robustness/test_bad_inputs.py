"""Every bad input ends the build loudly: the file and problem named, nothing written.

The corpus (tests/robustness/corpus.py) runs end to end through the real entry point:
in one scratch copy of the project, one input at a time is replaced by a damaged copy
(registered in the raw-data manifest when the case is about content), Snakemake is run
to the output of the rule that reads it, and the test checks a non-zero exit, the
rule's one-line error naming the file and the problem, no output of that rule (and no
temporary file) left behind, and the raw data byte-identical.
"""

from __future__ import annotations

import re
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from analysis.project import load_config
from analysis.survey.cleaning import clean_survey
from analysis.survey.reader import SurveyReadError
from paperkit.manifest import register, registered
from tests.buildutil import snakemake
from tests.robustness.conftest import (
    MANIFEST,
    assert_failed_cleanly,
    replaced,
    tree_digest,
)
from tests.robustness.corpus import ALL_CASES, CONFIG, SURVEY, Case

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("robustness_inputs")]

@pytest.fixture(scope="module")
def project(scratch: Path) -> Path:
    """The scratch copy with the cleaned survey built from good data (weight cases need it)."""
    snakemake(scratch, "results/survey_clean.parquet")
    return scratch


@pytest.fixture(scope="module")
def pristine_raw(project: Path) -> dict[str, str]:
    return tree_digest(project / "data/raw")


def _expected_file(case: Case) -> str:
    """What the message must name: the input's path (the config's too, as the workflow
    reads it with the project's strict loader, not Snakemake's)."""
    return case.path


def test_corpus_has_at_least_25_cases_in_every_family():
    families = {c.family for c in ALL_CASES}
    assert families == {"survey", "interviews", "civilized", "targets", "config"}
    assert len(ALL_CASES) >= 25
    assert len({c.id for c in ALL_CASES}) == len(ALL_CASES)


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.id)
def test_bad_input_stops_the_build_naming_file_and_problem_and_writes_nothing(
    project: Path, pristine_raw: dict[str, str], case: Case
):
    rule, target, outputs = case.stage
    results_before = tree_digest(project / "results")
    good = (project / case.path).read_bytes()
    damaged = case.damage(good)
    assert damaged != good, f"{case.id}: the damage changed nothing"
    with replaced(project, case.path, damaged, register_it=case.register):
        raw_during = tree_digest(project / "data/raw")
        proc = snakemake(project, target, check=False)
        assert (project / case.path).read_bytes() == damaged
        assert tree_digest(project / "data/raw") == raw_during
    at_load = case.path == CONFIG or case.preflight
    assert_failed_cleanly(proc, rule=None if at_load else rule, file=_expected_file(case),
                          problem=case.problem)
    if case.absent:
        assert not re.search(case.absent, proc.stdout + proc.stderr), f"{case.id}: {case.absent}"
    if at_load:  # refused while loading the workflow: nothing may have been written
        assert tree_digest(project / "results") == results_before
    else:
        for output in outputs:
            assert not (project / output).exists(), f"{case.id}: {output} left behind"
    leftovers = [p for p in (project / "results").rglob("*.tmp")]
    assert not leftovers, f"{case.id}: temporary files left behind: {leftovers}"
    assert tree_digest(project / "data/raw") == pristine_raw


def _garbage_file(path: Path, size: int) -> None:
    """``size`` bytes of binary garbage, fast: random bytes at the head and tail, a hole
    (zeros, sparse on disk) in between."""
    rng = np.random.default_rng(20180215)
    with open(path, "wb") as fh:
        fh.write(rng.bytes(1 << 20))
        fh.seek(size - (1 << 20))
        fh.write(rng.bytes(1 << 20))
    assert path.stat().st_size == size


def test_500_mb_of_garbage_fails_fast_without_being_read_into_memory(tmp_path):
    raw = tmp_path / "data/raw/survey/export.csv"
    raw.parent.mkdir(parents=True)
    _garbage_file(raw, 500 * 1024 * 1024)
    register([], MANIFEST, tmp_path)
    out = tmp_path / "out"
    cfg = load_config()
    root = Path(__file__).resolve().parents[2]
    before = raw.stat().st_mtime_ns
    tracemalloc.start()
    try:
        with pytest.raises(SurveyReadError, match=r"export.csv: not a text file: binary data"):
            clean_survey(raw, root / cfg["paths"]["survey_codebook"],
                         root / cfg["paths"]["provinces"],
                         registered(tmp_path / MANIFEST, [raw], tmp_path),
                         cfg["cleaning"]["rules"], out / "clean.parquet", out / "log.csv",
                         out / "flow.json")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 1024 * 1024, f"peak Python allocation {peak / 2**20:.0f} MiB"
    assert not out.exists()
    assert raw.stat().st_mtime_ns == before and raw.stat().st_size == 500 * 1024 * 1024


def test_garbage_survey_export_stops_the_snakemake_build(project: Path, tmp_path):
    garbage = tmp_path / "garbage.csv"
    _garbage_file(garbage, 8 * 1024 * 1024)
    with replaced(project, SURVEY, garbage.read_bytes(), register_it=True):
        proc = snakemake(project, "results/survey_clean.parquet", check=False)
    assert_failed_cleanly(proc, rule="clean", file=SURVEY,
                          problem=r"not a text file: binary data \(NUL bytes\)")
    assert not (project / "results/survey_clean.parquet").exists()
