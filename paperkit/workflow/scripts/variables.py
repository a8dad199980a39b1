"""Rule variables: every value of the numbers file, formatted for the prose."""

from paperkit.rules import run
from paperkit.variables import write_variables

smk = snakemake  # noqa: F821 - injected by Snakemake
run(smk, write_variables, numbers_path=smk.input.numbers, rules=list(smk.params.formats),
    out_variables=smk.output[0])
