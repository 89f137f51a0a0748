"""The PhotoDNA benchmark: hashmatch's exact Euclidean index against FAISS ``IndexFlatL2`` (exact).

    python -m benchmarks --only photodna            # 1M and 10M vectors
    python -m benchmarks --only photodna --quick    # 100K and 1M, for small machines
    python -m benchmarks.photodna --sizes 1000000   # this part alone, with its own options

The data is synthetic: PhotoDNA vectors of real images are not available (the algorithm is licensed).

- **clustered**: near-duplicate families, as a hotline's list holds them (re-encodes, resizes and crops of
  one picture): ``size / 20`` family bases with every value uniform in 0-255, each entry a base plus
  independent Gaussian noise of standard deviation :data:`SPREAD` per value, rounded and clipped to 0-255.
  Two members of a family sit ~100 apart, unrelated vectors ~1,250.
- **skewed**: the same families around bases whose values are exponential with mean :data:`SKEW_MEAN`
  (most values small, as in gradient histograms): unrelated vectors sit ~600 apart, closer to the
  thresholds, which makes every exact search prune less.
- **uniform**: every value uniform in 0-255, no families.

Queries: half list entries with the family noise added once more (another copy of a listed picture), half
fresh vectors of the same distribution (unrelated pictures). Thresholds :data:`THRESHOLDS`: no threshold is
published for PhotoDNA, so these are chosen against this data (150 finds every family member of a copy).

Each case runs in two fresh processes: build (generate, build and save the index) and query (load it
memory-mapped, time it, then build FAISS ``IndexFlatL2`` over the same vectors as float32 and time it the
same way). The reference for recall is exact: FAISS's candidates within ``(t + 1)^2`` (a margin for its
float32 arithmetic) re-checked in integers.
"""

import argparse
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from benchmarks.measures import as_found, engine_row, measure_search, megabytes, recall, speed
from benchmarks.report import (
    Cell,
    PartResult,
    add_part_arguments,
    anonymous_rss_bytes,
    finish_part,
    load_average,
    markdown_table,
    progress,
    rss_bytes,
)
from matcher import get_hash_type, load_index

Codes = npt.NDArray[np.uint8]
Found = set[tuple[int, int, int]]

SHAPES = ("clustered", "skewed", "uniform")
THRESHOLDS = (150, 300)
FULL_SIZES = (1_000_000, 10_000_000)
QUICK_SIZES = (100_000, 1_000_000)
FAMILY_SIZE = 20
SPREAD = 6.0
SKEW_MEAN = 32.0
QUERIES = 200
FLAT_SINGLE_QUERIES = 30
"""FAISS flat takes over a second per query at 10M: fewer single queries and a smaller batch for it."""
CHUNK = 250_000
DIMENSIONS = 144
ENGINES = ("hashmatch", "faiss-IndexFlatL2")


