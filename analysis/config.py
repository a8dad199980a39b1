"""Load and validate the project configuration.

The Snakefile validates with ``snakemake.utils.validate``; code and tests that run
outside Snakemake use :func:`load_config`, which applies the same JSON schema, so a
bad config fails identically in both places.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema

from analysis._io import read_yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_PATH = PROJECT_ROOT / "config" / "config.yaml"
SCHEMA_PATH = PROJECT_ROOT / "config" / "schema.yaml"


class ConfigError(ValueError):
    """The configuration does not match config/schema.yaml."""


def validate_config(config: dict[str, Any], source: str = str(CONFIG_PATH)) -> dict[str, Any]:
    """Raise ConfigError naming the file, key path and rule of every violation."""
    schema = read_yaml(SCHEMA_PATH)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [
            f"{source}: at '{'.'.join(map(str, e.absolute_path)) or '<root>'}': {e.message}"
            f" (schema rule: {e.validator})"
            for e in errors
        ]
        raise ConfigError("invalid configuration:\n" + "\n".join(lines))
    return config


def load_config(path: str | Path = CONFIG_PATH) -> dict[str, Any]:
    """Read and validate a config file."""
    return validate_config(read_yaml(path), source=str(path))


def project_path(relative: str | Path, root: Path = PROJECT_ROOT) -> Path:
    """Resolve a config path against the project root; refuse paths that escape it."""
    resolved = (root / relative).resolve()
    if root.resolve() not in resolved.parents and resolved != root.resolve():
        raise ConfigError(f"path '{relative}' leaves the project directory {root}")
    return resolved
