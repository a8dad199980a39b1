"""Rule weight: rake the valid sample to the population margins, with the weight cap."""

from paperkit.warm import handoff

smk = snakemake  # noqa: F821 - injected by Snakemake
handoff(smk)  # in a warm worker's fork when the build has one (paperkit/warm.py)

from analysis.survey.weighting import weight_survey
from paperkit.rules import run

run(
    smk,
    weight_survey,
    clean_path=smk.input.clean,
    targets_path=smk.input.targets,
    settings=smk.params.settings,
    out_weights=smk.output.weights,
    out_diagnostics=smk.output.diagnostics,
)
