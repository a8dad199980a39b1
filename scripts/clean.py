"""Rule clean: verify, read and validate the raw survey export; apply the exclusions."""

from paperkit.warm import handoff

smk = snakemake  # noqa: F821 - injected by Snakemake
handoff(smk)  # in a warm worker's fork when the build has one (paperkit/warm.py)

from analysis.survey.cleaning import clean_survey
from paperkit.rules import run

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
