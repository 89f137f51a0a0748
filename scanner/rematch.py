"""Matching stored files again: lists grow every day, and a hoster's storage is mostly old files.

The state file keeps the hashes sent for every file and the index version that answered. Once the
server serves another version, every stored file that did not match is sent again, as its stored hashes
under its ref (no file is read again), in batches; a file that matches now opens its notice as any match
does and gets a row in the run's report. Files that matched already have their notice and are not sent.
"""

from dataclasses import dataclass, field

from scanner.client import Answer, MatchClient, items_cost, items_of
from scanner.config import ScanConfig
from scanner.errors import ScannerError
from scanner.pipeline import Pipeline
from scanner.progress import progress
from scanner.report import Report
from scanner.state import ScanState, Stored


@dataclass
class _Batch:
    files: list[tuple[str, str]] = field(default_factory=list)
    """(path, ref) of each file in the batch."""
    items: list[dict[str, str | bool]] = field(default_factory=list)
    cost: int = 0
    """What the items cost of the rate budget (:func:`scanner.client.items_cost`)."""


def rematch(config: ScanConfig, client: MatchClient, state: ScanState, report: Report, version: str) -> None:
    """Send every stored file not matched by ``version`` (the one served) again."""
    total = state.stale_count(version)
    if not total:
        return
    batch = _Batch()
    with (
        progress(total, "file", "matching stored hashes again", config.progress) as bar,
        Pipeline(client) as pipeline,
    ):
        for stored in state.stale(version):
            items = _items(config, stored)
            cost = items_cost(items)
            if batch.cost + cost > config.batch_items and batch.files:
                _send(batch, pipeline, state, report)
                batch = _Batch()
            batch.files.append((stored.path, config.ref(stored.path)))
            batch.items.extend(items)
            batch.cost += cost
            bar.update()
            bar.set_postfix_str(f"{report.summary.newly_matched} matched", refresh=False)
        if batch.files:
            _send(batch, pipeline, state, report)


def _items(config: ScanConfig, stored: Stored) -> list[dict[str, str | bool]]:
    return items_of(stored.hashes, config.ref(stored.path))


def _send(batch: _Batch, pipeline: Pipeline, state: ScanState, report: Report) -> None:
    pipeline.send(batch.items, lambda answer: _answered(batch, answer, state, report))


def _answered(batch: _Batch, answer: Answer, state: ScanState, report: Report) -> None:
    results = {result.ref: result for result in answer.results}
    missing = [ref for _, ref in batch.files if ref not in results]
    if missing:
        raise ScannerError(f"the server's answer has no result for {missing[0]!r}")
    for _, ref in batch.files:
        if results[ref].matched:
            report.result(results[ref], None, source="rematch")
    report.flush()
    state.rematched(((path, results[ref]) for path, ref in batch.files), answer.index_version)
    report.summary.rematched += len(batch.files)
