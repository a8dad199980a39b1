"""Rule check_numbers: fail when the prose holds a number the pipeline did not produce."""

import _bootstrap  # noqa: F401 - puts the project root on sys.path

from analysis.prose_check import write_report
from analysis.rule_support import run

smk = snakemake  # noqa: F821 - injected by Snakemake
run(smk, write_report, qmd_path=smk.input.article, allow_path=smk.input.allowlist,
    report_path=smk.output[0])
