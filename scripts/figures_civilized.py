"""Rule figures_civilized: overlap heatmap and interview themes (reads only the tallies)."""


from analysis.figures.civilized import make_civilized_figures
from paperkit.rules import run

smk = snakemake  # noqa: F821 - injected by Snakemake
run(smk, make_civilized_figures, overlap_json=smk.input.overlap,
    residents_json=smk.input.residents, out_dir=smk.output[0])
