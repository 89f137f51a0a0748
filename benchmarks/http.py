"""HTTP match benchmark: a real ``hashmatch serve`` (uvicorn) over loopback against a 1M- and a 10M-entry
list (``--quick``: 1M only).

For each size it writes a list of random PDQ entries (and as many MD5s) into a fresh SQLite database,
indexes and publishes them, starts the server and measures:

- with one keep-alive HTTP/1.1 connection, requests one after another: single-hash latency (p50, p99) of
  ``POST /v1/match`` with one PDQ item, one MD5 item, and a matching PDQ item (which opens a notice: a
  write and a commit); batches of 1,000 PDQ items, hashes per second;
- with the load generator (``--connections`` threads, a keep-alive connection each): requests per second
  and latency under concurrency, single hashes and batches;
- the cost of a rate budget take (every call pays one; a batch pays its items in one take) in-process on
  the same database file, after the server stopped;
- the cost of the probing guard for a hoster whose calls matched entries before (so each call's hashes
  are compared with its watched entries, in the database): a single PDQ hash and a batch of 1,000, with
  100 and with 4,096 (the most a call loads) watched entries, in-process on the same database file;
- the same server with 1 and 2 worker processes (``--workers``): single-hash requests per second at
  ``--connections`` connections and batches of 1,000 per second at 2, the scaling factor, and the memory of
  the workers (RSS and PSS from ``/proc/<pid>/smaps_rollup``: PSS splits the pages the workers share, so
  the index mapped by both counts once);
- baselines from the same run: ``GET /healthz`` over the same connection (the HTTP floor) and the
  in-process index search of the same queries (no HTTP, no database): the HTTP overhead.

    python -m benchmarks --only http [--quick]
    python -m benchmarks.http --size 100000     # alone, one small list

The list, the server, its clients and the load generator are ``benchmarks.server`` (rematch and catchup
serve theirs the same way); this module measures and reports.
"""

import argparse
import json
import os
import signal
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import select

from accounts import create_organisation
from benchmarks.report import (
    Cell,
    PartResult,
    add_part_arguments,
    finish_part,
    latencies,
    latency_ms,
    markdown_table,
    progress,
    ratio,
)
from benchmarks.server import PDQ_THRESHOLD, Client, build, load, memory_kib, start_server
from db import make_engine, make_session_factory
from db.clock import SystemClock
from db.models import Entry
from guard.budgets import RateBudgets
from guard.watching import ProbeGuard

LOAD_ROUNDS = 2
"""The load generator sends each single-hash body this many times."""


def take_latencies(data_dir: Path, count: int) -> tuple[list[float], list[float]]:
    """What a rate budget take costs: of 1 hash and of 1,000, on the server's database file through an
    engine like the server's own for budgets (no disk sync per commit), over 10 organisations' buckets."""
    engine = make_engine(f"sqlite:///{data_dir / 'hashmatch.db'}", durable=False)
    budgets = RateBudgets(engine, SystemClock(), rate=1e9, burst=10**9)  # never refuses
    try:
        one = latencies(lambda n: budgets.take(f"bench:{n % 10}", 1), count)
        batch = latencies(lambda n: budgets.take(f"bench:{n % 10}", 1000), count)
    finally:
        engine.dispose()
    return one, batch


