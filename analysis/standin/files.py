"""Writing a generated stand-in to disk: one way for every strand."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

from paperkit.io import atomic_path
from paperkit.manifest import register


def write_files(files: Mapping[str, bytes], out_dir: Path, manifest: Path | None,
                root: Path) -> dict[str, str]:
    """Write ``files`` (name -> bytes) into ``out_dir`` atomically, register them in
    ``manifest`` if given, and return {path relative to ``root``: sha256}."""
    digests, paths = {}, []
    for name, data in sorted(files.items()):
        target = out_dir / name
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
        paths.append(target)
        digests[target.resolve().relative_to(root.resolve()).as_posix()] = (
            hashlib.sha256(data).hexdigest())
    if manifest is not None:
        register(paths, manifest, root)
    return digests
