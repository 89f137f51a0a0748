"""The scan workload: images answered per second per server core against a large PDQ list, every
variant the scanner sends (the image as stored and its seven turns), all at the list threshold (before)
and with the turns at the variant threshold (after), in the same run; and the recall of both on
transformed copies of the project's photo-like images (tests/fixtures/images.py).

    python -m benchmarks --only scanload           # 10M entries
    python -m benchmarks --only scanload --quick   # 1M entries
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.report import (
    Cell,
    PartResult,
    add_part_arguments,
    finish_part,
    markdown_table,
    progress,
    ratio,
)
from matcher import get_hash_type
from matcher.hamming import HammingIndex
from scanner.defaults import DRAFT_SIZE
from scanner.hashfile import HashOptions, hash_file
from tests.fixtures.images import flipped, letterboxed, mirrored, photo, rotated, save_jpeg, with_border

LIST_THRESHOLD = 48
VARIANT_THRESHOLD = 36
IMAGES = 200
TYPES = ("pdq",)
SCAN = HashOptions(types=TYPES, dihedral=True, trim=True, draft_size=DRAFT_SIZE)
TRANSFORMS = {
    "re-encoded": lambda image: image,
    "half size": lambda image: image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS),
    "mirrored": mirrored,
    "rotated": rotated,
    "flipped": flipped,
    "framed": with_border,
    "letterboxed": letterboxed,
}


def copies(directory: Path, seeds: range) -> tuple[np.ndarray, list[tuple[int, list[tuple[bytes, bool]]]]]:
    """The listed photos' PDQ codes, and for each transformed copy (JPEG quality 60) its listed row and
    the (code, variant) pairs the scanner sends."""
    pdq = get_hash_type("pdq")
    listed, sent = [], []
    for row, (seed, size) in enumerate((s, z) for s in seeds for z in ((320, 240), (1024, 768))):
        original = photo(seed, size)
        path = save_jpeg(original, directory / f"{row}.jpg")
        listed.append(pdq.parse(hash_file(path, HashOptions(types=TYPES)).hashes[0].hash))
        for name, transform in TRANSFORMS.items():
            copy = save_jpeg(transform(original), directory / f"{row}-{name}.jpg", quality=60)
            sent.append((row, [(pdq.parse(h.hash), h.variant) for h in hash_file(copy, SCAN).hashes]))
    return np.frombuffer(b"".join(listed), np.uint8).reshape(len(listed), 32), sent


def found(index: HammingIndex, queries: list[tuple[bytes, bool]], variant_radius: int) -> set[int]:
    codes = np.frombuffer(b"".join(code for code, _ in queries), np.uint8).reshape(len(queries), 32)
    flags = np.array([variant for _, variant in queries])
    rows = set()
    for mask, radius in ((~flags, LIST_THRESHOLD), (flags, variant_radius)):
        if mask.any():
            rows |= set(index.search(codes[mask], radius, threads=1).entry.tolist())
    return rows


def cpu_seconds(index: HammingIndex, codes: np.ndarray, radius: int) -> float:
    index.search(codes[:16], radius, threads=1)
    start = time.process_time()
    index.search(codes, radius, threads=1)
    return time.process_time() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scanload", description=__doc__)
    add_part_arguments(parser, "1M entries instead of 10M")
    args = parser.parse_args(argv)
    size = 1_000_000 if args.quick else 10_000_000
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as directory:
        listed, sent = copies(Path(directory), range(6))
    codes = np.concatenate([listed, rng.integers(0, 256, (size - len(listed), 32), dtype=np.uint8)])
    progress(f"scanload: building {size:,} entries")
    index = HammingIndex.build("pdq", 256, 64, codes, np.arange(size), design_threshold=LIST_THRESHOLD)
    images = rng.integers(0, 256, (IMAGES, 8, 32), dtype=np.uint8)  # unlisted images: no match
    before = cpu_seconds(index, images.reshape(-1, 32), LIST_THRESHOLD)
    after = cpu_seconds(index, images[:, 0], LIST_THRESHOLD) + cpu_seconds(
        index, images[:, 1:].reshape(-1, 32), VARIANT_THRESHOLD
    )
    recall = {
        radius: sum(row in found(index, queries, radius) for row, queries in sent)
        for radius in (LIST_THRESHOLD, VARIANT_THRESHOLD)
    }
    rows: list[list[Cell]] = [
        [
            f"all 8 at {LIST_THRESHOLD}",
            IMAGES / before,
            1000 * before / IMAGES,
            1.0,
            f"{recall[48]}/{len(sent)}",
        ],
        [
            f"image at {LIST_THRESHOLD}, 7 turns at {VARIANT_THRESHOLD}",
            IMAGES / after,
            1000 * after / IMAGES,
            ratio(before, after),
            f"{recall[VARIANT_THRESHOLD]}/{len(sent)}",
        ],
    ]
    headers = ("searched", "images/s per core (CPU)", "ms per image", "vs all at 48", "copies found")
    markdown = (
        f"{size:,} uniform PDQ entries (plus the listed photos), {IMAGES} unlisted images of 8 PDQ variants "
        f"each, one thread; recall over {len(sent)} transformed copies ({', '.join(TRANSFORMS)}) of 12 "
        "listed photos, JPEG quality 60.\n\n" + markdown_table(headers, rows)
    )
    record = {"entries": size, "before_s": before, "after_s": after, "recall": recall, "copies": len(sent)}
    finish_part(
        PartResult("scanload", "Scan workload: images answered per server core", markdown, record), args
    )


if __name__ == "__main__":
    main()
