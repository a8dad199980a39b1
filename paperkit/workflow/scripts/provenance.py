"""Rule provenance: trace every figure and table of the article to its rule and programs."""

from paperkit.warm import handoff

smk = snakemake  # noqa: F821 - injected by Snakemake
handoff(smk)  # in a warm worker's fork when the build has one (paperkit/warm.py)

from paperkit.provenance import write_provenance
from paperkit.rules import run

run(smk, write_provenance, article=smk.input.article, notebooks=list(smk.input.notebooks),
    rules=smk.params.rules, out_dir=smk.output[0])
