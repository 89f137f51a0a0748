"""The hash type registry: one class per type knows its parsing, distance, thresholds, index, and which
values are trivial.

Names follow python-threatexchange. Default thresholds are those of ``shared/REFERENCE.md``.

A trivial value is one that any number of unrelated files share, so an entry holding it would flag every
such file and a query with it says nothing: the digest of the empty file; a perceptual hash within the
type's largest threshold of all-zero or all-one (imagehash gives 0 or ``8000000000000000`` for a solid
image); and a PDQ hash whose 16 rows of 16 bits mostly repeat, which is what PDQ gives an image without
texture (measured: 2-9 distinct rows for 200 solid images of random colours and sizes, 15-16 for real
images and random codes).
"""

import hashlib
from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from matcher.codes import Codes, format_hex, hamming_distance, parse_hex_batch, parse_hex_or_base64_batch
from matcher.errors import InvalidHash, InvalidHashes, InvalidThreshold, UnknownHashType
from matcher.frames import QUALITY_THRESHOLD, Frames, digest, parse_frames, usable
from matcher.index import Index
from matcher.validation import check_threshold


class HashType:
    """A kind of hash: ``bits`` long, written as lowercase hex, compared bit by bit."""

    name: ClassVar[str]
    bits: ClassVar[int]
    default_threshold: ClassVar[int]
    threshold_required: ClassVar[bool] = False
    """No default is published: every list holding the type sets its own (``default_threshold``
    is then 0, a placeholder that matches only identical values)."""
    max_threshold: ClassVar[int]
    description: ClassVar[str]

    @property
    def nbytes(self) -> int:
        return self.bits // 8

    @property
    def is_exact(self) -> bool:
        """Only identical values match (cryptographic hashes)."""
        return self.max_threshold == 0

    def list_threshold(self, thresholds: Mapping[str, object]) -> int:
        """The threshold a list with ``thresholds`` (type name -> threshold) uses for this type:
        its own, else the default; :class:`InvalidThreshold` if it has none and there is no default."""
        found = thresholds.get(self.name)
        if found is None:
            if self.threshold_required:
                raise InvalidThreshold(self.name, None, self.max_threshold, required=True)
            return self.default_threshold
        return self.check_threshold(found)

    def parse_batch(self, values: Sequence[object]) -> tuple[Codes, list[tuple[int, str]]]:
        """Hashes in their text form (any case, surrounding whitespace ignored): the codes (rows of
        bad values are zero) and, in input order, the ``(index, reason)`` of every bad value."""
        return parse_hex_batch(values, self.nbytes)

    def cost(self, value: object) -> int:
        """What one value costs of a rate budget, in hashes: one (a video: its frames)."""
        return 1

    def parse(self, value: object) -> bytes:
        """One hash in its text form as bytes."""
        codes, errors = self.parse_batch([value])
        if errors:
            raise InvalidHash(self.name, value, errors[0][1])
        return bytes(codes[0])

    def parse_many(self, values: Sequence[object]) -> Codes:
        """A batch of hashes as a ``(n, nbytes)`` uint8 array; every bad value is reported at once
        in an :class:`InvalidHashes` error, with its position."""
        codes, errors = self.parse_batch(values)
        if errors:
            raise InvalidHashes([InvalidHash(self.name, values[i], why, index=i) for i, why in errors])
        return codes

    def trivial(self, codes: Codes) -> list[tuple[int, str]]:
        """The rows of ``codes`` (an ``(n, nbytes)`` array) holding a trivial value, with why, in order.

        Here: a perceptual hash a list's largest threshold away from all-zero or all-one or closer."""
        words = np.ascontiguousarray(codes).view(np.uint64 if self.nbytes % 8 == 0 else np.uint8)
        ones = np.bitwise_count(words).sum(axis=1, dtype=np.int64)
        found: list[tuple[int, str]] = []
        for row in np.flatnonzero((ones <= self.max_threshold) | (ones >= self.bits - self.max_threshold)):
            count = int(ones[row])
            if count in (0, self.bits):
                found.append((int(row), f"all-{'zero' if count == 0 else 'one'} {self.name} (a blank image)"))
            else:
                found.append(
                    (int(row), f"near-constant {self.name}: {count} of {self.bits} bits set (a blank image)")
                )
        return found

    def why_trivial(self, code: bytes | Codes) -> str | None:
        """Why one value is trivial, or None if it is not."""
        found = self.trivial(np.frombuffer(bytes(code), dtype=np.uint8).reshape(1, -1))
        return found[0][1] if found else None

    def format(self, code: bytes | Codes) -> str:
        return format_hex(code)

    def distance(self, a: bytes | Codes, b: bytes | Codes) -> int:
        """Number of differing bits (for exact types only 0, equal, is meaningful)."""
        return hamming_distance(a, b)

    def distances(self, queries: Codes, codes: Codes) -> npt.NDArray[np.int64]:
        """The distance of every row of ``queries`` to every row of ``codes`` (a matrix), in the unit
        of :meth:`distance`. Takes ``queries x codes x nbytes`` working memory: callers chunk."""
        found: npt.NDArray[np.int64] = np.bitwise_count(queries[:, None, :] ^ codes[None, :, :]).sum(
            axis=2, dtype=np.int64
        )
        return found

    def check_threshold(self, threshold: object) -> int:
        """``threshold`` as an int, if this type supports it; else :class:`InvalidThreshold`."""
        return check_threshold(self.name, threshold, self.max_threshold)

    def build_index(
        self,
        codes: Codes,
        ids: npt.ArrayLike,
        design_threshold: int | None = None,
        threads: int | None = None,
    ) -> Index:
        """An index over ``codes`` (one row per entry) answering with entry ``ids``.

        ``design_threshold`` (default: the type's default) is the threshold the index is tuned for;
        it answers exactly at every threshold up to ``max_threshold``.
        """
        from matcher.exact import ExactIndex  # noqa: PLC0415 (FAISS and numba only where indexes are built)
        from matcher.hamming import HammingIndex  # noqa: PLC0415

        if self.is_exact:
            return ExactIndex.build(self.name, self.nbytes, codes, ids)
        design = self.default_threshold if design_threshold is None else design_threshold
        return HammingIndex.build(self.name, self.bits, self.max_threshold, codes, ids, design, threads)

    def __repr__(self) -> str:
        return f"<hash type {self.name}>"


