"""Shared settings and helpers of the workflow: the validated config, output lists,
and the derivation of each rule's code inputs."""

import os
from operator import attrgetter
from pathlib import Path

from analysis.project import PROJECT_ROOT, REGISTER_COMMAND, configure_workflow
from paperkit.freshness import clear_out_of_date, mark_paper_out_of_date
from paperkit.preflight import preflight, workflow_outputs
from paperkit.deps import code_closure
from paperkit.render import EXTENSIONS

# The config is read strictly (a duplicate key is an error), its defaults come from
# config/schema.yaml, and it is validated once, here, naming file, key and rule.
configure_workflow(config, workflow.config_settings.overwrite_config)

PATHS = config["paths"]
FORMATS = config["manuscript"]["formats"]
FIRST_PARTY = ("analysis", "paperkit")

# Results each notebook of the manuscript reads.
NOTEBOOK_INPUTS = {
    "survey": ["results/descriptives.json", "results/cleaning.json", "results/weighting.json", "figures/describe"],
    "models": ["results/models.json", "results/tables/models", "figures/models"],
    "interviews": ["results/themes.json", "results/tables/themes", "figures/themes"],
    "civilized": [
        "results/overlap.json", "results/residents.json", "results/tables/overlap",
        "results/tables/residents", "figures/civilized",
    ],
    "appendix": ["results/tables/appendix", "results/tables/provenance"],
}
TABLE_DIRS = [
    "results/tables/describe",
    "results/tables/models",
    "results/tables/themes",
    "results/tables/overlap",
    "results/tables/residents",
    "results/tables/appendix",
    "results/tables/provenance",
]
RESULTS = [
    "results/survey_clean.parquet",
    "results/exclusion_log.csv",
    "results/cleaning.json",
    "results/weights.parquet",
    "results/weighting.json",
    "results/descriptives.json",
    "results/models.json",
    "results/themes.json",
    "results/overlap.json",
    "results/residents.json",
    "results/numbers.json",
    *TABLE_DIRS[:6],
    "figures/describe",
    "figures/models",
    "figures/themes",
    "figures/civilized",
]
PAPER_SOURCES = [
    "index.qmd",
    "_quarto.yml",
    "references.bib",
    "claims.yml",
    "_number_allowlist.yml",
    "header.typ",
    "appendix.lua",
    "_prerender.py",
]


def script_of(name):
    """Path of a script in scripts/, as seen from the files in rules/ (the directive is relative)."""
    return f"../scripts/{name}.py"


def code(name, *documents):
    """Every project file the rule's script runs or reads: derived from its imports."""
    return code_closure([f"scripts/{name}.py", *documents], workflow.basedir, FIRST_PARTY)


def manuscript_outputs():
    """The rendered paper in every configured format."""
    return [f"build/paper/_manuscript/index.{EXTENSIONS[f]}" for f in FORMATS]


def done_message(target_rules):
    """What a finished run made: the paper, or (for `paper_inputs`, as `make preview` and
    Quarto's pre-render hook run it, or any other target) only what was asked for."""
    if {"all", "manuscript"} & set(target_rules):
        clear_out_of_date(Path(manuscript_outputs()[0]).parent)  # the paper is current
        return ("\nDone. The paper is in build/paper/_manuscript/ ("
                + ", ".join(Path(p).name for p in manuscript_outputs())
                + "); results in results/, figures in figures/.")
    if "paper_inputs" in target_rules:
        return ("\nDone. The paper's inputs (variables, tables, executed notebooks) are staged "
                "in build/paper/; the paper itself was not rendered (`make paper` renders it).")
    return f"\nDone: {', '.join(sorted(target_rules))}. The paper itself was not a target."


def notebook_inputs(wildcards):
    """Results read by the notebook being executed."""
    return NOTEBOOK_INPUTS[wildcards.name]


def notebook_code(wildcards):
    """Project modules the notebook imports."""
    return code("notebook", f"notebooks/{wildcards.name}.ipynb")


def workflow_rules(wildcards):
    """The DAG as plain data for the provenance table: each rule's outputs, script and code."""
    return {
        r.name: {
            "outputs": sorted(str(f) for f in r.output),
            "script": os.path.normpath(os.path.join("rules", r.script)) if r.script else "",
            "code": sorted(
                str(f) for f in r.input if isinstance(f, str) and f.startswith(FIRST_PARTY)
            ),
        }
        for r in sorted(workflow.rules, key=attrgetter("name"))
    }


def preflight_workflow():
    """Before any job (in the main Snakemake process only): raw data verified (every file
    under the manifest's folder, so an unregistered change anywhere stops the build), and
    every output not built from the current content rebuilt (paperkit/preflight.py)."""
    if not workflow.is_main_process:
        return
    manifest = Path(PATHS["raw_manifest"])
    raw = [p.as_posix() for p in manifest.parent.rglob("*") if p.is_file() and p != manifest]
    preflight(PROJECT_ROOT, raw, PATHS["raw_manifest"], REGISTER_COMMAND,
              outputs=workflow_outputs(workflow.rules), paper=manuscript_outputs())


def paper_out_of_date():
    """After a failed build: the paper in build/paper/_manuscript/ may not match."""
    mark_paper_out_of_date(PROJECT_ROOT, manuscript_outputs(),
                           "see the build's message and logs/")
