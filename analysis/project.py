"""Where this study's configuration lives: the one place that names its files.

Everything else receives paths from the validated configuration; paperkit receives
them from here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from paperkit import config as _config
from paperkit.config import ConfigError

__all__ = ["PROJECT_ROOT", "CONFIG_PATH", "SCHEMA_PATH", "REGISTER_COMMAND", "ConfigError",
           "load_config", "validate_config", "project_path", "configure_workflow"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_PATH = PROJECT_ROOT / "config" / "config.yaml"
SCHEMA_PATH = PROJECT_ROOT / "config" / "schema.yaml"
#: What an author runs after replacing raw files on purpose (the Makefile's target).
REGISTER_COMMAND = "make register-data"


def load_config(path: str | Path = CONFIG_PATH) -> dict[str, Any]:
    """The study's validated configuration, with the schema's defaults filled in."""
    return validate_config(_config.read_config_file(path), source=str(path))


def validate_config(config: dict[str, Any], source: str = str(CONFIG_PATH)) -> dict[str, Any]:
    """Validate an already-loaded configuration against the study's schema, and its
    ``paper:`` section against paperkit's (which fills the kit's defaults)."""
    _config.validate_config(config, SCHEMA_PATH, source)
    _config.validate_paper(config["paper"], source)
    return config


def project_path(relative: str | Path, root: Path = PROJECT_ROOT) -> Path:
    """A config path resolved inside the project directory."""
    return _config.project_path(relative, root)


def configure_workflow(config: dict[str, Any], overrides: dict[str, Any]) -> None:
    """Fill Snakemake's ``config`` from the study's config file, validated once.

    The file is read by the project's strict loader (Snakemake's own ``configfile:``
    would accept duplicate keys), command-line ``--config`` values are laid over it,
    and the schema fills the defaults and checks the result.
    """
    merged = _config.merge(_config.read_config_file(CONFIG_PATH), overrides)
    config.clear()
    config.update(validate_config(merged, source=str(CONFIG_PATH.relative_to(PROJECT_ROOT))))

