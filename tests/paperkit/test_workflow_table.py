"""Tests of paperkit.workflow.rule_table: the DAG as plain data for provenance and traces."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from paperkit.workflow import rule_table


def _rule(name: str, script: str, root: Path) -> SimpleNamespace:
    return SimpleNamespace(name=name, script=script, basedir=str(root),
                           output=[f"results/{name}.json"],
                           input=["data/x.csv", "analysis/mod.py"])


def test_rule_table_names_each_scripts_function_and_splits_code_from_data(tmp_path):
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "fit.py").write_text(
        "from analysis.fit import fit_model\nfrom paperkit.rules import run\n"
        "run(smk, fit_model, out=smk.output[0])\n")
    table = rule_table([_rule("fit", "scripts/fit.py", tmp_path)], tmp_path, ["analysis"])
    assert table["fit"] == {"outputs": ["results/fit.json"], "script": "scripts/fit.py",
                            "function": "analysis.fit.fit_model", "code": ["analysis/mod.py"],
                            "inputs": ["data/x.csv"]}


def test_a_script_that_names_no_function_keeps_the_dag_and_records_why(tmp_path):
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "broken.py").write_text("raise SystemExit('broken')\n")
    table = rule_table([_rule("broken", "scripts/broken.py", tmp_path)], tmp_path,
                       ["analysis"])
    assert table["broken"]["function"] == ""
    assert "broken.py: no call run(smk, function" in table["broken"]["function_error"]
