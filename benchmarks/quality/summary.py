"""The evaluation summed up: recall per transform, false positives on unknown pictures, cross-matches on
related pairs, hashes sent per file, recall had PDQ's threshold been lower, the issue's targets; as
markdown tables and as the JSON record."""

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from statistics import mean, median
from typing import Any

from benchmarks.quality.distances import PERCEPTUAL
from benchmarks.quality.scoring import Evaluation, Outcome
from benchmarks.quality.transforms import Transform
from benchmarks.report import Cell, markdown_table

PDQ_WHAT_IF = (31, 40, 48)


def _percent(part: int, whole: int) -> str | None:
    return f"{100 * part / whole:.0f}%" if whole else None


def _by(outcomes: Iterable[Outcome], key: Callable[[Outcome], str]) -> dict[str, list[Outcome]]:
    grouped: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        grouped[key(outcome)].append(outcome)
    return grouped


def found_at(outcome: Outcome, pdq: int) -> bool:
    """Whether a known copy found today would still be found with PDQ's threshold at ``pdq``."""
    return outcome.found and (outcome.own_other or (outcome.own_pdq is not None and outcome.own_pdq <= pdq))


def rows(evaluation: Evaluation, transforms: Sequence[Transform]) -> list[dict[str, Any]]:
    """One row per transform: its known copies found (its own item matched), with high confidence, wrong
    (matched another item), its unknown copies matched (false positives), hashes sent per file."""
    known = _by((o for o in evaluation.outcomes if o.copy.role == "known"), lambda o: o.copy.transform)
    unknown = _by((o for o in evaluation.outcomes if o.copy.role == "unknown"), lambda o: o.copy.transform)
    table = []
    for transform in transforms:
        mine, others = known.get(transform.name, []), unknown.get(transform.name, [])
        table.append(
            {
                "group": transform.group,
                "transform": transform.name,
                "copies": len(mine),
                "found": sum(o.found for o in mine),
                "high": sum(o.found and o.confidence == "high" for o in mine),
                "wrong": sum(o.wrong for o in mine),
                "unknown": len(others),
                "false_positives": sum(o.matched for o in others),
                "hashes_per_file": mean(o.hashes for o in [*mine, *others]) if mine or others else None,
                "missed": sorted(o.copy.picture for o in mine if not o.found),
                "median_own": {
                    name: median(distances)
                    for name in PERCEPTUAL
                    if (distances := [o.nearest_own[name] for o in mine if name in o.nearest_own])
                },
            }
        )
    return table


def targets(table: Sequence[dict[str, Any]], false_positives: int) -> list[tuple[str, int, str, bool]]:
    """The issue's targets: (what, threshold %, measured, met)."""

    def recall(chosen: Callable[[dict[str, Any]], bool]) -> tuple[int, int]:
        picked = [row for row in table if chosen(row)]
        return sum(row["found"] for row in picked), sum(row["copies"] for row in picked)

    result = []
    for what, goal, chosen in (
        ("screenshots inside UI chrome", 90, lambda row: row["group"] == "screenshot"),
        ("5 % crops", 80, lambda row: row["transform"] == "crop 5%"),
        ("10 % crops", 60, lambda row: row["transform"] == "crop 10%"),
        ("3° rotations", 95, lambda row: row["transform"].startswith("rotate 3°")),
    ):
        found, copies = recall(chosen)
        if copies:
            result.append(
                (f"recall on {what} >= {goal} %", goal, f"{found}/{copies}", 100 * found >= goal * copies)
            )
    result.append(
        (
            "no false positive (unknown copies matched + wrong items)",
            0,
            str(false_positives),
            false_positives == 0,
        )
    )
    return result


