# ---------------------------------------------------------------- civilized cities: overlap, residents
rule overlap:
    message:
        "overlap: civilized-city and social-credit documents, per dimension and NCCA category"
    input:
        manual=PATHS["civilized_manual"],
        websites=PATHS["civilized_websites"],
        project=PATHS["civilized_documents"],
        codebook=config["civilized"]["codebook"],
        code=code("overlap"),
    output:
        results="results/overlap.json",
        tables=directory("results/tables/overlap"),
    params:
        settings=config["civilized"],
        registered=registered_checksums(PATHS["civilized_manual"], PATHS["civilized_websites"],
                                        PATHS["civilized_documents"]),
    log:
        "logs/overlap.log",
    conda:
        "../envs/themes.yaml"
    script:
        script_of("overlap")


rule residents:
    message:
        "residents: who knows, conflates and explains the two systems, from {input.project}"
    input:
        project=PATHS["civilized_interviews"],
        provinces=PATHS["provinces"],
        codebook=config["civilized"]["codebook"],
        code=code("residents"),
    output:
        results="results/residents.json",
        tables=directory("results/tables/residents"),
    params:
        settings=config["civilized"],
        registered=registered_checksums(PATHS["civilized_interviews"]),
    log:
        "logs/residents.log",
    conda:
        "../envs/themes.yaml"
    script:
        script_of("residents")
