"""The set scored end to end through the real commands, at the defaults: ``hashmatch hash`` of the
listed pictures, ``lists import`` and ``lists publish`` into a fresh data directory, a real ``hashmatch
serve`` on a free loopback port, and ``hashmatch scan --report`` of the transformed, unknown and related
copies as a hoster. Each scanned file's outcome comes from the scan's report (matched, confidence,
signals), the server's database (which list items its notice rests on and at what PDQ distance: what a
hotline sees of a notice) and the scan's state file (how many hashes it sent for the file); the total of
hashes is checked against what the server's audit log counted."""

import csv
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from benchmarks.quality.corpus import Corpus
from benchmarks.quality.distances import Entries
from benchmarks.quality.transforms import Context, Transform, save
from benchmarks.report import progress
from db import make_engine, make_session_factory
from db.models import UNSEEN_BY_HOSTER, AuditRecord, Entry, Notice, NoticeMatch

REF_PREFIX = "q/"
HOTLINE, HOSTER = "Quality Hotline", "Quality Hosting"


@dataclass(frozen=True)
class Copy:
    """One scanned file: ``role`` known (a transformed listed picture: it should match ``source``),
    unknown (never listed: any match is a false positive) or related (``source`` is the listed picture it
    is related to: a match is a cross-match); ``transform`` names the transform or the relation."""

    path: str
    role: str
    transform: str
    picture: str
    kind: str
    source: str | None = None


@dataclass
class Outcome:
    copy: Copy
    matched: bool = False
    confidence: str | None = None
    signals: str = ""
    items: set[str] = field(default_factory=set)
    """The list items the file's notice rests on."""
    own_pdq: int | None = None
    """The smallest PDQ distance to an entry of the copy's own source item (None: no PDQ hit on it)."""
    own_other: bool = False
    """Whether a non-PDQ hash matched an entry of its own source item."""
    hashes: int = 0
    problem: str = ""
    nearest_own: dict[str, int] = field(default_factory=dict)
    """Per perceptual type, the smallest distance of the file's hashes to an entry of its source item."""
    nearest_other: dict[str, int] = field(default_factory=dict)
    """Per perceptual type, the smallest distance to an entry of any other item."""

    @property
    def found(self) -> bool:
        """A known copy matched its own item (a match on other items only is wrong, not found)."""
        return self.matched and self.copy.source in self.items

    @property
    def wrong(self) -> bool:
        """Matched an item it does not come from: a false accusation."""
        return self.matched and bool(self.items - {self.copy.source})


@dataclass
class Evaluation:
    outcomes: list[Outcome]
    listed: int
    import_summary: str
    scan_summary: str
    audited_hashes: int
    guard_flags: int
    seconds: dict[str, float]


def item_name(name: str) -> str:
    return f"{name}.png"


def write_set(corpus: Corpus, transforms: Sequence[Transform], root: Path, seed: int) -> list[Copy]:
    """The listed pictures under ``root/material`` (PNG) and every file to scan under ``root/storage``:
    each known and unknown picture through each transform, and the second member of each related pair."""
    material, storage = root / "material", root / "storage"
    material.mkdir(parents=True)
    fillers = [picture.load() for picture in corpus.fillers]
    context = Context(fillers, corpus.mark.load() if corpus.mark is not None else None)
    copies: list[Copy] = []
    for picture in [*corpus.known, *(pair.listed for pair in corpus.pairs)]:
        picture.load().save(material / item_name(picture.name), "PNG")
    for role, pictures in (("known", corpus.known), ("unknown", corpus.unknown)):
        for picture in pictures:
            image = picture.load()
            for number, transform in enumerate(transforms):
                rng = random.Random(f"{seed}/{picture.name}/{number}")
                folder = (
                    storage / role / transform.name.replace(" ", "_").replace("%", "pc").replace("°", "deg")
                )
                folder.mkdir(parents=True, exist_ok=True)
                written = save(transform.apply(image, rng, context), transform, str(folder / picture.name))
                source = item_name(picture.name) if role == "known" else None
                copies.append(
                    Copy(
                        str(Path(written).relative_to(storage)),
                        role,
                        transform.name,
                        picture.name,
                        picture.kind,
                        source,
                    )
                )
    for number, pair in enumerate(corpus.pairs):
        folder = storage / "related" / f"{number:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / item_name(pair.other.name)
        pair.other.load().save(path, "PNG")
        copies.append(
            Copy(
                str(path.relative_to(storage)),
                "related",
                pair.relation,
                pair.other.name,
                pair.other.kind,
                item_name(pair.listed.name),
            )
        )
    return copies


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Commands:
    """``hashmatch`` as a subprocess over one data directory (the embedded default: SQLite and index
    files), with the machine's other hashmatch settings removed."""

    def __init__(self, data: Path, settings: Mapping[str, str] | None = None) -> None:
        self.data = data
        self.environment = {k: v for k, v in os.environ.items() if not k.startswith("HASHMATCH_")}
        self.environment.update(settings or {})
        self.environment["HASHMATCH_DATA_DIR"] = str(data)

    def __call__(self, *argv: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "cli.main", *argv],
            env=self.environment,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"hashmatch {' '.join(argv[:2])} failed: {done.stdout}{done.stderr}".strip())
        return done.stdout + done.stderr

    def serve(self) -> tuple[subprocess.Popen[bytes], str]:
        """A real server on a free loopback port, once it answers ``/readyz``."""
        port = _free_port()
        command = [sys.executable, "-m", "cli.main", "serve", "--host", "127.0.0.1", "--port", str(port)]
        server = subprocess.Popen(
            [*command, "--workers", "1"],
            env=self.environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url + "/readyz", timeout=2) as answer:
                    if answer.status == 200:
                        return server, url
            except OSError:
                time.sleep(0.2)
        server.kill()
        server.wait()
        raise RuntimeError("hashmatch serve did not become ready within 120 s")


