"""Rule manuscript: render the staged manuscript (Quarto or the self-render, by config)."""

import os
from pathlib import Path

from paperkit.freshness import clear_out_of_date
from paperkit.render import render_manuscript
from paperkit.rules import run

smk = snakemake  # noqa: F821 - injected by Snakemake
# Fixed build date, so that rebuilding the same sources gives the same documents.
os.environ.setdefault("SOURCE_DATE_EPOCH", str(smk.params.source_date_epoch))
staged = Path(smk.output[0]).parent.parent  # build/paper, staged from paper/
run(
    smk,
    render_manuscript,
    staged={str(staged): "paper"},
    project_dir=staged,
    formats=list(smk.params.formats),
    out_dir=Path(smk.output[0]).parent,
    engine=smk.params.engine,
    source_dir=Path("paper"),
)
clear_out_of_date(Path(smk.output[0]).parent)
