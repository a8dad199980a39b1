"""The study's tools, each reading its paths from the validated config.

    python -m analysis register-data [PATH ...]   record the raw files' checksums
    python -m analysis verify-data                 check the raw files against them
    python -m analysis archive [--out DIR]         build the replication package
    python -m analysis archive --check-committed   only check that git holds every change
    python -m analysis check-interviews            what the build finds in the coded
                                                   interviews, before any build

The pipeline's stages have one entry each, their Snakemake rule; these are the tools
an author runs by hand (the Makefile's register-data and archive targets call them).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from analysis.interviews.check import report as check_report
from analysis.paper.archive import build as build_archive
from analysis.project import PROJECT_ROOT, load_config
from paperkit.archive import ArchiveError, check_committed
from paperkit.deidentify import DeidentifyError
from paperkit.leakgate import LeakError
from paperkit.manifest import ManifestError, read_manifest, register, verify_manifest


def _register(args: argparse.Namespace, config: dict) -> str:
    manifest = config["paths"]["raw_manifest"]
    register(args.paths, manifest, PROJECT_ROOT)
    return f"registered {len(read_manifest(PROJECT_ROOT / manifest))} file(s) in {manifest}"


def _verify(args: argparse.Namespace, config: dict) -> str:
    manifest = config["paths"]["raw_manifest"]
    verify_manifest(manifest, PROJECT_ROOT, args.paths or None)
    return f"{manifest}: all raw files match"


def _archive(args: argparse.Namespace, config: dict) -> str:
    if args.check_committed:
        return f"archive: building from commit {check_committed(PROJECT_ROOT)}"
    path = build_archive(PROJECT_ROOT, config, args.out)
    return f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)"


def _check_interviews(args: argparse.Namespace, config: dict) -> str:
    lines, problems = check_report(config)
    if problems:
        print("\n".join(lines))
        raise ValueError("the build would stop on these:\n  " + "\n  ".join(problems))
    return "\n".join([*lines, "", "OK: `make paper` will tally these interviews."])


COMMANDS: dict[str, Callable[[argparse.Namespace, dict], str]] = {
    "register-data": _register, "verify-data": _verify, "archive": _archive,
    "check-interviews": _check_interviews,
}


def main(argv: Sequence[str] | None = None, echo: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=sorted(COMMANDS))
    parser.add_argument("paths", nargs="*", help="raw files (default: all of data/raw)")
    parser.add_argument("--out", type=Path, default=None, help="archive: output directory")
    parser.add_argument("--check-committed", action="store_true",
                        help="archive: only check that every tracked file is committed")
    args = parser.parse_args(argv)
    try:
        echo(COMMANDS[args.command](args, load_config()))
    except (ManifestError, ArchiveError, DeidentifyError, LeakError, OSError,
            ValueError) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
