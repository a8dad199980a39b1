"""Rule numbers: gather every result the paper quotes into the numbers file."""


from analysis.paper.numbers import write_numbers
from paperkit.rules import run

smk = snakemake  # noqa: F821 - injected by Snakemake
run(
    smk,
    write_numbers,
    inputs={name: path for name, path in smk.input.items() if name not in ("published", "code")},
    published_path=smk.input.published,
    fidelity=smk.params.fidelity,
    out_numbers=smk.output.numbers,
)
