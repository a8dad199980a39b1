"""From raw survey and interview data to the rendered manuscript.

Read top to bottom, the rules are the table of contents of the analysis:
clean -> weight -> describe -> model -> themes -> figures -> numbers -> manuscript.
Rules are thin: each calls one function of the `analysis` package through a
short script in scripts/. Expensive steps (model fits) are separate from cheap
ones (figures, tables), so restyling a figure never refits a model.
"""

from snakemake.utils import min_version, validate

from analysis.project import validate_config

min_version("9.0")


configfile: "config/config.yaml"


# The project's validator names the file, the key path and the rule of every error;
# Snakemake's own check (same schema) then fills in nothing else, as there are no defaults.
validate_config(config, source="config/config.yaml")
validate(config, "config/schema.yaml")

PATHS = config["paths"]
FORMATS = config["manuscript"]["formats"]
NOTEBOOKS = {
    "survey": ["results/descriptives.json", "results/cleaning.json", "results/weighting.json", "figures/describe"],
    "models": ["results/models.json", "results/tables/models", "figures/models"],
    "interviews": ["results/themes.json", "results/tables/themes", "figures/themes"],
}
RESULTS = [
    "results/survey_clean.parquet",
    "results/exclusion_log.csv",
    "results/cleaning.json",
    "results/weights.parquet",
    "results/weighting.json",
    "results/descriptives.json",
    "results/models.json",
    "results/themes.json",
    "results/numbers.json",
    "results/tables/describe",
    "results/tables/models",
    "results/tables/themes",
    "results/tables/appendix",
    "figures/describe",
    "figures/models",
    "figures/themes",
]
PAPER_SOURCES = ["index.qmd", "_quarto.yml", "references.bib", "claims.yml", "_number_allowlist.yml"]


onsuccess:
    print(
        "\nDone. The paper is in build/paper/_manuscript/ ("
        + ", ".join("index." + (f if f != "jats" else "xml") for f in FORMATS)
        + "); results in results/, figures in figures/."
    )


onerror:
    print("\nThe build stopped. The message above names the failing step; its log is in logs/.")


# Every results file is requested, not only the paper: a missing intermediate file (for
# example one Snakemake deleted after a failed job) is then rebuilt, and everything
# downstream of it with it, instead of being taken as up to date.
rule all:
    input:
        expand("build/paper/_manuscript/index.{fmt}", fmt=[f if f != "jats" else "xml" for f in FORMATS]),
        RESULTS,


# ---------------------------------------------------------------- survey: clean
rule clean:
    message:
        "clean: validating and cleaning the raw survey export {input.raw}"
    input:
        raw=PATHS["raw_survey"],
        codebook=PATHS["survey_codebook"],
        provinces=PATHS["provinces"],
        code=[
            "analysis/survey/cleaning.py",
            "analysis/survey/reader.py",
            "analysis/survey/validation.py",
            "analysis/survey/codebook.py",
            "paperkit/manifest.py",
        ],
    output:
        clean="results/survey_clean.parquet",
        exclusions="results/exclusion_log.csv",
        flow="results/cleaning.json",
    params:
        manifest=PATHS["raw_manifest"],
        rules=config["cleaning"],
    log:
        "logs/clean.log",
    conda:
        "envs/survey.yaml"
    script:
        "scripts/clean.py"


# ---------------------------------------------------------------- survey: weight
rule weight:
    message:
        "weight: raking the valid sample to the population margins (cap {params.settings[cap]})"
    input:
        clean=rules.clean.output.clean,
        targets=PATHS["population_targets"],
        code="analysis/survey/weighting.py",
    output:
        weights="results/weights.parquet",
        diagnostics="results/weighting.json",
    params:
        settings=config["weighting"],
    log:
        "logs/weight.log",
    conda:
        "envs/survey.yaml"
    script:
        "scripts/weight.py"