def margins(outcomes: Sequence[Outcome]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per role and perceptual type, the closest a scanned file came to an entry it must not match, and
    which file: unknown files to any entry, known ones to other pictures' entries, related ones to any
    entry (their partner's included: how close a cross-match came)."""
    closest: dict[str, dict[str, dict[str, Any]]] = {}
    for outcome in outcomes:
        role = outcome.copy.role
        near = dict(outcome.nearest_other)
        if role == "related":
            for name, distance in outcome.nearest_own.items():
                near[name] = min(distance, near.get(name, distance))
        for name, distance in near.items():
            best = closest.setdefault(role, {}).get(name)
            if best is None or (distance, outcome.copy.path) < (best["distance"], best["file"]):
                closest[role][name] = {"distance": distance, "file": outcome.copy.path}
    return closest


def record(evaluation: Evaluation, transforms: Sequence[Transform]) -> dict[str, Any]:
    """Everything measured, for the JSON result."""
    table = rows(evaluation, transforms)
    outcomes = evaluation.outcomes
    known = [o for o in outcomes if o.copy.role == "known"]
    related = [o for o in outcomes if o.copy.role == "related"]
    false_positives = sum(row["false_positives"] + row["wrong"] for row in table)
    return {
        "files": len(outcomes),
        "list_rows": evaluation.listed,
        "known_pictures": len({o.copy.picture for o in known}),
        "unknown_pictures": len({o.copy.picture for o in outcomes if o.copy.role == "unknown"}),
        "transforms": table,
        "recall": sum(o.found for o in known) / len(known) if known else None,
        "false_positives": false_positives,
        "cross_matches": [
            {
                "relation": relation,
                "pairs": len(pairs),
                "matched": sorted(o.copy.picture for o in pairs if o.matched),
            }
            for relation, pairs in _by(related, lambda o: o.copy.transform).items()
        ],
        "recall_by_kind": {
            kind: {"copies": len(group), "found": sum(o.found for o in group)}
            for kind, group in _by(known, lambda o: o.copy.kind).items()
        },
        "recall_at_pdq": {str(t): sum(found_at(o, t) for o in known) for t in PDQ_WHAT_IF},
        "margins": margins(outcomes),
        "hashes_sent": sum(o.hashes for o in outcomes),
        "hashes_audited": evaluation.audited_hashes,
        "guard_flags": evaluation.guard_flags,
        "problems": sorted({o.problem for o in outcomes if o.problem}),
        "targets": [
            {"target": t, "measured": m, "met": met} for t, _, m, met in targets(table, false_positives)
        ],
        "seconds": evaluation.seconds,
        "import": evaluation.import_summary,
        "scan": evaluation.scan_summary,
    }


def markdown(result: dict[str, Any]) -> str:
    """The report's tables."""
    lines: list[list[Cell]] = []
    for row in result["transforms"]:
        missed = ", ".join(row["missed"][:4]) + (" ..." if len(row["missed"]) > 4 else "")
        lines.append(
            [
                row["group"],
                row["transform"],
                f"{row['found']}/{row['copies']}",
                _percent(row["found"], row["copies"]),
                row["high"],
                row["wrong"],
                f"{row['false_positives']}/{row['unknown']}",
                row["hashes_per_file"],
                " / ".join(
                    str(round(row["median_own"][name])) if name in row["median_own"] else "-"
                    for name in PERCEPTUAL
                ),
                missed,
            ]
        )
    headers = (
        "group",
        "transform",
        "found",
        "recall",
        "high",
        "wrong item",
        "unknown matched",
        "hashes/file",
        "own entry: pdq / phash / dhash",
        "missed",
    )
    known_total = sum(row["copies"] for row in result["transforms"])
    found_total = sum(row["found"] for row in result["transforms"])
    what_if = ", ".join(
        f"{threshold}: {count}/{known_total}" for threshold, count in result["recall_at_pdq"].items()
    )
    kinds = ", ".join(
        f"{kind} {v['found']}/{v['copies']}" for kind, v in sorted(result["recall_by_kind"].items())
    )
    cross = markdown_table(
        ("relation (listed one, scanned the other)", "pairs", "cross-matched"),
        [[c["relation"], c["pairs"], ", ".join(c["matched"]) or "0"] for c in result["cross_matches"]],
    )
    margin = "; ".join(
        f"{role}: " + ", ".join(f"{name} {v['distance']}" for name, v in sorted(types.items()))
        for role, types in sorted(result["margins"].items())
    )
    goals = markdown_table(
        ("target", "measured", "met"), [[t["target"], t["measured"], t["met"]] for t in result["targets"]]
    )
    return (
        f"{result['known_pictures']} listed pictures ({imported(result)}) and "
        f"{result['unknown_pictures']} unknown ones, each through {len(result['transforms'])} transforms; "
        f"{result['files']} files scanned at the defaults. Recall {found_total}/{known_total} "
        f"({_percent(found_total, known_total)}); false positives {result['false_positives']} (unknown "
        f"copies matched, plus copies matched to an item they do not come from). *high*: found with high "
        f"confidence. *hashes/file*: hashes the scan sent per file (mean over the transform's known and "
        f"unknown copies); {result['hashes_sent']} in all, the server's audit log counted "
        f"{result['hashes_audited']}. Probing-guard flags: {result['guard_flags']}.\n\n"
        + markdown_table(headers, lines)
        + f"\n\nClosest distance to an entry a file must not match (thresholds pdq 48, phash/dhash 8; known "
        f"files: other pictures' entries): {margin}.\n\nRecall by kind of picture: {kinds}. Had PDQ's "
        f"threshold been lower (a copy found through pHash, dHash or MD5/SHA-256 stays found): {what_if} "
        "found. *own entry*: the median distance of the transform's known copies to their own picture's "
        "entries (for a miss: how far off it is).\n\n" + cross + "\n\n" + goals
    )


def imported(result: dict[str, Any]) -> str:
    """How many of the hashed rows the list import took (it refuses low-quality PDQ and trivial hashes)."""
    active = re.search(r"([\d,]+) active", result["import"])
    skipped = re.search(r"(\d+) bad lines? skipped", result["import"])
    return (
        f"{result['list_rows']} rows from `hashmatch hash`, {active.group(1) if active else '?'} entries "
        f"imported, {skipped.group(1) if skipped else 0} refused by the import's checks"
    )


def transform_table(transforms: Sequence[Transform]) -> str:
    """The transforms as a markdown table (for the README)."""
    return markdown_table(
        ("group", "transform", "what it does", "saved as"),
        [
            [t.group, t.name, t.description, t.format + (f" q{t.quality}" if t.format != "PNG" else "")]
            for t in transforms
        ],
    )
