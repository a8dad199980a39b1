"""Rule robustness_batch: every claim and headline estimate in one batch of specifications."""

from paperkit.warm import handoff

smk = snakemake  # noqa: F821 - injected by Snakemake
handoff(smk)  # in a warm worker's fork when the build has one (paperkit/warm.py)

from analysis.robustness.compute import run_batch
from paperkit.rules import run

run(
    smk,
    run_batch,
    config=smk.params.config,
    batch=smk.wildcards.batch,
    survey_path=smk.input.survey,
    flags_path=smk.input.flags,
    shared_path=smk.input.shared,
    claims_path=smk.input.claims,
    targets_path=smk.input.targets,
    published_path=smk.input.published,
    extra_stages={"overlap": smk.input.overlap, "residents": smk.input.residents},
    out_json=smk.output[0],
)