# ---------------------------------------------------------------- survey: describe
rule describe:
    message:
        "describe: weighted descriptive results"
    input:
        clean=rules.clean.output.clean,
        weights=rules.weight.output.weights,
        targets=PATHS["population_targets"],
        code="analysis/survey/describe.py",
    output:
        results="results/descriptives.json",
        tables=directory("results/tables/describe"),
    params:
        settings=config["describe"],
    log:
        "logs/describe.log",
    conda:
        "envs/survey.yaml"
    script:
        "scripts/describe.py"


# ---------------------------------------------------------------- survey: model (expensive)
rule model:
    message:
        "model: fitting the seven weighted ordered-logit models (expensive step)"
    input:
        clean=rules.clean.output.clean,
        weights=rules.weight.output.weights,
        code="analysis/survey/models.py",
    output:
        results="results/models.json",
    params:
        spec=config["models"],
    threads: 2
    resources:
        mem_mb=2000,
        runtime=30,
    log:
        "logs/model.log",
    conda:
        "envs/models.yaml"
    script:
        "scripts/model.py"


# ---------------------------------------------------------------- interviews: themes
rule themes:
    message:
        "themes: tallying interview barriers and intercoder reliability from {input.project}"
    input:
        project=PATHS["interviews"],
        codebook=config["themes"]["codebook"],
        code=["analysis/interviews/themes.py", "analysis/interviews/qdpx.py"],
    output:
        results="results/themes.json",
        tables=directory("results/tables/themes"),
    params:
        settings=config["themes"],
        manifest=PATHS["raw_manifest"],
    log:
        "logs/themes.log",
    conda:
        "envs/themes.yaml"
    script:
        "scripts/themes.py"


# ---------------------------------------------------------------- figures and tables (cheap)
rule figures_describe:
    message:
        "figures: descriptive figures"
    input:
        results=rules.describe.output.results,
        code="analysis/figures/describe.py",
    output:
        report(directory("figures/describe"), patterns=["{name}.png"], category="Survey: descriptive figures"),
    log:
        "logs/figures_describe.log",
    conda:
        "envs/figures.yaml"
    script:
        "scripts/figures_describe.py"


rule model_table:
    message:
        "tables: the seven models side by side"
    input:
        results=rules.model.output.results,
        code="analysis/survey/model_table.py",
    output:
        directory("results/tables/models"),
    log:
        "logs/model_table.log",
    conda:
        "envs/figures.yaml"
    script:
        "scripts/model_table.py"


rule figures_models:
    message:
        "figures: coefficient and predicted-probability plots"
    input:
        results=rules.model.output.results,
        code="analysis/figures/models.py",
    output:
        report(directory("figures/models"), patterns=["{name}.png"], category="Survey: model figures"),
    log:
        "logs/figures_models.log",
    conda:
        "envs/figures.yaml"
    script:
        "scripts/figures_models.py"


rule figures_themes:
    message:
        "figures: interview barriers and co-occurrence"
    input:
        results=rules.themes.output.results,
        code="analysis/figures/themes.py",
    output:
        report(directory("figures/themes"), patterns=["{name}.png"], category="Interviews: figures"),
    log:
        "logs/figures_themes.log",
    conda:
        "envs/figures.yaml"
    script:
        "scripts/figures_themes.py"


# ---------------------------------------------------------------- numbers
rule numbers:
    message:
        "numbers: writing the numbers file and the manuscript variables"
    input:
        cleaning=rules.clean.output.flow,
        weighting=rules.weight.output.diagnostics,
        descriptives=rules.describe.output.results,
        models=rules.model.output.results,
        themes=rules.themes.output.results,
        published=PATHS["published_values"],
        code=["analysis/paper/numbers.py", "paperkit/fidelity.py"],
    output:
        numbers="results/numbers.json",
        variables="build/paper/_variables.yml",
    params:
        settings=config["numbers"],
        fidelity=config["fidelity"],
    log:
        "logs/numbers.log",
    conda:
        "envs/manuscript.yaml"
    script:
        "scripts/numbers.py"


