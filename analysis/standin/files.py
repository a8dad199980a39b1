"""Writing a generated stand-in to disk: one way for every strand."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
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


def zip_bytes(entries: Mapping[str, bytes], date_time: tuple[int, ...]) -> bytes:
    """A reproducible ZIP: sorted entries, one fixed date, fixed permissions, stored."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            zf.writestr(info, entries[name])
    return buf.getvalue()


def csv_text(header: list[str], rows: list[list[object]]) -> str:
    """CSV with ``\\n`` line ends whatever the platform, as the committed exports have."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()
