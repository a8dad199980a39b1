"""Rule clean: verify, read and validate the raw survey export; apply the exclusions."""


from analysis.survey.cleaning import clean_survey
from paperkit.rules import run

smk = snakemake  # noqa: F821 - injected by Snakemake
run(
    smk,
    clean_survey,
    raw_path=smk.input.raw,
    codebook_path=smk.input.codebook,
    provinces_path=smk.input.provinces,
    registered=smk.params.registered,
    rules=smk.params.rules,
    out_clean=smk.output.clean,
    out_log=smk.output.exclusions,
    out_flow=smk.output.flow,
)
