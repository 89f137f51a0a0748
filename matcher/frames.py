"""vPDQ hashes as values: Meta's text form, the canonical binary form, and the frames matching uses.

A vPDQ hash is what Meta's ``vpdq`` tools write, one line per hashed frame: ``frame number, quality,
PDQ hex, timestamp`` (seconds, 3 decimals). In one value the lines are separated by newlines or ``;``.
Stored, each frame is a :data:`FRAME` record; a hash is identified by the SHA-256 of its records.
Matching uses each distinct frame hash once and only frames of quality :data:`QUALITY_THRESHOLD` or more
(Meta's rule: see :mod:`matcher.video`).
"""

import hashlib
import math

import numpy as np
import numpy.typing as npt

from matcher.codes import Codes, decode_hex

FRAME = np.dtype([("frame", ">u4"), ("quality", "u1"), ("pdq", "u1", (32,)), ("millis", ">u8")])
"""One frame in the canonical binary form of a vPDQ hash (what is stored and digested)."""
QUALITY_THRESHOLD = 50
"""Frames of lower PDQ quality are left out of matching (Meta's ``VPDQ_QUALITY_THRESHOLD``)."""
MAX_FRAMES = 100_000
"""Frames one vPDQ hash may hold: 27 hours at one frame per second."""
Frames = npt.NDArray[np.void]
"""A structured array of :data:`FRAME` rows."""


def parse_frames(value: object) -> Frames:
    """A vPDQ hash in Meta's text form (lines of ``frame,quality,pdq hex,timestamp`` separated by
    newlines or ``;``, or a list of such lines) as frames; ValueError naming the frame at fault."""
    if isinstance(value, str):
        lines = [line.strip() for line in value.replace(";", "\n").splitlines()]
        lines = [line for line in lines if line]
    elif isinstance(value, list) and all(isinstance(line, str) for line in value):
        lines = [line.strip() for line in value]
    else:
        raise ValueError("expected Meta's vpdq lines 'frame,quality,pdq hex,timestamp' as text or a list")
    if not lines:
        raise ValueError("no frame: expected lines 'frame,quality,pdq hex,timestamp'")
    if len(lines) > MAX_FRAMES:
        raise ValueError(f"{len(lines)} frames: at most {MAX_FRAMES} are accepted")
    frames = np.zeros(len(lines), FRAME)
    for row, line in enumerate(lines):
        fields = line.split(",")
        where = f"frame line {row + 1} ({line[:90]!r})"
        if len(fields) != 4:
            raise ValueError(f"{where}: expected 4 fields 'frame,quality,pdq hex,timestamp'")
        number, quality, digits, seconds = (field.strip() for field in fields)
        if not number.isdigit() or int(number) >= 2**32:
            raise ValueError(f"{where}: the frame number must be a whole number from 0")
        if not quality.isdigit() or int(quality) > 100:
            raise ValueError(f"{where}: the quality must be a whole number from 0 to 100")
        code, bad = decode_hex(np.frombuffer(digits.encode("ascii", "replace"), np.uint8).reshape(1, -1))
        if len(digits) != 64 or bad[0]:
            raise ValueError(f"{where}: the PDQ hash must be 64 hexadecimal digits")
        try:
            timestamp = float(seconds)
        except ValueError:
            timestamp = math.nan
        if not math.isfinite(timestamp) or not 0 <= timestamp < 2**40:
            raise ValueError(f"{where}: the timestamp must be a number of seconds from 0")
        frames[row] = (int(number), int(quality), code[0], round(timestamp * 1000))
    return frames


def format_frames(frames: Frames, separator: str = ";") -> str:
    """Frames in Meta's text form (timestamps with 3 decimals, as Meta's tools write them)."""
    return separator.join(
        f"{int(f['frame'])},{int(f['quality'])},{bytes(f['pdq']).hex()},{int(f['millis']) / 1000:.3f}"
        for f in frames
    )


def encode_frames(frames: Frames) -> bytes:
    return np.ascontiguousarray(frames, FRAME).tobytes()


def decode_frames(blob: bytes) -> Frames:
    if len(blob) % FRAME.itemsize:
        raise ValueError(f"{len(blob)} bytes is no whole number of vPDQ frames")
    return np.frombuffer(blob, FRAME)


def digest(frames: Frames) -> bytes:
    """The identity of a vPDQ hash: SHA-256 of its canonical binary form (equal hashes, equal digests)."""
    return hashlib.sha256(encode_frames(frames)).digest()


def usable(frames: Frames, quality_threshold: int = QUALITY_THRESHOLD) -> Codes:
    """The PDQ codes matching uses, in order: each distinct hash once (its first frame), then those of
    quality ``quality_threshold`` or more (Meta's ``dedupe`` then ``quality_filter``)."""
    codes = np.ascontiguousarray(frames["pdq"]).reshape(-1, 32)
    if codes.shape[0] == 0:
        return codes
    _, first = np.unique(codes, axis=0, return_index=True)
    first.sort()
    kept = first[frames["quality"][first] >= quality_threshold]
    return np.ascontiguousarray(codes[kept])


def brute_shares(query: Codes, listed: Codes, threshold: int) -> tuple[int, int]:
    """(query frames within ``threshold`` of some listed frame, listed frames within it of some query
    frame): the brute-force scorer, over all pairs."""
    if query.shape[0] == 0 or listed.shape[0] == 0:
        return 0, 0
    apart = np.bitwise_count(query[:, None, :] ^ listed[None, :, :]).sum(axis=2)
    close = apart <= threshold
    return int(close.any(axis=1).sum()), int(close.any(axis=0).sum())


def reaches(matched: int, total: int, percent: int) -> bool:
    """``matched / total`` is at least ``percent`` %, decided in integers."""
    return total > 0 and 100 * matched >= percent * total
