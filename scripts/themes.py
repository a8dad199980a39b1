"""Rule themes: tally interview barriers and intercoder reliability from the REFI-QDA project."""


from analysis.interviews.themes import tally_themes
from analysis.project import PROJECT_ROOT, REGISTER_COMMAND
from paperkit.manifest import verify_manifest
from paperkit.rules import run

smk = snakemake  # noqa: F821 - injected by Snakemake
run(smk, verify_manifest, manifest_path=smk.params.manifest, root=PROJECT_ROOT,
    paths=[smk.input.project], register_hint=REGISTER_COMMAND)
run(
    smk,
    tally_themes,
    qdpx_path=smk.input.project,
    settings=smk.params.settings,
    out_json=smk.output.results,
    out_tables_dir=smk.output.tables,
)
