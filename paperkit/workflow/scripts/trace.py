"""Rule trace: the records of every number and claim of the text (tooltips and appendix)."""

from paperkit.rules import run
from paperkit.trace import write_traces

smk = snakemake  # noqa: F821 - injected by Snakemake
run(smk, write_traces, article=smk.input.article, numbers_path=smk.input.numbers,
    variables_path=smk.input.variables, claims_report=smk.input.claims,
    sections=smk.params.sections, gatherer=smk.params.gatherer, rules=smk.params.rules,
    out_dir=smk.output.tables, records=smk.output.records)
