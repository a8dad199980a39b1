"""Rule describe: the weighted descriptive results of the survey."""

from paperkit.warm import handoff

smk = snakemake  # noqa: F821 - injected by Snakemake
handoff(smk)  # in a warm worker's fork when the build has one (paperkit/warm.py)

from analysis.survey.describe import describe_survey
from paperkit.rules import run

run(
    smk,
    describe_survey,
    clean_path=smk.input.clean,
    weights_path=smk.input.weights,
    targets_path=smk.input.targets,
    settings=smk.params.settings,
    weighting=smk.params.weighting,
    design=smk.params.design,
    out_json=smk.output.results,
    out_tables_dir=smk.output.tables,
)
