"""Rule themes: tally interview barriers and intercoder reliability from the REFI-QDA project."""

import _bootstrap  # noqa: F401 - puts the project root on sys.path

from analysis.manifest import verify_manifest_entry
from analysis.rule_support import run
from analysis.themes import tally_themes

smk = snakemake  # noqa: F821 - injected by Snakemake
run(smk, verify_manifest_entry, manifest_path=smk.params.manifest, path=smk.input.project)
run(
    smk,
    tally_themes,
    qdpx_path=smk.input.project,
    settings=smk.params.settings,
    out_json=smk.output.results,
    out_tables_dir=smk.output.tables,
)
