"""Nothing stale, nothing silent: changed inputs reach the paper through `make paper`.

On a copy of the session's finished build (tests/conftest.py ``built``), each case
changes one input the way an author or a hostile reviewer would and checks the outcome
that a reproducible build allows: the paper changes with the input, or the build stops
with a message naming the file the author edits (and the line, column, claim or rule),
writing nothing, with the raw data untouched. Inputs are restored after each case.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.buildutil import make, snakemake
from tests.fixtures.survey_bad import corrupt
from tests.paperkit.test_render import html_text
from tests.robustness.conftest import MANIFEST, copy_of_build, register, tree_digest
from tests.robustness.corpus import SURVEY

pytestmark = [pytest.mark.slow, pytest.mark.build, pytest.mark.xdist_group("build")]

CONFIG = "config/config.yaml"
ARTICLE = "paper/index.qmd"
HTML = "build/paper/_manuscript/index.html"


@pytest.fixture(scope="module")
def project(built, tmp_path_factory) -> Path:
    return copy_of_build(built, tmp_path_factory.mktemp("stale"))


class Restore:
    """Remember files' bytes and times; put them back on exit (also if a check fails)."""

    def __init__(self, project: Path, *rels: str) -> None:
        self.saved = {}
        for rel in rels:
            path = project / rel
            self.saved[path] = (path.read_bytes(), path.stat()) if path.exists() else None

    def __enter__(self) -> Restore:
        return self

    def __exit__(self, *exc: object) -> None:
        for path, saved in self.saved.items():
            if saved is None:
                path.unlink(missing_ok=True)
                continue
            path.write_bytes(saved[0])
            os.utime(path, ns=(saved[1].st_atime_ns, saved[1].st_mtime_ns))


def _text(project: Path) -> str:
    """The rendered HTML paper as plain words (as a reader sees it: no number tooltips)."""
    return " ".join(html_text(project / HTML).split())


def _names_staged_copy(text: str) -> list[str]:
    """Messages about the paper that name the staged copy instead of the author's file
    (Snakemake's own job listing names the staged inputs of a job; that is not a message)."""
    return [line for line in text.splitlines()
            if "build/paper/index.qmd" in line and not line.lstrip().startswith(
                ("input:", "Reason:", "output:", "Input files", "Missing"))]


def _numbers(project: Path) -> dict:
    return json.loads((project / "results/numbers.json").read_text(encoding="utf-8"))


def _set_weighting(project: Path, **values: object) -> None:
    path = project / CONFIG
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["weighting"].update(values)
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True),
                    encoding="utf-8")


# --------------------------------------------------------------------------- raw data


def test_raw_change_with_an_old_file_time_stops_until_registered_then_reaches_the_paper(
    project: Path,
):
    raw = project / SURVEY
    before_numbers = _numbers(project)
    with Restore(project, SURVEY, MANIFEST):
        stat = raw.stat()
        changed = corrupt.set_cell(raw.read_bytes(), 0, "finished", "0")
        raw.write_bytes(changed)  # as `cp -p` leaves it: new content, the old mtime
        os.utime(raw, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        results = tree_digest(project / "results")

        stopped = make(project, check=False)
        text = stopped.stdout + stopped.stderr
        assert stopped.returncode != 0, text[-2000:]
        assert re.search(rf"{SURVEY}: changed since it was registered[\s\S]*make register-data",
                         text), text[-2000:]
        assert "Nothing to be done" not in text
        assert tree_digest(project / "results") == results
        assert raw.read_bytes() == changed

        make(project, "register-data")
        make(project)
        after = _numbers(project)["cleaning"]
        assert after["completed"] == before_numbers["cleaning"]["completed"] - 1
        assert f"{after['completed']:,} were completed" in _text(project)
        assert raw.read_bytes() == changed
    make(project)  # back to the committed data, for the cases below
    assert _numbers(project)["cleaning"] == before_numbers["cleaning"]


# --------------------------------------------------------------------------- config


def test_reordered_margins_reach_the_methods_and_limitations(project: Path):
    with Restore(project, CONFIG):
        _set_weighting(project, margins=["gender", "age_band", "region"])
        make(project)
        text = _text(project)
        assert "population by gender, age band and region. Every weight is capped" in text
        assert "raking to gender, age band and region with a weight cap" in text
    make(project)
    assert "population by age band, gender and region" in _text(project)


def test_dropped_margin_and_raised_cap_stop_the_build_at_the_claims_they_falsify(
    project: Path,
):
    with Restore(project, CONFIG):
        _set_weighting(project, margins=["age_band", "gender"], cap=2.5)
        proc = make(project, check=False)
        text = proc.stdout + proc.stderr
        assert proc.returncode != 0, "a paper claiming a binding cap built with no one at it"
        assert re.search(rf"clm-cap-binds-west \({ARTICLE}:\d+\)", text), text[-3000:]
        assert not _names_staged_copy(text)
        variables = yaml.safe_load((project / "build/paper/_variables.yml").read_text())
        assert variables["weighting"]["margin_names"] == "age band and gender"
        assert variables["weighting"]["cap"] == "2.50"
        assert _numbers(project)["weighting"]["n_at_cap"] == 0

        # No cap at all: the methods' "capped at ... times the mean weight" has no number.
        _set_weighting(project, cap=None)
        proc = make(project, check=False)
        text = proc.stdout + proc.stderr
        assert proc.returncode != 0, "a paper quoting a weight cap built without one"
        assert re.search(rf"clm-weights-capped \({ARTICLE}:\d+\)[\s\S]*weighting\.cap: is null",
                         text), text[-3000:]
    make(project)


def _set_config(project: Path, edit) -> None:
    path = project / CONFIG
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(config)
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True),
                    encoding="utf-8")


