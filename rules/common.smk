"""Shared settings and helpers of the study's rules: the validated config and the
derivation of each rule's code inputs."""

from analysis.project import configure_workflow
from paperkit.deps import code_closure
from paperkit.manifest import registered

# The config is read strictly (a duplicate key is an error), its defaults come from
# config/schema.yaml (and, for `paper:`, paperkit/workflow/schema.yaml), and it is
# validated once, here, naming file, key and rule.
configure_workflow(config, workflow.config_settings.overwrite_config)

PATHS = config["paths"]


def script_of(name):
    """Path of a script in scripts/, as seen from the files in rules/ (the directive is relative)."""
    return f"../scripts/{name}.py"


def registered_checksums(*paths):
    """The raw files' registered checksums, handed as a parameter to the step that reads
    them, which verifies its inputs against them (a registration reruns only that step)."""
    return registered(PATHS["raw_manifest"], paths)


def code(name, *documents):
    """Every project file the rule's script runs or reads: derived from its imports."""
    return code_closure([f"scripts/{name}.py", *documents], workflow.basedir,
                        config["paper"]["code_packages"])


def participants_file(wildcards):
    """The participants CSV when the config names one (demographics kept outside the project)."""
    return [config["themes"]["participants"]] if config["themes"]["participants"] else []
