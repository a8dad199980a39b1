"""Glue between Snakemake's ``script:`` directive and the analysis functions.

Every rule script calls :func:`run`, so that each step logs to its rule's log
file, a failure prints one clear line (the error message, which names the file,
row, column and rule) instead of a traceback, and the full traceback is kept in
the log for whoever needs it.
"""

from __future__ import annotations

import logging
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("paperkit")


def _configure_logging(log_path: str | None) -> None:
    handlers: list[logging.Handler] = []
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w", encoding="utf-8"))
    logging.basicConfig(
        level=logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        handlers=handlers or None,
        force=True,
    )


def run(smk: Any, func: Callable[..., Any], /, **kwargs: Any) -> Any:
    """Call ``func(**kwargs)`` for the Snakemake job ``smk``; exit 1 with a clean message."""
    log_path = smk.log[0] if len(smk.log) else None
    _configure_logging(log_path)
    started = time.perf_counter()
    log.info("rule %s: %s", smk.rule, func.__module__ + "." + func.__qualname__)
    try:
        result = func(**kwargs)
    except Exception as exc:  # noqa: BLE001 - every failure must end the job cleanly
        log.error("%s", traceback.format_exc())
        where = f" (details in {log_path})" if log_path else ""
        message = f"ERROR in rule '{smk.rule}': {type(exc).__name__}: {exc}{where}"
        print(f"\n{message}\n", file=sys.stderr)
        sys.exit(1)
    log.info("rule %s finished in %.2f s", smk.rule, time.perf_counter() - started)
    return result


class CheckFailed(RuntimeError):
    """A command-line check of the project exited non-zero (its message is above)."""


def run_cli(smk: Any, main: Callable[[list[str]], int], argv: list[str]) -> None:
    """Run a module's CLI ``main(argv)`` as the job; a non-zero exit fails the job."""

    def _call() -> None:
        status = main(argv)
        if status != 0:
            raise CheckFailed(f"{main.__module__} reported the problems listed above")

    _call.__qualname__ = f"{main.__module__}.main"
    run(smk, _call)
