"""Rule analyse: summarise the measurements and draw the figure."""

from trees import analyse

from paperkit.rules import run

smk = snakemake  # noqa: F821 - injected by Snakemake
run(smk, analyse, data=smk.input.data, out_numbers=smk.output.numbers,
    out_figure=smk.output.figure)
