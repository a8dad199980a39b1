# ---------------------------------------------------------------- robustness grid
# Every claim of paper/claims.yml re-evaluated under the analytic choices of the config's
# `robustness` section (analysis/robustness/). Shared work first (cleaning for every
# exclusion set, interview tallies per coder), then one job per batch of specifications
# sharing one set of weights; the summary and the figure are local. On a cluster
# (profiles/slurm) the shared step and the batches are submitted as jobs.
from analysis.robustness.grid import grid_batches  # light: no pandas at workflow load

# The config sections a specification reads: a change to any of them reruns the grid.
ROBUSTNESS_CONFIG = {k: config[k] for k in (
    "paths", "cleaning", "weighting", "design", "describe", "models", "themes", "fidelity",
    "robustness")}
ROBUSTNESS_BATCHES = list(grid_batches(config))


localrules:
    robustness_summary,
    figures_robustness,


rule robustness_shared:
    message:
        "robustness: cleaning once for every exclusion set, tallies once per coder"
    input:
        raw=PATHS["raw_survey"],
        codebook=PATHS["survey_codebook"],
        provinces=PATHS["provinces"],
        interviews=PATHS["interviews"],
        interview_codebook=config["themes"]["codebook"],
        mapping=config["themes"]["mapping"],
        mapping_schema="config/interview_mapping.schema.yaml",
        participants=participants_file,
        code=code("robustness_shared"),
    output:
        survey="results/robustness/shared/survey.parquet",
        flags="results/robustness/shared/flags.parquet",
        shared="results/robustness/shared/shared.json",
    params:
        config=ROBUSTNESS_CONFIG,
        registered=registered_checksums(PATHS["raw_survey"]),
    resources:
        mem_mb=1000,
        runtime=10,
    log:
        "logs/robustness_shared.log",
    conda:
        "../envs/survey.yaml"
    script:
        script_of("robustness_shared")


rule robustness_batch:
    message:
        "robustness: specifications of batch {wildcards.batch}"
    input:
        survey=rules.robustness_shared.output.survey,
        flags=rules.robustness_shared.output.flags,
        shared=rules.robustness_shared.output.shared,
        claims="paper/claims.yml",
        targets=PATHS["population_targets"],
        published=PATHS["published_values"],
        overlap=rules.overlap.output.results,
        residents=rules.residents.output.results,
        code=code("robustness_batch"),
    output:
        "results/robustness/batches/{batch}.json",
    wildcard_constraints:
        batch="b[0-9]{4}",
    params:
        config=ROBUSTNESS_CONFIG,
    resources:
        mem_mb=1000,
        runtime=15,
    log:
        "logs/robustness_batch_{batch}.log",
    conda:
        "../envs/models.yaml"
    script:
        script_of("robustness_batch")


rule robustness_summary:
    message:
        "robustness: claims held per specification ({params.n} batches)"
    input:
        batches=expand("results/robustness/batches/{batch}.json", batch=ROBUSTNESS_BATCHES),
        claims="paper/claims.yml",
        code=code("robustness_summary"),
    output:
        claims="results/robustness/claims.csv",
        estimates="results/robustness/estimates.parquet",
        specifications="results/robustness/specifications.csv",
        summary="results/robustness/summary.json",
        tables=directory("results/tables/robustness"),
    params:
        n=len(ROBUSTNESS_BATCHES),
        headline=config["robustness"]["headline"],
        grid=config["robustness"]["grid"],
    log:
        "logs/robustness_summary.log",
    conda:
        "../envs/manuscript.yaml"
    script:
        script_of("robustness_summary")


rule figures_robustness:
    message:
        "figures: specification curves of the headline estimates"
    input:
        estimates=rules.robustness_summary.output.estimates,
        cleaning=rules.clean.output.flow,
        code=code("figures_robustness"),
    output:
        report(directory("figures/robustness"), patterns=["{name}.png"], category="Robustness"),
    log:
        "logs/figures_robustness.log",
    conda:
        "../envs/figures.yaml"
    script:
        script_of("figures_robustness")
