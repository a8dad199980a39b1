"""Rule check_claims: fail when a claim of the text is not supported by the results."""


from paperkit.claims import main
from paperkit.rules import run_cli

smk = snakemake  # noqa: F821 - injected by Snakemake
run_cli(
    smk,
    main,
    [smk.input.article, smk.input.claims, smk.input.numbers, "--report", smk.output[0]],
)