def generate(shape: str, size: int, seed: int) -> tuple[Codes, Codes]:
    """The list's vectors and the queries of a case (seeded: the same for every engine and run)."""
    if shape not in SHAPES:
        raise ValueError(f"unknown data {shape!r}: expected one of {', '.join(SHAPES)}")
    rng = np.random.default_rng([seed, 7, size])
    bases = _bases(rng, shape, max(1, size // FAMILY_SIZE))
    codes = np.empty((size, DIMENSIONS), dtype=np.uint8)
    for start in range(0, size, CHUNK):
        count = min(CHUNK, size - start)
        if shape == "uniform":
            codes[start : start + count] = rng.integers(0, 256, (count, DIMENSIONS), dtype=np.uint8)
        else:
            codes[start : start + count] = _noisy(rng, bases[rng.integers(0, len(bases), count)])
    near = QUERIES // 2
    copies = _noisy(rng, codes[rng.integers(0, size, near)])
    fresh = (
        rng.integers(0, 256, (QUERIES - near, DIMENSIONS), dtype=np.uint8)
        if shape == "uniform"
        else _noisy(rng, _bases(rng, shape, QUERIES - near))
    )
    queries = np.concatenate([copies, fresh])
    return codes, queries[rng.permutation(QUERIES)]


def _bases(rng: np.random.Generator, shape: str, count: int) -> npt.NDArray[np.float64]:
    if shape == "skewed":
        return np.minimum(rng.exponential(SKEW_MEAN, (count, DIMENSIONS)), 255.0)
    return rng.integers(0, 256, (count, DIMENSIONS)).astype(np.float64)


def _noisy(rng: np.random.Generator, values: npt.ArrayLike) -> Codes:
    """Each value plus Gaussian noise of standard deviation :data:`SPREAD`, rounded, clipped to 0-255."""
    base: npt.NDArray[np.float64] = np.asarray(values, dtype=np.float64)
    noisy: npt.NDArray[np.float64] = base + rng.normal(0.0, SPREAD, base.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def exact_within(
    codes: Codes, queries: Codes, query: npt.NDArray[np.int64], label: npt.NDArray[np.int64], threshold: int
) -> Found:
    """(query, entry, distance rounded up) of the candidate pairs truly within ``threshold``, in integers."""
    diff = codes[label].astype(np.int64) - queries[query].astype(np.int64)
    squared = (diff * diff).sum(axis=1)
    keep = squared <= threshold * threshold
    root = np.sqrt(squared[keep]).astype(np.int64)
    root -= root * root > squared[keep]
    root += root * root < squared[keep]
    return as_found(query[keep], label[keep], root)


# --- stages (each in its own process) ----------------------------------------------------------------


def stage_build(shape: str, size: int, seed: int, workdir: Path) -> dict[str, Any]:
    codes, queries = generate(shape, size, seed)
    np.save(workdir / "codes.npy", codes)
    np.save(workdir / "queries.npy", queries)
    gc.collect()
    start = time.perf_counter()
    index = get_hash_type("photodna").build_index(codes, np.arange(size, dtype=np.int64))
    build_s = time.perf_counter() - start
    index.save(workdir / "index")
    disk = sum(path.stat().st_size for path in (workdir / "index").iterdir())
    return {"unique": index.unique_count, "build_s": build_s, "index_mb": megabytes(disk)}


def stage_query(workdir: Path, threads: int) -> dict[str, Any]:
    queries = np.load(workdir / "queries.npy")
    ours, found = measure_hashmatch(workdir, queries, threads)
    gc.collect()
    flat, references = measure_flat(workdir, queries, threads)
    for threshold, reference in references.items():
        ours[str(threshold)] |= recall(found[threshold], reference)
        flat[str(threshold)] |= recall(reference, reference)
    return {"hashmatch": ours, "faiss-IndexFlatL2": flat}


def measure_hashmatch(workdir: Path, queries: Codes, threads: int) -> tuple[dict[str, Any], dict[int, Found]]:
    """Load time and resident memory of the saved index, its latency and throughput, its answers."""
    photodna = get_hash_type("photodna")
    texts = [photodna.format(row) for row in queries]
    base = rss_bytes()
    start = time.perf_counter()
    index = load_index(workdir / "index")
    figures: dict[str, Any] = {"load_s": time.perf_counter() - start}
    index.search(queries[:2], THRESHOLDS[0], threads=1)  # compiles the kernel, maps the pages in
    searched, found = measure_search(index, photodna, texts, queries, THRESHOLDS, threads)
    figures |= searched
    figures["rss_mb"] = megabytes(rss_bytes() - base)
    return figures, found


def measure_flat(workdir: Path, queries: Codes, threads: int) -> tuple[dict[str, Any], dict[int, Found]]:
    """FAISS IndexFlatL2 over the same vectors (float32): its figures, and the exact reference."""
    codes = np.load(workdir / "codes.npy", mmap_mode="r")
    before = anonymous_rss_bytes()
    start = time.perf_counter()
    flat = faiss.IndexFlatL2(DIMENSIONS)
    for chunk in range(0, codes.shape[0], CHUNK):
        flat.add(np.asarray(codes[chunk : chunk + CHUNK], dtype=np.float32))
    figures: dict[str, Any] = {
        "build_s": time.perf_counter() - start,
        "rss_mb": megabytes(anonymous_rss_bytes() - before),
        "index_mb": megabytes(codes.shape[0] * DIMENSIONS * 4),
        "load_s": None,
    }
    floats = queries.astype(np.float32)
    sample = floats[:FLAT_SINGLE_QUERIES]
    references: dict[int, Found] = {}
    for threshold in THRESHOLDS:
        radius = float(threshold * threshold + 1)  # FAISS keeps distances below the radius

        def single(i: int, radius: float = radius) -> object:
            faiss.omp_set_num_threads(1)
            return flat.range_search(sample[i : i + 1], radius)

        def batch(workers: int, radius: float = radius) -> object:
            faiss.omp_set_num_threads(workers)
            return flat.range_search(sample, radius)

        figures[str(threshold)] = speed(single, len(sample), batch, len(sample), threads)
        faiss.omp_set_num_threads(threads)
        lims, _, labels = flat.range_search(floats, float((threshold + 1) ** 2))
        query = np.repeat(np.arange(len(queries)), np.diff(lims).astype(np.int64))
        references[threshold] = exact_within(codes, queries, query, labels.astype(np.int64), threshold)
    return figures, references


# --- orchestration -----------------------------------------------------------------------------------


def run_stage(stage: str, label: str, seed: int, workdir: Path, threads: int) -> dict[str, Any]:
    """One stage of a case in a fresh Python process; its last stdout line is the JSON result."""
    command = [
        sys.executable, "-m", "benchmarks.photodna", "--stage", stage, "--case", label,
        "--seed", str(seed), "--workdir", str(workdir), "--threads", str(threads),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        return {"failed": f"{stage} stage: {reason}"}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run_case(shape: str, size: int, seed: int, threads: int, scratch: Path) -> dict[str, Any]:
    label = f"{shape}:{size}"
    workdir = Path(tempfile.mkdtemp(prefix=label.replace(":", "-") + ".", dir=scratch))
    try:
        started = time.perf_counter()
        record: dict[str, Any] = {
            "shape": shape,
            "size": size,
            "load_average_before": load_average(),
            "build": run_stage("build", label, seed, workdir, threads),
        }
        queried = (
            run_stage("query", label, seed, workdir, threads)
            if "failed" not in record["build"]
            else record["build"]
        )
        record |= dict.fromkeys(ENGINES, queried) if "failed" in queried else queried
        record["seconds"] = time.perf_counter() - started
        record["load_average_after"] = load_average()
        return record
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


HEADERS = (
    "t", "entries", "data", "engine", "build s", "load s", "index MB", "RSS MB", "p50 ms", "p99 ms",
    "batch/s 1 core", "batch/s 2 cores", "recall", "hashmatch speed-up (p50)",
)  # fmt: skip


def table_rows(records: Sequence[dict[str, Any]]) -> list[list[Cell]]:
    rows: list[list[Cell]] = []
    for record in records:
        for threshold in THRESHOLDS:
            ours = record.get("hashmatch", {}).get(str(threshold), {})
            for engine in ENGINES:
                result = record.get(engine, {})
                if engine == "hashmatch":
                    result = {**record.get("build", {}), **result}
                head: list[Cell] = [threshold, f"{record['size']:,}", record["shape"], engine]
                row = engine_row(head, engine, result, threshold, ours)
                if row is not None:
                    rows.append(row)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.photodna", description=__doc__.split("\n")[0])
    add_part_arguments(parser, "100K and 1M vectors instead of 1M and 10M")
    parser.add_argument("--sizes", type=lambda s: tuple(int(x) for x in s.split(",")), help="e.g. 1000000")
    parser.add_argument("--shapes", type=lambda s: tuple(s.split(",")), default=SHAPES)
    parser.add_argument(
        "--threads", type=int, default=len(os.sched_getaffinity(0)), help="for the batch column"
    )
    parser.add_argument("--stage", choices=("build", "query"), help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stage:
        shape, size = args.case.split(":")
        stages: dict[str, Callable[[], dict[str, Any]]] = {
            "build": lambda: stage_build(shape, int(size), args.seed, args.workdir),
            "query": lambda: stage_query(args.workdir, args.threads),
        }
        print(json.dumps(stages[args.stage]()))
        return 0
    if set(args.shapes) - set(SHAPES):
        parser.error(f"data shapes are {', '.join(SHAPES)}")
    sizes = args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)
    records = []
    with tempfile.TemporaryDirectory(prefix="hashmatch-bench-photodna.") as scratch:
        for size in sizes:
            for shape in args.shapes:
                records.append(run_case(shape, size, args.seed, args.threads, Path(scratch)))
                progress(f"photodna {shape}:{size}: {records[-1]['seconds']:.0f} s")
    loads = [r[key] for r in records for key in ("load_average_before", "load_average_after")]
    markdown = (
        f"Load average (1 min) before/after each case: {min(loads):.1f} to {max(loads):.1f}. "
        f"{QUERIES} queries per case (FAISS flat: {FLAT_SINGLE_QUERIES}), single hash on one core, "
        "batch in one call.\n\n" + markdown_table(HEADERS, table_rows(records))
    )
    record = {"queries_per_case": QUERIES, "thresholds": THRESHOLDS, "cases": records}
    finish_part(PartResult("photodna", "PhotoDNA: hashmatch vs FAISS IndexFlatL2", markdown, record), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
