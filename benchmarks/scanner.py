"""Scanner speed: photo-like JPEGs and PNGs hashed per second, on one core and on every core.

Rates of one process are also given per second of its CPU time, which other load on the machine does not
change; the ratio to the baseline uses them (wall-clock rates for several processes).

A second table runs the scan's pipeline without a server (list, read, hash: ``scanner.scan``'s engines)
over the same photos in a local directory and in a bucket of moto's S3 server on loopback (tests/s3.py),
with the local engine (a process per core) and the Ray engine (a local Ray instance of as many CPUs,
started before timing). Only the photos move: the rates show what reading through the S3 API and
scheduling Ray tasks cost against reading files by path.

Each configuration hashes the same generated photos (noise, gradients and shapes, about 2 MP, JPEG
quality 85; PNG rows: 0.42 MP PNGs) with the default hash types (pdq, phash, dhash, md5, sha256). The
baseline is the hotline tool's setting: full-size decoding, no query variants, one process. Worker
pools are started and warmed before timing.

    python -m benchmarks --only scanner [--quick]     # --quick: fewer, smaller photos
"""

import argparse
import multiprocessing
import os
import tempfile
import time
from dataclasses import dataclass, replace
from functools import partial
from itertools import product
from pathlib import Path

from benchmarks.report import Cell, PartResult, add_part_arguments, finish_part, markdown_table, ratio
from scanner.config import ScanConfig
from scanner.defaults import DEFAULT_REGIONS, DRAFT_SIZE
from scanner.distributed import ray_hasher
from scanner.hashfile import HashOptions, hash_file
from scanner.scan import Hasher, local_hasher
from tests.fixtures.images import photo, save_jpeg
from tests.s3 import s3_server


@dataclass(frozen=True)
class Case:
    name: str
    options: HashOptions
    workers: int


SCAN = HashOptions(draft_size=DRAFT_SIZE, dihedral=True, trim=True, regions=DEFAULT_REGIONS)
"""What ``hashmatch scan`` does to an image by default: draft decoding, the turns, the trimmed copy and
the pictures found inside (at most ``--max-regions``)."""


def cases(cores: int) -> list[Case]:
    full = HashOptions(check_scaling=True)  # what `hashmatch hash` does
    scan = SCAN
    return [
        Case("full decode (hotline `hash` default)", full, 1),
        Case(f"draft {DRAFT_SIZE}", HashOptions(draft_size=DRAFT_SIZE), 1),
        Case(f"draft {DRAFT_SIZE} + dihedral", HashOptions(draft_size=DRAFT_SIZE, dihedral=True), 1),
        Case(f"draft {DRAFT_SIZE} + dihedral + trim", replace(scan, regions=0), 1),
        Case(f"draft {DRAFT_SIZE} + dihedral + trim + pictures inside (`scan` default)", scan, 1),
        Case("full decode + dihedral + trim (`scan --no-draft`)", HashOptions(dihedral=True, trim=True), 1),
        Case("draft 512 + dihedral + trim (`scan --draft-size 512`)", replace(scan, draft_size=512), 1),
        Case("full decode", full, cores),
        Case(f"draft {DRAFT_SIZE} + dihedral + trim + pictures inside (`scan` default)", scan, cores),
    ]


