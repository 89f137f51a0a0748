"""vPDQ search: one query video of 60 frames against listed videos of 60 frames each, 100K videos (6M
frames; ``--quick``: 10K, 600K frames), through hashmatch's video index (one exact PDQ index of every
listed frame, then exact scoring of the videos it finds) and against the brute-force baseline measured
in the same run: Meta's rule applied to every listed video (every query frame against every frame,
NumPy popcounts over the frames in blocks, then the shares per video).

Listed videos are random walks in PDQ space (each frame 8-24 bits from the one before, as neighbouring
seconds of one scene are); the query is a re-encode of one listed video (every frame moved by up to 12
bits) searched at the frame threshold 31 and 80/80 %. Both answers must name the same matching video.

    python -m benchmarks --only video [--quick]
"""

import argparse
import os
import statistics
import time
from typing import Any

import numpy as np

from benchmarks.report import (
    Cell,
    PartResult,
    add_part_arguments,
    finish_part,
    markdown_table,
    progress,
    ratio,
)
from matcher.codes import Codes
from matcher.frames import FRAME, Frames, reaches, usable
from matcher.video import VideoIndex

FRAMES = 60
THRESHOLD = 31
PERCENT = 80
BLOCK = 200_000
"""Listed frames per brute-force block (60 x 200K x 32 bytes of working memory)."""
HEADERS = [
    "listed videos",
    "listed frames",
    "index build s",
    "hashmatch p50 ms",
    "brute force p50 ms",
    "speed-up",
    "same answer",
]


def walk(rng: np.random.Generator, videos: int) -> Codes:
    """``videos`` x ``FRAMES`` frame codes, each video a random walk from a random start."""
    codes = np.empty((videos, FRAMES, 32), np.uint8)
    codes[:, 0] = rng.integers(0, 256, (videos, 32), dtype=np.uint8)
    for frame in range(1, FRAMES):
        codes[:, frame] = codes[:, frame - 1] ^ flips(rng, videos, 8, 24)
    return codes


def flips(rng: np.random.Generator, rows: int, low: int, high: int) -> Codes:
    """Masks of ``low`` to ``high`` set bits (positions may repeat: at most that many)."""
    masks = np.zeros((rows, 256), np.uint8)
    counts = rng.integers(low, high + 1, rows)
    for row, count in enumerate(counts):
        masks[row, rng.integers(0, 256, count)] = 1
    return np.packbits(masks, axis=1)


def as_frames(codes: Codes) -> Frames:
    frames = np.zeros(codes.shape[0], FRAME)
    frames["frame"] = np.arange(codes.shape[0])
    frames["quality"] = 100
    frames["pdq"] = codes
    frames["millis"] = np.arange(codes.shape[0]) * 1000
    return frames


def hashmatch_answer(index: VideoIndex, query: Frames) -> list[int]:
    query_frames = usable(query).shape[0]
    scores = index.score(index.pairs(query, THRESHOLD), THRESHOLD)
    return [
        int(entry)
        for entry, mine, theirs, total in zip(
            scores.entry, scores.query_matched, scores.listed_matched, scores.listed_frames, strict=True
        )
        if reaches(int(mine), query_frames, PERCENT) and reaches(int(theirs), int(total), PERCENT)
    ]


def brute_answer(listed: Codes, query: Codes) -> list[int]:
    """Every listed video by Meta's rule, all frames compared (videos here have distinct frames)."""
    videos = listed.shape[0]
    flat = listed.reshape(-1, 32).view(np.uint64)
    words = query.view(np.uint64)
    close = np.empty((query.shape[0], flat.shape[0]), np.bool_)
    for start in range(0, flat.shape[0], BLOCK):
        block = flat[start : start + BLOCK]
        close[:, start : start + BLOCK] = (
            np.bitwise_count(words[:, None, :] ^ block[None, :, :]).sum(axis=2) <= THRESHOLD
        )
    per_video = close.reshape(query.shape[0], videos, FRAMES)
    query_matched = per_video.any(axis=2).sum(axis=0)
    listed_matched = per_video.any(axis=0).sum(axis=1)
    ok = (100 * query_matched >= PERCENT * query.shape[0]) & (100 * listed_matched >= PERCENT * FRAMES)
    return np.flatnonzero(ok).tolist()


def timed(call: Any, runs: int) -> tuple[float, Any]:
    """Median milliseconds of ``runs`` calls, and the last answer."""
    times: list[float] = []
    answer = None
    for _ in range(runs):
        started = time.perf_counter()
        answer = call()
        times.append(1000 * (time.perf_counter() - started))
    return statistics.median(times), answer


def measure(videos: int, seed: int, runs: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    progress(f"video: generating {videos:,} videos of {FRAMES} frames")
    listed = walk(rng, videos)
    target = int(rng.integers(0, videos))
    query_codes = listed[target] ^ flips(rng, FRAMES, 0, 12)
    query = as_frames(query_codes)
    progress("video: building the index")
    started = time.perf_counter()
    index = VideoIndex.build("vpdq", 63, [as_frames(codes) for codes in listed], np.arange(videos), THRESHOLD)
    build = time.perf_counter() - started
    progress("video: searching")
    hashmatch_ms, found = timed(lambda: hashmatch_answer(index, query), runs)
    brute_ms, expected = timed(lambda: brute_answer(listed, query_codes), max(1, runs // 5))
    return {
        "videos": videos,
        "frames": videos * FRAMES,
        "build_s": build,
        "hashmatch_ms": hashmatch_ms,
        "brute_ms": brute_ms,
        "found": found,
        "expected": expected,
        "target": target,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.video", description=__doc__)
    add_part_arguments(parser, "10K listed videos instead of 100K")
    args: argparse.Namespace = parser.parse_args(argv)
    videos = 10_000 if args.quick else 100_000
    result = measure(videos, args.seed, 10 if args.quick else 20)
    same = result["found"] == result["expected"] and result["target"] in result["found"]
    row: list[Cell] = [
        f"{result['videos']:,}",
        f"{result['frames']:,}",
        result["build_s"],
        result["hashmatch_ms"],
        result["brute_ms"],
        ratio(result["brute_ms"], result["hashmatch_ms"]),
        "yes" if same else f"no: {result['found']} vs {result['expected']}",
    ]
    markdown = (
        f"One query video of {FRAMES} frames (a re-encode of a listed one), frame threshold {THRESHOLD}, "
        f"{PERCENT}/{PERCENT} %; medians of repeated searches (hashmatch on every core, the brute force in "
        f"NumPy on one); load average at the end {os.getloadavg()[0]:.1f}.\n\n"
        + markdown_table(HEADERS, [row])
    )
    finish_part(PartResult("video", "vPDQ video search", markdown, {**result, "same": same}), args)


if __name__ == "__main__":
    main()
