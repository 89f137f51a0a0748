"""``hashmatch scan s3://bucket/prefix`` against the real S3 API (moto's server, tests/s3.py) and the real
match API (``hashmatch serve``, as tests/test_scan_http.py): a bucket of thousands of objects listed page
by page, unchanged objects skipped by their ETag, a scan stopped mid-way that resumes without reading
again what was recorded, and the Ray engine giving what the local engine gives."""

import io
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from cli.main import main
from scanner.errors import ScannerError
from scanner.sources import open_source
from tests.s3 import S3Server
from tests.test_scan_http import MATCHED, Server, runs, sent_files, server, storage

__all__ = ["server"]  # the fixture, shared with tests/test_scan_http.py

LISTED = {ref.replace("s3://bucket/", "") for ref in MATCHED}


def tiny_png(seed: int) -> bytes:
    """A 16x16 noise image: thousands of them upload and hash in seconds."""
    pixels = np.random.default_rng(seed).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, "PNG")
    return buffer.getvalue()


def bucket(s3: S3Server, tmp_path: Path, tiny: int, unrelated: int = 2) -> tuple[str, Any]:
    """A bucket whose prefix holds the hoster's photos (tests/test_scan_http.py's storage: three copies
    of listed photos) and ``tiny`` small images; its URL and an s3fs file system on it."""
    import s3fs  # noqa: PLC0415

    fs = s3fs.S3FileSystem(endpoint_url=s3.endpoint_url, skip_instance_cache=True)
    name = s3.fresh_store().split("/")[2]
    local = tmp_path / "photos"
    storage(local, unrelated)
    objects = {
        f"{name}/uploads/{path.relative_to(local).as_posix()}": path.read_bytes()
        for path in local.rglob("*.jpg")
    }
    objects |= {f"{name}/uploads/tiny/{n:05d}.png": tiny_png(n) for n in range(tiny)}
    fs.pipe(objects)
    return f"s3://{name}/uploads", fs


def scan_argv(url: str, running: Server, key: str, s3: S3Server, tmp_path: Path, *extra: str) -> list[str]:
    return [
        "scan", url, "--server", running.url, "--key", key, "--s3-endpoint-url", s3.endpoint_url,
        "--state", str(tmp_path / "state.db"), "--report", str(tmp_path / "report.csv"), "--no-progress",
        *extra,
    ]  # fmt: skip


def matched(tmp_path: Path, url: str) -> set[str]:
    return {row["ref"].removeprefix(url + "/") for row in runs(tmp_path) if row["matched"] == "true"}


def test_a_bucket_of_thousands_is_scanned_and_unchanged_objects_skipped(
    s3: S3Server, server: tuple[Server, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    running, key = server
    url, fs = bucket(s3, tmp_path, tiny=1_995)  # 2,000 objects: more than one page of 1,000 keys
    argv = scan_argv(url, running, key, s3, tmp_path, "--workers", "2")
    assert main(argv) == 0
    assert matched(tmp_path, url) == LISTED  # refs are the objects' URLs
    out = capsys.readouterr().out
    assert "2000 files found, 0 unchanged" in out
    assert "2000 files hashed and 2000 sent" in out

    # the next run reads nothing: every object has the ETag the state recorded
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "2000 files found, 2000 unchanged since the last scan (skipped)" in out
    assert "0 files hashed" in out

    # a copy over an object with the same bytes keeps its ETag; new bytes are a new ETag
    fs.pipe({f"{url[5:]}/tiny/00001.png": tiny_png(1), f"{url[5:]}/tiny/00002.png": tiny_png(99_999)})
    assert main(argv) == 0
    assert "1 file hashed and 1 sent" in capsys.readouterr().out
    assert runs(tmp_path)[-1]["ref"] == f"{url}/tiny/00002.png"


def test_a_scan_stopped_mid_bucket_resumes_without_reading_again(
    s3: S3Server, server: tuple[Server, str], tmp_path: Path
) -> None:
    running, key = server
    url, _ = bucket(s3, tmp_path, tiny=150)
    total = 155
    argv = scan_argv(url, running, key, s3, tmp_path, "--batch-size", "40", "--retries", "0")
    scanning = subprocess.Popen([sys.executable, "-m", "cli.main", *argv])
    deadline = time.monotonic() + 60
    while sent_files(tmp_path) == 0:
        assert time.monotonic() < deadline, "no batch was answered within 60 s"
        time.sleep(0.05)
    running.stop()
    assert scanning.wait(timeout=60) == 1  # no retries left: it stops, saying how to resume
    recorded = sent_files(tmp_path)
    assert 0 < recorded < total

    running.start()
    assert main(scan_argv(url, running, key, s3, tmp_path)) == 0
    assert sent_files(tmp_path) == total
    rows = runs(tmp_path)
    last = [row for row in rows if row["run"] == rows[-1]["run"]]
    assert len(last) == total - recorded  # only what was not recorded was read and hashed again
    assert matched(tmp_path, url) == LISTED


def state_rows(path: Path) -> list[tuple[object, ...]]:
    """The state's files as recorded, without the time each was sent."""
    with sqlite3.connect(path) as db:
        query = "SELECT path, size, mtime_ns, version, matched, hashes, index_version, notice_id FROM files"
        return db.execute(query + " ORDER BY path").fetchall()


@pytest.fixture
def ray_instance() -> Iterator[None]:
    """A local Ray instance of two CPUs, shut down after the test."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_the_ray_engine_gives_what_the_local_engine_gives(
    s3: S3Server, server: tuple[Server, str], tmp_path: Path, ray_instance: None
) -> None:
    running, key = server
    url, _ = bucket(s3, tmp_path, tiny=30, unrelated=5)
    scans = {}
    for engine in ("local", "ray"):
        directory = tmp_path / engine
        directory.mkdir()
        argv = scan_argv(url, running, key, s3, directory, "--engine", engine, "--batch-size", "100")
        assert main(argv) == 0
        columns = ("ref", "matched", "confidence", "signals", "notice_id", "problem")
        scans[engine] = (
            [tuple(row[name] for name in columns) for row in runs(directory)],
            state_rows(directory / "state.db"),
        )
    assert len(scans["local"][1]) == 38
    assert matched(tmp_path / "ray", url) == LISTED
    assert scans["ray"] == scans["local"]


def test_a_bucket_that_cannot_be_listed_is_one_line(s3: S3Server) -> None:
    source = open_source("s3://no-such-bucket/uploads", s3.endpoint_url)
    with pytest.raises(ScannerError, match=r"^cannot list s3://no-such-bucket/uploads: \w+: "):
        next(source.entries())
    with pytest.raises(ScannerError, match="gs:// needs an extra package"):
        open_source("gs://bucket/uploads")
