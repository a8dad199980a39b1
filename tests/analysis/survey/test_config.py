"""The configuration is validated against its schema, with errors that name the key."""

from __future__ import annotations

import copy

import pytest

from analysis.project import ConfigError, load_config, project_path, validate_config


def test_shipped_config_is_valid():
    config = load_config()
    assert config["weighting"]["cap"] == 2.0


def test_unknown_key_is_rejected_with_its_location():
    config = copy.deepcopy(load_config())
    config["weighting"]["cpa"] = 2.0
    with pytest.raises(ConfigError, match=r"at 'weighting'.*'cpa'"):
        validate_config(config)


def test_wrong_type_is_rejected_with_key_path_and_rule():
    config = copy.deepcopy(load_config())
    config["weighting"]["max_iter"] = "many"
    with pytest.raises(ConfigError, match=r"weighting\.max_iter.*schema rule: type"):
        validate_config(config)


@pytest.mark.parametrize("bad", ["../outside.csv", "/etc/passwd", "data/../../x.csv"])
def test_paths_that_escape_the_project_are_rejected(bad):
    config = copy.deepcopy(load_config())
    config["paths"]["raw_survey"] = bad
    with pytest.raises(ConfigError, match="paths.raw_survey"):
        validate_config(config)


def test_project_path_refuses_a_path_outside_the_project(tmp_path):
    with pytest.raises(ConfigError, match="leaves the project directory"):
        project_path("../x", root=tmp_path / "proj")


def test_snakemake_validation_agrees_with_the_schema():
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    from analysis.project import SCHEMA_PATH

    config = copy.deepcopy(load_config())
    validate(config, str(SCHEMA_PATH))
    config["describe"]["ci_method"] = "bootstrap"
    with pytest.raises(WorkflowError):
        validate(config, str(SCHEMA_PATH))


def test_the_paper_section_is_checked_against_the_kit_schema_naming_the_key():
    from analysis.project import validate_config

    config = copy.deepcopy(load_config())
    config["paper"]["formats"] = ["epub"]
    with pytest.raises(ConfigError, match=r"at 'paper\.formats\.0'.*'epub' is not one of"):
        validate_config(config)


def test_the_kit_schema_supplies_the_paper_defaults():
    from paperkit.config import validate_paper

    paper = validate_paper({"formats": ["html"]})
    assert paper["source"] == "paper" and paper["stage"] == "build/paper"
    assert paper["engine"] == "auto" and paper["raw_manifest"] is None


def test_the_schema_supplies_the_defaults_a_stage_relies_on():
    from analysis.project import CONFIG_PATH, validate_config
    from paperkit.io import read_yaml

    config = read_yaml(CONFIG_PATH)
    del config["describe"]
    for key in ("tolerance", "max_iter", "floor"):
        config["weighting"].pop(key, None)
    config["models"].pop("predicted")
    filled = validate_config(config)
    assert filled["describe"]["ci_level"] == 0.95 and filled["describe"]["approve_codes"] == [4, 5]
    assert filled["weighting"]["tolerance"] == 1e-10 and filled["weighting"]["floor"] is None
    assert filled["models"]["predicted"] == {"top_k": 3, "points": 25}
