"""Rule variables: every value of the numbers file, formatted for the prose."""

from paperkit.warm import handoff

smk = snakemake  # noqa: F821 - injected by Snakemake
handoff(smk)  # in a warm worker's fork when the build has one (paperkit/warm.py)

from paperkit.rules import run
from paperkit.variables import write_variables

run(smk, write_variables, numbers_path=smk.input.numbers, rules=list(smk.params.formats),
    out_variables=smk.output[0])
