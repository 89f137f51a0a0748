"""Hashing whole files, one by one or in parallel worker processes.

What a hosting provider's scan sends for one file: its cryptographic hashes, the perceptual hashes of
the image as stored and, as query variants, of its copy without uniform borders and PDQ of the flipped
and rotated copies of both. A hotline's list gets the hashes of the image as stored only. The turned
copies of the image as stored are marked variants (the server may search them at a cheaper radius:
their matching turn sits as close to a listed original as a re-encode does); the trimmed copy's hashes
are not (trimming moves PDQ by up to ~66 bits on framed copies: they need the list's full threshold).
"""

import multiprocessing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from itertools import islice
from pathlib import Path

from scanner.borders import trim_borders
from scanner.hashing import DEFAULT_TYPES, FILE_TYPES, Hash, file_hashes, image_hashes
from scanner.loading import DEFAULT_MAX_PIXELS, load_image
from scanner.problems import Problem, ProblemKind

CHUNKSIZE = 8
WINDOW = 2_000


@dataclass(frozen=True)
class HashOptions:
    """Which hashes to make of each file, and how."""

    types: tuple[str, ...] = DEFAULT_TYPES
    dihedral: bool = False
    """Add PDQ of the seven flipped and rotated copies (query side)."""
    trim: bool = False
    """Add the perceptual hashes of the image without its uniform borders, if it has any (query side)."""
    draft_size: int | None = None
    """Decode JPEGs at reduced size, both sides at least this long (a few bits of PDQ for speed)."""
    max_pixels: int = DEFAULT_MAX_PIXELS

    @property
    def needs_image(self) -> bool:
        return any(name not in FILE_TYPES for name in self.types)


@dataclass(frozen=True)
class FileHashes:
    """The hashes of one file in the order of the types asked for (each (type, hash) once, the image as
    stored first), and what went wrong with it, if anything."""

    hashes: tuple[Hash, ...]
    problem: Problem | None = None


def hash_file(path: Path, options: HashOptions) -> FileHashes:
    """Every hash ``options`` asks for of the file at ``path``; never raises on a bad file."""
    try:
        found = file_hashes(path, options.types)
    except OSError as error:
        return FileHashes((), Problem(ProblemKind.UNREADABLE, error.strerror or str(error)))
    if not options.needs_image:
        return FileHashes(tuple(found))
    loaded = load_image(path, draft_size=options.draft_size, max_pixels=options.max_pixels)
    if loaded.image is not None:
        trimmed = trim_borders(loaded.image) if options.trim else None
        found.extend(image_hashes(loaded.image, options.types, dihedral=options.dihedral))
        if trimmed is not None:  # searched at the full radius, turned or not: trimming is not exact
            hashes = image_hashes(trimmed, options.types, dihedral=options.dihedral)
            found.extend(replace(item, variant=False) for item in hashes)
    found.sort(key=lambda item: options.types.index(item.type))
    return FileHashes(tuple(_distinct(found)), loaded.problem)


def hash_files(paths: Iterable[Path], options: HashOptions, workers: int) -> Iterator[FileHashes]:
    """``hash_file`` of each path, in order, in ``workers`` processes (in this one if 1).

    Paths are handed out :data:`WINDOW` at a time, so that results waiting for a slow consumer (a scan
    waiting on the server) never pile up beyond one window."""
    task = partial(hash_file, options=options)
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
