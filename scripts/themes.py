"""Rule themes: tally interview barriers and intercoder reliability from the REFI-QDA project."""

from analysis.interviews.themes import tally_themes
from paperkit.rules import run

smk = snakemake  # noqa: F821 - injected by Snakemake
run(smk, tally_themes, qdpx_path=smk.input.project, codebook_path=smk.input.codebook,
    mapping_path=smk.input.mapping, participants=list(smk.input.participants),
    settings=smk.params.settings, registered=smk.params.registered,
    out_json=smk.output.results, out_tables_dir=smk.output.tables)
