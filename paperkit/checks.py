"""The two checks that stand between the results and a rendered paper, as functions.

:func:`check_numbers`: every number of the prose (and of the captions of embedded
notebook cells) comes from the variables file, and every ``var`` key names a value.
:func:`check_claims`: every claim span of the text has an assertion that holds on the
numbers. Both read the article where the author edits it, so their messages name the
author's file and line; the allowlist and the claims file sit beside the article under
their conventional names. Each raises with every problem at once and, on success,
writes a report of what it checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from paperkit.claims import ClaimResult, ClaimsError, assert_claims
from paperkit.claims import report_data as claims_report
from paperkit.io import read_yaml, write_json
from paperkit.prose_check import (
    ProseCheckError,
    ScanResult,
    check_var_keys,
    find_claim_spans,
    format_findings,
    load_allowlist,
    scan_document,
)
from paperkit.prose_check import report_data as numbers_report

ALLOWLIST = "_number_allowlist.yml"
CLAIMS = "claims.yml"


def _claims_of(article: Path) -> dict[str, Any] | None:
    path = article.parent / CLAIMS
    claims = read_yaml(path) if path.exists() else None
    return claims if isinstance(claims, dict) else None


def check_numbers(article: str | Path, variables: str | Path, report: str | Path | None = None,
                  notebooks: Sequence[str | Path] = ()) -> ScanResult:
    """Raise ProseCheckError listing every stray number and unknown ``var`` key.

    ``notebooks``: the sources of the notebooks the article embeds (staged copies are
    executed; the author edits these, so messages must name them).
    """
    article = Path(article)
    notebook_dir = Path(notebooks[0]).parent if notebooks else None
    allow_path = article.parent / ALLOWLIST
    allow = load_allowlist(allow_path if allow_path.exists() else None)
    result = scan_document(article, allow, claims=_claims_of(article),
                           notebook_dir=notebook_dir)
    unknown = check_var_keys(article, variables)
    parts = [format_findings(result.findings)] if result.findings else []
    if unknown:
        parts += [f"{len(unknown)} var shortcode(s) name no value:",
                  *(f.message for f in unknown)]
    if parts:
        raise ProseCheckError("\n".join(parts))
    if report is not None:
        write_json(report, numbers_report(result, allow))
    return result


def check_claims(article: str | Path, numbers: str | Path,
                 report: str | Path | None = None) -> list[ClaimResult]:
    """Raise ClaimsError listing every failing claim; an article without a claims file
    may have no claim spans (a span without a claim is a failure)."""
    article = Path(article)
    claims_path = article.parent / CLAIMS
    results = assert_claims(article, claims_path, numbers) if claims_path.exists() else \
        _no_claims(article)
    if report is not None:
        write_json(report, claims_report(results))
    return results


def _no_claims(article: Path) -> list[ClaimResult]:
    """Spans marked as claims need a claims file."""
    spans = find_claim_spans(article.read_text(encoding="utf-8"), str(article))
    if spans:
        raise ClaimsError(f"{article}: {len(spans)} claim span(s) but no {CLAIMS} beside it")
    return []
