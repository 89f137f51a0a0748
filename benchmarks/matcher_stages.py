"""The matcher benchmark's stages, each run in a fresh process by ``python -m benchmarks.matcher``
(hidden ``--stage``) so that every memory figure is the growth of a process that did nothing else:
build hashmatch's index, query it and FAISS ``IndexBinaryFlat`` (the reference for recall), and query
python-threatexchange's ``PDQIndex`` (the peer)."""

import gc
import json
import pickle
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from benchmarks.matcher_cases import CHUNK, THRESHOLDS, Case, Codes, make_case_data
from benchmarks.measures import Found, as_found, measure_search, megabytes, recall, speed
from benchmarks.report import anonymous_rss_bytes, package_version, peak_rss_bytes, rss_bytes
from matcher import load_index
from matcher.hamming import HammingIndex

PEER_THRESHOLD = 31
FLAT_SINGLE_QUERIES = 100
PEER_SINGLE_QUERIES = 50
PEER_RECALL_QUERIES = 100
"""The peer takes about a second per hash on skewed codes at 10M: fewer queries for it."""


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
    searched, found = measure_search(index, hash_type, texts, queries, THRESHOLDS[case.hash_name], threads)
    figures |= searched
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
