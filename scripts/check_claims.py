"""Rule check_claims: fail when a claim of the text is not supported by the results."""

import _bootstrap  # noqa: F401 - puts the project root on sys.path

from analysis.claims import write_report
from analysis.rule_support import run

smk = snakemake  # noqa: F821 - injected by Snakemake
run(smk, write_report, qmd_path=smk.input.article, claims_path=smk.input.claims,
    numbers_path=smk.input.numbers, report_path=smk.output[0])
