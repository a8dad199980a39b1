"""Rule paper: variables, number and claim checks, and the rendered paper."""

from paperkit.publish import publish
from paperkit.rules import run

smk = snakemake  # noqa: F821 - injected by Snakemake
run(smk, publish, paper_dir="paper", numbers=smk.input.numbers, formats=list(smk.params.formats),
    build_dir="build/paper", rules=smk.params.formats_by_key, assets=[smk.input.figure])