class PDQ(HashType):
    name = "pdq"
    bits = 256
    default_threshold = 48
    max_threshold = 63
    description = "Meta's PDQ perceptual hash, 256 bits"
    max_repeating_rows = 10
    """At most this many distinct rows of 16: an image without texture."""

    def trivial(self, codes: Codes) -> list[tuple[int, str]]:
        found = dict(super().trivial(codes))
        rows = np.ascontiguousarray(codes).view(">u2").reshape(codes.shape[0], 16)
        distinct = 1 + (np.diff(np.sort(rows, axis=1), axis=1) != 0).sum(axis=1)
        for row in np.flatnonzero(distinct <= self.max_repeating_rows):
            found.setdefault(
                int(row),
                f"pdq of a textureless image: {int(distinct[row])} distinct rows of 16 (a blank image)",
            )
        return sorted(found.items())


class PHash(HashType):
    name = "phash"
    bits = 64
    default_threshold = 8
    max_threshold = 12
    description = "imagehash perceptual (DCT) hash, 64 bits"


class DHash(HashType):
    name = "dhash"
    bits = 64
    default_threshold = 8
    max_threshold = 12
    description = "imagehash difference hash, 64 bits"


class AHash(HashType):
    name = "ahash"
    bits = 64
    default_threshold = 6
    max_threshold = 12
    description = "imagehash average hash, 64 bits (weak: corroboration only)"


class WHash(HashType):
    name = "whash"
    bits = 64
    default_threshold = 4
    max_threshold = 12
    description = "imagehash wavelet hash, 64 bits (weak: corroboration only)"


class _Digest(HashType):
    """A cryptographic digest of the file's bytes: only the digest of the empty file is trivial."""

    def trivial(self, codes: Codes) -> list[tuple[int, str]]:
        empty = np.frombuffer(hashlib.new(self.name, b"").digest(), dtype=np.uint8)
        return [
            (int(row), f"{self.name} of an empty file")
            for row in np.flatnonzero((codes == empty).all(axis=1))
        ]


class MD5(_Digest):
    name = "md5"
    bits = 128
    default_threshold = 0
    max_threshold = 0
    description = "MD5 of the file bytes"


class SHA1(_Digest):
    name = "sha1"
    bits = 160
    default_threshold = 0
    max_threshold = 0
    description = "SHA-1 of the file bytes"


class SHA256(_Digest):
    name = "sha256"
    bits = 256
    default_threshold = 0
    max_threshold = 0
    description = "SHA-256 of the file bytes"


