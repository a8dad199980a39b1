"""The workflow itself: lint-clean, stages named as the analysis is, thin rules."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

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


KIT = ROOT / "paperkit" / "workflow"


def _workflow_text() -> str:
    """The Snakefile with its includes expanded in place and paperkit's module after it,
    as Snakemake reads them."""
    def expand(text: str, base: Path) -> str:
        return re.sub(r'^include: "([^"]+)".*$',
                      lambda m: expand((base / m.group(1)).read_text(), base), text, flags=re.M)

    return expand((ROOT / "Snakefile").read_text(), ROOT) + expand(
        (KIT / "paper.smk").read_text(), KIT)


def test_stages_appear_in_analysis_order_in_the_workflow():
    text = _workflow_text()
    positions = [text.index(f"\nrule {stage}:") for stage in STAGES]
    assert positions == sorted(positions)


def test_the_snakefile_is_a_table_of_contents():
    text = (ROOT / "Snakefile").read_text()
    assert re.findall(r"^rule (\w+):", text, flags=re.M) == []
    assert len(re.findall(r'^include: "rules/\w+\.smk"', text, flags=re.M)) >= 5
    assert re.search(r"^use rule \* from paper$", text, flags=re.M)
    assert "lambda" not in _workflow_text()


def test_the_paper_rules_live_in_the_kit_not_in_the_study():
    study = "\n".join(p.read_text() for p in sorted((ROOT / "rules").glob("*.smk")))
    for rule in ("notebook", "stage_paper", "variables", "check_numbers", "check_claims",
                 "provenance", "manuscript", "paper_inputs", "all"):
        assert f"\nrule {rule}:" not in study, rule
        assert f"\nrule {rule}:" in (KIT / "paper.smk").read_text(), rule
    example = (ROOT / "examples/minimal-paper/Snakefile").read_text()
    assert "use rule * from paper" in example and "PAPERKIT_WORKFLOW" in example


def test_the_study_keeps_no_hand_list_of_paths_for_the_paper():
    common = (ROOT / "rules/common.smk").read_text()
    for name in ("NOTEBOOK_INPUTS", "TABLE_DIRS", "RESULTS", "PAPER_SOURCES"):
        assert name not in common, name


def test_every_rule_script_is_thin_and_calls_the_study_or_the_kit():
    for script in sorted([*(ROOT / "scripts").glob("[a-z]*.py"),
                          *(KIT / "scripts").glob("[a-z]*.py")]):
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


def test_loading_the_workflow_imports_no_data_analysis_library():
    """Every Snakemake start (a no-op `make paper` too) loads the workflow: what its rule
    files import must not bring pandas, numpy or scipy (the rules' own processes do)."""
    modules = sorted({m for smk in [ROOT / "Snakefile", *sorted((ROOT / "rules").glob("*.smk")),
                                    *sorted((ROOT / "paperkit/workflow").glob("*.smk"))]
                      for m in re.findall(r"^from ([\w.]+) import", smk.read_text(), re.M)})
    assert "analysis.robustness.grid" in modules
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + (
        "print(' '.join(m for m in ('pandas', 'numpy', 'scipy', 'matplotlib') "
        "if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    assert proc.stdout.split() == [], f"the workflow's imports load {proc.stdout.strip()}"
