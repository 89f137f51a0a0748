"""The scan workload: images answered per second per server core against a large PDQ list, every
variant the scanner sends (the image as stored and its seven turns), all at the list threshold (the
baseline) and with the turns at lower radii, the server's default among them, in the same run; and the
recall of each on transformed copies of the project's photo-like images (tests/fixtures/images.py), with
the turns the scanner sends (each the PDQ of the turned image, :mod:`scanner.pdqturns`) and with the
reference's one-DCT turns (``pdqhash.compute_dihedral``) that it sent before.

    python -m benchmarks --only scanload           # 10M entries
    python -m benchmarks --only scanload --quick   # 1M entries
"""

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pdqhash
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
from config.settings import Settings
from matcher import get_hash_type
from matcher.hamming import HammingIndex
from scanner.defaults import DRAFT_SIZE
from scanner.hashfile import HashOptions, hash_file
from scanner.loading import load_image
from tests.fixtures.images import flipped, letterboxed, mirrored, photo, rotated, save_jpeg, with_border

LIST_THRESHOLD = 48
VARIANT_THRESHOLD = Settings.model_fields["variant_thresholds"].default["pdq"]
RADII = sorted({36, 34, VARIANT_THRESHOLD, 30}, reverse=True)
IMAGES = 200
TYPES = ("pdq",)
SCAN = HashOptions(types=TYPES, dihedral=True, trim=True, draft_size=DRAFT_SIZE)
TRANSFORMS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "re-encoded": lambda image: image,
    "half size": lambda image: image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS),
    "mirrored": mirrored,
    "rotated": rotated,
    "flipped": flipped,
    "framed": with_border,
    "letterboxed": letterboxed,
    "half size, upside down": lambda image: image.resize(
        (image.width // 2, image.height // 2), Image.Resampling.LANCZOS
    ).transpose(Image.Transpose.ROTATE_180),
    "transverse": lambda image: image.transpose(Image.Transpose.TRANSVERSE),
}
TURNED = ("mirrored", "rotated", "flipped", "half size, upside down", "transverse")
Sent = list[tuple[int, str, list[tuple[bytes, bool]]]]


def copies(directory: Path, seeds: range) -> tuple[np.ndarray, Sent, Sent]:
    """The listed photos' PDQ codes, and for each transformed copy (JPEG quality 60) its listed row, its
    transform and the (code, variant) pairs the scanner sends; and the same with the reference's one-DCT
    turns of the image as stored in place of the scanner's."""
    pdq = get_hash_type("pdq")
    listed, sent, before = [], [], []
    for row, (seed, size) in enumerate((s, z) for s in seeds for z in ((320, 240), (1024, 768))):
        original = photo(seed, size)
        path = save_jpeg(original, directory / f"{row}.jpg")
        listed.append(pdq.parse(hash_file(path, HashOptions(types=TYPES)).hashes[0].hash))
        for name, transform in TRANSFORMS.items():
            copy = save_jpeg(transform(original), directory / f"{row}-{name}.jpg", quality=60)
            pairs = [(pdq.parse(h.hash), h.variant) for h in hash_file(copy, SCAN).hashes]
            sent.append((row, name, pairs))
            image = load_image(copy, draft_size=DRAFT_SIZE).image
            assert image is not None
            turns, _quality = pdqhash.compute_dihedral(np.asarray(image))
            old = [(np.packbits(bits.astype(np.uint8)).tobytes(), True) for bits in turns[1:]]
            before.append((row, name, [pair for pair in pairs if not pair[1]] + old))
    return np.frombuffer(b"".join(listed), np.uint8).reshape(len(listed), 32), sent, before


