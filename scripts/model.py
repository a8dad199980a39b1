"""Rule model: fit the seven nested weighted ordered-logit models (the expensive step)."""

from paperkit.warm import handoff

smk = snakemake  # noqa: F821 - injected by Snakemake
handoff(smk)  # in a warm worker's fork when the build has one (paperkit/warm.py)

from analysis.survey.models import fit_paper_models
from paperkit.rules import run

run(
    smk,
    fit_paper_models,
    clean_path=smk.input.clean,
    weights_path=smk.input.weights,
    spec=smk.params.spec,
    weighting=smk.params.weighting,
    design=smk.params.design,
    out_json=smk.output.results,
)
