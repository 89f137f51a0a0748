"""The matcher benchmark: hashmatch against FAISS brute force and python-threatexchange's PDQ index.

    python -m benchmarks --only matcher            # PDQ and pHash, 1M and 10M entries, uniform and skewed
    python -m benchmarks --only matcher --quick    # 100K and 1M entries, for small machines
    python -m benchmarks.matcher --help            # this part alone, with its own options

Every case (hash type, list size, code distribution) runs in three fresh processes, so that each
memory figure is the growth of a process that did nothing else:

1. build: generate the list and the queries (seeded), build the hashmatch index, save it.
2. query: load the saved index (memory-mapped), time single hashes and batches, then build FAISS
   ``IndexBinaryFlat`` over the same codes and time it the same way; its answers are the reference
   for recall.
3. peer (PDQ only): python-threatexchange's ``PDQIndex`` (FAISS ``IndexBinaryMultiHash`` behind
   Python lists and dicts, what Meta's HMA serves) built from the same hashes as hex strings.

Prints one markdown table, writes the JSON record and draws ``latency.png`` under
``benchmarks/results/`` (a full run also copies it to ``docs/``).
"""

import argparse
import gc
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from benchmarks.report import (
    RESULTS_DIR,
    Cell,
    PartResult,
    add_part_arguments,
    anonymous_rss_bytes,
    finish_part,
    latencies,
    latency_ms,
    load_average,
    markdown_table,
    package_version,
    peak_rss_bytes,
    progress,
    ratio,
    rss_bytes,
)
from matcher import HashType, get_hash_type, load_index
from matcher.hamming import HammingIndex

Codes = npt.NDArray[np.uint8]
Found = set[tuple[int, int, int]]

SHAPES = ("uniform", "biased", "clustered")
THRESHOLDS = {"pdq": (31, 48), "phash": (8,)}
"""PDQ at 31 (Meta's default, the only threshold the peer's index serves) and at 48 (ours)."""
PEER_THRESHOLD = 31
FULL_SIZES = (1_000_000, 10_000_000)
QUICK_SIZES = (100_000, 1_000_000)
PLOT_ONLY_SIZES = {"full": (100_000,), "quick": (10_000,)}
"""Extra uniform list sizes for the latency-vs-size plot."""
QUERIES = 1000
"""Queries per case: half near copies of list codes (within the default threshold), half fresh codes
from the list's own distribution."""
FLAT_SINGLE_QUERIES = 100
PEER_SINGLE_QUERIES = 50
PEER_RECALL_QUERIES = 100
"""The peer takes about a second per hash on skewed codes at 10M: fewer queries for it."""
CLUSTER_SIZE = 20
CLUSTER_RADIUS = 24
CHUNK = 250_000
ENGINES = ("hashmatch", "faiss-flat", "pytx-PDQIndex")
PNG_NAME = "latency.png"
DOCS_PNG = Path(__file__).parent.parent / "docs" / PNG_NAME


@dataclass(frozen=True)
class Case:
    """One list: its hash type, size and code distribution."""

    hash_name: str
    size: int
    shape: str

    @property
    def hash_type(self) -> HashType:
        return get_hash_type(self.hash_name)

    @property
    def label(self) -> str:
        return f"{self.hash_name}:{self.size}:{self.shape}"

    @classmethod
    def parse(cls, label: str) -> "Case":
        name, size, shape = label.split(":")
        return cls(name, int(size), shape)


# --- codes -------------------------------------------------------------------------------------------


