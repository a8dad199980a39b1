"""Rule figures_models: coefficient and predicted-probability plots (no refitting)."""

from paperkit.warm import handoff

smk = snakemake  # noqa: F821 - injected by Snakemake
handoff(smk)  # in a warm worker's fork when the build has one (paperkit/warm.py)

from analysis.figures.models import make_model_figures
from paperkit.rules import run

run(smk, make_model_figures, models_json=smk.input.results, out_dir=smk.output[0],
    codebook=smk.input.codebook)
