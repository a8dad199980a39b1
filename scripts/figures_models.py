"""Rule figures_models: coefficient and predicted-probability plots (no refitting)."""


from analysis.figures.models import make_model_figures
from paperkit.rules import run

smk = snakemake  # noqa: F821 - injected by Snakemake
run(smk, make_model_figures, models_json=smk.input.results, out_dir=smk.output[0],
    codebook=smk.input.codebook)