def _settings_that_shape_the_methods(config: dict) -> None:
    config["weighting"]["variance"] = "fixed"
    config["describe"]["ci_method"] = "wald"
    config["cleaning"]["rules"]["speeder"]["fraction_of_median"] = 0.35
    config["cleaning"]["rules"]["straight_liner"]["k"] = 9


def test_variance_intervals_and_exclusion_rules_reach_the_methods_and_the_model_sample_is_checked(
    project: Path,
):
    """Each setting that shapes a Methods sentence reaches it (as a variable), and a
    model sample the words do not describe stops the build at the claim that says it.
    (The model weights' words are unit-tested: frequency weights have no design SEs to
    compare, and the build stops at the variable the appendix quotes.)"""
    with Restore(project, CONFIG):
        _set_config(project, _settings_that_shape_the_methods)
        make(project)
        text = _text(project)
        for words in (
            "with the raked weights taken as given, the design taking each respondent drawn "
            "independently, without clusters, strata or a finite-population correction",
            "confidence intervals are computed as Wald intervals on the percentage scale",
            "the respondents each test compares",
            "faster than 35% of the median duration",
            "a run of at least 9 identical answers",
        ):
            assert words in text, words
        for stale in ("on the logit scale", "calibrated to the raking margins, the design",
                      "40% of the median"):
            assert stale not in text, stale

        _set_config(project, lambda c: c["models"]["sample_filter"].update(use_sesame=1))
        text = _check_fails(project, "results/checks/claims.json",
                            rf"clm-models-commercial-only \({ARTICLE}:\d+\)[\s\S]*"
                            r"models.n_sample_filters = 2")
    make(project)
    text = _text(project)
    assert "confidence intervals are computed on the logit scale" in text
    assert "faster than 40% of the median duration" in text


# --------------------------------------------------------------------------- paper sources


