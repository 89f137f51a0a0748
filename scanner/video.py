"""vPDQ of video files: Meta's ``vpdq`` (its reference C++, built against FFmpeg's libraries) hashes one
frame every ``interval`` seconds; the frames are written as Meta's tools write them, one value.

A video is recognised by its first bytes (MP4/MOV/3GP ``ftyp``, Matroska/WebM, AVI, MPEG, FLV, ASF)
or, failing that, its extension. ``vpdq`` is the ``video`` extra: without it a video gets its
cryptographic hashes and a problem that says what to install.
"""

import os
import tempfile
from pathlib import Path
from typing import IO

from scanner.hashing import Hash
from scanner.problems import Problem, ProblemKind

VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".wmv", ".flv", ".3gp"}
)
DEFAULT_INTERVAL = 1.0
"""Seconds between hashed frames: Meta's default, what listed videos are hashed at."""
_SIGNATURES = (
    (4, b"ftyp"),  # ISO base media: MP4, MOV, 3GP
    (0, b"\x1a\x45\xdf\xa3"),  # Matroska, WebM
    (8, b"AVI "),  # RIFF AVI
    (0, b"\x00\x00\x01\xba"),  # MPEG program stream
    (0, b"FLV"),
    (0, b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"),  # ASF (WMV)
)


def is_video(name: str, head: bytes) -> bool:
    """Whether a file whose name is ``name`` and first bytes are ``head`` (16 or more) is a video."""
    if any(head[offset : offset + len(magic)] == magic for offset, magic in _SIGNATURES):
        return head[8:12] != b"WEBP" and not head[8:12].startswith(b"hei") and head[8:12] != b"avif"
    return Path(name).suffix.lower() in VIDEO_EXTENSIONS


def read_head(source: Path | IO[bytes]) -> bytes:
    if isinstance(source, Path):
        with source.open("rb") as stream:
            return stream.read(16)
    position = source.tell()
    head = source.read(16)
    source.seek(position)
    return head


def video_hash(source: Path | IO[bytes], interval: float = DEFAULT_INTERVAL) -> Hash | Problem:
    """The vPDQ hash of the video in ``source`` (a path, or a stream copied to a temporary file for
    FFmpeg), or why there is none; never raises on a bad file."""
    try:
        import vpdq  # noqa: PLC0415 (the 'video' extra: only where videos are hashed)
    except ImportError:
        return Problem(
            ProblemKind.NO_VIDEO_HASHER,
            "vpdq is not installed (pip install 'hashmatch[video]'): no vpdq hash",
        )
    if not isinstance(source, Path):
        with tempfile.NamedTemporaryFile(suffix=".video") as copy:
            while chunk := source.read(1 << 20):
                copy.write(chunk)
            copy.flush()
            return video_hash(Path(copy.name), interval)
    try:
        features = vpdq.computeHash(os.fspath(source), seconds_per_hash=interval, thread_count=1)
    except Exception as error:  # vpdq raises a bare Exception when FFmpeg cannot decode the file
        return Problem(ProblemKind.CORRUPT, f"not a video FFmpeg can decode ({error})")
    if not features:
        return Problem(ProblemKind.CORRUPT, "a video without a frame FFmpeg can decode")
    lines = [f"{f.frame_number},{f.quality},{f.hex},{f.timestamp:.3f}" for f in features]
    return Hash("vpdq", ";".join(lines))
