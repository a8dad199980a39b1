"""Rule robustness_shared: clean once for every exclusion set, tally once per coder."""


from analysis.robustness.compute import prepare_shared
from paperkit.rules import run

smk = snakemake  # noqa: F821 - injected by Snakemake
run(
    smk,
    prepare_shared,
    config=smk.params.config,
    out_survey=smk.output.survey,
    out_flags=smk.output.flags,
    out_shared=smk.output.shared,
)
