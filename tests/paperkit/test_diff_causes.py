"""Cause tracing: what changed between two revisions reaches which rules, and through which."""

from __future__ import annotations

from paperkit.causes import (
    UNTRACED,
    config_changes,
    config_paths,
    describe_rules,
    downstream,
    file_cause,
    flatten,
    number_causes,
    numeric_leaves,
    redefined,
    section_sources,
    sources_by_section,
    trace,
    value_sources,
)

RULES = {
    "clean": {"inputs": ["data/raw/survey.csv", "scripts/clean.py"],
              "outputs": ["results/clean.parquet"], "params": ["cleaning"]},
    "weight": {"inputs": ["results/clean.parquet", "analysis/weighting.py"],
               "outputs": ["results/weights.parquet"], "params": ["weighting.cap"]},
    "describe": {"inputs": ["results/clean.parquet", "results/weights.parquet"],
                 "outputs": ["results/descriptives.json", "results/tables/describe"],
                 "params": ["weighting"]},
    "themes": {"inputs": ["data/raw/interviews.qdpx"], "outputs": ["results/themes.json"],
               "params": ["themes"]},
    "numbers": {"inputs": ["results/descriptives.json", "results/themes.json"],
                "outputs": ["results/numbers.json", "build/paper/_variables.yml"],
                "params": ["numbers"]},
    "notebook": {"inputs": ["results/tables/describe", "notebooks/{name}.ipynb"],
                 "outputs": ["build/paper/notebooks/{name}.ipynb"], "params": []},
}


def test_a_config_key_reaches_the_rules_whose_params_hold_it_and_everything_downstream():
    config = config_changes({"weighting.variance": "calibrated"}, {"weighting.variance": "fixed"})
    traced = trace(RULES, [], config)
    assert traced.causes("numbers") == ["config:weighting.variance"]
    assert traced.chain("numbers", "config:weighting.variance") == ["describe", "numbers"]
    assert "weight" not in traced.chains  # its params hold weighting.cap only
    assert "themes" not in traced.chains


def test_a_cause_stops_at_an_output_that_came_out_the_same():
    traced = trace(RULES, ["data/raw/survey.csv"], {},
                   changed_output=lambda path: path != "results/descriptives.json")
    assert traced.causes("describe") == ["data:data/raw/survey.csv"]
    assert "numbers" not in traced.chains


def test_changed_files_are_named_by_kind():
    assert file_cause("analysis/survey/describe.py") == "code:analysis.survey.describe"
    assert file_cause("analysis/survey/__init__.py") == "code:analysis.survey"
    assert file_cause("paper/index.qmd") == "text:paper/index.qmd"
    assert file_cause("notebooks/survey.ipynb") == "text:notebooks/survey.ipynb"
    assert file_cause("data/raw/survey.csv") == "data:data/raw/survey.csv"
    assert file_cause("rules/survey.smk") == "code:rules/survey.smk"
    assert file_cause("Makefile") == "code:Makefile"


def test_a_changed_input_under_a_wildcard_or_directory_reaches_its_rule():
    traced = trace(RULES, ["notebooks/survey.ipynb", "analysis/weighting.py"], {})
    assert traced.causes("notebook") == ["code:analysis.weighting",
                                         "text:notebooks/survey.ipynb"]
    assert traced.chain("notebook", "code:analysis.weighting") == ["weight", "describe",
                                                                   "notebook"]


def test_a_config_key_naming_an_input_file_reaches_the_rule_reading_it():
    config = config_changes({"paths.raw": "data/raw/survey.csv"},
                            {"paths.raw": "data/raw/survey2.csv"})
    assert trace(RULES, [], config).causes("clean") == ["config:paths.raw"]


def test_nothing_changed_means_nothing_traced():
    assert trace(RULES, [], {}).chains == {}
    assert UNTRACED.startswith("untraced")


