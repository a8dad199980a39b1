"""The robustness grid on the shipped stand-in data: the shared cleaning reproduces the
clean stage, and a specification the data cannot support is reported, not raised."""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest

from analysis.project import PROJECT_ROOT, load_config
from analysis.robustness.compute import exclusion_key, grid_batches, prepare_shared, run_batch
from analysis.survey.cleaning import clean_survey
from paperkit.io import read_json
from paperkit.manifest import registered


def _files(config: dict) -> dict:
    """The inputs the robustness_shared rule passes in."""
    paths, themes = config["paths"], config["themes"]
    return {"raw": PROJECT_ROOT / paths["raw_survey"],
            "codebook": PROJECT_ROOT / paths["survey_codebook"],
            "provinces": PROJECT_ROOT / paths["provinces"],
            "interviews": PROJECT_ROOT / paths["interviews"],
            "interview_codebook": PROJECT_ROOT / themes["codebook"],
            "mapping": PROJECT_ROOT / themes["mapping"], "participants": []}


def _shared(config: dict, survey: Path, flags: Path, shared: Path) -> None:
    raw = PROJECT_ROOT / config["paths"]["raw_survey"]
    prepare_shared(config, _files(config),
                   registered(PROJECT_ROOT / config["paths"]["raw_manifest"], [raw], PROJECT_ROOT),
                   survey, flags, shared)


@pytest.fixture(scope="module")
def config() -> dict:
    config = copy.deepcopy(load_config())
    config["robustness"]["grids"]["t"] = {
        "choices": {"cap": [1.2, 2.0], "exclude": {"speeder": [True, False]},
                    "model": ["full", "no_attitudes"]},
        "subset": [{"cap": 1.2}, {"exclude": {"speeder": False}}],
    }
    config["robustness"]["grid"] = "t"
    return config


def test_declared_subset_with_a_nested_exclusion_is_rejected_not_guessed(config: dict,
                                                                       tmp_path: Path) -> None:
    # a subset entry names exclusion choices as exclude.<rule>; a nested mapping is unknown
    with pytest.raises(ValueError, match="unknown choice 'exclude'"):
        _shared(config, tmp_path / "s", tmp_path / "f", tmp_path / "j")


def test_shared_cleaning_of_the_papers_exclusions_equals_the_clean_stage(tmp_path: Path) -> None:
    config = load_config()
    _shared(config, tmp_path / "survey.parquet", tmp_path / "flags.parquet",
            tmp_path / "shared.json")
    paths = config["paths"]
    clean_survey(PROJECT_ROOT / paths["raw_survey"], PROJECT_ROOT / paths["survey_codebook"],
                 PROJECT_ROOT / paths["provinces"],
                 registered(PROJECT_ROOT / paths["raw_manifest"],
                            [PROJECT_ROOT / paths["raw_survey"]], PROJECT_ROOT),
                 config["cleaning"]["rules"], tmp_path / "clean.parquet", tmp_path / "log.csv",
                 tmp_path / "flow.json")
    survey, flags = pd.read_parquet(tmp_path / "survey.parquet"), pd.read_parquet(
        tmp_path / "flags.parquet")
    selected = survey.loc[~flags.any(axis=1).to_numpy()].reset_index(drop=True)
    pd.testing.assert_frame_equal(selected, pd.read_parquet(tmp_path / "clean.parquet"))
    sets = read_json(tmp_path / "shared.json")["exclusion_sets"]
    flow = read_json(tmp_path / "flow.json")
    flow.pop("source")
    assert sets[exclusion_key(list(config["cleaning"]["rules"]))]["flow"] == flow


def test_cap_below_the_feasible_minimum_is_infeasible_and_the_baseline_holds(
        tmp_path: Path) -> None:
    config = copy.deepcopy(load_config())
    config["robustness"]["grids"]["t"] = {"choices": {"cap": [1.2, 2.0]}, "subset": None}
    config["robustness"]["grid"] = "t"
    _shared(config, tmp_path / "survey.parquet", tmp_path / "flags.parquet",
            tmp_path / "shared.json")
    names = list(grid_batches(config))
    for batch in names:
        run_batch(config, batch, tmp_path / "survey.parquet", tmp_path / "flags.parquet",
                  tmp_path / "shared.json", PROJECT_ROOT / "paper" / "claims.yml",
                  PROJECT_ROOT / config["paths"]["population_targets"],
                  PROJECT_ROOT / config["paths"]["published_values"], {},
                  tmp_path / f"{batch}.json")
    specs = {r["spec"]: r for b in names for r in read_json(tmp_path / f"{b}.json")["specs"]}
    assert len(specs) == 2
    low = next(r for r in specs.values() if r["choices"]["cap"] == 1.2)
    assert low["status"] == "infeasible"
    assert "cap 1.2" in low["reason"] and "margin" in low["reason"]
    base = specs["s0000"]
    assert base["status"] == "ok"
    survey_claims = {c: r for c, r in base["claims"].items()
                     if c in ("clm-age-positive", "clm-four-in-five", "clm-cap-binds-west")}
    assert {r["status"] for r in survey_claims.values()} == {"holds"}
    assert base["estimates"]["age10"]["lower"] < base["estimates"]["age10"]["value"]


def test_fitting_only_the_claimed_models_gives_the_full_fits_estimates(tmp_path: Path) -> None:
    from analysis.survey.describe import attach_weights
    from analysis.survey.models import fit_models
    from analysis.survey.weighting import rake_frame, read_targets

    config = load_config()
    _shared(config, tmp_path / "survey.parquet", tmp_path / "flags.parquet",
            tmp_path / "shared.json")
    survey, flags = pd.read_parquet(tmp_path / "survey.parquet"), pd.read_parquet(
        tmp_path / "flags.parquet")
    clean = survey.loc[~flags.any(axis=1).to_numpy()].reset_index(drop=True)
    weighting = config["weighting"]
    targets = read_targets(PROJECT_ROOT / config["paths"]["population_targets"],
                           weighting["margins"])
    weights, _ = rake_frame(clean, targets, weighting)
    frame = attach_weights(clean, weights, "weights")
    full = fit_models(frame, config["models"], weighting)
    only = fit_models(frame, config["models"], weighting, only=["m7"], extras=False)
    assert set(only["models"]) == {"m7"}
    assert only["models"]["m7"]["coefficients"] == full["models"]["m7"]["coefficients"]
    assert only["common_sample_n"] == full["common_sample_n"]
