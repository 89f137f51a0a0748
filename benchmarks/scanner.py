"""Scanner speed: photo-like JPEGs hashed per second, on one core and on every core.

Rates of one process are also given per second of its CPU time, which other load on the machine does not
change; the ratio to the baseline uses them (wall-clock rates for several processes).

Each configuration hashes the same generated photos (noise, gradients and shapes, about 2 MP, JPEG
quality 85) with the default hash types (pdq, phash, dhash, md5, sha256). The baseline is the hotline
tool's setting: full-size decoding, no query variants, one process. Worker pools are started and warmed
before timing. Run ``python -m benchmarks.scanner`` (``--quick``: fewer, smaller photos).
"""

import argparse
import json
import multiprocessing
import os
import platform
import tempfile
import time
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import PIL

from scanner.hashfile import HashOptions, hash_file
from scanner.loading import DRAFT_SIZE
from tests.fixtures.images import photo, save_jpeg

RESULTS = Path(__file__).parent / "results" / "scanner.json"


@dataclass(frozen=True)
class Case:
    name: str
    options: HashOptions
    workers: int


def cases(cores: int) -> list[Case]:
    full = HashOptions()
    scan = HashOptions(draft_size=DRAFT_SIZE, dihedral=True, trim=True)
    return [
        Case("full decode (hotline `hash` default)", full, 1),
        Case(f"draft {DRAFT_SIZE}", HashOptions(draft_size=DRAFT_SIZE), 1),
        Case(f"draft {DRAFT_SIZE} + dihedral", HashOptions(draft_size=DRAFT_SIZE, dihedral=True), 1),
        Case(f"draft {DRAFT_SIZE} + dihedral + trim (`scan` default)", scan, 1),
        Case("full decode + dihedral + trim (`scan --no-draft`)", HashOptions(dihedral=True, trim=True), 1),
        Case("draft 512 + dihedral + trim (`scan --draft-size 512`)", replace(scan, draft_size=512), 1),
        Case("full decode", full, cores),
        Case(f"draft {DRAFT_SIZE} + dihedral + trim (`scan` default)", scan, cores),
    ]


@dataclass(frozen=True)
class Rate:
    """Images per second of wall-clock time, and per second of this process's CPU time (one process
    only: a figure that other load on the machine does not change)."""

    wall: float
    cpu: float | None


def measure(case: Case, paths: list[Path]) -> Rate:
    """The rate of ``case`` over ``paths`` (after a warm-up)."""
    task = partial(hash_file, options=case.options)
    if case.workers == 1:
        task(paths[0])
        started, cpu_started = time.perf_counter(), time.process_time()
        for path in paths:
            task(path)
        return Rate(
            len(paths) / (time.perf_counter() - started), len(paths) / (time.process_time() - cpu_started)
        )
    with multiprocessing.get_context("spawn").Pool(case.workers) as pool:
        pool.map(task, paths[: case.workers * 2], chunksize=1)
        started = time.perf_counter()
        for _ in pool.imap(task, paths, chunksize=4):
            pass
        return Rate(len(paths) / (time.perf_counter() - started), None)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20 photos of 1 MP instead of 60 of 2 MP")
    args = parser.parse_args()
    count, size = (20, (1200, 900)) if args.quick else (60, (1600, 1200))
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as directory:
        paths = [save_jpeg(photo(seed, size), Path(directory) / f"{seed}.jpg", 85) for seed in range(count)]
        megabytes = sum(path.stat().st_size for path in paths) / count / 1e6
        rates = [(case, measure(case, paths)) for case in cases(cores)]
    baseline = rates[0][1]
    load = os.getloadavg()[0]
    print(
        f"Machine: {cpu_model()}, {cores} cores; Python {platform.python_version()}, Pillow {PIL.__version__}"
    )
    print(f"Load average at the end: {load:.1f} (other work on the machine lowers the wall-clock rates)")
    print(
        f"{count} photo-like JPEGs of {size[0]}x{size[1]} ({megabytes:.2f} MB each), types pdq, phash, "
        "dhash, md5, sha256\n"
    )
    print("| configuration | processes | images/s (wall) | images/s per core (CPU time) | vs baseline |")
    print("|---|---|---|---|---|")
    for case, rate in rates:
        if rate.cpu is None:  # several processes: wall-clock rates compared
            cpu, ratio = "-", rate.wall / baseline.wall
        else:
            cpu, ratio = f"{rate.cpu:.0f}", rate.cpu / (baseline.cpu or rate.cpu)
        print(f"| {case.name} | {case.workers} | {rate.wall:.0f} | {cpu} | {ratio:.2f}x |")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "machine": {"cpu": cpu_model(), "cores": cores, "load": load},
                "photos": {"count": count, "width": size[0], "height": size[1]},
                "results": [
                    {"case": case.name, "workers": case.workers, "wall": rate.wall, "cpu": rate.cpu}
                    for case, rate in rates
                ],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
