"""Rule model_table: the seven models side by side (reads only the fitted results)."""

from paperkit.warm import handoff

smk = snakemake  # noqa: F821 - injected by Snakemake
handoff(smk)  # in a warm worker's fork when the build has one (paperkit/warm.py)

from analysis.survey.model_table import make_model_table
from paperkit.rules import run

run(smk, make_model_table, models_json=smk.input.results, out_dir=smk.output[0])
