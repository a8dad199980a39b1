"""Rule check_numbers: fail when the prose holds a number the pipeline did not produce."""


from paperkit.prose_check import main
from paperkit.rules import run_cli

smk = snakemake  # noqa: F821 - injected by Snakemake
run_cli(
    smk,
    main,
    [
        smk.input.article,
        "--allow", smk.input.allowlist,
        "--claims", smk.input.claims,
        "--variables", smk.input.variables,
        "--notebooks", "notebooks",
        "--report", smk.output[0],
    ],
)
