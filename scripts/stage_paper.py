"""Rule stage_paper: copy the manuscript sources and generated tables into build/paper/."""


from paperkit.notebooks import stage_sources
from paperkit.rules import run

smk = snakemake  # noqa: F821 - injected by Snakemake
run(
    smk,
    stage_sources,
    sources=list(smk.input.sources),
    targets=list(smk.output.sources),
    table_dirs=list(smk.input.tables),
    tables_out=smk.output.tables,
)
