"""Console page times at 10,000 notices: each main page rendered by the real app (in process, through
the ASGI stack with its session, CSRF and authorisation), over a SQLite database holding the sample
lists and that many notices (three in four to one hoster, a mix of every status, each with its match
and history). The issue's target: a page within 200 ms.

    python -m benchmarks --only console [--quick]     # --quick: 1,000 notices, fewer requests
"""

import argparse
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select

from api.app import create_app
from benchmarks.report import (
    Cell,
    PartResult,
    add_part_arguments,
    finish_part,
    markdown_table,
    percentile,
    progress,
)
from db import make_engine, upgrade
from db.clock import ManualClock
from db.models import Entry, Notice, NoticeEvent, NoticeMatch, Organisation
from tests.api.support import START, example_names, issue_keys, make_settings, publish_lists, sample_lists
from tests.console.support import csrf_of

STATUSES = ("open", "overdue", "disputed", "removed", "withdrawn")
HEADERS = ["page", "who", "median ms", "p95 ms", "requests"]


def fill(engine: Engine, count: int, rng: np.random.Generator) -> None:
    """``count`` notices in the past 60 days, with one match and two events each, inserted in bulk."""
    with engine.begin() as connection:
        hosters = dict(connection.execute(select(Organisation.name, Organisation.id)).all())
        entry = connection.execute(select(Entry.id, Entry.list_id, Entry.hash_type).limit(1)).one()
        now = START
        notices, matches, events = [], [], []
        for number in range(1, count + 1):
            created = now - timedelta(minutes=int(rng.integers(0, 60 * 24 * 60)))
            status = STATUSES[int(rng.integers(0, len(STATUSES)))]
            closed = (
                created + timedelta(hours=float(rng.exponential(10)))
                if status in ("removed", "withdrawn")
                else None
            )
            hoster = hosters["Example Hosting" if rng.random() < 0.75 else "Other Hosting"]
            notices.append(
                {
                    "id": number,
                    "public_id": f"ntc_bench{number:023d}",
                    "hoster_id": hoster,
                    "ref": f"https://cdn.example/{number}.jpg",
                    "active_ref": None if closed else f"ref{number}",
                    "status": status,
                    "confidence": "high",
                    "signals": ["md5"],
                    "category": "A",
                    "legal_basis": "Art. 240b",
                    "created_at": created,
                    "deadline": created + timedelta(hours=24),
                    "binding_order": False,
                    "closed_at": closed,
                }
            )
            matches.append(
                {"notice_id": number, "entry_id": entry.id, "list_id": entry.list_id, "distance": 0}
                | {"hash_type": entry.hash_type}
            )
            events.append(
                {"notice_id": number, "at": created, "action": "created", "status": "open", "reason": ""}
            )
            if status != "open":
                step = {"action": status, "status": status, "reason": "benchmark"}
                events.append({"notice_id": number, "at": closed or created, **step})
        connection.execute(insert(Notice), notices)
        connection.execute(insert(NoticeMatch), matches)
        connection.execute(insert(NoticeEvent), events)


def signed_in(client: TestClient, key: str) -> None:
    form = client.get("/console/sign-in")
    answer = client.post("/console/sign-in", data={"key": key, "csrf": csrf_of(form)})
    assert answer.status_code == 303, answer.text


def measure(client: TestClient, path: str, requests: int) -> list[float]:
    """Milliseconds of ``requests`` GETs of ``path`` after one unmeasured (warming) request."""
    assert client.get(path).status_code == 200, path
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (path, answer.text[:300])
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.console", description=__doc__)
    add_part_arguments(parser, "1,000 notices and 5 requests per page instead of 10,000 and 20")
    args: argparse.Namespace = parser.parse_args(argv)
    count, requests = (1_000, 5) if args.quick else (10_000, 20)
    rng = np.random.default_rng(args.seed)
    pages = [
        ("inbox, deadline first", "hoster", "/console/notices"),
        ("inbox, all, page 50", "hoster", "/console/notices?show=all&sort=newest&page=50"),
        ("notice detail", "hoster", "/console/notices/{detail}"),
        ("compliance, 60 days", "authority", "/console/compliance?from=2026-09-24&to=2026-11-23"),
        ("compliance CSV", "authority", "/console/compliance.csv?from=2026-09-24&to=2026-11-23"),
        ("dispute queue", "hotline", "/console/disputes"),
    ]
    rows: list[list[Cell]] = []
    record: dict[str, Any] = {"notices": count, "requests": requests, "pages": {}}
    with tempfile.TemporaryDirectory(prefix="hashmatch-console.") as directory:
        data = Path(directory)
        url = f"sqlite:///{data / 'hashmatch.db'}"
        engine = make_engine(url)
        upgrade(engine)
        specs, _ = sample_lists(rng)
        publish_lists(engine, data / "indexes", specs)
        clock = ManualClock(START)
        keys = issue_keys(engine, clock)
        progress(f"console: {count:,} notices")
        fill(engine, count, rng)
        detail = (
            engine.connect()
            .execute(
                select(Notice.public_id)
                .join(Organisation, Organisation.id == Notice.hoster_id)
                .where(Organisation.name == "Example Hosting")
                .limit(1)
            )
            .scalar_one()
        )
        app = create_app(make_settings(url, data), clock=clock, resolve=example_names)
        with TestClient(app, base_url="http://localhost"):  # the app's start and stop
            clients = {
                who: TestClient(app, base_url="http://localhost", follow_redirects=False)
                for who in ("hoster", "authority", "hotline")
            }
            for who, client in clients.items():
                signed_in(client, keys[who])
            for title, who, path in pages:
                progress(f"console: {title}")
                times = measure(clients[who], path.format(detail=detail), requests)
                rows.append([title, who, statistics.median(times), percentile(times, 0.95), requests])
                record["pages"][title] = times
        engine.dispose()
    markdown = (
        f"{count:,} notices on SQLite, in process through the ASGI app (a signed-in session per user), "
        f"{requests} requests per page after one warm-up.\n\n" + markdown_table(HEADERS, rows)
    )
    finish_part(PartResult("console", "Console pages", markdown, record), args)


if __name__ == "__main__":
    main()
