# ---------------------------------------------------------------- numbers
rule numbers:
    message:
        "numbers: gathering every value the paper quotes into the numbers file"
    # Each named input becomes the section of the numbers file of that name (paperkit's
    # `trace` rule follows a number back through it to the rule that computed it).
    input:
        cleaning=rules.clean.output.flow,
        weighting=rules.weight.output.diagnostics,
        survey=rules.describe.output.results,
        models=rules.model.output.results,
        interviews=rules.themes.output.results,
        overlap=rules.overlap.output.results,
        residents=rules.residents.output.results,
        robustness=rules.robustness_summary.output.summary,
        published=PATHS["published_values"],
        code=code("numbers"),
    output:
        numbers=config["paper"]["numbers"],
    params:
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
