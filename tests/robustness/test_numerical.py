"""Numerical edge cases end in a clear error naming the variable, never in a NaN.

Function-level cases go through the pipeline entry points (fit_paper_models,
weight_survey) on files, as the rules call them; two cases run Snakemake on a scratch
build: a weight cap no weighting can satisfy, and a NaN reaching the numbers stage.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.project import load_config
from analysis.stats.ordinal import ModelError, SeparationError
from analysis.stats.raking import WeightingError, rake
from analysis.survey.models import fit_paper_models
from analysis.survey.weighting import weight_survey
from tests.analysis.survey.test_models import synthetic_clean
from tests.buildutil import snakemake
from tests.robustness.conftest import assert_failed_cleanly, replaced

SPEC = load_config()["models"]
WEIGHTING = load_config()["weighting"]
TARGETS = {"age_band": {"14-30": 0.55, "31-50": 0.42, "51-65": 0.03},
           "gender": {"female": 0.39, "male": 0.61},
           "region": {"East": 0.45, "Central": 0.35, "West": 0.2}}


def _fit(tmp_path, clean: pd.DataFrame) -> None:
    """Write the cleaned file and unit weights, then call the model rule's entry point."""
    clean.to_parquet(tmp_path / "clean.parquet", index=False)
    pd.DataFrame({"resp_id": clean["resp_id"], "weight": 1.0}).to_parquet(
        tmp_path / "weights.parquet", index=False)
    fit_paper_models(tmp_path / "clean.parquet", tmp_path / "weights.parquet", SPEC,
                     tmp_path / "models.json")


def _weight(tmp_path, clean: pd.DataFrame, targets: dict, **settings) -> None:
    clean.to_parquet(tmp_path / "clean.parquet", index=False)
    (tmp_path / "targets.yaml").write_text(yaml.safe_dump({"margins": targets}))
    weight_survey(tmp_path / "clean.parquet", tmp_path / "targets.yaml",
                  {**WEIGHTING, **settings}, tmp_path / "w.parquet", tmp_path / "w.json")


def test_perfect_separation_names_the_variable_and_writes_nothing(tmp_path):
    clean = synthetic_clean()
    clean["ccp_member"] = (clean["approval"] == 5).astype(int)  # 1 exactly in the top category
    with pytest.raises(SeparationError, match="ccp_member"):
        _fit(tmp_path, clean)
    assert not (tmp_path / "models.json").exists()


def test_category_without_respondents_names_term_and_category(tmp_path):
    clean = synthetic_clean()
    clean.loc[clean["region"] == "West", "region"] = "Central"
    with pytest.raises(ModelError, match="term 'region': category 'West' has no respondents"):
        _fit(tmp_path, clean)
    assert not (tmp_path / "models.json").exists()


def test_constant_column_is_named(tmp_path):
    clean = synthetic_clean()
    clean["urban"] = 1
    with pytest.raises(ModelError, match="variable 'urban' is constant"):
        _fit(tmp_path, clean)
    assert not (tmp_path / "models.json").exists()


def test_raking_category_without_respondents_names_targets_file(tmp_path):
    clean = synthetic_clean()
    clean = clean[clean["age_band"] != "51-65"]
    with pytest.raises(WeightingError, match=r"targets.yaml.*'age_band'.*no respondents"):
        _weight(tmp_path, clean, TARGETS)
    assert not (tmp_path / "w.parquet").exists() and not (tmp_path / "w.json").exists()


def test_margin_that_the_cap_makes_unreachable_is_named(tmp_path):
    clean = synthetic_clean()
    with pytest.raises(WeightingError, match=r"margin 'age_band' category '51-65' cannot be met"):
        _weight(tmp_path, clean, {**TARGETS, "age_band": {"14-30": 0.3, "31-50": 0.2,
                                                          "51-65": 0.5}}, cap=1.5)
    assert not (tmp_path / "w.parquet").exists()


def test_weights_all_at_the_cap_only_when_equal_and_then_margins_still_hold():
    """Documented behaviour: the cap is relative to the mean weight, so every weight can
    sit at the cap only if all are equal; a sample that already matches its margins gets
    exactly equal weights (all 'capped' at the mean), not NaN or an error."""
    data = pd.DataFrame({"g": ["a"] * 60 + ["b"] * 40, "h": ["x", "y"] * 50})
    targets = {"g": {"a": 0.6, "b": 0.4}, "h": {"x": 0.5, "y": 0.5}}
    result = rake(data, targets, cap=1.0 + 1e-9)
    w = result.weights.to_numpy()
    assert np.isfinite(w).all() and np.allclose(w, w.mean(), rtol=1e-12)


# ----------------------------------------------------------------- through Snakemake


@pytest.fixture(scope="module")
def built_numbers(scratch):
    """The scratch copy built up to the numbers stage."""
    snakemake(scratch, "build/paper/_variables.yml")
    return scratch


@pytest.mark.slow
@pytest.mark.xdist_group("robustness_numerical")
def test_unreachable_cap_in_config_stops_the_weight_rule(built_numbers):
    config = built_numbers / "config/config.yaml"
    text = config.read_text()
    assert "\n  cap: 2.0\n" in text
    with replaced(built_numbers, "config/config.yaml", text.replace(
            "\n  cap: 2.0\n", "\n  cap: 1.02\n").encode(), register_it=False):
        proc = snakemake(built_numbers, "results/weights.parquet", check=False)
    assert_failed_cleanly(proc, rule="weight", file="data/targets/population_margins.yaml",
                          problem=r"margin '\w+' category '[^']+' cannot be met")
    assert not (built_numbers / "results/weights.parquet").exists()


@pytest.mark.slow
@pytest.mark.xdist_group("robustness_numerical")
def test_a_nan_result_never_reaches_the_paper(built_numbers, tmp_path):
    """A NaN in a stage's results stops the numbers step naming the key, and nothing is
    written. (Edited in place, the results file would simply be rebuilt by its rule: the
    pre-flight reruns any output its rule did not make from the current inputs.)"""
    from analysis.paper.numbers import write_numbers
    from paperkit.variables import NumbersError

    snakemake(built_numbers, "results/numbers.json")  # every stage result up to date
    data = json.loads((built_numbers / "results/models.json").read_text())
    term = next(iter(data["models"]["m7"]["coefficients"]))
    data["models"]["m7"]["coefficients"][term]["se"] = math.nan
    (tmp_path / "models.json").write_text(json.dumps(data))
    files = {"cleaning": "cleaning.json", "weighting": "weighting.json",
             "survey": "descriptives.json", "interviews": "themes.json",
             "overlap": "overlap.json", "residents": "residents.json",
             "robustness": "robustness/summary.json"}
    inputs = {k: str(built_numbers / "results" / f) for k, f in files.items()}
    config = load_config()
    out = tmp_path / "numbers.json"
    with pytest.raises(NumbersError, match=rf"m7\.coefficients\.{re.escape(term)}.*is nan; "
                                           r"the paper cannot quote it"):
        write_numbers({**inputs, "models": str(tmp_path / "models.json")},
                      str(built_numbers / config["paths"]["published_values"]),
                      config["fidelity"], str(out))
    assert not out.exists()
