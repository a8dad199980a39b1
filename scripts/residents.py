"""Rule residents: read and validate the 30 coded resident interviews of design C; tally
who knows each system, who conflates them and what each is taken to be for."""


from analysis.civilized.residents import tally_residents
from analysis.project import PROJECT_ROOT
from paperkit.manifest import verify_manifest
from paperkit.rules import run

smk = snakemake  # noqa: F821 - injected by Snakemake
run(smk, verify_manifest, manifest_path=smk.params.manifest, root=PROJECT_ROOT,
    paths=[smk.input.project])
run(
    smk,
    tally_residents,
    qdpx_path=smk.input.project,
    provinces=smk.input.provinces,
    settings=smk.params.settings,
    out_json=smk.output.results,
    out_tables_dir=smk.output.tables,
)
