"""Rule figures_themes: barrier chart and co-occurrence heatmap (reads only the tallies)."""


from analysis.figures.themes import make_theme_figures
from paperkit.rules import run

smk = snakemake  # noqa: F821 - injected by Snakemake
run(smk, make_theme_figures, themes_json=smk.input.results, out_dir=smk.output[0])
