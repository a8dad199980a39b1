# ---------------------------------------------------------------- figures and tables (cheap)
rule figures_describe:
    message:
        "figures: descriptive figures"
    input:
        results=rules.describe.output.results,
        code=code("figures_describe"),
    output:
        report(directory("figures/describe"), patterns=["{name}.png"], category="Survey: descriptive figures"),
    log:
        "logs/figures_describe.log",
    conda:
        "../envs/figures.yaml"
    script:
        script_of("figures_describe")


rule model_table:
    message:
        "tables: the seven models side by side"
    input:
        results=rules.model.output.results,
        code=code("model_table"),
    output:
        directory("results/tables/models"),
    log:
        "logs/model_table.log",
    conda:
        "../envs/figures.yaml"
    script:
        script_of("model_table")


rule figures_models:
    message:
        "figures: coefficient and predicted-probability plots"
    input:
        results=rules.model.output.results,
        codebook=PATHS["survey_codebook"],
        code=code("figures_models"),
    output:
        report(directory("figures/models"), patterns=["{name}.png"], category="Survey: model figures"),
    log:
        "logs/figures_models.log",
    conda:
        "../envs/figures.yaml"
    script:
        script_of("figures_models")


rule figures_themes:
    message:
        "figures: interview barriers and co-occurrence"
    input:
        results=rules.themes.output.results,
        code=code("figures_themes"),
    output:
        report(directory("figures/themes"), patterns=["{name}.png"], category="Interviews: figures"),
    log:
        "logs/figures_themes.log",
    conda:
        "../envs/figures.yaml"
    script:
        script_of("figures_themes")


rule figures_civilized:
    message:
        "figures: overlap by NCCA category and dimension; interview themes of design C"
    input:
        overlap=rules.overlap.output.results,
        residents=rules.residents.output.results,
        code=code("figures_civilized"),
    output:
        report(directory("figures/civilized"), patterns=["{name}.png"], category="Civilized cities: figures"),
    log:
        "logs/figures_civilized.log",
    conda:
        "../envs/figures.yaml"
    script:
        script_of("figures_civilized")
