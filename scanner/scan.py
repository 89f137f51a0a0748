"""The hoster's scan: walk the storage, hash new and changed files in parallel, send them in batches,
record what the server answered for, report every file."""

import os
import sys
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from scanner.client import MatchClient
from scanner.defaults import DEFAULT_BATCH_ITEMS, MAX_ITEMS
from scanner.errors import ScannerError
from scanner.hashfile import FileHashes, HashOptions, hash_files
from scanner.problems import Problem, ProblemKind
from scanner.report import Report, Summary
from scanner.state import ScanState
from scanner.walking import FileEntry, walk


@dataclass(frozen=True)
class ScanConfig:
    """What to scan and how; ``ref_prefix`` builds refs from paths relative to ``root`` (else a
    file's ref is its absolute path)."""

    root: Path
    options: HashOptions
    ref_prefix: str | None = None
    batch_items: int = DEFAULT_BATCH_ITEMS
    workers: int = 1
    progress: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.batch_items <= MAX_ITEMS:
            raise ValueError(f"batch size must be from 1 to {MAX_ITEMS} items, got {self.batch_items}")

    def ref(self, entry: FileEntry) -> str:
        if self.ref_prefix is not None:
            return self.ref_prefix + entry.relative
        return os.path.abspath(entry.path)

    def settings(self, server: str) -> dict[str, object]:
        """What a state file must agree on to answer for this scan."""
        return {
            "root": os.path.abspath(self.root),
            "server": server.rstrip("/"),
            "ref_prefix": self.ref_prefix,
            "types": list(self.options.types),
            "dihedral": self.options.dihedral,
            "trim": self.options.trim,
        }


@dataclass
class _Batch:
    files: list[tuple[FileEntry, str, Problem | None]] = field(default_factory=list)
    items: list[dict[str, str]] = field(default_factory=list)


def run_scan(
    config: ScanConfig, client: MatchClient, state: ScanState, report: Report, skip: Collection[Path] = ()
) -> Summary:
    """Scan ``config.root``; the files in ``skip`` (the state file, the report) are left out."""
    summary = report.summary
    started = time.perf_counter()

    def unreadable(path: Path, error: OSError) -> None:
        summary.problems[ProblemKind.UNREADABLE] += 1
        report.unsent(str(path), Problem(ProblemKind.UNREADABLE, error.strerror or str(error)))

    pending: list[FileEntry] = []
    for entry in walk(config.root, skip, on_error=unreadable):
        summary.found += 1
        if state.is_unchanged(entry):
            summary.unchanged += 1
        else:
            pending.append(entry)

    try:
        _hash_and_send(pending, config, client, state, report)
    finally:
        summary.seconds = time.perf_counter() - started
    return summary


def _hash_and_send(
    pending: list[FileEntry], config: ScanConfig, client: MatchClient, state: ScanState, report: Report
) -> None:
    summary = report.summary
    batch = _Batch()
    hashed = hash_files((entry.path for entry in pending), config.options, min(config.workers, len(pending)))
    with tqdm(total=len(pending), unit="file", disable=not config.progress, file=sys.stderr) as bar:
        for entry, found in zip(pending, hashed, strict=True):
            summary.hashed += 1
            bar.update()
            if found.problem is not None:
                summary.problems[found.problem.kind] += 1
            ref = config.ref(entry)
            if not found.hashes:
                report.unsent(ref, found.problem or Problem(ProblemKind.UNREADABLE, "no hash"))
                continue
            items = _items(found, ref)
            if len(batch.items) + len(items) > config.batch_items and batch.files:
                _send(batch, client, state, report)
                bar.set_postfix(matched=summary.matched, refresh=False)
                batch = _Batch()
            batch.files.append((entry, ref, found.problem))
            batch.items.extend(items)
        if batch.files:
            _send(batch, client, state, report)


def _items(found: FileHashes, ref: str) -> list[dict[str, str]]:
    return [{"type": item.type, "hash": item.hash, "ref": ref} for item in found.hashes]


def _send(batch: _Batch, client: MatchClient, state: ScanState, report: Report) -> None:
    results = {result.ref: result for result in client.match(batch.items)}
    missing = [ref for _, ref, _ in batch.files if ref not in results]
    if missing:
        raise ScannerError(f"the server's answer has no result for {missing[0]!r}")
    for _, ref, problem in batch.files:
        report.result(results[ref], problem)
    report.flush()
    state.record((entry, results[ref].matched) for entry, ref, _ in batch.files)
    report.summary.sent += len(batch.files)
    report.summary.items += len(batch.items)
