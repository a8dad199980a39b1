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
        overlap=rules.overlap.output.results,
        residents=rules.residents.output.results,
        robustness="results/robustness/summary.json",
        published=PATHS["published_values"],
        code=code("numbers"),
    output:
        numbers="results/numbers.json",
        variables="build/paper/_variables.yml",
    params:
        settings=config["numbers"],
        fidelity=config["fidelity"],
    log:
        "logs/numbers.log",
    conda:
        "../envs/manuscript.yaml"
    script:
        script_of("numbers")


rule appendix_tables:
    message:
        "tables: appendix tables (codebooks, exclusion flow, fidelity, SE conventions, software)"
    input:
        numbers=rules.numbers.output.numbers,
        codebook=PATHS["survey_codebook"],
        civilized_codebook=config["civilized"]["codebook"],
        flow=rules.clean.output.flow,
        code=code("appendix_tables"),
    output:
        directory("results/tables/appendix"),
    params:
        # the model coefficients whose SEs the variance table compares
        key_terms=list(config["fidelity"]["terms"].values()),
    log:
        "logs/appendix_tables.log",
    conda:
        "../envs/manuscript.yaml"
    script:
        script_of("appendix_tables")


rule provenance:
    message:
        "tables: provenance of every figure and table (from the workflow's rules)"
    input:
        article="paper/index.qmd",
        notebooks=expand("notebooks/{name}.ipynb", name=NOTEBOOK_INPUTS),
        code=code("provenance"),
    output:
        directory("results/tables/provenance"),
    params:
        rules=workflow_rules,
    log:
        "logs/provenance.log",
    conda:
        "../envs/manuscript.yaml"
    script:
        script_of("provenance")
