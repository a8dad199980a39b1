"""Rule numbers: gather every result the paper quotes into the numbers file."""

from paperkit.warm import handoff

smk = snakemake  # noqa: F821 - injected by Snakemake
handoff(smk)  # in a warm worker's fork when the build has one (paperkit/warm.py)

from analysis.paper.numbers import write_numbers
from paperkit.rules import run

run(
    smk,
    write_numbers,
    inputs={name: path for name, path in smk.input.items() if name not in ("published", "code")},
    published_path=smk.input.published,
    fidelity=smk.params.fidelity,
    out_numbers=smk.output.numbers,
)