def guard_latencies(data_dir: Path, count: int, watched: int) -> tuple[list[float], list[float]]:
    """What the probing guard adds to a hoster's call: one PDQ hash and 1,000, for an organisation with
    ``watched`` watched entries (rolled back after each call, like a call that finds nothing new)."""
    engine = make_engine(f"sqlite:///{data_dir / 'hashmatch.db'}")
    sessions = make_session_factory(engine)
    rng = np.random.default_rng(watched)
    guard = ProbeGuard(6)
    now = SystemClock().now()
    with sessions.begin() as session:
        org = create_organisation(session, f"guarded {watched}", "hoster", now)
        entries = session.scalars(select(Entry.id).where(Entry.hash_type == "pdq").limit(watched)).all()
        guard.watch(session, org.id, {}, [(entry, "pdq") for entry in entries], now)
        organisation = org.id

    def call(codes: np.ndarray) -> None:
        with sessions() as session:
            guard.watch(session, organisation, {"pdq": codes}, [], now)
            session.rollback()

    try:
        singles = rng.integers(0, 256, (count, 1, 32), dtype=np.uint8)
        one = latencies(lambda n: call(singles[n]), count)
        batches = rng.integers(0, 256, (max(1, count // 100), 1000, 32), dtype=np.uint8)
        batch = latencies(lambda n: call(batches[n]), batches.shape[0])
    finally:
        engine.dispose()
    return one, batch


def _items(kind: str, codes: np.ndarray, refs: str) -> bytes:
    return json.dumps(
        {
            "items": [
                {"type": kind, "hash": code.tobytes().hex(), "ref": f"{refs}{n}"}
                for n, code in enumerate(codes)
            ]
        }
    ).encode()


def scaling(
    data_dir: Path, key: str, bodies: list[bytes], batch_bodies: list[bytes], connections: int
) -> dict[int, dict[str, float]]:
    """Per worker count (1, 2): single-hash requests/s at ``connections`` connections, batches/s at 2,
    and the workers' RSS and PSS in MiB."""
    found: dict[int, dict[str, float]] = {}
    for workers in (1, 2):
        server, port = start_server(data_dir, workers)
        try:
            load(port, key, bodies[: 50 * connections], connections)  # warm up every worker
            singles, _ = load(port, key, bodies * LOAD_ROUNDS, connections)
            batches, _ = load(port, key, batch_bodies, 2)
            rss, pss = memory_kib(server)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
        found[workers] = {
            "singles": singles,
            "batches": batches,
            "rss_mib": rss / 1024,
            "pss_mib": pss / 1024,
        }
    return found


def run(size: int, singles: int, batches: int, connections: int, seed: int) -> tuple[list[list[Cell]], str]:
    """The table rows for one list size (measurement, p50, p99, rate, ratio to in-process) and a note."""
    rng = np.random.default_rng([seed, size])
    with tempfile.TemporaryDirectory(prefix="hashmatch-http-") as directory:
        data_dir = Path(directory)
        started = time.perf_counter()
        key, listed, index = build(data_dir, size, rng)
        build_s = time.perf_counter() - started
        progress(f"http {size:,}: list built in {build_s:.0f} s")
        server, port = start_server(data_dir)
        try:
            client = Client(port, key)
            for _ in range(50):  # warm up, the PDQ search too (its first call compiles)
                client.get("/healthz")
                client.post("/v1/match", _items("md5", rng.integers(0, 256, (1, 16), dtype=np.uint8), "w"))
                client.post("/v1/match", _items("pdq", rng.integers(0, 256, (1, 32), dtype=np.uint8), "w"))
            index.search(rng.integers(0, 256, (10, 32), dtype=np.uint8), PDQ_THRESHOLD)
            floor = latencies(lambda n: client.get("/healthz"), singles)
            queries = rng.integers(0, 256, (singles, 32), dtype=np.uint8)
            bodies = [_items("pdq", queries[n : n + 1], "q") for n in range(singles)]
            pdq = latencies(lambda n: client.post("/v1/match", bodies[n]), singles)
            md5_bodies = [
                _items("md5", rng.integers(0, 256, (1, 16), dtype=np.uint8), "m") for _ in range(singles)
            ]
            md5 = latencies(lambda n: client.post("/v1/match", md5_bodies[n]), singles)
            near = listed[:singles].copy()
            near[:, 0] ^= 0x0F  # 4 bits away: a match, and a notice per ref
            hit_bodies = [_items("pdq", near[n : n + 1], f"hit{n}-") for n in range(singles)]
            hits = latencies(lambda n: client.post("/v1/match", hit_bodies[n]), singles)
            search = latencies(lambda n: index.search(queries[n : n + 1], PDQ_THRESHOLD), singles)
            batch_codes = rng.integers(0, 256, (batches, 1000, 32), dtype=np.uint8)
            batch_bodies = [_items("pdq", batch_codes[n], "b") for n in range(batches)]
            batch = latencies(lambda n: client.post("/v1/match", batch_bodies[n]), batches)
            batch_search = latencies(lambda n: index.search(batch_codes[n], PDQ_THRESHOLD), batches)
            client.connection.close()
            loaded_rate, loaded = load(port, key, bodies * LOAD_ROUNDS, connections)
            batch_loaded_rate, batch_loaded = load(port, key, batch_bodies, connections)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
        scaled = scaling(data_dir, key, bodies, batch_bodies, connections)
        take_one, take_batch = take_latencies(data_dir, singles)
        guard_rows = {watched: guard_latencies(data_dir, singles, watched) for watched in (100, 4096)}

    search_rate = len(search) / sum(search)
    batch_search_rate = 1000 * batches / sum(batch_search)
    search_p50 = latency_ms(search)["p50_ms"]

    def row(
        name: str, times: list[float], rate: float | None = None, baseline: float | None = None
    ) -> list[Cell]:
        figures = latency_ms(times)
        rate = rate if rate is not None else len(times) / sum(times)
        return [name, figures["p50_ms"], figures["p99_ms"], rate, ratio(baseline, rate)]

    pdq_p50 = latency_ms(pdq)["p50_ms"]
    return [
        row("`GET /healthz` (the HTTP floor), 1 connection", floor),
        row("match 1 PDQ, no match, 1 connection", pdq, baseline=search_rate),
        row("match 1 MD5, no match, 1 connection", md5),
        row("match 1 PDQ, matched (notice committed), 1 connection", hits, baseline=search_rate),
        row(
            f"match 1 PDQ, no match, {connections} connections (load generator)",
            loaded,
            loaded_rate,
            search_rate,
        ),
        row("in-process PDQ search alone (baseline, 1 core)", search),
        row("batch of 1,000 PDQ, 1 connection", batch, 1000 * batches / sum(batch), batch_search_rate),
        row(
            f"batch of 1,000 PDQ, {connections} connections",
            batch_loaded,
            1000 * batch_loaded_rate,
            batch_search_rate,
        ),
        row("in-process search of the same batches (baseline)", batch_search, batch_search_rate),
        row("rate budget take of 1 hash (every call pays one), in-process", take_one),
        row("rate budget take of 1,000 hashes (a batch), in-process", take_batch),
        *(
            [
                f"{workers} worker{'s' if workers > 1 else ''}: {what}",
                None,
                None,
                figures[field],
                ratio(figures[field], scaled[1][field]) if workers > 1 else None,
            ]
            for workers, figures in scaled.items()
            for what, field in (
                (f"match 1 PDQ, {connections} connections, requests/s", "singles"),
                ("batches of 1,000 PDQ, 2 connections, batches/s", "batches"),
                ("RSS of the workers, MiB", "rss_mib"),
                ("PSS of the workers (shared pages split), MiB", "pss_mib"),
            )
        ),
        *(
            row(f"probing guard, {what}, {watched:,} watched entries, in-process", times, rate)
            for watched, (one, batch) in guard_rows.items()
            for what, times, rate in (
                ("1 PDQ hash", one, None),
                ("1,000 PDQ hashes", batch, 1000 * len(batch) / sum(batch)),
            )
        ),
    ], (
        f"List build (DB rows, index, publish) {build_s:.0f} s. HTTP overhead at p50: a single PDQ match "
        f"{pdq_p50:.2f} ms against {search_p50:.2f} ms for the search alone, {ratio(pdq_p50, search_p50)}."
    )


HEADERS = ("measurement", "p50 ms", "p99 ms", "requests or hashes/s", "in-process / HTTP")
"""The last column: the in-process search's rate over the HTTP one (or HTTP time over search time): how
many times the HTTP path costs what the search alone does; for 2 workers, their figure over 1 worker's
(the scaling factor)."""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.http", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    add_part_arguments(parser, "a 1M-entry list only (default: 1M and 10M)")
    parser.add_argument("--singles", type=int, default=2000, help="single-hash requests per measurement")
    parser.add_argument("--batches", type=int, default=20, help="batches of 1,000 hashes")
    parser.add_argument("--connections", type=int, default=8, help="the load generator's connections")
    parser.add_argument("--size", type=int, help="one list of this many entries instead (a quick check)")
    args = parser.parse_args(argv)
    sizes = [args.size] if args.size else [1_000_000] if args.quick else [1_000_000, 10_000_000]
    sections, record = [], {}
    for size in sizes:
        rows, note = run(size, args.singles, args.batches, args.connections, args.seed)
        record[str(size)] = {"headers": HEADERS, "rows": rows, "note": note}
        sections.append(f"{size:,} PDQ + {size:,} MD5 entries. {note}\n\n" + markdown_table(HEADERS, rows))
    markdown = (
        "Server: `hashmatch serve` (uvicorn, 1 process; the worker rows: `--workers 1` and `2`), SQLite, "
        "over loopback; client: keep-alive HTTP/1.1, "
        f"one connection, then a load generator of {args.connections} threads with a connection each, on the "
        f"same {len(os.sched_getaffinity(0))} cores as the server. Last column: the in-process rate (or "
        "time) over the HTTP one (the HTTP overhead).\n\n" + "\n\n".join(sections)
    )
    finish_part(
        PartResult(
            "http",
            "HTTP match over loopback",
            markdown,
            {
                "sizes": record,
                "singles": args.singles,
                "batches": args.batches,
                "connections": args.connections,
            },
        ),
        args,
    )


if __name__ == "__main__":
    main()
