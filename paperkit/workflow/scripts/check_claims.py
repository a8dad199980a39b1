"""Rule check_claims: stop when a claim of the text is not supported by the results."""

from paperkit.checks import check_claims
from paperkit.rules import run

smk = snakemake  # noqa: F821 - injected by Snakemake
run(smk, check_claims, article=smk.input.article, numbers=smk.input.numbers,
    report=smk.output[0])