def png_cases() -> list[Case]:
    scan = SCAN
    return [
        Case("PNG: full decode (hotline `hash` default)", HashOptions(check_scaling=True), 1),
        Case("PNG: full decode + dihedral + trim (`scan --no-draft`)", replace(scan, draft_size=None), 1),
        Case(f"PNG: reduced to {DRAFT_SIZE} + dihedral + trim", replace(scan, regions=0), 1),
        Case(f"PNG: reduced to {DRAFT_SIZE} + dihedral + trim + pictures inside (`scan` default)", scan, 1),
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


def pipeline(hasher: Hasher, config: ScanConfig) -> float:
    """Files listed, read and hashed per second (wall clock) by ``hasher`` over ``config.root``."""
    source = config.source()
    started = time.perf_counter()
    done = sum(1 for _ in hasher(source, config, source.entries()))
    return done / (time.perf_counter() - started)


def pipeline_rows(directory: Path, cores: int) -> list[list[Cell]]:
    """The scan's pipeline over ``directory`` and over the same files in a bucket, with each engine."""
    options = SCAN
    measured: list[tuple[str, str, float]] = []
    with s3_server() as s3:
        import ray  # noqa: PLC0415
        import s3fs  # noqa: PLC0415

        fs = s3fs.S3FileSystem(endpoint_url=s3.endpoint_url, skip_instance_cache=True)
        bucket = s3.fresh_store().split("/")[2]
        fs.put(f"{directory}/", f"{bucket}/photos/", recursive=True)
        roots = {"local directory": str(directory), "S3 (moto, loopback)": f"s3://{bucket}/photos"}
        ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False, configure_logging=False)
        try:
            engines: dict[str, Hasher] = {"local": local_hasher, "ray": ray_hasher()}
            for (where, root), (engine, hasher) in product(roots.items(), engines.items()):
                config = ScanConfig(root, options, workers=cores, endpoint_url=s3.endpoint_url)
                pipeline(hasher, config)  # warm-up: workers started, the bucket's first reads
                measured.append((where, engine, pipeline(hasher, config)))
        finally:
            ray.shutdown()
    base = measured[0][2]
    return [[where, engine, cores, rate, ratio(rate, base)] for where, engine, rate in measured]


PIPELINE_HEADERS = ("storage", "engine", "CPUs", "files/s (wall)", "vs local directory, local engine")
PNG_SIZE = (750, 560)
HEADERS = ("configuration", "processes", "images/s (wall)", "images/s per core (CPU time)", "vs baseline")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scanner", description=__doc__)
    add_part_arguments(parser, "20 photos of 1 MP instead of 60 of 2 MP")
    args = parser.parse_args(argv)
    count, size = (20, (1200, 900)) if args.quick else (60, (1600, 1200))
    cores = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as directory:
        paths = [
            save_jpeg(photo(args.seed + n, size), Path(directory) / f"{n}.jpg", 85) for n in range(count)
        ]
        megabytes = sum(path.stat().st_size for path in paths) / count / 1e6
        rates = [(case, measure(case, paths)) for case in cases(cores)]
        pngs = [Path(directory) / f"{n}.png" for n in range(count)]
        for n, path in enumerate(pngs):
            photo(args.seed + 1000 + n, PNG_SIZE).save(path)
        rates += [(case, measure(case, pngs)) for case in png_cases()]
        for path in pngs:
            path.unlink()
        pipelines = pipeline_rows(Path(directory), cores)
    baseline = rates[0][1]  # the PNG rows are compared with the PNG baseline
    png_baseline = rates[len(cases(cores))][1]
    rows: list[list[Cell]] = []
    for case, rate in rates:
        # several processes: wall-clock rates compared; one: rates per second of CPU time
        base = png_baseline if case.name.startswith("PNG") else baseline
        compared = ratio(rate.wall, base.wall) if rate.cpu is None else ratio(rate.cpu, base.cpu)
        rows.append([case.name, case.workers, rate.wall, rate.cpu, compared])
    markdown = (
        f"{count} photo-like JPEGs of {size[0]}x{size[1]} ({megabytes:.2f} MB each) and {count} PNGs of "
        f"{PNG_SIZE[0]}x{PNG_SIZE[1]}, types pdq, phash, dhash, md5, sha256. Baseline: the first row (PNG "
        f"rows: the first PNG row). Load average at the end: {os.getloadavg()[0]:.1f} "
        "(other work on the machine lowers the wall-clock rates, not the CPU-time ones).\n\n"
        + markdown_table(HEADERS, rows)
        + f"\n\nThe scan's pipeline (list, read, hash; `scan` default options) over the {count} JPEGs:\n\n"
        + markdown_table(PIPELINE_HEADERS, pipelines)
    )
    record = {
        "photos": {"count": count, "width": size[0], "height": size[1], "megabytes": megabytes},
        "results": [
            {"case": case.name, "workers": case.workers, "wall": rate.wall, "cpu": rate.cpu}
            for case, rate in rates
        ],
        "pipeline": [dict(zip(PIPELINE_HEADERS, row, strict=True)) for row in pipelines],
    }
    finish_part(PartResult("scanner", "Scanner: images hashed per second", markdown, record), args)


if __name__ == "__main__":
    main()
