"""The hoster's scan: check the key and the server, match stored files again if the server's lists
changed, list the storage (a directory, or a bucket as a stream of pages), hash new and changed files in
parallel (worker processes here, or Ray tasks across a cluster: :mod:`scanner.distributed`), send them in
batches, record what the server answered for, report what is new.

Nothing holds the whole listing: entries flow from the listing through the hashers (a bounded window
ahead) to the batches sent, so memory does not grow with the number of files."""

import time
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain, tee
from pathlib import Path

from scanner.client import Answer, MatchClient, items_cost, items_of
from scanner.config import ScanConfig
from scanner.errors import ScannerError
from scanner.hashfile import FileHashes, hash_files
from scanner.pipeline import Pipeline
from scanner.problems import Problem, ProblemKind
from scanner.progress import progress
from scanner.rematch import rematch
from scanner.report import Report, Summary
from scanner.sources import Source
from scanner.state import Answered, ScanState
from scanner.walking import FileEntry

Hasher = Callable[[Source, ScanConfig, Iterator[FileEntry]], Iterator[tuple[FileEntry, FileHashes]]]
"""An engine: each entry with its hashes, in the entries' order."""


def local_hasher(
    source: Source, config: ScanConfig, entries: Iterator[FileEntry]
) -> Iterator[tuple[FileEntry, FileHashes]]:
    """Hashing in ``config.workers`` processes of this machine (this one if 1)."""
    mine, theirs = tee(entries)  # the pool reads one window ahead: tee buffers at most that
    hashed = hash_files((entry.path for entry in theirs), config.options, config.workers, fs=source.fs)
    return zip(mine, hashed, strict=True)


def run_scan(
    config: ScanConfig,
    client: MatchClient,
    state: ScanState,
    report: Report,
    skip: Collection[Path] = (),
    rematch_only: bool = False,
    hasher: Hasher = local_hasher,
) -> Summary:
    """Scan ``config.root`` (only match stored files again with ``rematch_only``) with ``hasher``; the
    files in ``skip`` (the state file, the report) are left out. The key and the server are checked
    before anything else."""
    summary = report.summary
    started = time.perf_counter()
    try:
        served = client.check()
        if served.index_version is None:
            raise ScannerError(f"{client.server} serves no index version yet (its /readyz says why)")
        rematch(config, client, state, report, served.index_version)
        if not rematch_only:
            _scan(config, client, state, report, skip, hasher)
    finally:
        summary.seconds = time.perf_counter() - started
    return summary


def _scan(
    config: ScanConfig,
    client: MatchClient,
    state: ScanState,
    report: Report,
    skip: Collection[Path],
    hasher: Hasher,
) -> None:
    summary = report.summary
    source = config.source()

    def unreadable(path: str, error: OSError) -> None:
        summary.problems[ProblemKind.UNREADABLE] += 1
        report.unsent(path, Problem(ProblemKind.UNREADABLE, error.strerror or str(error)))

    def changed() -> Iterator[FileEntry]:
        for entry in source.entries(skip, on_error=unreadable):
            summary.found += 1
            if state.is_unchanged(entry):
                summary.unchanged += 1
            else:
                yield entry

    pending = changed()
    first = next(pending, None)
    if first is not None:  # no workers started for a tree with nothing new
        _hash_and_send(hasher(source, config, chain([first], pending)), config, client, state, report)


@dataclass
class _Batch:
    files: list[tuple[FileEntry, str, FileHashes]] = field(default_factory=list)
    items: list[dict[str, str | bool]] = field(default_factory=list)
    cost: int = 0
    """What the items cost of the rate budget (:func:`scanner.client.items_cost`)."""


def _hash_and_send(
    hashed: Iterable[tuple[FileEntry, FileHashes]],
    config: ScanConfig,
    client: MatchClient,
    state: ScanState,
    report: Report,
) -> None:
    summary = report.summary
    batch = _Batch()
    with progress(None, "file", "hashing", config.progress) as bar, Pipeline(client) as pipeline:
        for entry, found in hashed:
            summary.hashed += 1
            summary.regions += found.regions
            summary.region_files += found.regions > 0
            bar.update()
            if found.problem is not None:
                summary.problems[found.problem.kind] += 1
            ref = config.ref(entry.relative)
            if not found.hashes:
                report.unsent(ref, found.problem or Problem(ProblemKind.UNREADABLE, "no hash"))
                continue
            items = items_of(found.hashes, ref)
            cost = items_cost(items)
            if batch.cost + cost > config.batch_items and batch.files:
                _send(batch, pipeline, state, report)
                batch = _Batch()
            batch.files.append((entry, ref, found))
            batch.items.extend(items)
            batch.cost += cost
            if batch.cost >= config.batch_items:
                _send(batch, pipeline, state, report)
                batch = _Batch()
            bar.set_postfix_str(f"{summary.found} found, {summary.matched} matched", refresh=False)
        if batch.files:
            _send(batch, pipeline, state, report)


def _send(batch: _Batch, pipeline: Pipeline, state: ScanState, report: Report) -> None:
    pipeline.send(batch.items, lambda answer: _answered(batch, answer, state, report))


def _answered(batch: _Batch, answer: Answer, state: ScanState, report: Report) -> None:
    results = {result.ref: result for result in answer.results}
    missing = [ref for _, ref, _ in batch.files if ref not in results]
    if missing:
        raise ScannerError(f"the server's answer has no result for {missing[0]!r}")
    for _, ref, found in batch.files:
        report.result(results[ref], found.problem)
    report.flush()
    state.record(
        Answered(entry, found.hashes, results[ref], answer.index_version) for entry, ref, found in batch.files
    )
    report.summary.sent += len(batch.files)
    report.summary.items += len(batch.items)
