"""Rule figures_civilized: overlap heatmap and interview themes (reads only the tallies)."""

from paperkit.warm import handoff

smk = snakemake  # noqa: F821 - injected by Snakemake
handoff(smk)  # in a warm worker's fork when the build has one (paperkit/warm.py)

from analysis.figures.civilized import make_civilized_figures
from paperkit.rules import run

run(smk, make_civilized_figures, overlap_json=smk.input.overlap,
    residents_json=smk.input.residents, out_dir=smk.output[0])
