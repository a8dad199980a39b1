"""paperkit's paper half of a workflow: notebooks -> stage -> variables -> checks ->
provenance -> manuscript, with `paper_inputs` (Quarto's pre-render hook) and `all`.

Included by a study's Snakefile as a module configured by its `paper:` section (schema
and defaults: paperkit/workflow/schema.yaml); see paperkit/workflow/__init__.py. Every
input is derived: notebook inputs from the notebooks' cells, sources from the manuscript
folder, code inputs from the scripts' imports, `all` from the rules' outputs.
"""

include: "common.smk"


# Every rule here takes seconds: on a cluster they run where Snakemake runs.
localrules:
    all,
    notebook,
    stage_paper,
    variables,
    check_numbers,
    check_claims,
    provenance,
    trace,
    manuscript,
    paper_inputs,


# Every output of every rule: a missing intermediate file (one Snakemake deleted after a
# failed job, say) is rebuilt with what depends on it, never taken as up to date.
rule all:
    default_target: True
    input:
        every_output,


rule notebook:
    message:
        "paper: executing notebook {wildcards.name}"
    input:
        notebook=f"{PAPER['notebooks']}/{{name}}.ipynb",
        results=notebook_reads,
        code=notebook_code,
    output:
        f"{STAGE}/notebooks/{{name}}.ipynb",
    log:
        "logs/notebook_{name}.log",
    conda:
        "envs/paper.yaml"
    script:
        "scripts/notebook.py"


rule stage_paper:
    message:
        f"paper: staging the sources of {PAPER['source']}/ in {STAGE}/"
    input:
        sources=expand("{source}/{file}", source=PAPER["source"], file=SOURCES),
        code=code("stage_paper"),
    output:
        expand("{stage}/{file}", stage=STAGE, file=SOURCES),
    log:
        "logs/stage_paper.log",
    conda:
        "envs/paper.yaml"
    script:
        "scripts/stage_paper.py"


rule variables:
    message:
        "paper: formatting every quoted value into the variables file"
    input:
        numbers=PAPER["numbers"],
        code=code("variables"),
    output:
        VARIABLES,
    params:
        formats=PAPER["number_formats"],
    log:
        "logs/variables.log",
    conda:
        "envs/paper.yaml"
    script:
        "scripts/variables.py"


rule check_numbers:
    message:
        "paper: checking that every number in the prose comes from the pipeline"
    input:
        # The sources the author edits, so that every message names them, not the staged
        # copy; the notebooks, whose captions the paper prints, are checked too.
        article=f"{PAPER['source']}/{PAPER['article']}",
        sources=expand("{source}/{file}", source=PAPER["source"], file=SOURCES),
        notebooks=expand("{folder}/{name}.ipynb", folder=PAPER["notebooks"], name=NOTEBOOKS),
        variables=VARIABLES,
        code=code("check_numbers"),
    output:
        f"{PAPER['checks']}/numbers.json",
    log:
        "logs/check_numbers.log",
    conda:
        "envs/paper.yaml"
    script:
        "scripts/check_numbers.py"


# The claims' check and the trace are the chain from an edit of the text to the rendering
# (check_claims -> trace -> appendix notebook -> manuscript): run before other ready jobs.
rule check_claims:
    message:
        "paper: checking every claim of the text against the results"
    priority: 1
    input:
        article=f"{PAPER['source']}/{PAPER['article']}",
        sources=expand("{source}/{file}", source=PAPER["source"], file=SOURCES),
        numbers=PAPER["numbers"],
        # the values the claims' sentences print: formatted before the claims are judged
        variables=VARIABLES,
        code=code("check_claims"),
    output:
        f"{PAPER['checks']}/claims.json",
    log:
        "logs/check_claims.log",
    conda:
        "envs/paper.yaml"
    script:
        "scripts/check_claims.py"


rule provenance:
    message:
        "paper: provenance of every figure and table (from the workflow's rules)"
    input:
        article=f"{PAPER['source']}/{PAPER['article']}",
        sources=expand("{source}/{file}", source=PAPER["source"], file=SOURCES),
        notebooks=expand("{folder}/{name}.ipynb", folder=PAPER["notebooks"], name=NOTEBOOKS),
        code=code("provenance"),
    output:
        directory(PAPER["provenance"]),
    params:
        rules=rule_table,
    log:
        "logs/provenance.log",
    conda:
        "envs/paper.yaml"
    script:
        "scripts/provenance.py"


rule trace:
    message:
        "paper: where every number and claim of the text comes from"
    priority: 1
    input:
        article=f"{PAPER['source']}/{PAPER['article']}",
        numbers=PAPER["numbers"],
        variables=VARIABLES,
        claims=rules.check_claims.output[0],
        # every data file a number's record shows the checksum of
        data=data_inputs,
        code=code("trace"),
    output:
        tables=directory(PAPER["traces"]),
        records=TRACES,
    params:
        sections=number_sections,
        gatherer=numbers_rule,
        rules=rule_table,
    log:
        "logs/trace.log",
    conda:
        "envs/paper.yaml"
    script:
        "scripts/trace.py"


rule manuscript:
    message:
        "paper: rendering {params.formats}"
    input:
        article=f"{PAPER['source']}/{PAPER['article']}",
        # the allowlist and claims beside the article, read by the HTML's number check
        sources=expand("{source}/{file}", source=PAPER["source"], file=SOURCES),
        staged=rules.stage_paper.output,
        variables=VARIABLES,
        traces=TRACES,
        notebooks=expand("{stage}/notebooks/{name}.ipynb", stage=STAGE, name=NOTEBOOKS),
        assets=assets,
        checks=[rules.check_numbers.output[0], rules.check_claims.output[0]],
        code=code("manuscript"),
    output:
        pk.manuscript_outputs(PAPER),
    params:
        formats=PAPER["formats"],
        engine=PAPER["engine"],
        source_date_epoch=PAPER["source_date_epoch"],
    log:
        "logs/manuscript.log",
    conda:
        "envs/paper.yaml"
    script:
        "scripts/manuscript.py"


# What `quarto render` / `quarto preview` need before Quarto runs: the staged project with
# the variables and executed notebooks, checked (the pre-render hook, paperkit.quarto).
rule paper_inputs:
    input:
        rules.stage_paper.output,
        VARIABLES,
        TRACES,
        expand("{stage}/notebooks/{name}.ipynb", stage=STAGE, name=NOTEBOOKS),
        rules.check_numbers.output,
        rules.check_claims.output,


# Before any job is planned: a killed build's lock released, raw data verified, inputs
# whose content changed marked as new (paperkit/preflight.py). The study includes this
# module after its own rules, so every rule is known here.
pk.preflight_workflow(workflow, PAPER)
