"""Rule weight: rake the valid sample to the population margins, with the weight cap."""


from analysis.survey.weighting import weight_survey
from paperkit.rules import run

smk = snakemake  # noqa: F821 - injected by Snakemake
run(
    smk,
    weight_survey,
    clean_path=smk.input.clean,
    targets_path=smk.input.targets,
    settings=smk.params.settings,
    out_weights=smk.output.weights,
    out_diagnostics=smk.output.diagnostics,
)