class PhotoDNA(HashType):
    """Microsoft's PhotoDNA: 144 unsigned bytes compared by Euclidean distance. The algorithm is
    licensed; hotlines exchange the hashes, as hex or base64. No threshold is published: each list
    sets its own (an integer distance: a match is ``sum((a - b)^2) <= t^2``, decided in integers).

    Trivial: a vector whose 144 values are all equal (all zero for an image without gradients): it
    describes no structure."""

    name = "photodna"
    bits = 144 * 8
    default_threshold = 0
    threshold_required = True
    max_threshold = 255 * 12
    """The largest distance two vectors can have: sqrt(144 * 255^2)."""
    description = "Microsoft PhotoDNA, 144 bytes, Euclidean distance (threshold set per list)"

    def parse_batch(self, values: Sequence[object]) -> tuple[Codes, list[tuple[int, str]]]:
        """288 hex digits, or 192 base64 characters (standard or URL-safe alphabet; 144 bytes need
        no padding)."""
        return parse_hex_or_base64_batch(values, self.nbytes)

    def trivial(self, codes: Codes) -> list[tuple[int, str]]:
        constant = (codes == codes[:, :1]).all(axis=1) if codes.shape[0] else np.zeros(0, bool)
        return [
            (
                int(row),
                "all-zero photodna (an image without gradients)"
                if codes[row, 0] == 0
                else f"constant photodna: all 144 values are {int(codes[row, 0])}",
            )
            for row in np.flatnonzero(constant)
        ]

    def distance(self, a: bytes | Codes, b: bytes | Codes) -> int:
        """The Euclidean distance rounded up: ``distance(a, b) <= t`` exactly when within ``t``."""
        left = np.frombuffer(bytes(a), dtype=np.uint8)
        right = np.frombuffer(bytes(b), dtype=np.uint8)
        if left.shape != right.shape:
            raise ValueError(f"codes differ in length: {left.size} and {right.size} bytes")
        return int(self.distances(left[None, :], right[None, :])[0, 0])

    def distances(self, queries: Codes, codes: Codes) -> npt.NDArray[np.int64]:
        diff = queries[:, None, :].astype(np.int32) - codes[None, :, :].astype(np.int32)
        squared: npt.NDArray[np.int64] = np.einsum("ijk,ijk->ij", diff, diff).astype(np.int64)
        root: npt.NDArray[np.int64] = np.sqrt(squared).astype(
            np.int64
        )  # exact but for one unit either way, corrected:
        root -= root * root > squared
        root += root * root < squared
        return root

    def build_index(
        self,
        codes: Codes,
        ids: npt.ArrayLike,
        design_threshold: int | None = None,
        threads: int | None = None,
    ) -> Index:
        """A filtered column scan (:mod:`matcher.euclidean`): exact at every threshold, so
        ``design_threshold`` is not needed."""
        from matcher.euclidean import EuclideanIndex  # noqa: PLC0415 (numba only where indexes are built)

        return EuclideanIndex.build(self.name, self.nbytes, self.max_threshold, codes, ids, threads=threads)


class VPDQ(HashType):
    """Meta's vPDQ: a video as the PDQ hashes of its frames (:mod:`matcher.frames`), written as Meta's
    ``vpdq`` tools write it. The threshold is the per-frame PDQ distance; whether a video matches also
    depends on the share of frames matched both ways (the list's percentages, :mod:`matcher.video`).

    As a code (what lists compare, store and retract by) a vPDQ hash is the SHA-256 of its frames; the
    frames themselves come from :meth:`parse_videos`. Trivial: no frame usable for matching (all of low
    quality, e.g. a black video)."""

    name = "vpdq"
    bits = 256
    default_threshold = 31
    max_threshold = 63
    description = "Meta's vPDQ video hash: PDQ of frames (1 per second), matched as frame sets"

    def parse_videos(self, values: Sequence[object]) -> tuple[list[Frames | None], list[tuple[int, str]]]:
        """Each value's frames (None where it is bad) and the ``(index, reason)`` of every bad value."""
        videos: list[Frames | None] = []
        errors: list[tuple[int, str]] = []
        for index, value in enumerate(values):
            try:
                videos.append(parse_frames(value))
            except ValueError as error:
                videos.append(None)
                errors.append((index, str(error)))
        return videos, errors

    def parse_batch(self, values: Sequence[object]) -> tuple[Codes, list[tuple[int, str]]]:
        videos, errors = self.parse_videos(values)
        codes = np.zeros((len(values), self.nbytes), np.uint8)
        for row, frames in enumerate(videos):
            if frames is not None:
                codes[row] = np.frombuffer(digest(frames), np.uint8)
        return codes, errors

    def cost(self, value: object) -> int:
        """Its frame lines (counted, not parsed: what a request is charged before it is read)."""
        if isinstance(value, str):
            return max(1, sum(1 for line in value.replace(";", "\n").splitlines() if line.strip()))
        return max(1, len(value)) if isinstance(value, list) else 1

    def trivial_video(self, frames: Frames) -> str | None:
        """Why a video can match nothing, if it cannot."""
        if usable(frames).shape[0]:
            return None
        return f"vpdq without a frame of quality {QUALITY_THRESHOLD} or more (a blank or featureless video)"

    def trivial(self, codes: Codes) -> list[tuple[int, str]]:
        return []  # a digest says nothing: see trivial_video

    def build_index(
        self,
        codes: Codes,
        ids: npt.ArrayLike,
        design_threshold: int | None = None,
        threads: int | None = None,
    ) -> Index:
        raise TypeError("a vpdq index is built from frames: matcher.video.VideoIndex.build")


HASH_TYPES: Mapping[str, HashType] = {
    t.name: t
    for t in (PDQ(), PHash(), DHash(), AHash(), WHash(), MD5(), SHA1(), SHA256(), PhotoDNA(), VPDQ())
}


def get_hash_type(name: object) -> HashType:
    """The registered type called ``name`` (case and surrounding spaces ignored)."""
    key = name.strip().lower() if isinstance(name, str) else name
    hash_type = HASH_TYPES.get(key) if isinstance(key, str) else None
    if hash_type is None:
        raise UnknownHashType(repr(name) if not isinstance(name, str) else name, list(HASH_TYPES))
    return hash_type
