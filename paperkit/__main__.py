"""paperkit's command line.

    python -m paperkit deidentify IN.qdpx OUT.qdpx [options]

De-identifies a REFI-QDA project from any tool (paperkit/deidentify.py): every text
withheld with a notice that keeps every coding valid, every free-text field withheld,
every case and document name replaced by a pseudonym, ages banded. With
``--participants IN.csv OUT.csv`` a participants file keyed by case or document gets the
same pseudonyms. Both outputs pass the leak gate (paperkit/leakgate.py) before anything is
written. Documented in docs/INTERVIEWS.md.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from paperkit.deidentify import (
    DeidentifyError,
    Options,
    deidentify_participants,
    deidentify_project,
)
from paperkit.leakgate import LeakError, Secrets, write_checked


def _deidentify(args: argparse.Namespace) -> str:
    options = Options(frozenset(args.keep_variable), tuple(args.keep_name),
                      tuple(b.strip() for b in args.age_bands.split(",") if b.strip()))
    result = deidentify_project(args.input, options)
    outputs = {args.output: result.data}
    secrets = result.secrets
    if args.participants:
        src, dst = map(Path, args.participants)
        data, withheld = deidentify_participants(src, args.key, result.names, options)
        outputs[dst] = data
        secrets = secrets | Secrets.build(withheld, [])
    if args.output.resolve() == args.input.resolve():
        raise DeidentifyError(f"{args.output}: the output would overwrite the input")
    write_checked(outputs, secrets)
    lines = [f"{args.input} -> {args.output}", *(f"  {line}" for line in result.log)]
    if args.participants:
        lines.append(f"{args.participants[0]} -> {args.participants[1]}")
    lines.append("leak gate: no run of six words of any withheld text and no original "
                 f"name ({len(secrets.names)} checked) in the output")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m paperkit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    de = sub.add_parser("deidentify", help="de-identify a REFI-QDA project (.qdpx)")
    de.add_argument("input", type=Path, help="the project as the tool exported it")
    de.add_argument("output", type=Path, help="where the de-identified copy goes")
    de.add_argument("--participants", nargs=2, metavar=("IN.csv", "OUT.csv"),
                    help="a participants file keyed by case or document name")
    de.add_argument("--key", default="case",
                    help="the participants file's key column (default: case)")
    de.add_argument("--keep-variable", action="append", default=[], metavar="NAME",
                    help="a variable (or participants column) whose values are safe to "
                         "ship, such as Gender; repeatable. Other values are withheld")
    de.add_argument("--keep-name", action="append", default=[], metavar="REGEX",
                    help="case or document names to keep (an interview guide); repeatable")
    de.add_argument("--age-bands", default="",
                    help='comma-separated age bands as the paper reports them, e.g. '
                         '"18-29,30-39,40+" (default: ten-year bands)')
    args = parser.parse_args(argv)
    try:
        print(_deidentify(args))
    except (DeidentifyError, LeakError, OSError) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
