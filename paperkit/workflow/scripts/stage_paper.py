"""Rule stage_paper: copy the manuscript's sources into the stage, where it is rendered."""

from paperkit.warm import handoff

smk = snakemake  # noqa: F821 - injected by Snakemake
handoff(smk)  # in a warm worker's fork when the build has one (paperkit/warm.py)

from paperkit.notebooks import stage_sources
from paperkit.rules import run

run(smk, stage_sources, sources=list(smk.input.sources), targets=list(smk.output))
