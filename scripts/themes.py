"""Rule themes: tally interview barriers and intercoder reliability from the REFI-QDA project."""

from paperkit.warm import handoff

smk = snakemake  # noqa: F821 - injected by Snakemake
handoff(smk)  # in a warm worker's fork when the build has one (paperkit/warm.py)

from analysis.interviews.themes import tally_themes
from paperkit.rules import run

run(smk, tally_themes, qdpx_path=smk.input.project, codebook_path=smk.input.codebook,
    mapping_path=smk.input.mapping, participants=list(smk.input.participants),
    settings=smk.params.settings, registered=smk.params.registered,
    out_json=smk.output.results, out_tables_dir=smk.output.tables)
