"""Rule figures_themes: barrier chart and co-occurrence heatmap (reads only the tallies)."""

from paperkit.warm import handoff

smk = snakemake  # noqa: F821 - injected by Snakemake
handoff(smk)  # in a warm worker's fork when the build has one (paperkit/warm.py)

from analysis.figures.themes import make_theme_figures
from paperkit.rules import run

run(smk, make_theme_figures, themes_json=smk.input.results, out_dir=smk.output[0])