def test_params_map_to_config_paths_by_identity_subset_and_name():
    config = {"weighting": {"cap": 5, "variance": "fixed", "margins": ["age"]},
              "manuscript": {"engine": "auto", "formats": ["pdf"]}, "describe": {"ci": 0.95}}
    assert config_paths(config["weighting"], config) == {"weighting"}
    filtered = {k: v for k, v in config["weighting"].items() if k != "variance"}
    assert config_paths(filtered, config) == {"weighting.cap", "weighting.margins"}
    assert config_paths("auto", config, "engine") == {"manuscript.engine"}
    assert config_paths(lambda w: 1, config) == set()


def test_describe_rules_calls_input_functions_with_the_wildcards_other_rules_ask_for():
    class Rule:
        def __init__(self, name, inputs, outputs, params=None):
            self.name, self.input, self.output = name, inputs, outputs
            self.params, self.script = params or {}, None

    config = {"numbers": {"digits": 1}}
    rules = [
        Rule("notebook", ["notebooks/{name}.ipynb", lambda wc: [f"results/{wc.name}.json"]],
             ["build/notebooks/{name}.ipynb"]),
        Rule("paper", ["build/notebooks/survey.ipynb"], ["paper.pdf"],
             {"settings": config["numbers"]}),
    ]
    described = describe_rules(rules, config)
    assert "results/survey.json" in described["rules"]["notebook"]["inputs"]
    assert described["rules"]["paper"]["params"] == ["numbers"]
    assert described["config"] == flatten(config) == {"numbers.digits": 1}


def test_a_number_gets_only_the_causes_of_the_input_its_value_was_taken_from():
    config = config_changes({"weighting.variance": "calibrated"}, {"weighting.variance": "fixed"})
    traced = trace(RULES, ["data/raw/interviews.qdpx"], config)
    assert traced.causes("numbers") == ["config:weighting.variance",
                                        "data:data/raw/interviews.qdpx"]
    inputs = {"results/descriptives.json": (numeric_leaves({"se": 0.0123, "pct": [41.2]}),
                                            numeric_leaves({"se": 0.0131, "pct": [41.2]})),
              "results/themes.json": (numeric_leaves({"n": 7}), numeric_leaves({"n": 8}))}
    se = value_sources(0.0123, 0.0131, inputs)
    assert se == ["results/descriptives.json"]
    assert number_causes(se, traced, RULES, "numbers", set()) == ["config:weighting.variance"]
    n = value_sources(7, 8, inputs)
    assert number_causes(n, traced, RULES, "numbers", set()) == [
        "data:data/raw/interviews.qdpx"]
    computed = value_sources(0.5, 0.6, inputs)  # a ratio the numbers' rule computes itself
    assert computed == []
    assert number_causes(computed, traced, RULES, "numbers", set()) == traced.causes("numbers")


def test_a_computed_number_takes_the_origin_of_its_section():
    matched = {"survey.approval.any.se": ["results/descriptives.json"],
               "survey.approval.any.n": ["results/descriptives.json", "results/themes.json"],
               "interviews.barriers.time.n": ["results/themes.json"]}
    by_section = sources_by_section(matched)
    assert section_sources("survey.approval.any.pct", by_section) == [
        "results/descriptives.json"]
    assert section_sources("interviews.design.total", by_section) == ["results/themes.json"]
    assert section_sources("fidelity.pct_within", by_section) == []


def test_what_lies_downstream_of_a_failed_rule_is_everything_that_reads_its_outputs():
    assert downstream(RULES, ["weight"]) == ["describe", "notebook", "numbers", "weight"]
    assert downstream(RULES, ["themes"]) == ["numbers", "themes"]


def test_a_rule_redefined_in_a_changed_workflow_file_is_caused_by_that_file():
    old = {name: {**rule, "snakefile": "rules/survey.smk"} for name, rule in RULES.items()}
    new = {**old, "describe": {**old["describe"], "params": ["describe", "weighting"]}}
    changed = redefined(old, new, ["rules/survey.smk"])
    assert changed == {"describe": "rules/survey.smk"}
    rules = {n: {**r, "redefined_by": changed.get(n, "")} for n, r in new.items()}
    traced = trace(rules, ["rules/survey.smk"], {})
    assert traced.chain("numbers", "code:rules/survey.smk") == ["describe", "numbers"]
    assert "weight" not in traced.chains
