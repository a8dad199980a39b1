"""The workflow itself: lint-clean, stages named as the analysis is, thin rules."""

from __future__ import annotations

import re
import subprocess

from tests.buildutil import ROOT, SNAKEMAKE

STAGES = ["clean", "weight", "describe", "model", "themes", "overlap", "residents",
          "figures_describe", "figures_models", "figures_themes", "figures_civilized", "numbers",
          "manuscript"]


def _snakemake(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([SNAKEMAKE, *args], cwd=ROOT, capture_output=True, text=True)


def test_snakemake_lint_is_clean():
    proc = _snakemake("--lint")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "good condition" in proc.stdout + proc.stderr


def test_rules_are_named_for_the_stages_of_the_analysis():
    rules = set(_snakemake("--list-rules").stdout.split())
    assert set(STAGES) <= rules


def _workflow_text() -> str:
    """The Snakefile with its includes expanded in place, as Snakemake reads it."""
    text = (ROOT / "Snakefile").read_text()
    return re.sub(r'^include: "([^"]+)".*$', lambda m: (ROOT / m.group(1)).read_text(), text,
                  flags=re.M)


def test_stages_appear_in_analysis_order_in_the_workflow():
    text = _workflow_text()
    positions = [text.index(f"\nrule {stage}:") for stage in STAGES]
    assert positions == sorted(positions)


def test_the_snakefile_is_a_table_of_contents():
    text = (ROOT / "Snakefile").read_text()
    assert re.findall(r"^rule (\w+):", text, flags=re.M) == ["all"]
    assert len(re.findall(r'^include: "rules/\w+\.smk"', text, flags=re.M)) >= 5
    assert "lambda" not in _workflow_text()


def test_every_rule_script_is_thin_and_calls_the_study_or_the_kit():
    for script in sorted((ROOT / "scripts").glob("[a-z]*.py")):
        code = [line for line in script.read_text().splitlines()
                if line.strip() and not line.lstrip().startswith(("#", '"""'))]
        assert len(code) <= 30, f"{script.name} holds logic; move it into analysis/"
        assert re.search(r"^from (analysis|paperkit)\.", script.read_text(), re.M), script.name


def test_every_rule_has_a_log_and_a_conda_environment():
    text = _workflow_text()
    for block in re.split(r"\n(?=rule \w+:)", text)[1:]:
        name = block.split(":", 1)[0].removeprefix("rule ")
        if not re.search(r"\n    (script|shell|run|notebook|wrapper):", block):
            continue  # a target rule (all, paper_inputs) only names files; it runs nothing
        assert "\n    log:" in block, f"rule {name} has no log"
        assert "\n    conda:" in block, f"rule {name} has no conda environment"


def test_the_code_base_is_ruff_clean():
    import sys
    from pathlib import Path

    ruff = Path(sys.executable).with_name("ruff")
    proc = subprocess.run([str(ruff), "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout
