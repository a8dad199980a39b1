"""Rule check_numbers: stop when the prose holds a number the pipeline did not produce."""

from paperkit.warm import handoff

smk = snakemake  # noqa: F821 - injected by Snakemake
handoff(smk)  # in a warm worker's fork when the build has one (paperkit/warm.py)

from paperkit.checks import check_numbers
from paperkit.rules import run

run(smk, check_numbers, article=smk.input.article, variables=smk.input.variables,
    report=smk.output[0], notebooks=list(smk.input.notebooks))
