"""Rule check_claims: stop when a claim of the text is not supported by the results."""

from paperkit.warm import handoff

smk = snakemake  # noqa: F821 - injected by Snakemake
handoff(smk)  # in a warm worker's fork when the build has one (paperkit/warm.py)

from paperkit.checks import check_claims
from paperkit.rules import run

run(smk, check_claims, article=smk.input.article, numbers=smk.input.numbers,
    report=smk.output[0])
