"""Rule figures_robustness: specification curves (reads only the estimates file)."""

from paperkit.warm import handoff

smk = snakemake  # noqa: F821 - injected by Snakemake
handoff(smk)  # in a warm worker's fork when the build has one (paperkit/warm.py)

from analysis.figures.robustness import make_robustness_figures
from paperkit.rules import run

run(smk, make_robustness_figures, estimates_path=smk.input.estimates,
    cleaning_path=smk.input.cleaning, out_dir=smk.output[0])