rule appendix_tables:
    message:
        "tables: appendix tables (codebook, exclusion flow, fidelity, software)"
    input:
        numbers=rules.numbers.output.numbers,
        codebook=PATHS["survey_codebook"],
        flow=rules.clean.output.flow,
        code="analysis/paper/appendix.py",
    output:
        directory("results/tables/appendix"),
    log:
        "logs/appendix_tables.log",
    conda:
        "envs/manuscript.yaml"
    script:
        "scripts/appendix_tables.py"


def describe_rules(rules):
    """The DAG as plain data for the provenance table: each rule's outputs, script and code."""
    return {
        r.name: {
            "outputs": sorted(str(f) for f in r.output),
            "script": str(r.script or ""),
            "code": sorted(str(f) for f in r.input if isinstance(f, str) and f.startswith("analysis/")),
        }
        for r in sorted(rules, key=lambda r: r.name)
    }


rule provenance:
    message:
        "tables: provenance of every figure and table (from the workflow's rules)"
    input:
        article="paper/index.qmd",
        notebooks=expand("paper/notebooks/{name}.ipynb", name=NOTEBOOKS),
        code="paperkit/provenance.py",
    output:
        directory("results/tables/provenance"),
    params:
        rules=lambda wildcards: describe_rules(workflow.rules),
    log:
        "logs/provenance.log",
    conda:
        "envs/manuscript.yaml"
    script:
        "scripts/provenance.py"


# ---------------------------------------------------------------- manuscript
rule notebook:
    message:
        "manuscript: executing notebook {wildcards.name}"
    input:
        notebook="paper/notebooks/{name}.ipynb",
        results=lambda wildcards: NOTEBOOKS[wildcards.name],
    output:
        "build/paper/notebooks/{name}.ipynb",
    log:
        "logs/notebook_{name}.log",
    conda:
        "envs/manuscript.yaml"
    script:
        "scripts/notebook.py"


rule stage_paper:
    message:
        "manuscript: staging the sources in build/paper"
    input:
        sources=expand("paper/{source}", source=PAPER_SOURCES),
        tables=[
            "results/tables/describe",
            "results/tables/models",
            "results/tables/themes",
            "results/tables/appendix",
            "results/tables/provenance",
        ],
    output:
        sources=expand("build/paper/{source}", source=PAPER_SOURCES),
        tables=directory("build/paper/_tables"),
    log:
        "logs/stage_paper.log",
    conda:
        "envs/manuscript.yaml"
    script:
        "scripts/stage_paper.py"


rule check_numbers:
    message:
        "manuscript: checking that every number in the prose comes from the pipeline"
    input:
        article="build/paper/index.qmd",
        allowlist="build/paper/_number_allowlist.yml",
        claims="build/paper/claims.yml",
        variables=rules.numbers.output.variables,
        code="paperkit/prose_check.py",
    output:
        "results/checks/numbers.json",
    log:
        "logs/check_numbers.log",
    conda:
        "envs/manuscript.yaml"
    script:
        "scripts/check_numbers.py"


rule check_claims:
    message:
        "manuscript: checking every claim of the text against the results"
    input:
        article="build/paper/index.qmd",
        claims="build/paper/claims.yml",
        numbers=rules.numbers.output.numbers,
        code="paperkit/claims.py",
    output:
        "results/checks/claims.json",
    log:
        "logs/check_claims.log",
    conda:
        "envs/manuscript.yaml"
    script:
        "scripts/check_claims.py"


rule manuscript:
    message:
        "manuscript: rendering {params.formats}"
    input:
        staged=rules.stage_paper.output,
        variables=rules.numbers.output.variables,
        notebooks=expand("build/paper/notebooks/{name}.ipynb", name=NOTEBOOKS),
        checks=[rules.check_numbers.output[0], rules.check_claims.output[0]],
        code="paperkit/render.py",
    output:
        expand("build/paper/_manuscript/index.{fmt}", fmt=[f if f != "jats" else "xml" for f in FORMATS]),
    params:
        formats=FORMATS,
        source_date_epoch=config["manuscript"]["source_date_epoch"],
    log:
        "logs/manuscript.log",
    conda:
        "envs/manuscript.yaml"
    script:
        "scripts/manuscript.py"
