# ---------------------------------------------------------------- survey: clean
rule clean:
    message:
        "clean: validating and cleaning the raw survey export {input.raw}"
    input:
        raw=PATHS["raw_survey"],
        codebook=PATHS["survey_codebook"],
        provinces=PATHS["provinces"],
        code=code("clean"),
    output:
        clean="results/survey_clean.parquet",
        exclusions="results/exclusion_log.csv",
        flow="results/cleaning.json",
    params:
        registered=registered_checksums(PATHS["raw_survey"]),
        rules=config["cleaning"],
    log:
        "logs/clean.log",
    conda:
        "../envs/survey.yaml"
    script:
        script_of("clean")


# ---------------------------------------------------------------- survey: weight
rule weight:
    message:
        "weight: raking the valid sample to the population margins (cap {params.settings[cap]})"
    input:
        clean=rules.clean.output.clean,
        targets=PATHS["population_targets"],
        code=code("weight"),
    output:
        weights="results/weights.parquet",
        diagnostics="results/weighting.json",
    params:
        # the raking settings only: the variance settings are for describe and model
        settings={k: v for k, v in config["weighting"].items() if k != "variance"},
    log:
        "logs/weight.log",
    conda:
        "../envs/survey.yaml"
    script:
        script_of("weight")


# ---------------------------------------------------------------- survey: describe
rule describe:
    message:
        "describe: weighted descriptive results"
    input:
        clean=rules.clean.output.clean,
        weights=rules.weight.output.weights,
        targets=PATHS["population_targets"],
        code=code("describe"),
    output:
        results="results/descriptives.json",
        tables=directory("results/tables/describe"),
    params:
        settings=config["describe"],
        weighting=config["weighting"],
        design=config["design"],
    log:
        "logs/describe.log",
    conda:
        "../envs/survey.yaml"
    script:
        script_of("describe")


# ---------------------------------------------------------------- survey: model (expensive)
rule model:
    message:
        "model: fitting the seven weighted ordered-logit models (expensive step)"
    input:
        clean=rules.clean.output.clean,
        weights=rules.weight.output.weights,
        code=code("model"),
    output:
        results="results/models.json",
    params:
        spec=config["models"],
        weighting=config["weighting"],
        design=config["design"],
    threads: config["resources"]["model"]["threads"]
    resources:
        mem_mb=config["resources"]["model"]["mem_mb"],
        runtime=config["resources"]["model"]["runtime"],
    log:
        "logs/model.log",
    conda:
        "../envs/models.yaml"
    script:
        script_of("model")
