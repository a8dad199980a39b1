"""From raw survey, interview and document data to the rendered manuscript.

The table of contents of the analysis. Each included file holds the rules of one
stage; each rule is thin and calls one function of the study (`analysis`) through a
short script in scripts/. Expensive steps (model fits) are separate from cheap ones
(figures, tables), so restyling a figure never refits a model. Every rule's code
inputs are derived from what its script imports (rules/common.smk).

The paper half (notebooks, staging, variables, number and claim checks, provenance,
rendering, `all`) is paperkit's workflow module, configured by the `paper:` section of
config/config.yaml and included last, once every rule of the analysis is known.
"""

from snakemake.utils import min_version

from paperkit.workflow import SNAKEFILE as PAPERKIT_WORKFLOW
from paperkit.workflow import on_error, on_start, on_success

min_version("9.0")


include: "rules/common.smk"
include: "rules/survey.smk"  # clean -> weight -> describe -> model (expensive)
include: "rules/interviews.smk"  # themes
include: "rules/civilized.smk"  # overlap, residents (civilized cities and social credit)
include: "rules/figures.smk"  # figures and tables (cheap)
include: "rules/robustness.smk"  # every claim across the robustness grid (cluster jobs)
include: "rules/numbers.smk"  # numbers file, appendix tables


# On a cluster (profiles/slurm) only the model fits, the expensive step, are submitted
# as a job (resources stated in rules/survey.smk). Every other rule takes seconds, less
# than a queue wait: it runs on the node that runs Snakemake, which renders the paper
# (paperkit's rules are local by the module's own declaration).
localrules:
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


module paper:
    snakefile:
        PAPERKIT_WORKFLOW
    config:
        config["paper"]


use rule * from paper


onstart:
    on_start(workflow)


onsuccess:
    print(on_success(workflow, config["paper"]))


onerror:
    print(on_error(config["paper"]))
