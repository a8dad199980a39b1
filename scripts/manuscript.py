"""Rule manuscript: render the staged manuscript (Quarto or the self-render, by config)."""

import os
from pathlib import Path

from paperkit.render import render_manuscript
from paperkit.rules import run

smk = snakemake  # noqa: F821 - injected by Snakemake
# Fixed build date, so that rebuilding the same sources gives the same documents.
os.environ.setdefault("SOURCE_DATE_EPOCH", str(smk.params.source_date_epoch))
run(
    smk,
    render_manuscript,
    project_dir=Path(smk.output[0]).parent.parent,
    formats=list(smk.params.formats),
    out_dir=Path(smk.output[0]).parent,
    engine=smk.params.engine,
    source_dir=Path("paper"),
)
