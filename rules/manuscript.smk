# ---------------------------------------------------------------- manuscript
rule notebook:
    message:
        "manuscript: executing notebook {wildcards.name}"
    input:
        notebook="notebooks/{name}.ipynb",
        results=notebook_inputs,
        code=notebook_code,
    output:
        "build/paper/notebooks/{name}.ipynb",
    log:
        "logs/notebook_{name}.log",
    conda:
        "../envs/manuscript.yaml"
    script:
        script_of("notebook")


rule stage_paper:
    message:
        "manuscript: staging the sources in build/paper"
    input:
        sources=expand("paper/{source}", source=PAPER_SOURCES),
        tables=TABLE_DIRS,
        code=code("stage_paper"),
    output:
        sources=expand("build/paper/{source}", source=PAPER_SOURCES),
        tables=directory("build/paper/_tables"),
    log:
        "logs/stage_paper.log",
    conda:
        "../envs/manuscript.yaml"
    script:
        script_of("stage_paper")


rule check_numbers:
    message:
        "manuscript: checking that every number in the prose comes from the pipeline"
    input:
        # The sources the author edits, so that every message names paper/..., not the
        # staged copy; the notebooks, whose captions the paper prints, are checked too.
        article="paper/index.qmd",
        allowlist="paper/_number_allowlist.yml",
        claims="paper/claims.yml",
        notebooks=expand("notebooks/{name}.ipynb", name=NOTEBOOK_INPUTS),
        variables=rules.numbers.output.variables,
        code=code("check_numbers"),
    output:
        "results/checks/numbers.json",
    log:
        "logs/check_numbers.log",
    conda:
        "../envs/manuscript.yaml"
    script:
        script_of("check_numbers")


rule check_claims:
    message:
        "manuscript: checking every claim of the text against the results"
    input:
        article="paper/index.qmd",
        claims="paper/claims.yml",
        numbers=rules.numbers.output.numbers,
        code=code("check_claims"),
    output:
        "results/checks/claims.json",
    log:
        "logs/check_claims.log",
    conda:
        "../envs/manuscript.yaml"
    script:
        script_of("check_claims")


rule manuscript:
    message:
        "manuscript: rendering {params.formats}"
    input:
        staged=rules.stage_paper.output,
        variables=rules.numbers.output.variables,
        notebooks=expand("build/paper/notebooks/{name}.ipynb", name=NOTEBOOK_INPUTS),
        checks=[rules.check_numbers.output[0], rules.check_claims.output[0]],
        code=code("manuscript"),
    output:
        manuscript_outputs(),
    params:
        formats=FORMATS,
        engine=config["manuscript"]["engine"],
        source_date_epoch=config["manuscript"]["source_date_epoch"],
    log:
        "logs/manuscript.log",
    conda:
        "../envs/manuscript.yaml"
    script:
        script_of("manuscript")


# What `quarto render paper` / `quarto preview paper` need before Quarto runs: the staged
# project with variables, tables and executed notebooks, checked (paper/_prerender.py).
rule paper_inputs:
    input:
        rules.stage_paper.output,
        rules.numbers.output.variables,
        expand("build/paper/notebooks/{name}.ipynb", name=NOTEBOOK_INPUTS),
        rules.check_numbers.output,
        rules.check_claims.output,
