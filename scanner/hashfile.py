"""Hashing whole files, one by one or in parallel worker processes.

What a hosting provider's scan sends for one file: its cryptographic hashes, a video's vPDQ hash (all
its frame hashes as one value, :mod:`scanner.video`), the perceptual hashes of the image as stored and,
as query variants, of its copy without uniform borders and PDQ of the flipped and rotated copies of
both, of its copy turned back upright if it is a picture turned on a uniform fill
(:mod:`scanner.straighten`), and of the pictures found inside it (a bounded number: a photo inside a
screenshot's chrome, the parts of a collage). A hotline's list gets the hashes of the image as stored
only. The turned copies of the image as stored are marked variants (the server may search them at a
cheaper radius: their matching turn sits as close to a listed original as a re-encode does); the
trimmed and straightened copies' and the pictures' hashes are not (trimming moves PDQ by up to ~66 bits
on framed copies, straightening by up to ~50: they need the list's full threshold).
"""

import ctypes
import multiprocessing
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from functools import cache, partial
from itertools import islice
from pathlib import Path
from typing import IO, Any

from PIL import Image

from scanner.borders import LOOSE_SHARE, trim_borders
from scanner.defaults import DEFAULT_TYPES
from scanner.embedded import find_regions
from scanner.hashing import (
    CHUNK,
    FILE_TYPES,
    SCALE_DRIFT,
    VIDEO_TYPES,
    Hash,
    digests_of,
    file_hashes,
    image_hashes,
    scale_drift,
)
from scanner.loading import DEFAULT_MAX_PIXELS, load_image
from scanner.problems import Problem, ProblemKind
from scanner.straighten import straighten
from scanner.variants import list_variants
from scanner.video import DEFAULT_INTERVAL, is_video, read_head, video_hash

CHUNKSIZE = 8
WINDOW = 2_000
SPOOL_BYTES = 32 << 20
"""An object's bytes are kept in memory up to this size while they are read (then on disk), so that
the image is decoded from the one copy read (an object is read once, in chunks)."""
KEPT_BYTES = 32 << 20
"""Freed blocks up to this size stay in a hashing process for reuse (:func:`keep_freed_memory`)."""
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters


@dataclass(frozen=True)
class HashOptions:
    """Which hashes to make of each file, and how."""

    types: tuple[str, ...] = DEFAULT_TYPES
    dihedral: bool = False
    """Add PDQ of the seven flipped and rotated copies (query side)."""
    trim: bool = False
    """Add the perceptual hashes of the image without its uniform borders, if it has any, and of it
    turned back upright, if it is a picture turned on a uniform fill (query side)."""
    variants: bool = False
    """Add the perceptual hashes of the list's transformed copies, labelled (list side:
    :mod:`scanner.variants`)."""
    check_scaling: bool = False
    """Give quality 0 to a PDQ its picture's half-size copy is more than
    :data:`scanner.hashing.SCALE_DRIFT` bits from, with a note (list side: the import refuses it unless
    allowed, and the picture is listed on its other hashes)."""
    regions: int = 0
    """Add the perceptual hashes of at most this many pictures found inside the image (a photo in a
    screenshot, the parts of a collage: :mod:`scanner.embedded`; query side)."""
    draft_size: int | None = None
    """Decode JPEGs at reduced size, both sides at least this long (a few bits of PDQ for speed)."""
    max_pixels: int = DEFAULT_MAX_PIXELS
    video_interval: float = DEFAULT_INTERVAL
    """Seconds between the frames vPDQ hashes."""

    @property
    def needs_image(self) -> bool:
        return any(name not in FILE_TYPES and name not in VIDEO_TYPES for name in self.types)


@dataclass(frozen=True)
class FileHashes:
    """The hashes of one file in the order of the types asked for (each (type, hash) once, the image as
    stored first), and what went wrong with it, if anything."""

    hashes: tuple[Hash, ...]
    problem: Problem | None = None
    regions: int = 0
    """Pictures found inside the image and hashed as well."""
    notes: tuple[str, ...] = ()
    """What the hotline should know of these hashes (not a problem: they are all there)."""


def hash_file(path: Path, options: HashOptions) -> FileHashes:
    """Every hash ``options`` asks for of the file at ``path``; never raises on a bad file."""
    try:
        found = file_hashes(path, options.types)
    except OSError as error:
        return FileHashes((), Problem(ProblemKind.UNREADABLE, error.strerror or str(error)))
    return _with_image(found, path, options, path.name)


def hash_object(fs: Any, path: str, options: HashOptions) -> FileHashes:
    """Every hash ``options`` asks for of the object at ``path`` of the fsspec file system ``fs``: its
    bytes streamed once to the digests and a spool (memory, then disk) that the image is decoded from.
    Never raises on a bad or unreadable object."""
    with tempfile.SpooledTemporaryFile(SPOOL_BYTES) as spool:
        try:
            with fs.open(path, "rb") as stream:
                found = digests_of(_copied(stream, spool), options.types)
        except (OSError, ValueError) as error:  # fsspec's errors are OSErrors (FileNotFoundError...)
            return FileHashes(
                (), Problem(ProblemKind.UNREADABLE, getattr(error, "strerror", None) or str(error))
            )
        spool.seek(0)
        return _with_image(found, spool, options, path)


def _copied(stream: IO[bytes], spool: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK):
        spool.write(chunk)
        yield chunk


