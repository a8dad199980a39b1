"""Tests of paperkit/trace.py: the record behind every number and claim of the text."""

from __future__ import annotations

from pathlib import Path

import pytest

from paperkit.io import write_json, write_yaml
from paperkit.manifest import sha256_file
from paperkit.trace import (
    TraceError,
    article_keys,
    claim_table,
    rule_function,
    trace_vars,
    var_table,
    write_traces,
)

SCRIPT = '''from analysis.checks import verify
from analysis.survey.describe import describe_survey as describe
from paperkit.rules import run

run(smk, verify, paths=[])
run(smk, describe, out=smk.output[0])
'''


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "describe.py").write_text(SCRIPT)
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "clean.parquet").write_bytes(b"clean rows")
    (tmp_path / "results" / "descriptives.json").write_text("{}")
    (tmp_path / "published.yaml").write_text("n: 1\n")
    (tmp_path / "index.qmd").write_text(
        "---\ntitle: x\nabstract: Of {{< var survey.n >}} people\n---\n\n"
        "Share {{< var survey.share >}}, escaped `{{{< var survey.hidden >}}}`, "
        "again {{< var survey.n >}}; match {{< var fidelity.n_within >}} and "
        "{{< var published.n >}}.\n")
    return tmp_path


RULES = {
    "describe": {"outputs": ["results/descriptives.json"], "script": "scripts/describe.py",
                 "function": "analysis.survey.describe.describe_survey",
                 "inputs": ["results/clean.parquet"]},
    "numbers": {"outputs": ["results/numbers.json"], "script": "",
                "inputs": ["results/descriptives.json"]},
}
SECTIONS = {"survey": "results/descriptives.json", "published": "published.yaml"}
NUMBERS = {"survey": {"n": 2209, "share": 0.79812345}, "fidelity": {"n_within": 3},
           "published": {"n": 1}}
VARIABLES = {"survey": {"n": "2,209", "share": "79.8%"}, "fidelity": {"n_within": "3"},
             "published": {"n": "1"}}


def test_rule_function_is_the_last_run_call_resolved_through_its_import(project):
    assert rule_function(project / "scripts" / "describe.py") == \
        "analysis.survey.describe.describe_survey"


def test_rule_function_refuses_a_script_that_runs_no_function(tmp_path):
    (tmp_path / "x.py").write_text("print('hello')\n")
    with pytest.raises(TraceError, match="x.py: no call run"):
        rule_function(tmp_path / "x.py")


def test_article_keys_in_order_of_first_use_front_matter_included_escapes_skipped(project):
    assert article_keys(project / "index.qmd") == [
        "survey.n", "survey.share", "fidelity.n_within", "published.n"]


def test_each_key_is_traced_to_its_rule_function_and_checksummed_inputs(project):
    traces = {t.key: t for t in trace_vars(article_keys(project / "index.qmd"), NUMBERS,
                                           VARIABLES, SECTIONS, "numbers", RULES, project)}
    share = traces["survey.share"]
    assert (share.value, share.unrounded, share.rule) == ("79.8%", "0.79812345", "describe")
    assert share.function == "analysis.survey.describe.describe_survey"
    assert share.inputs == (("results/clean.parquet",
                             sha256_file(project / "results" / "clean.parquet")),)
    # a section no results file fills is credited to the rule that gathers the numbers
    assert traces["fidelity.n_within"].rule == "numbers"
    # a section read from a file no rule writes names that file
    assert traces["published.n"].rule == "none (input file)"
    assert traces["published.n"].inputs[0][0] == "published.yaml"


def test_a_number_from_a_rule_whose_function_is_unknown_stops_the_trace_naming_both(project):
    rules = {**RULES, "describe": {**RULES["describe"], "function": "",
                                   "function_error": "scripts/describe.py: no call run"}}
    with pytest.raises(TraceError, match=r"survey.share: made by rule describe, whose "
                                         r"function is not known: scripts/describe.py"):
        trace_vars(["survey.share"], NUMBERS, VARIABLES, SECTIONS, "numbers", rules, project)


def test_a_key_missing_from_the_numbers_is_an_error_naming_it(project):
    with pytest.raises(TraceError, match="numbers file: no value 'survey.share'"):
        trace_vars(["survey.share"], {"survey": {}}, VARIABLES, SECTIONS, "numbers", RULES,
                   project)


def test_a_quoted_value_the_results_lack_names_the_line_that_quotes_it(project, tmp_path,
                                                                       monkeypatch):
    numbers = {**NUMBERS, "survey": {"n": 2209}}
    write_json(project / "numbers.json", numbers)
    write_yaml(project / "_variables.yml", VARIABLES)
    write_json(project / "claims.json", {"claims": []})
    monkeypatch.chdir(project)
    with pytest.raises(TraceError, match=r"index.qmd:6: quotes \{\{< var survey.share >\}\}, "
                                         r"which the results do not hold: numbers file: no "
                                         r"value 'survey.share'"):
        write_traces(project / "index.qmd", project / "numbers.json",
                     project / "_variables.yml", project / "claims.json", SECTIONS, "numbers",
                     RULES, tmp_path / "out")


def test_appendix_tables_anchor_numbers_by_key_and_claims_by_their_id(project):
    traces = trace_vars(["survey.share"], NUMBERS, VARIABLES, SECTIONS, "numbers", RULES,
                        project)
    assert "[`survey.share`]{#var-survey.share} | 79.8% | `describe`" in var_table(traces)
    report = {"claims": [{"id": "clm-high", "status": "pass", "text": "most approve",
                          "assert": ["survey.share > 0.5"], "values": {"survey.share": 0.798}}]}
    table = claim_table(report)
    assert "[`clm-high`]{#clm-high} | most approve | `survey.share > 0.5` | " \
           "`survey.share = 0.798` | holds |" in table


def test_write_traces_writes_the_tooltip_records_and_three_appendix_tables(
        project, tmp_path, monkeypatch):
    write_json(project / "numbers.json", NUMBERS)
    write_yaml(project / "_variables.yml", VARIABLES)
    write_json(project / "claims.json", {"claims": []})
    out = tmp_path / "out"
    monkeypatch.chdir(project)  # rule paths are relative to the project, as in Snakemake
    write_traces(project / "index.qmd", project / "numbers.json", project / "_variables.yml",
                 project / "claims.json", SECTIONS, "numbers", RULES, out)
    assert sorted(p.name for p in out.iterdir()) == [
        "claims.md", "numbers.md", "rules.md", "traces.json"]
    assert "analysis.survey.describe.describe_survey" in (out / "rules.md").read_text()


def test_exclusion_rules_read_in_the_studys_words_with_their_settings():
    from analysis.paper.appendix import rule_reason
    from analysis.project import load_config

    rules = load_config()["cleaning"]["rules"]
    texts = [rule_reason(rule) for rule in rules.values()]
    share = f"{rules['speeder']['fraction_of_median']:.0%} of the median time"
    assert share in rule_reason(rules["speeder"])
    assert not any(mark in text for text in texts for mark in ("!=", "{", "_"))
    with pytest.raises(ValueError, match="placeholder 'cap' is not a setting"):
        rule_reason({"reason": "above {cap}"})
