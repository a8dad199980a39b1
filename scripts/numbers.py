"""Rule numbers: gather every result the paper quotes into the numbers and variables files."""


from analysis.paper.numbers import write_numbers
from paperkit.rules import run

smk = snakemake  # noqa: F821 - injected by Snakemake
run(
    smk,
    write_numbers,
    inputs={
        "cleaning": smk.input.cleaning,
        "weighting": smk.input.weighting,
        "survey": smk.input.descriptives,
        "models": smk.input.models,
        "interviews": smk.input.themes,
        "overlap": smk.input.overlap,
        "residents": smk.input.residents,
        "robustness": smk.input.robustness,
    },
    published_path=smk.input.published,
    settings=smk.params.settings,
    fidelity=smk.params.fidelity,
    out_numbers=smk.output.numbers,
    out_variables=smk.output.variables,
)
