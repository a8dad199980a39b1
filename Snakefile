"""From raw survey, interview and document data to the rendered manuscript.

The table of contents of the analysis. Each included file holds the rules of one
stage; each rule is thin and calls one function of the study (`analysis`) or of the
paper-build kit (`paperkit`) through a short script in scripts/. Expensive steps
(model fits) are separate from cheap ones (figures, tables), so restyling a figure
never refits a model. Every rule's code inputs are derived from what its script
imports (rules/common.smk), so a change to any module it runs reruns it.
"""

from snakemake.utils import min_version

min_version("9.0")


include: "rules/common.smk"
include: "rules/survey.smk"  # clean -> weight -> describe -> model (expensive)
include: "rules/interviews.smk"  # themes
include: "rules/civilized.smk"  # overlap, residents (civilized cities and social credit)
include: "rules/figures.smk"  # figures and tables (cheap)
include: "rules/numbers.smk"  # numbers, appendix tables, provenance
include: "rules/manuscript.smk"  # notebooks -> stage -> checks -> render

# On a cluster (profiles/slurm) only the model fits, the expensive step, are submitted
# as a job (resources stated in rules/survey.smk). Every other rule takes seconds, less
# than a queue wait: it runs on the node that runs Snakemake, which renders the paper.
localrules:
    all,
    paper_inputs,
    clean,
    weight,
    describe,
    themes,
    overlap,
    residents,
    figures_describe,
    model_table,
    figures_models,
    figures_themes,
    figures_civilized,
    numbers,
    appendix_tables,
    provenance,
    notebook,
    stage_paper,
    check_numbers,
    check_claims,
    manuscript,


# The paper and every results file: a missing intermediate file (for example one that
# Snakemake deleted after a failed job) is rebuilt with its downstream, not taken as
# up to date.
rule all:
    default_target: True
    input:
        manuscript_outputs(),
        RESULTS,


# Before any job is planned: a killed build's lock is released, the raw data are verified,
# outputs not built from the current content (whatever the file times) are rebuilt.
preflight_workflow()


onsuccess:
    print(done_message({job.rule.name for job in workflow.dag.targetjobs}))


onerror:
    paper_out_of_date()
    print("\nThe build stopped. The message above names the failing step; its log is in logs/."
          "\nbuild/paper/_manuscript/OUT_OF_DATE.txt marks the paper there as out of date.")
