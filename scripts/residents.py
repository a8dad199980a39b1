"""Rule residents: read and validate the 30 coded resident interviews of design C; tally
who knows each system, who conflates them and what each is taken to be for."""

from paperkit.warm import handoff

smk = snakemake  # noqa: F821 - injected by Snakemake
handoff(smk)  # in a warm worker's fork when the build has one (paperkit/warm.py)

from analysis.civilized.residents import tally_residents
from paperkit.rules import run

run(smk, tally_residents, qdpx_path=smk.input.project, provinces=smk.input.provinces,
    codebook_path=smk.input.codebook, settings=smk.params.settings,
    registered=smk.params.registered, out_json=smk.output.results,
    out_tables_dir=smk.output.tables)