def _edit(project: Path, rel: str, old: str, new: str) -> None:
    path = project / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{rel}: {old!r} not found"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _check_fails(project: Path, target: str, pattern: str) -> str:
    proc = snakemake(project, target, check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0, f"{target} passed:\n{text[-2000:]}"
    assert re.search(pattern, text), f"{pattern!r} not in:\n{text[-3000:]}"
    assert not _names_staged_copy(text), "the message names the staged copy"
    return text


PAPER_LOOPHOLES = {
    "number in a notebook caption": (
        "notebooks/survey.ipynb",
        "Approval of social credit systems (weighted percentages",
        "Approval of social credit systems (61.3% approve; weighted percentages",
        "results/checks/numbers.json",
        r"notebooks/survey.ipynb#fig-approval:\d+: literal '61.3%'"),
    "number in inline code": (
        ARTICLE, "Approval is high (@fig-approval)", "Approval is high (`61.3%`, @fig-approval)",
        "results/checks/numbers.json", rf"{ARTICLE}:\d+: literal '61.3%'"),
    "number in the prose": (
        ARTICLE, "Approval is high (@fig-approval)", "Approval is high (61.3%, @fig-approval)",
        "results/checks/numbers.json", rf"{ARTICLE}:\d+: literal '61.3%'"),
    "pattern allowing any number": (
        "paper/_number_allowlist.yml", "patterns: []\n",
        "patterns:\n  - regex: '\\d+(?:\\.\\d+)?%?'\n    reason: every number\n",
        "results/checks/numbers.json",
        r"paper/_number_allowlist.yml: patterns\[0\]: pattern .* matches a bare number"),
    "claim over constants": (
        "paper/claims.yml", 'assert: "survey.approval.disapprove_any.pct < 5"',
        'assert: "1 == 1"', "results/checks/claims.json",
        r"clm-disapproval-rare \(paper/index.qmd:\d+\): claim cannot be checked[\s\S]*"
        r"refers to no result value"),
}


@pytest.mark.parametrize("name", list(PAPER_LOOPHOLES))
def test_paper_loophole_stops_the_build_naming_the_source_file(project: Path, name: str):
    rel, old, new, target, pattern = PAPER_LOOPHOLES[name]
    with Restore(project, rel):
        _edit(project, rel, old, new)
        _check_fails(project, target, pattern)
        assert not (project / target).exists(), f"{target} left behind"


# --------------------------------------------------------------------------- SPSS labels


@pytest.fixture
def reversed_sav(project: Path) -> Iterator[str]:
    """The survey export as an SPSS file whose own labels reverse approval and gender,
    registered and named in the config."""
    import pyreadstat

    rel = "data/raw/survey/scs_survey_2018_export.sav"
    frame = pd.read_csv(project / SURVEY, dtype=str, encoding="utf-8-sig").fillna("")
    for column in frame.columns:
        numbers = pd.to_numeric(frame[column].replace("", None), errors="coerce")
        if column not in ("respondent_id", "start_time", "end_time") and numbers.notna().any():
            frame[column] = numbers
    labels = {"q21_approval": {1: "Strongly approve", 2: "Somewhat approve", 3: "Neutral",
                               4: "Somewhat disapprove", 5: "Strongly disapprove"},
              "q1_gender": {0: "male", 1: "female"}}
    with Restore(project, rel, MANIFEST, CONFIG):
        pyreadstat.write_sav(frame, str(project / rel), variable_value_labels=labels)
        register(project, rel)
        config = yaml.safe_load((project / CONFIG).read_text())
        config["paths"]["raw_survey"] = rel
        (project / CONFIG).write_text(yaml.safe_dump(config, sort_keys=False))
        yield rel


def test_spss_file_whose_labels_reverse_the_codebook_stops_at_cleaning(
    project: Path, reversed_sav: str
):
    raw = tree_digest(project / "data/raw")
    proc = snakemake(project, "results/survey_clean.parquet", check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    codebook = yaml.safe_load((project / "data/codebook/survey_codebook.yaml").read_text())
    want = codebook["variables"]["q21_approval"]["codes"][1]
    assert re.search(
        rf"{reversed_sav} column 'q21_approval': value 1 -- rule: value label: the file labels "
        rf"code 1 'Strongly approve', the codebook data/codebook/survey_codebook.yaml says "
        rf"{want!r}", text), text[-3000:]
    assert re.search(r"column 'q1_gender': value 0 -- rule: value label: the file labels "
                     r"code 0 'male'", text)
    assert tree_digest(project / "data/raw") == raw


# --------------------------------------------------------------------------- round two:
# content-addressed freshness (paperkit/freshness.py), on the whole project.


def _cp_p(raw: Path, data: bytes, stat: os.stat_result) -> None:
    """What `cp -p` leaves: the new bytes under the old modification time."""
    raw.write_bytes(data)
    os.utime(raw, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_copies_registration_dry_runs_and_a_recopy_end_in_the_new_numbers(project: Path):
    raw = project / SURVEY
    before = _numbers(project)["cleaning"]
    with Restore(project, SURVEY, MANIFEST):
        stat = raw.stat()
        changed = corrupt.set_cell(raw.read_bytes(), 0, "finished", "0")
        _cp_p(raw, changed, stat)
        make(project, "register-data")
        snakemake(project, "--dry-run")
        make(project, "dag")
        _cp_p(raw, changed, stat)  # the sync script run a second time
        proc = make(project)
        assert "Nothing to be done" not in proc.stdout + proc.stderr
        after = _numbers(project)["cleaning"]
        assert after["completed"] == before["completed"] - 1
        assert f"{after['completed']:,} were completed" in _text(project)
        assert raw.stat().st_mtime_ns == stat.st_mtime_ns  # the pre-flight touched nothing
    make(project)
    assert _numbers(project)["cleaning"] == before


def test_a_read_only_raw_data_folder_builds(built: Path, tmp_path: Path):
    # its own copy of the finished build: what the cases above leave (failed targeted
    # builds, restored inputs) is theirs to test, not this case's
    project = copy_of_build(built, tmp_path)
    raw_dir = project / "data/raw"
    modes = {p: p.stat().st_mode for p in [raw_dir, *raw_dir.rglob("*")]}
    try:
        for path, mode in modes.items():
            path.chmod(mode & ~0o222)
        (project / HTML).unlink()  # something to do, so that the build really runs
        make(project)
        assert (project / HTML).is_file()
    finally:
        for path, mode in sorted(modes.items(), key=lambda kv: len(kv[0].parts)):
            path.chmod(mode)


def test_a_failed_build_marks_the_paper_out_of_date_until_a_build_succeeds(project: Path):
    raw = project / SURVEY
    note = (project / HTML).parent / "OUT_OF_DATE.txt"
    with Restore(project, SURVEY, MANIFEST):
        raw.write_bytes(corrupt.set_cell(raw.read_bytes(), 0, "q21_approval", "9"))
        make(project, "register-data")
        proc = make(project, check=False)
        assert proc.returncode != 0
        assert "make paper" in note.read_text(encoding="utf-8")
    make(project)
    assert (project / HTML).is_file() and not note.exists()
