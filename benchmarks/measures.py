"""How the index benchmarks (matcher, photodna) measure an engine and show it: single-hash latency and
batch throughput, memory in MB, an engine's answers as a set to compare with a reference's (recall), and
an engine's table row."""

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from benchmarks.report import Cell, latencies, latency_ms, ratio
from matcher import HashType, Index

Codes = npt.NDArray[np.uint8]
Found = set[tuple[int, int, int]]
"""An engine's answers: (query, entry, distance) triples."""


def throughput(call: Callable[[], object], count: int) -> float:
    """Hashes per second of one ``call`` answering ``count`` hashes."""
    start = time.perf_counter()
    call()
    return count / (time.perf_counter() - start)


def megabytes(count: int) -> float:
    return count / 1e6


def as_found(query: npt.ArrayLike, entry: npt.ArrayLike, distance: npt.ArrayLike) -> Found:
    return set(
        zip(
            np.asarray(query).tolist(),
            np.asarray(entry).tolist(),
            np.asarray(distance).astype(np.int64).tolist(),
            strict=True,
        )
    )


def recall(found: Found, reference: Found) -> dict[str, Any]:
    """Share of the reference's matches found, and how many found matches it does not have."""
    return {
        "recall": len(found & reference) / len(reference) if reference else 1.0,
        "extra": len(found - reference),
        "reference_matches": len(reference),
    }


def speed(
    single: Callable[[int], object],
    singles: int,
    batch: Callable[[int], object],
    batch_size: int,
    threads: int,
) -> dict[str, Any]:
    """Single-hash p50/p99 over ``singles`` calls; batch hashes/s with one thread and with ``threads``."""
    figures: dict[str, Any] = latency_ms(latencies(single, singles))
    figures["batch_1"] = throughput(lambda: batch(1), batch_size)
    figures["batch_2"] = throughput(lambda: batch(threads), batch_size)
    return figures


def measure_search(
    index: Index,
    hash_type: HashType,
    texts: Sequence[str],
    queries: Codes,
    thresholds: Iterable[int],
    threads: int,
) -> tuple[dict[str, Any], dict[int, Found]]:
    """Per threshold, hashmatch's figures (:func:`speed`; a single hash as a caller pays for it: parse
    its text, search it on one core) and its answers to every query."""
    figures: dict[str, Any] = {}
    found: dict[int, Found] = {}
    for threshold in thresholds:

        def single(i: int, threshold: int = threshold) -> object:
            return index.search(hash_type.parse_many([texts[i]]), threshold, threads=1)

        def batch(workers: int, threshold: int = threshold) -> object:
            return index.search(queries, threshold, threads=workers)

        figures[str(threshold)] = speed(single, len(queries), batch, len(queries), threads)
        matches = index.search(queries, threshold)
        found[threshold] = as_found(matches.query, matches.entry, matches.distance)
    return figures, found


def engine_row(
    head: Sequence[Cell], engine: str, result: Mapping[str, Any], threshold: int, ours: Mapping[str, Any]
) -> list[Cell] | None:
    """An engine's table row at ``threshold`` after ``head``: build and load seconds, index and resident
    MB, p50 and p99, batch rates, recall and hashmatch's speed-up over it (``ours``: hashmatch's
    figures); the reason it failed or was skipped instead; None if it has no figures at ``threshold``."""
    problem = result.get("failed") or result.get("skipped")
    if problem:
        return [*head, *[None] * 9, problem]
    figures = result.get(str(threshold))
    if figures is None:
        return None
    speedup = ratio(figures["p50_ms"], ours.get("p50_ms")) if engine != "hashmatch" else None
    return [
        *head, result.get("build_s"), result.get("load_s"), result.get("index_mb"), result.get("rss_mb"),
        figures["p50_ms"], figures["p99_ms"], figures["batch_1"], figures["batch_2"], recall_cell(figures),
        speedup,
    ]  # fmt: skip


def recall_cell(figures: Mapping[str, Any]) -> str:
    """Recall to 4 decimals without trailing zeros, and the wrong answers if any."""
    text = f"{figures['recall']:.4f}".rstrip("0").rstrip(".")
    return text + (f" (+{figures['extra']} wrong)" if figures["extra"] else "")
