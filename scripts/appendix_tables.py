"""Rule appendix_tables: codebook, exclusion flow, fidelity, variance and software tables."""


from analysis.paper.appendix import write_appendix_tables
from paperkit.rules import run

smk = snakemake  # noqa: F821 - injected by Snakemake
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
