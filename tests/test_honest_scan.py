"""The honest side of the probing guard: a hoster's ordinary scan of storage full of near-duplicates
(resized, re-encoded, mirrored, flipped, turned and padded copies of the same pictures, listed ones
among them: thousands of files) through ``hashmatch scan`` against a real ``hashmatch serve`` is never
throttled or suspended, and neither is a hotline scanning its own material: with the scanner's variant
items searched at the lists' thresholds, and at lower variant radii (a second edge the guard watches)."""

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageOps
from sqlalchemy import func, select

from cli.main import main
from db import make_engine, make_session_factory
from db.models import AuditRecord, Organisation, ProbeWatch, Standing
from tests.fixtures.images import flipped, letterboxed, mirrored, photo, rotated, save_jpeg, with_border
from tests.test_scan_http import Server

LISTED = tuple(range(300, 308))
UNLISTED = tuple(range(400, 408))
SCALES = (0.5, 0.6, 0.75, 0.9, 1.1, 1.25, 1.5)
QUALITIES = (95, 85, 75, 60, 45)
TURNS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "as-is": lambda image: image,
    "mirrored": mirrored,
    "flipped": flipped,
    "turned": rotated,
    "framed": with_border,
    "letterboxed": letterboxed,
    "black-framed": lambda image: with_border(image, 0.1, "black"),
    "gray-framed": lambda image: ImageOps.expand(image, border=12, fill="gray"),
}


def copies(root: Path, seed: int) -> int:
    """Every copy of one picture a busy platform ends up storing; how many files were written."""
    original = photo(seed, (400, 300))
    written = 0
    for turn, change in TURNS.items():
        changed = change(original)
        for scale in SCALES:
            size = (round(changed.width * scale), round(changed.height * scale))
            resized = changed.resize(size, Image.Resampling.LANCZOS)
            quality = QUALITIES[written % len(QUALITIES)]
            save_jpeg(resized, root / str(seed) / f"{turn}-{scale}-{quality}.jpg", quality)
            written += 1
        for quality in QUALITIES:
            save_jpeg(changed, root / str(seed) / f"{turn}-q{quality}.jpg", quality)
            written += 1
    return written


VARIANT_RADII = {
    "variants-at-list-thresholds": {},
    "variant-radii": {"pdq": 32, "phash": 6, "dhash": 6},
}
"""HASHMATCH_VARIANT_THRESHOLDS of each run: off, and lower radii for every type the scanner turns."""


@pytest.fixture(params=sorted(VARIANT_RADII))
def served(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Server, dict[str, str]]]:
    """A server whose list holds the listed pictures' hashes (made by ``hashmatch hash``), a hoster's
    key and the hotline's own key."""
    data = tmp_path / "server"
    variants = {"HASHMATCH_VARIANT_THRESHOLDS": json.dumps(VARIANT_RADII[request.param])}
    environment = {**os.environ, **variants, "HASHMATCH_DATA_DIR": str(data)}
    environment.pop("HASHMATCH_DATABASE_URL", None)
    material = tmp_path / "hotline"
    for seed in LISTED:
        save_jpeg(photo(seed, (400, 300)), material / f"{seed}.jpg")
    list_csv = tmp_path / "list.csv"
    assert main(["hash", str(material), "--out", str(list_csv)]) == 0

    def hashmatch(*argv: str) -> str:
        command = [sys.executable, "-m", "cli.main", *argv]
        return subprocess.run(command, env=environment, check=True, capture_output=True, text=True).stdout

    hashmatch("orgs", "create", "EOKM", "--role", "hotline")
    hashmatch("lists", "create", "main", "--org", "EOKM")
    # --skip-bad: the import refuses a few of these drawn pictures' hashes (near-constant, low quality)
    hashmatch("lists", "import", "EOKM/main", str(list_csv), "--full", "--publish", "--skip-bad")
    hashmatch("orgs", "create", "Busy Hosting", "--role", "hoster")
    keys = {
        "hoster": hashmatch("keys", "create", "Busy Hosting").split()[0],
        "hotline": hashmatch("keys", "create", "EOKM").split()[0],
    }
    server = Server(data, variants)
    server.start()
    yield server, keys
    server.stop()


def test_a_scan_of_thousands_of_near_duplicates_is_never_flagged(
    served: tuple[Server, dict[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server, keys = served
    storage = tmp_path / "storage"
    files = sum(copies(storage, seed) for seed in (*LISTED, *UNLISTED))
    assert files >= 1500
    for who in ("hoster", "hotline"):
        argv = ["scan", str(storage), "--server", server.url, "--key", keys[who]]
        argv += ["--state", str(tmp_path / f"{who}.db"), "--report", str(tmp_path / f"{who}.csv")]
        assert main(argv) == 0
    scanned = capsys.readouterr().out
    assert f"{files} files hashed" in scanned

    engine = make_engine(f"sqlite:///{tmp_path / 'server' / 'hashmatch.db'}")
    with make_session_factory(engine)() as session:
        hoster = session.scalar(select(Organisation.id).where(Organisation.name == "Busy Hosting"))
        hotline = session.scalar(select(Organisation.id).where(Organisation.name == "EOKM"))
        watched = session.scalar(
            select(func.count()).select_from(ProbeWatch).where(ProbeWatch.organisation_id == hoster)
        )
        assert watched  # the hoster matched listed entries: the guard watched them all the scan long
        levels = dict(session.execute(select(Standing.organisation_id, Standing.level)).tuples().all())
        assert hoster is not None
        assert levels.get(hoster) == "watched"
        assert hotline not in levels  # a hotline's calls see its own lists: nothing to walk
        flags = session.scalars(select(AuditRecord.action).where(AuditRecord.action.like("probing.%"))).all()
        assert flags == []
    engine.dispose()