@cache
def keep_freed_memory() -> bool:
    """Have the C allocator keep freed blocks of up to :data:`KEPT_BYTES` (and the free top of its heap
    up to twice that) for reuse, once per process; whether it did (glibc only).

    Every image allocates buffers of a megabyte or so (the decoded pixels, PDQ's luma in floats). By
    default glibc gives blocks of more than 128 KiB back to the system when they are freed, so the next
    image's buffers are fresh pages that fault in again: about a tenth of a JPEG's time without the
    search for pictures inside, more with it (README, "Scanner: images hashed per second"). A process
    that hashes keeps at most a few times the buffers of one image, which the next image reuses."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (macOS has no mallopt)
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, KEPT_BYTES)) and bool(mallopt(_M_TRIM_THRESHOLD, 2 * KEPT_BYTES))


def _with_image(found: list[Hash], image: Path | IO[bytes], options: HashOptions, name: str) -> FileHashes:
    """The file's hashes with those of its content: a video's vPDQ, else an image's perceptual hashes."""
    keep_freed_memory()
    if set(VIDEO_TYPES) & set(options.types) or options.needs_image:
        try:
            video = is_video(name, read_head(image))
        except OSError as error:
            return FileHashes(tuple(found), Problem(ProblemKind.UNREADABLE, error.strerror or str(error)))
        if video:
            if "vpdq" not in options.types:
                return FileHashes(tuple(found), Problem(ProblemKind.NOT_IMAGE, "a video: vpdq not asked for"))
            hashed = video_hash(image, options.video_interval)
            if isinstance(hashed, Problem):
                return FileHashes(tuple(found), hashed)
            found.append(hashed)
            found.sort(key=lambda item: options.types.index(item.type))
            return FileHashes(tuple(found))
    if not options.needs_image:
        return FileHashes(tuple(found))
    loaded = load_image(image, draft_size=options.draft_size, max_pixels=options.max_pixels)
    regions, notes = 0, tuple[str, ...]()
    if loaded.image is not None:
        trimmed = trim_borders(loaded.image) if options.trim else None
        own = image_hashes(loaded.image, options.types, dihedral=options.dihedral)
        if options.check_scaling:
            own, notes = _scaling_checked(own, loaded.image)
        found.extend(own)
        if trimmed is not None:  # searched at the full radius, turned or not: trimming is not exact
            hashes = image_hashes(trimmed, options.types, dihedral=options.dihedral)
            found.extend(replace(item, variant=False) for item in hashes)
        framed = trimmed or loaded.image
        if options.trim and (straightened := straighten(framed)) is not None:  # upright, full radius
            found.extend(image_hashes(straightened, options.types))
        boxes = find_regions(framed, options.regions)
        for box in boxes:  # upright only, at the full radius: a few hashes per type and picture found
            picture = framed.crop(box)
            found.extend(image_hashes(picture, options.types))
            trimmed = trim_borders(picture)  # a frame inside the box, or a picture's own plain sky
            if trimmed is not None:
                found.extend(image_hashes(trimmed, options.types))
            inset = picture.crop((1, 1, picture.width - 1, picture.height - 1))  # a blended outline
            loose = trim_borders(inset, LOOSE_SHARE)  # a bubble's or a card's margins too
            if loose is not None and loose.size != (trimmed or picture).size:
                found.extend(image_hashes(loose, options.types))
        regions = len(boxes)
        if options.variants:
            for label, copy in list_variants(loaded.image):
                hashes = [replace(item, label=label) for item in image_hashes(copy, options.types)]
                found.extend(_unusable(hashes) if notes else hashes)  # a texture's crops are as fine
    found.sort(key=lambda item: options.types.index(item.type))
    return FileHashes(tuple(_distinct(found)), loaded.problem, regions, notes)


def _scaling_checked(hashes: list[Hash], image: Image.Image) -> tuple[list[Hash], tuple[str, ...]]:
    """``hashes`` (of ``image``), their PDQ with quality 0 if halving ``image`` moves its own PDQ (the
    first) past :data:`SCALE_DRIFT` bits, with a note saying so."""
    own = next((item for item in hashes if item.type == "pdq"), None)
    if own is None or (drift := scale_drift(image, own)) <= SCALE_DRIFT:
        return hashes, ()
    note = (
        f"PDQ moves {drift} bits when the picture is halved (more than the threshold {SCALE_DRIFT}: "
        "a fine-grained texture): quality 0 (its variants' too), the import refuses it unless "
        "allowed and the picture is listed on its other hashes"
    )
    return _unusable(hashes), (note,)


def _unusable(hashes: list[Hash]) -> list[Hash]:
    return [replace(item, quality=0) if item.type == "pdq" else item for item in hashes]


def hash_at(path: str, options: HashOptions, fs: Any = None) -> FileHashes:
    """:func:`hash_file` of a local path (``fs`` None), else :func:`hash_object`."""
    return hash_file(Path(path), options) if fs is None else hash_object(fs, path, options)


def hash_files(
    paths: Iterable[str | os.PathLike[str]], options: HashOptions, workers: int, fs: Any = None
) -> Iterator[FileHashes]:
    """:func:`hash_at` of each path (local, or of ``fs``), in order, in ``workers`` processes (in this
    one if 1).

    Paths are handed out :data:`WINDOW` at a time, so that results waiting for a slow consumer (a scan
    waiting on the server) never pile up beyond one window."""
    task = partial(hash_at, options=options, fs=fs)
    paths = (os.fspath(path) for path in paths)
    if workers <= 1:
        yield from map(task, paths)
        return
    remaining = iter(paths)
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        while window := list(islice(remaining, WINDOW)):
            yield from pool.imap(task, window, chunksize=CHUNKSIZE)


def _distinct(hashes: Iterable[Hash]) -> Iterator[Hash]:
    seen: set[tuple[str, str]] = set()
    for item in hashes:
        if (item.type, item.hash) not in seen:
            seen.add((item.type, item.hash))
            yield item
