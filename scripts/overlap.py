"""Rule overlap: read and validate the NCCA manual, SCSP websites and their coded project;
tally the overlap with social credit per dimension and NCCA category, with reliability."""

from paperkit.warm import handoff

smk = snakemake  # noqa: F821 - injected by Snakemake
handoff(smk)  # in a warm worker's fork when the build has one (paperkit/warm.py)

from analysis.civilized.overlap import tally_overlap
from paperkit.rules import run

run(smk, tally_overlap, manual_csv=smk.input.manual, websites_csv=smk.input.websites,
    qdpx_path=smk.input.project, codebook_path=smk.input.codebook,
    settings=smk.params.settings, registered=smk.params.registered,
    out_json=smk.output.results, out_tables_dir=smk.output.tables)
