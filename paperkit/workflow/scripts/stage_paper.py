"""Rule stage_paper: copy the manuscript's sources into the stage, where it is rendered."""

from paperkit.notebooks import stage_sources
from paperkit.rules import run

smk = snakemake  # noqa: F821 - injected by Snakemake
run(smk, stage_sources, sources=list(smk.input.sources), targets=list(smk.output))