def evaluate(
    corpus: Corpus,
    transforms: Sequence[Transform],
    root: Path,
    seed: int,
    hash_args: Sequence[str] = (),
    scan_args: Sequence[str] = (),
    settings: Mapping[str, str] | None = None,
) -> Evaluation:
    """Write the set under ``root``, list the known pictures, scan the copies as a hoster and score every
    file (``hash_args``/``scan_args``: extra options of ``hashmatch hash``/``scan``; ``settings``:
    ``HASHMATCH_*`` settings of the server and the commands; none by default)."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    copies = write_set(corpus, transforms, root, seed)
    seconds["write set"] = time.perf_counter() - started
    progress(f"quality: {len(copies)} files to scan written")
    hashmatch = Commands(root / "server", settings)
    started = time.perf_counter()
    hashmatch("hash", str(root / "material"), "--out", str(root / "list.csv"), "--no-progress", *hash_args)
    hashmatch("orgs", "create", HOTLINE, "--role", "hotline")
    hashmatch("lists", "create", "main", "--org", HOTLINE, "--category", "A")
    imported = hashmatch("lists", "import", f"{HOTLINE}/main", str(root / "list.csv"), "--full", "--skip-bad")
    hashmatch("lists", "publish")
    hashmatch("orgs", "create", HOSTER, "--role", "hoster")
    key = hashmatch("keys", "create", HOSTER).split()[0]
    seconds["hash + import + publish"] = time.perf_counter() - started
    server, url = hashmatch.serve()
    try:
        started = time.perf_counter()
        scanned = hashmatch(
            "scan",
            str(root / "storage"),
            "--server",
            url,
            "--key",
            key,
            "--ref-prefix",
            REF_PREFIX,
            "--state",
            str(root / "state.sqlite"),
            "--report",
            str(root / "report.csv"),
            "--no-progress",
            *scan_args,
        )
        seconds["scan"] = time.perf_counter() - started
    finally:
        server.send_signal(signal.SIGTERM)  # a graceful stop: the audit writer flushes
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    outcomes = _outcomes(copies, root)
    audited, flags = _audit(root / "server")
    listed = len((root / "list.csv").read_text().splitlines()) - 1
    return Evaluation(outcomes, listed, imported.strip(), scanned.strip(), audited, flags, seconds)


def _outcomes(copies: Sequence[Copy], root: Path) -> list[Outcome]:
    by_ref = {REF_PREFIX + copy.path: Outcome(copy) for copy in copies}
    with open(root / "report.csv", newline="") as report:
        for row in csv.DictReader(report):
            outcome = by_ref[row["ref"]]
            outcome.matched = row["matched"] == "true"
            outcome.confidence = row["confidence"] or None
            outcome.signals = row["signals"]
            outcome.problem = row["problem"]
    engine = make_engine(f"sqlite:///{root / 'server' / 'hashmatch.db'}")
    try:
        with make_session_factory(engine)() as session:
            active = select(Entry.hash_type, Entry.value, Entry.item).where(Entry.removed_in.is_(None))
            served = Entries((name, value, item) for name, value, item in session.execute(active))
            rows = session.execute(
                select(Notice.ref, Entry.item, NoticeMatch.hash_type, NoticeMatch.distance)
                .join(NoticeMatch, NoticeMatch.notice_id == Notice.id)
                .join(Entry, Entry.id == NoticeMatch.entry_id)
                .where(Notice.status.not_in(UNSEEN_BY_HOSTER))  # the notices the hoster got
            )
            for ref, item, hash_type, distance in rows:
                outcome = by_ref[ref]
                outcome.items.add(item or "")
                if item != outcome.copy.source:
                    continue
                if hash_type == "pdq":
                    outcome.own_pdq = min(
                        distance, outcome.own_pdq if outcome.own_pdq is not None else distance
                    )
                else:
                    outcome.own_other = True
    finally:
        engine.dispose()
    with sqlite3.connect(root / "state.sqlite") as state:
        for path, text in state.execute("SELECT path, hashes FROM files"):
            outcome = by_ref[REF_PREFIX + path]
            hashes = json.loads(text or "[]")
            outcome.hashes = len(hashes)
            outcome.nearest_own, outcome.nearest_other = served.nearest(hashes, outcome.copy.source)
    return list(by_ref.values())


def _audit(data: Path) -> tuple[int, int]:
    """The hashes the server's audit log counted in match calls, and the probing guard's flags."""
    engine = make_engine(f"sqlite:///{data / 'hashmatch.db'}")
    try:
        with make_session_factory(engine)() as session:
            records = session.execute(select(AuditRecord.action, AuditRecord.detail)).all()
    finally:
        engine.dispose()
    counted: dict[str, int] = defaultdict(int)
    for action, detail in records:
        if action.startswith("match"):
            counted["items"] += int(detail.get("items", 0))
        elif action.startswith("probing."):
            counted["flags"] += 1
    return counted["items"], counted["flags"]
