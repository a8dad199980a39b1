"""Rule overlap: read and validate the NCCA manual, SCSP websites and their coded project;
tally the overlap with social credit per dimension and NCCA category, with reliability."""


from analysis.civilized.overlap import tally_overlap
from analysis.project import PROJECT_ROOT
from paperkit.manifest import verify_manifest
from paperkit.rules import run

smk = snakemake  # noqa: F821 - injected by Snakemake
run(smk, verify_manifest, manifest_path=smk.params.manifest, root=PROJECT_ROOT,
    paths=[smk.input.manual, smk.input.websites, smk.input.project])
run(
    smk,
    tally_overlap,
    manual_csv=smk.input.manual,
    websites_csv=smk.input.websites,
    qdpx_path=smk.input.project,
    settings=smk.params.settings,
    out_json=smk.output.results,
    out_tables_dir=smk.output.tables,
)
