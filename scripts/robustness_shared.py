"""Rule robustness_shared: clean once for every exclusion set, tally once per coder."""

from paperkit.warm import handoff

smk = snakemake  # noqa: F821 - injected by Snakemake
handoff(smk)  # in a warm worker's fork when the build has one (paperkit/warm.py)

from analysis.robustness.compute import prepare_shared
from paperkit.rules import run

run(smk, prepare_shared, config=smk.params.config,
    files={**{name: path for name, path in smk.input.items() if name != "participants"},
           "participants": list(smk.input.participants)},
    registered=smk.params.registered, out_survey=smk.output.survey,
    out_flags=smk.output.flags, out_shared=smk.output.shared)
