"""Rule numbers: gather every result the paper quotes into the numbers and variables files."""


from analysis.paper.numbers import SECTION_INPUTS, write_numbers
from paperkit.rules import run

smk = snakemake  # noqa: F821 - injected by Snakemake
run(
    smk,
    write_numbers,
    inputs={section: getattr(smk.input, name) for section, name in SECTION_INPUTS.items()},
    published_path=smk.input.published,
    settings=smk.params.settings,
    fidelity=smk.params.fidelity,
    out_numbers=smk.output.numbers,
    out_variables=smk.output.variables,
)
