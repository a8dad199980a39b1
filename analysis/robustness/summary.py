"""The robustness summary: how often each claim holds, under which choices it fails, and
the headline estimates of every specification.

A claim's status in a specification is one of

``holds`` / ``fails``   its assertions were evaluated (the share is holds / (holds + fails));
``not_applicable``      the specification does not compute a value the claim reads (the
                        baseline computes it: e.g. a coefficient of a dropped model block),
                        or the claim is about the grid itself (it reads ``robustness.*``);
``infeasible``          the specification cannot be run on these data (reason recorded);
``error``               a name the baseline lacks too, or a value that is no number.

Nothing is counted silently: every specification of the grid is in exactly one column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from paperkit.claims import load_claims
from paperkit.io import read_json, write_json, write_parquet, write_text
from paperkit.tables import pipe_table

STATUSES = ("holds", "fails", "not_applicable", "infeasible", "error")
#: Prefix of the numbers tree the summary itself provides (claims about the grid).
SELF_PREFIX = "robustness"


class RobustnessSummaryError(ValueError):
    """The batch results do not make a complete grid."""


def show(choice: str, value: Any) -> str:
    """A choice's alternative as the tables print it (cap=none, exclude.speeder=off)."""
    if value is None:
        text = "none"
    elif isinstance(value, bool):
        text = "on" if value else "off"
    elif isinstance(value, list | tuple):
        text = "+".join(map(str, value))
    else:
        text = str(value)
    return f"{choice}={text}"


def load_records(batch_paths: Sequence[str | Path]) -> list[dict[str, Any]]:
    """Every specification record of the batches, in specification order."""
    records = [r for path in batch_paths for r in read_json(path)["specs"]]
    records.sort(key=lambda r: r["spec"])
    ids = [r["spec"] for r in records]
    if len(set(ids)) != len(ids) or not ids or ids[0] != "s0000":
        raise RobustnessSummaryError(
            f"batches {', '.join(map(str, batch_paths))}: specification ids repeat or the "
            "baseline s0000 is missing")
    if records[0]["status"] != "ok":
        raise RobustnessSummaryError(
            f"the baseline specification s0000 (the paper's own choices) is infeasible: "
            f"{records[0].get('reason')}")
    return records


def classify(record: Mapping[str, Any], claim_id: str, baseline: Mapping[str, Any]
             ) -> tuple[str, str]:
    """Final status of one claim in one specification, with the reason when not evaluated."""
    if record["status"] != "ok":
        return "infeasible", record.get("reason", "")
    result = record["claims"][claim_id]
    if result["status"] != "missing":
        return result["status"], result.get("detail", "")
    base_missing = set(baseline["claims"][claim_id].get("missing", []))
    broken = [n for n in result["missing"]
              if n in base_missing and n.split(".")[0].split("[")[0] != SELF_PREFIX]
    if broken:
        return "error", f"no value {', '.join(broken)} in the numbers tree"
    if all(n.split(".")[0] == SELF_PREFIX for n in result["missing"]):
        return "not_applicable", "about the robustness grid itself"
    return "not_applicable", "not computed: " + ", ".join(result["missing"])


def claim_status_frame(records: Sequence[Mapping[str, Any]], claim_ids: Sequence[str]
                       ) -> pd.DataFrame:
    """One row per (specification, claim) with the final status and its reason."""
    baseline = records[0]
    rows = []
    for rec in records:
        for cid in claim_ids:
            status, reason = classify(rec, cid, baseline)
            rows.append({"spec": rec["spec"], "claim": cid, "status": status, "reason": reason,
                         **{k: show(k, v) for k, v in rec["choices"].items()}})
    return pd.DataFrame(rows)


