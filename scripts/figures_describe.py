"""Rule figures_describe: figures of the descriptive results (reads only the results file)."""

from paperkit.warm import handoff

smk = snakemake  # noqa: F821 - injected by Snakemake
handoff(smk)  # in a warm worker's fork when the build has one (paperkit/warm.py)

from analysis.figures.describe import make_descriptive_figures
from paperkit.rules import run

run(smk, make_descriptive_figures, descriptives_json=smk.input.results, out_dir=smk.output[0])
