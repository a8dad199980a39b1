# ---------------------------------------------------------------- interviews: themes
rule themes:
    message:
        "themes: tallying interview barriers and intercoder reliability from {input.project}"
    input:
        project=PATHS["interviews"],
        codebook=config["themes"]["codebook"],
        mapping=config["themes"]["mapping"],
        mapping_schema="config/interview_mapping.schema.yaml",
        participants=participants_file,
        code=code("themes"),
    output:
        results="results/themes.json",
        tables=directory("results/tables/themes"),
    params:
        settings=config["themes"],
        registered=registered_checksums(PATHS["interviews"]),
    log:
        "logs/themes.log",
    conda:
        "../envs/themes.yaml"
    script:
        script_of("themes")
