"""Settings and derived inputs of paperkit's paper rules (paper.smk): the validated
`paper:` section, and the functions that derive inputs from the workflow and documents."""

import paperkit.workflow as pk

PAPER = pk.validate(config)
ROOT = workflow.basedir
STAGE = PAPER["stage"]
SOURCES = pk.paper_sources(PAPER)
NOTEBOOKS = pk.notebook_names(PAPER)
VARIABLES = f"{STAGE}/_variables.yml"
TRACES = f"{STAGE}/_traces.json"  # each number's record, read by the HTML's tooltips


def code(name, *documents):
    """Every project file the rule's script runs or reads: derived from its imports."""
    return pk.code(pk.HERE / "scripts" / f"{name}.py", ROOT, PAPER["code_packages"], *documents)


def outputs():
    return pk.rule_outputs(workflow.rules)


def notebook_reads(wildcards):
    """The results the notebook's cells read, from the rules that write them."""
    return pk.notebook_reads(f"{PAPER['notebooks']}/{wildcards.name}.ipynb", outputs())


def notebook_code(wildcards):
    return code("notebook", f"{PAPER['notebooks']}/{wildcards.name}.ipynb")


def assets(wildcards):
    """Pipeline files the article shows directly (images)."""
    return pk.article_assets(PAPER, outputs())


def every_output(wildcards):
    return pk.all_outputs(workflow.rules)


def rule_table(wildcards):
    return pk.rule_table(workflow.rules, ROOT, PAPER["code_packages"])


def number_sections(wildcards):
    """Each section of the numbers file and the file it comes from."""
    return pk.numbers_producer(workflow.rules, PAPER["numbers"])[1]


def numbers_rule(wildcards):
    """The rule that writes the numbers file (it computes what no input holds)."""
    return pk.numbers_producer(workflow.rules, PAPER["numbers"])[0]


def data_inputs(wildcards):
    """Every data file a rule that computes numbers reads, as the number records list them
    with their checksums (the render and trace rules themselves aside)."""
    table = pk.rule_table(workflow.rules, ROOT, PAPER["code_packages"])
    skip = {"trace", "manuscript", "paper_inputs", "all"}
    return sorted({f for name, rule in table.items() if name not in skip
                   for f in rule["inputs"]})