def hardest(directory: Path, seeds: range) -> tuple[int, int]:
    """The farthest the nearest turn of a turned copy sat from its listed photo, and a re-encode of the
    upright photo, on the hardest copies: 320x240 photos at half size, JPEG quality 40, turned 7 ways."""
    pdq = get_hash_type("pdq")
    turned, reencoded = 0, 0
    for seed in seeds:
        original = photo(seed)
        listed = pdq.parse(
            hash_file(save_jpeg(original, directory / "listed.jpg"), HashOptions(types=TYPES)).hashes[0].hash
        )
        small = original.resize((original.width // 2, original.height // 2), Image.Resampling.LANCZOS)
        for turn in (None, *Image.Transpose):
            copy = save_jpeg(
                small if turn is None else small.transpose(turn), directory / "copy.jpg", quality=40
            )
            hashes = hash_file(copy, SCAN).hashes
            nearest = min(
                pdq.distance(listed, pdq.parse(h.hash)) for h in hashes if h.variant == (turn is not None)
            )
            if turn is None:
                reencoded = max(reencoded, nearest)
            else:
                turned = max(turned, nearest)
    return turned, reencoded


def farthest_turn(listed: np.ndarray, queries: Sent) -> int:
    """The farthest any turned copy's nearest turn sat from its listed photo, in bits."""
    return max(
        min(
            int(np.unpackbits(np.frombuffer(code, np.uint8) ^ listed[row]).sum())
            for code, turn in pairs
            if turn
        )
        for row, name, pairs in queries
        if name in TURNED
    )


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
        listed, sent, one_dct = copies(Path(directory), range(6))
        hardest_turn, hardest_reencode = hardest(Path(directory), range(12))
    codes = np.concatenate([listed, rng.integers(0, 256, (size - len(listed), 32), dtype=np.uint8)])
    progress(f"scanload: building {size:,} entries")
    index = HammingIndex.build("pdq", 256, 64, codes, np.arange(size), design_threshold=LIST_THRESHOLD)
    images = rng.integers(0, 256, (IMAGES, 8, 32), dtype=np.uint8)  # unlisted images: no match
    before = cpu_seconds(index, images.reshape(-1, 32), LIST_THRESHOLD)
    stored = cpu_seconds(index, images[:, 0], LIST_THRESHOLD)
    turns = {radius: cpu_seconds(index, images[:, 1:].reshape(-1, 32), radius) for radius in RADII}

    recall = {
        radius: f"{sum(row in found(index, pairs, radius) for row, _, pairs in sent)}/{len(sent)}"
        for radius in (LIST_THRESHOLD, *RADII)
    }
    farthest = {"scanner": farthest_turn(listed, sent), "one_dct": farthest_turn(listed, one_dct)}
    rows: list[list[Cell]] = [
        [f"all 8 at {LIST_THRESHOLD}", IMAGES / before, 1000 * before / IMAGES, 1.0, recall[LIST_THRESHOLD]],
        *(
            [f"image at {LIST_THRESHOLD}, 7 turns at {radius}" + " (default)" * (radius == VARIANT_THRESHOLD),
             IMAGES / (stored + seconds), 1000 * (stored + seconds) / IMAGES, ratio(before, stored + seconds),
             recall[radius]]
            for radius, seconds in turns.items()
        ),
    ]  # fmt: skip
    headers = ("searched", "images/s per core (CPU)", "ms per image", "vs all at 48", "copies found")
    markdown = (
        f"{size:,} uniform PDQ entries (plus the listed photos), {IMAGES} unlisted images of 8 PDQ variants "
        f"each, one thread; recall over {len(sent)} transformed copies ({', '.join(TRANSFORMS)}) of 12 "
        "listed photos, JPEG quality 60.\n\n" + markdown_table(headers, rows) + "\n\nThe turned copies' "
        f"nearest turn sat at most {farthest['scanner']} bits from their listed photo, where the reference's "
        f"one-DCT turns of the same images sat at most {farthest['one_dct']}. On the hardest copies (12 "
        "photos of 320x240 at half size, JPEG quality 40, turned 7 ways) the nearest turn sat at most "
        f"{hardest_turn} bits away, a re-encode of the upright copy {hardest_reencode}."
    )
    record = {
        "entries": size,
        "before_s": before,
        "stored_s": stored,
        "turns_s": turns,
        "recall": recall,
        "farthest_turn": farthest,
        "hardest": {"turned": hardest_turn, "reencoded": hardest_reencode},
        "copies": len(sent),
    }
    finish_part(
        PartResult("scanload", "Scan workload: images answered per server core", markdown, record), args
    )


if __name__ == "__main__":
    main()