class Distribution:
    """Where a list's codes come from: uniform bits, a per-bit bias, or clusters of near-identical
    codes (like ``tests/test_index.py``). Fresh samples from it are the unrelated queries."""

    def __init__(self, shape: str, bits: int, list_size: int, seed: int) -> None:
        if shape not in SHAPES:
            raise ValueError(f"unknown code distribution {shape!r}: expected one of {', '.join(SHAPES)}")
        rng = np.random.default_rng([seed, 1])
        self.shape = shape
        self.bits = bits
        self.ones = rng.uniform(0.02, 0.98, bits).astype(np.float32)
        centers = max(1, list_size // CLUSTER_SIZE)
        self.centers = (
            rng.integers(0, 256, (centers, bits // 8), dtype=np.uint8) if shape == "clustered" else None
        )

    def sample(self, rng: np.random.Generator, n: int) -> Codes:
        out = np.empty((n, self.bits // 8), dtype=np.uint8)
        for start in range(0, n, CHUNK):
            out[start : start + CHUNK] = self._chunk(rng, min(CHUNK, n - start))
        return out

    def _chunk(self, rng: np.random.Generator, n: int) -> Codes:
        if self.shape == "uniform":
            return rng.integers(0, 256, (n, self.bits // 8), dtype=np.uint8)
        if self.shape == "biased":
            return np.packbits(rng.random((n, self.bits), dtype=np.float32) < self.ones, axis=1)
        assert self.centers is not None
        base = self.centers[rng.integers(0, self.centers.shape[0], n)]
        return base ^ flip_masks(rng, n, self.bits, rng.integers(0, CLUSTER_RADIUS, n))


def flip_masks(rng: np.random.Generator, n: int, bits: int, counts: npt.NDArray[np.int64]) -> Codes:
    """Row ``i`` has at most ``counts[i]`` random bits set (positions drawn with replacement), packed
    like the codes."""
    most = int(counts.max(initial=0))
    chosen = np.zeros((n, bits), dtype=bool)
    positions = rng.integers(0, bits, (n, most))
    rows = np.repeat(np.arange(n), most).reshape(n, most)
    keep = np.arange(most)[None, :] < counts[:, None]
    chosen[rows[keep], positions[keep]] = True
    return np.packbits(chosen, axis=1)


def make_case_data(case: Case, seed: int) -> tuple[Codes, Codes]:
    """The list codes and the queries of a case, the same for every engine and every run: half the
    queries are list codes with at most the default threshold of bits flipped, half fresh codes."""
    hash_type = case.hash_type
    distribution = Distribution(case.shape, hash_type.bits, case.size, seed)
    codes = distribution.sample(np.random.default_rng([seed, 2, case.size]), case.size)
    rng = np.random.default_rng([seed, 3, case.size])
    near = QUERIES // 2
    sources = codes[rng.integers(0, case.size, near)]
    flips = rng.integers(0, hash_type.default_threshold + 1, near)
    copies = sources ^ flip_masks(rng, near, hash_type.bits, flips)
    fresh = distribution.sample(rng, QUERIES - near)
    queries = np.concatenate([copies, fresh])
    return codes, queries[rng.permutation(QUERIES)]


# --- timing ------------------------------------------------------------------------------------------


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


# --- stages (each in its own process) ----------------------------------------------------------------


def stage_build(case: Case, seed: int, workdir: Path) -> dict[str, Any]:
    codes, queries = make_case_data(case, seed)
    np.save(workdir / "codes.npy", codes)
    np.save(workdir / "queries.npy", queries)
    ids = np.arange(case.size, dtype=np.int64)
    gc.collect()
    before = rss_bytes()
    start = time.perf_counter()
    index = case.hash_type.build_index(codes, ids)
    build_s = time.perf_counter() - start
    build_peak = peak_rss_bytes() - before
    start = time.perf_counter()
    index.save(workdir / "index")
    save_s = time.perf_counter() - start
    disk = sum(path.stat().st_size for path in (workdir / "index").iterdir())
    layout = None
    if isinstance(index, HammingIndex) and index.tables is not None:
        layout = {"substrings": index.tables.count, "width": index.tables.width}
    return {
        "unique": index.unique_count,
        "build_s": build_s,
        "build_peak_mb": megabytes(build_peak),
        "save_s": save_s,
        "index_mb": megabytes(disk),
        "layout": layout,
    }


def stage_query(case: Case, workdir: Path, threads: int) -> dict[str, Any]:
    """hashmatch from its saved index, then FAISS flat over the same codes."""
    queries = np.load(workdir / "queries.npy")
    warm_up(case, queries)
    ours, found = measure_hashmatch(case, workdir, queries, threads)
    gc.collect()
    baseline, references = measure_flat(case, workdir, queries, threads)
    for threshold, reference in references.items():
        ours[str(threshold)] |= recall(found[threshold], reference)
        baseline[str(threshold)] |= recall(reference, reference)
    serialised = {str(t): sorted(map(list, reference)) for t, reference in references.items()}
    (workdir / "reference.json").write_text(json.dumps(serialised))
    return {"hashmatch": ours, "faiss-flat": baseline}


def warm_up(case: Case, queries: Codes) -> None:
    """Load numba's compiled search once, before any memory or time is measured."""
    hash_type = case.hash_type
    index = HammingIndex.build(
        case.hash_name, hash_type.bits, hash_type.max_threshold, queries, np.arange(len(queries)),
        hash_type.default_threshold, threads=1, layout=(4, 12),
    )  # fmt: skip
    index.search(queries[:10], hash_type.default_threshold)
    del index
    gc.collect()


def measure_hashmatch(
    case: Case, workdir: Path, queries: Codes, threads: int
) -> tuple[dict[str, Any], dict[int, Found]]:
    """Load time, resident memory, latency and throughput of the saved index; its answers."""
    hash_type = case.hash_type
    texts = [hash_type.format(row) for row in queries]
    base = rss_bytes()
    start = time.perf_counter()
    index = load_index(workdir / "index")
    figures: dict[str, Any] = {"load_s": time.perf_counter() - start}
    figures["rss_after_load_mb"] = megabytes(rss_bytes() - base)
    found: dict[int, Found] = {}
    for threshold in THRESHOLDS[case.hash_name]:

        def single(i: int, threshold: int = threshold) -> object:
            # what a caller pays: parse the hex text, search one hash on one core
            return index.search(hash_type.parse_many([texts[i]]), threshold, threads=1)

        def batch(workers: int, threshold: int = threshold) -> object:
            return index.search(queries, threshold, threads=workers)

        figures[str(threshold)] = speed(single, len(queries), batch, len(queries), threads)
        matches = index.search(queries, threshold)
        found[threshold] = as_found(matches.query, matches.entry, matches.distance)
    figures["rss_mb"] = megabytes(rss_bytes() - base)
    return figures, found


def measure_flat(
    case: Case, workdir: Path, queries: Codes, threads: int
) -> tuple[dict[str, Any], dict[int, Found]]:
    """FAISS IndexBinaryFlat over the same codes: its figures, and its answers (the reference)."""
    hash_type = case.hash_type
    codes = np.load(workdir / "codes.npy", mmap_mode="r")
    before = anonymous_rss_bytes()  # not the pages of codes.npy read to fill it
    start = time.perf_counter()
    flat = faiss.IndexBinaryFlat(hash_type.bits)
    for chunk in range(0, case.size, CHUNK):
        flat.add(np.ascontiguousarray(codes[chunk : chunk + CHUNK]))
    figures: dict[str, Any] = {
        "build_s": time.perf_counter() - start,
        "rss_mb": megabytes(anonymous_rss_bytes() - before),
        "index_mb": megabytes(case.size * hash_type.nbytes),
    }
    flat_file = workdir / "flat.faiss"
    faiss.write_index_binary(flat, str(flat_file))
    start = time.perf_counter()
    faiss.read_index_binary(str(flat_file), faiss.IO_FLAG_MMAP_IFC)
    figures["load_s"] = time.perf_counter() - start
    flat_file.unlink()
    sample = queries[:FLAT_SINGLE_QUERIES]
    references: dict[int, Found] = {}
    for threshold in THRESHOLDS[case.hash_name]:

        def single(i: int, threshold: int = threshold) -> object:
            faiss.omp_set_num_threads(1)
            return flat.range_search(queries[i : i + 1], threshold + 1)

        def batch(workers: int, threshold: int = threshold) -> object:
            faiss.omp_set_num_threads(workers)
            return flat.range_search(sample, threshold + 1)

        figures[str(threshold)] = speed(single, len(sample), batch, len(sample), threads)
        faiss.omp_set_num_threads(threads)
        lims, distances, labels = flat.range_search(queries, threshold + 1)
        query = np.repeat(np.arange(len(queries)), np.diff(lims).astype(np.int64))
        references[threshold] = as_found(query, labels, distances)
    return figures, references


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


def stage_peer(case: Case, workdir: Path, threads: int) -> dict[str, Any]:
    """python-threatexchange's PDQIndex over the same hashes, as hex strings (its input format)."""
    try:
        from threatexchange.signal_type.pdq.pdq_index import PDQIndex  # noqa: PLC0415
    except ImportError as error:
        return {"skipped": f"threatexchange cannot be imported: {error}"}
    codes = np.load(workdir / "codes.npy", mmap_mode="r")
    queries = [row.tobytes().hex() for row in np.load(workdir / "queries.npy")]
    gc.collect()
    before = anonymous_rss_bytes()  # not the pages of codes.npy read to make the strings
    entries = [(row.tobytes().hex(), i) for i, row in enumerate(codes)]
    start = time.perf_counter()
    built = PDQIndex(entries)
    build_s = time.perf_counter() - start
    del entries
    gc.collect()
    rss = anonymous_rss_bytes() - before
    start = time.perf_counter()
    pickled = pickle.dumps(built, protocol=pickle.HIGHEST_PROTOCOL)
    dump_s = time.perf_counter() - start
    del built
    start = time.perf_counter()
    index = pickle.loads(pickled)  # how HMA reloads its index
    load_s = time.perf_counter() - start
    pickled_mb = megabytes(len(pickled))
    del pickled
    wrapped = index.index  # the FAISS wrapper under PDQIndex: one call for many hashes
    sample = queries[:PEER_SINGLE_QUERIES]

    def single(i: int) -> object:
        faiss.omp_set_num_threads(1)
        return index.query(queries[i])

    def batch(workers: int) -> object:
        faiss.omp_set_num_threads(workers)
        return wrapped.search_with_distance_in_result(sample, PEER_THRESHOLD)

    figures = speed(single, len(sample), batch, len(sample), threads)
    position = {text: i for i, text in enumerate(queries)}
    answers = wrapped.search_with_distance_in_result(queries[:PEER_RECALL_QUERIES], PEER_THRESHOLD)
    found = {
        (position[text], int(entry), int(distance))
        for text, matches in answers.items()
        for entry, _, distance in matches
    }
    reference = {
        (q, e, d)
        for q, e, d in json.loads((workdir / "reference.json").read_text())[str(PEER_THRESHOLD)]
        if q < PEER_RECALL_QUERIES
    }
    figures |= recall(found, reference)
    return {
        "build_s": build_s,
        "load_s": load_s,
        "pickle_dump_s": dump_s,
        "pickled_mb": pickled_mb,
        "rss_mb": megabytes(rss),
        "version": package_version("threatexchange"),
        str(PEER_THRESHOLD): figures,
    }


# --- orchestration -----------------------------------------------------------------------------------


def run_stage(stage: str, case: Case, seed: int, workdir: Path, threads: int) -> dict[str, Any]:
    """Run one stage of a case in a fresh Python process; its last stdout line is the JSON result."""
    command = [
        sys.executable, "-m", "benchmarks.matcher", "--stage", stage, "--case", case.label,
        "--seed", str(seed), "--workdir", str(workdir), "--threads", str(threads),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        return {"failed": f"{stage} stage: {reason}"}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run_case(case: Case, seed: int, threads: int, peer: bool, scratch: Path) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix=case.label.replace(":", "-") + ".", dir=scratch))
    try:
        started = time.perf_counter()
        record: dict[str, Any] = {
            "case": case.__dict__,
            "load_average_before": load_average(),
            "build": run_stage("build", case, seed, workdir, threads),
        }
        if "failed" in record["build"]:
            record["hashmatch"] = record["build"]
        else:
            queried = run_stage("query", case, seed, workdir, threads)
            record |= {"hashmatch": queried, "faiss-flat": queried} if "failed" in queried else queried
            if case.hash_name == "pdq" and peer and "failed" not in queried:
                record["pytx-PDQIndex"] = run_stage("peer", case, seed, workdir, threads)
        record["seconds"] = time.perf_counter() - started
        record["load_average_after"] = load_average()
        return record
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


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
                problem = result.get("failed") or result.get("skipped")
                if problem:
                    rows.append([*head, *[None] * 9, problem])
                    continue
                figures = result.get(str(threshold))
                if figures is None:
                    continue
                speedup = ratio(figures["p50_ms"], ours.get("p50_ms")) if engine != "hashmatch" else None
                rows.append(
                    [
                        *head,
                        result["build_s"],
                        result["load_s"],
                        result.get("index_mb"),
                        result["rss_mb"],
                        figures["p50_ms"],
                        figures["p99_ms"],
                        figures["batch_1"],
                        figures["batch_2"],
                        _recall_cell(figures),
                        speedup,
                    ]
                )
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
                    _recall_cell(ours),
                ]
            )  # fmt: skip
    return rows


def _recall_cell(figures: dict[str, Any]) -> str:
    text = f"{figures['recall']:.4f}".rstrip("0").rstrip(".")
    if figures["extra"]:
        text += f" (+{figures['extra']} wrong)"
    return text


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


def cases_for(args: argparse.Namespace) -> list[Case]:
    sizes = args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)
    extra = () if args.sizes else PLOT_ONLY_SIZES["quick" if args.quick else "full"]
    cases = [Case(name, size, "uniform") for name in args.types for size in extra if "uniform" in args.shapes]
    cases += [Case(name, size, shape) for name in args.types for size in sizes for shape in args.shapes]
    return cases


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.matcher", description=__doc__.split("\n")[0])
    add_part_arguments(parser, "100K and 1M entries instead of 1M and 10M")
    parser.add_argument(
        "--sizes", type=lambda s: tuple(int(x) for x in s.split(",")), help="e.g. 1000000,3000000"
    )
    parser.add_argument("--types", type=lambda s: tuple(s.split(",")), default=tuple(THRESHOLDS))
    parser.add_argument("--shapes", type=lambda s: tuple(s.split(",")), default=SHAPES)
    parser.add_argument(
        "--threads", type=int, default=len(os.sched_getaffinity(0)), help="for the batch column"
    )
    parser.add_argument("--no-peer", action="store_true", help="skip python-threatexchange")
    parser.add_argument("--stage", choices=("build", "query", "peer"), help=argparse.SUPPRESS)
    parser.add_argument("--case", type=Case.parse, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stage:
        stages: dict[str, Callable[[], dict[str, Any]]] = {
            "build": lambda: stage_build(args.case, args.seed, args.workdir),
            "query": lambda: stage_query(args.case, args.workdir, args.threads),
            "peer": lambda: stage_peer(args.case, args.workdir, args.threads),
        }
        print(json.dumps(stages[args.stage]()))
        return 0
    unknown = set(args.types) - set(THRESHOLDS)
    if unknown or set(args.shapes) - set(SHAPES):
        parser.error(f"types are {', '.join(THRESHOLDS)}; shapes are {', '.join(SHAPES)}")

    records = []
    with tempfile.TemporaryDirectory(prefix="hashmatch-bench.") as scratch:
        for case in cases_for(args):
            records.append(run_case(case, args.seed, args.threads, not args.no_peer, Path(scratch)))
            progress(f"matcher {case.label}: {records[-1]['seconds']:.0f} s")
    png = RESULTS_DIR / PNG_NAME
    plot(records, png)
    if not (args.quick or args.sizes):  # the README shows the full run's plot
        DOCS_PNG.parent.mkdir(exist_ok=True)
        shutil.copyfile(png, DOCS_PNG)
    loads = [r[key] for r in records for key in ("load_average_before", "load_average_after")]
    markdown = (
        f"Load average (1 min) before/after each case: {min(loads):.1f} to {max(loads):.1f}. "
        f"Plot: `{png.relative_to(RESULTS_DIR.parent.parent)}`.\n\n"
        + markdown_table(SUMMARY_HEADERS, summary_rows(records))
        + "\n\nEvery figure, every engine:\n\n"
        + markdown_table(HEADERS, table_rows(records))
    )
    record = {"queries_per_case": QUERIES, "plot": str(png), "cases": records}
    finish_part(
        PartResult("matcher", "Matcher: hashmatch vs FAISS flat and the peer", markdown, record), args
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
