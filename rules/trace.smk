# ---------------------------------------------------------------- number tracing
# Where every number of the text comes from (paperkit/trace.py): the records behind the
# HTML's data-var tooltips and the "Numbers and claims" appendix.
from analysis.paper.numbers import SECTION_FILES, SECTION_INPUTS
from paperkit.render import clear_earlier_run  # Snakefile's onerror: no stale paper


def traced_rules(wildcards):
    """Each rule's outputs, script and data inputs (not code), for the number records."""
    return {
        r.name: {
            "outputs": sorted(str(f) for f in r.output),
            "script": os.path.normpath(os.path.join("rules", r.script)) if r.script else "",
            "inputs": sorted(
                str(f) for f in r.input
                if isinstance(f, str) and not str(f).startswith((*FIRST_PARTY, "scripts/"))
                and "{" not in str(f)
            ),
        }
        for r in sorted(workflow.rules, key=attrgetter("name"))
    }


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
        rules=traced_rules,
    log:
        "logs/trace.log",
    conda:
        "../envs/manuscript.yaml"
    script:
        script_of("trace")
