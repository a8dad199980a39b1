"""Rule describe: the weighted descriptive results of the survey."""


from analysis.survey.describe import describe_survey
from paperkit.rules import run

smk = snakemake  # noqa: F821 - injected by Snakemake
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
