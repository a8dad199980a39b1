"""Rule model_table: the seven models side by side (reads only the fitted results)."""


from analysis.survey.model_table import make_model_table
from paperkit.rules import run

smk = snakemake  # noqa: F821 - injected by Snakemake
run(smk, make_model_table, models_json=smk.input.results, out_dir=smk.output[0])
