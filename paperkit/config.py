"""Load and validate a paper's configuration against its JSON schema.

The schema is the single home of the defaults: :func:`validate_config` fills every
``default`` the schema declares before it checks, so code never carries a default of
its own. Snakemake and the command-line tools both go through here, so a bad config
fails identically everywhere, naming the file, the key path and the schema rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jsonschema

from paperkit.io import read_yaml


class ConfigError(ValueError):
    """The configuration does not match its schema."""


def fill_defaults(instance: Any, schema: Mapping[str, Any]) -> None:
    """Write the schema's ``default`` of every absent property into ``instance``, recursively.

    Done before validation, so a default satisfies ``required`` as a written value would.
    """
    if not isinstance(instance, dict) or not isinstance(schema, Mapping):
        return
    for name, sub in schema.get("properties", {}).items():
        if not isinstance(sub, Mapping):
            continue
        if name not in instance and "default" in sub:
            instance[name] = _copy(sub["default"])
        fill_defaults(instance.get(name), sub)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def validate_config(config: dict[str, Any], schema_path: str | Path, source: str,
                    at: Sequence[str] = ()) -> dict[str, Any]:
    """Fill the schema's defaults into ``config``, then raise ConfigError on every violation.

    ``at``: the key path of ``config`` inside its file (a section validated on its own).
    """
    schema = read_yaml(schema_path)
    fill_defaults(config, schema)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [
            f"{source}: at '{'.'.join(map(str, [*at, *e.absolute_path])) or '<root>'}': "
            f"{e.message}"
            f" (schema rule: {e.validator})"
            for e in errors
        ]
        raise ConfigError("invalid configuration:\n" + "\n".join(lines))
    return config


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a config file strictly (duplicate keys are errors); it must be a mapping."""
    config = read_yaml(path)
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: the configuration must be a mapping of keys to values")
    return config


def merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` laid over it, mappings merged key by key."""
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def load_config(path: str | Path, schema_path: str | Path) -> dict[str, Any]:
    """Read (strictly), fill defaults and validate a config file."""
    return validate_config(read_config_file(path), schema_path, source=str(path))


def project_path(relative: str | Path, root: Path) -> Path:
    """Resolve a config path against the project root; refuse paths that escape it."""
    resolved = (root / relative).resolve()
    if root.resolve() not in resolved.parents and resolved != root.resolve():
        raise ConfigError(f"path '{relative}' leaves the project directory {root}")
    return resolved


#: The schema of the ``paper:`` section that paperkit's workflow module reads.
PAPER_SCHEMA = Path(__file__).parent / "workflow/schema.yaml"


def validate_paper(paper: Any, source: str = "config") -> dict[str, Any]:
    """The ``paper:`` section with the kit schema's defaults filled in, checked."""
    if not isinstance(paper, dict):  # the study's schema requires the section
        raise ConfigError(f"{source}: at 'paper': a mapping of settings is required")
    return validate_config(paper, PAPER_SCHEMA, source, at=("paper",))