def varying_choices(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Choices with more than one alternative in the grid."""
    keys = list(records[0]["choices"])
    return [k for k in keys if len({show(k, r["choices"][k]) for r in records}) > 1]


def fails_under(frame: pd.DataFrame, choices: Sequence[str]) -> str:
    """Alternatives under which the claim fails more often than over the whole grid, as
    ``choice=value (failing/evaluated)``; "every choice alike" when none stands out."""
    evaluated = frame[frame["status"].isin(["holds", "fails"])]
    failing = evaluated["status"] == "fails"
    if not failing.any():
        return ""
    overall = failing.mean()
    parts = []
    for choice in choices:
        for value, group in evaluated.groupby(choice, sort=True):
            n_fail = int((group["status"] == "fails").sum())
            if n_fail / len(group) > overall + 1e-12:
                parts.append((-n_fail / len(group), str(value), f"{value} ({n_fail}/{len(group)})"))
    return "; ".join(p[2] for p in sorted(parts)) or "every choice alike"


def claims_table(status: pd.DataFrame, claim_ids: Sequence[str], choices: Sequence[str]
                 ) -> pd.DataFrame:
    """claims.csv: per claim the specifications, each status count, share and failures."""
    rows = []
    for cid in claim_ids:
        sub = status[status["claim"] == cid]
        counts = {s: int((sub["status"] == s).sum()) for s in STATUSES}
        evaluated = counts["holds"] + counts["fails"]
        na = sorted(set(sub.loc[sub["status"] == "not_applicable", "reason"]))
        rows.append({
            "claim": cid, "specifications": len(sub), "evaluated": evaluated,
            "holding": counts["holds"], "failing": counts["fails"],
            "not_applicable": counts["not_applicable"], "infeasible": counts["infeasible"],
            "error": counts["error"],
            "share": round(counts["holds"] / evaluated, 6) if evaluated else None,
            "fails_under": fails_under(sub, choices),
            "not_applicable_because": "; ".join(na),
        })
    return pd.DataFrame(rows)


def estimates_frame(records: Sequence[Mapping[str, Any]], headline: Sequence[Mapping[str, str]]
                    ) -> pd.DataFrame:
    """estimates.parquet: one row per (specification, headline estimate)."""
    rows = []
    for rec in records:
        for entry in headline:
            est = (rec.get("estimates") or {}).get(entry["id"]) if rec["status"] == "ok" else None
            status = "ok" if est else ("infeasible" if rec["status"] != "ok" else "not_applicable")
            rows.append({"spec": rec["spec"], "estimate": entry["id"], "label": entry["label"],
                         "status": status,
                         **{k: (est or {}).get(k) for k in ("value", "lower", "upper")},
                         **{k: show(k, v) for k, v in rec["choices"].items()}})
    frame = pd.DataFrame(rows)
    for col in ("value", "lower", "upper"):
        frame[col] = frame[col].astype("float64")
    return frame


def _pct(share: float | None) -> float | None:
    """Per cent, or None (quoted as "not defined") when no specification evaluates it."""
    return None if share is None or pd.isna(share) else 100.0 * share


def numbers_section(records: Sequence[Mapping[str, Any]], table: pd.DataFrame, grid: str
                    ) -> dict[str, Any]:
    """What the prose may quote (results/robustness/summary.json -> numbers.robustness)."""
    feasible = sum(r["status"] == "ok" for r in records)
    shares = table.dropna(subset=["share"])
    return {
        "grid": grid,
        "n_specs": len(records),
        "n_feasible": feasible,
        "n_infeasible": len(records) - feasible,
        "n_claims": int(len(table)),
        "n_claims_evaluated": int(len(shares)),
        "n_claims_always": int((shares["share"] == 1).sum()),
        "n_claims_errors": int((table["error"] > 0).sum()),
        "claims": {
            row.claim: {"holding": int(row.holding), "evaluated": int(row.evaluated),
                        "failing": int(row.failing), "not_applicable": int(row.not_applicable),
                        "pct": _pct(row.share)}
            for row in table.itertuples(index=False)
        },
    }


def markdown_claims(table: pd.DataFrame, texts: Mapping[str, str]) -> str:
    """The appendix table: claim, holds in, share, the choices under which it fails."""
    rows = []
    for row in table.itertuples(index=False):
        share = "" if row.share is None or pd.isna(row.share) else f"{100 * row.share:.0f}%"
        held = f"{row.holding} of {row.evaluated}"
        extra = f"; n/a in {row.not_applicable}" if row.not_applicable else ""
        extra += f"; error in {row.error}" if row.error else ""
        rows.append([f"{texts[row.claim]} ({row.claim})", held + extra, share,
                     row.fails_under or "–"])
    header = ["Claim", "Holds in (of evaluated)", "Share", "Fails under (failing/evaluated)"]
    return pipe_table(header, rows, align="llrl", widths=[40, 14, 6, 30])


def markdown_specs(records: Sequence[Mapping[str, Any]], choices: Sequence[str]) -> str:
    """The grid: each choice's alternatives (the paper's own marked), and each infeasible
    reason with its count."""
    def value(choice: str, record: Mapping[str, Any]) -> str:
        return show(choice, record["choices"][choice]).split("=", 1)[1]

    rows = []
    for c in choices:
        own = value(c, records[0])
        alts = sorted({value(c, r) for r in records})
        rows.append([c, ", ".join(f"{a} (paper)" if a == own else a for a in alts)])
    reasons: dict[str, int] = {}
    for r in records:
        if r["status"] != "ok":
            reasons[r["reason"]] = reasons.get(r["reason"], 0) + 1
    rows += [[f"infeasible ({n} specifications)", reason] for reason, n in sorted(reasons.items())]
    return pipe_table(["Choice", "Alternatives"], rows, widths=[16, 50])


def _csv(frame: pd.DataFrame) -> str:
    buf = io.StringIO()
    frame.to_csv(buf, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    return buf.getvalue()


def summarise(batch_paths: Sequence[str | Path], claims_path: str | Path,
              headline: Sequence[Mapping[str, str]], grid: str, out_claims: str | Path,
              out_estimates: str | Path, out_specs: str | Path, out_summary: str | Path,
              out_tables: str | Path) -> None:
    """Snakemake entry: claims.csv, estimates.parquet, the specifications, the numbers
    section and the appendix tables, all computed before anything is written."""
    records = load_records(batch_paths)
    claims = load_claims(claims_path)
    unknown = sorted(set(claims) - set(records[0]["claims"]))
    if unknown:
        raise RobustnessSummaryError(
            f"{claims_path}: claims {unknown} were not evaluated by the batches (rerun them)")
    ids = list(claims)
    choices = varying_choices(records)
    status = claim_status_frame(records, ids)
    table = claims_table(status, ids, choices)
    estimates = estimates_frame(records, headline)
    specs = pd.DataFrame([{"spec": r["spec"], "status": r["status"],
                           "reason": r.get("reason", ""),
                           **{k: show(k, v) for k, v in r["choices"].items()}} for r in records])
    section = numbers_section(records, table, grid)
    texts = {cid: c.text for cid, c in claims.items()}
    write_text(out_claims, _csv(table))
    write_parquet(out_estimates, estimates)
    write_text(out_specs, _csv(specs))
    write_json(out_summary, section)
    write_text(Path(out_tables) / "claims.md", markdown_claims(table, texts))
    write_text(Path(out_tables) / "grid.md", markdown_specs(records, choices))
