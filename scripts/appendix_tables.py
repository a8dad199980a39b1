"""Rule appendix_tables: codebook, exclusion flow, fidelity, variance and software tables."""

from paperkit.warm import handoff

smk = snakemake  # noqa: F821 - injected by Snakemake
handoff(smk)  # in a warm worker's fork when the build has one (paperkit/warm.py)

from analysis.paper.appendix import write_appendix_tables
from paperkit.rules import run

run(
    smk,
    write_appendix_tables,
    numbers_path=smk.input.numbers,
    codebook_path=smk.input.codebook,
    civilized_codebook_path=smk.input.civilized_codebook,
    flow_path=smk.input.flow,
    out_dir=smk.output[0],
    key_terms=smk.params.key_terms,
)
