"""The matcher benchmark's report: every figure of every engine, the summary of hashmatch against both
baselines, and the latency-vs-size plot."""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.matcher_cases import THRESHOLDS, Case
from benchmarks.measures import engine_row, recall_cell
from benchmarks.report import Cell, ratio

ENGINES = ("hashmatch", "faiss-flat", "pytx-PDQIndex")


HEADERS = (
    "hash", "t", "entries", "distribution", "engine", "build s", "load s", "index MB", "RSS MB",
    "p50 ms", "p99 ms", "batch/s 1 core", "batch/s 2 cores", "recall", "hashmatch speed-up (p50)",
)  # fmt: skip


def table_rows(records: Sequence[dict[str, Any]]) -> list[list[Cell]]:
    rows: list[list[Cell]] = []
    for record in records:
        case = Case(**record["case"])
        for threshold in THRESHOLDS[case.hash_name]:
            ours = record.get("hashmatch", {}).get(str(threshold), {})
            for engine in ENGINES:
                result = (
                    record.get(engine)
                    if engine != "hashmatch"
                    else {**record["build"], **record.get("hashmatch", {})}
                )
                if result is None:
                    continue
                head: list[Cell] = [case.hash_name, threshold, f"{case.size:,}", case.shape, engine]
                row = engine_row(head, engine, result, threshold, ours)
                if row is not None:
                    rows.append(row)
    return rows


SUMMARY_HEADERS = (
    "hash", "t", "entries", "codes", "p50 ms", "p99 ms", "batch/s 1 core", "FAISS flat p50 ms",
    "peer p50 ms", "vs flat (p50)", "vs peer (p50)", "recall",
)  # fmt: skip


def summary_rows(records: Sequence[dict[str, Any]]) -> list[list[Cell]]:
    """hashmatch against both baselines, one row per case and threshold: its latency and batch rate,
    the baselines' median latencies and how many times hashmatch's that is (above 1: hashmatch faster)."""
    rows: list[list[Cell]] = []
    for record in records:
        case = Case(**record["case"])
        for threshold in THRESHOLDS[case.hash_name]:
            ours = record.get("hashmatch", {}).get(str(threshold))
            if ours is None:
                continue
            flat = record.get("faiss-flat", {}).get(str(threshold), {}).get("p50_ms")
            peer = record.get("pytx-PDQIndex", {}).get(str(threshold), {}).get("p50_ms")
            rows.append(
                [
                    case.hash_name, threshold, f"{case.size:,}", case.shape, ours["p50_ms"], ours["p99_ms"],
                    ours["batch_1"], flat, peer, ratio(flat, ours["p50_ms"]), ratio(peer, ours["p50_ms"]),
                    recall_cell(ours),
                ]
            )  # fmt: skip
    return rows


def plot(records: Sequence[dict[str, Any]], path: Path) -> None:
    """Single-hash median latency against list size, uniform codes, one panel per hash type."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    panels = [name for name in THRESHOLDS if any(r["case"]["hash_name"] == name for r in records)]
    figure, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5), squeeze=False)
    for axis, name in zip(axes[0], panels, strict=True):
        for colour, engine in zip(("tab:blue", "tab:orange", "tab:red"), ENGINES, strict=True):
            for style, threshold in zip(("-", "--"), THRESHOLDS[name], strict=False):
                points = sorted(
                    (r["case"]["size"], r[engine][str(threshold)]["p50_ms"])
                    for r in records
                    if r["case"]["hash_name"] == name
                    and r["case"]["shape"] == "uniform"
                    and str(threshold) in r.get(engine, {})
                )
                if points:
                    sizes, p50 = zip(*points, strict=True)
                    axis.plot(sizes, p50, style, color=colour, marker="o", label=f"{engine}, t={threshold}")
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("list size (entries)")
        axis.set_ylabel("single-hash latency, median (ms), 1 core")
        axis.set_title(f"{name}, uniform codes")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
