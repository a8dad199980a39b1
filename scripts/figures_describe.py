"""Rule figures_describe: figures of the descriptive results (reads only the results file)."""


from analysis.figures.describe import make_descriptive_figures
from paperkit.rules import run

smk = snakemake  # noqa: F821 - injected by Snakemake
run(smk, make_descriptive_figures, descriptives_json=smk.input.results, out_dir=smk.output[0])
