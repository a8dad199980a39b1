# ---------------------------------------------------------------- number tracing
# Where every number of the text comes from (paperkit/trace.py): the records behind the
# HTML's data-var tooltips and the "Numbers and claims" appendix.
from analysis.paper.numbers import SECTION_FILES, SECTION_INPUTS


rule trace:
    message:
        "tables: where every number and claim of the text comes from"
    input:
        article="paper/index.qmd",
        numbers=rules.numbers.output.numbers,
        variables=rules.numbers.output.variables,
        claims=rules.check_claims.output[0],
        code=code("trace"),
    output:
        directory("results/tables/trace"),
    params:
        sections={
            **{s: str(getattr(rules.numbers.input, n)) for s, n in SECTION_INPUTS.items()},
            **{s: str(getattr(rules.numbers.input, n)) for s, n in SECTION_FILES.items()},
        },
        rules=workflow_rules,
    log:
        "logs/trace.log",
    conda:
        "../envs/manuscript.yaml"
    script:
        script_of("trace")
