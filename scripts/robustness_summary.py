"""Rule robustness_summary: claims.csv, estimates.parquet and the appendix tables."""

from paperkit.warm import handoff

smk = snakemake  # noqa: F821 - injected by Snakemake
handoff(smk)  # in a warm worker's fork when the build has one (paperkit/warm.py)

from analysis.robustness.summary import summarise
from paperkit.rules import run

run(
    smk,
    summarise,
    batch_paths=list(smk.input.batches),
    claims_path=smk.input.claims,
    headline=smk.params.headline,
    grid=smk.params.grid,
    out_claims=smk.output.claims,
    out_estimates=smk.output.estimates,
    out_specs=smk.output.specifications,
    out_summary=smk.output.summary,
    out_tables=smk.output.tables,
)
