"""Rule trace: the records of every number and claim of the text (tooltips and appendix)."""

from paperkit.warm import handoff

smk = snakemake  # noqa: F821 - injected by Snakemake
handoff(smk)  # in a warm worker's fork when the build has one (paperkit/warm.py)

from paperkit.rules import run
from paperkit.trace import write_traces

run(smk, write_traces, article=smk.input.article, numbers_path=smk.input.numbers,
    variables_path=smk.input.variables, claims_report=smk.input.claims,
    sections=smk.params.sections, gatherer=smk.params.gatherer, rules=smk.params.rules,
    out_dir=smk.output.tables, records=smk.output.records)
