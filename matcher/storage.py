"""Index directories: a JSON description plus array files, written atomically, read memory-mapped.

Nothing is pickled: arrays are ``.npy`` files loaded with ``allow_pickle=False``.
"""

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.errors import IndexFileError

FORMAT = "hashmatch-index"
FORMAT_VERSION = 3
DESCRIPTION = "index.json"


def write_index_dir(
    directory: Path,
    meta: Mapping[str, Any],
    arrays: Mapping[str, npt.NDArray[Any]],
    extra: Callable[[Path], None] | None = None,
) -> None:
    """Write a complete index directory at ``directory``, which must not exist yet.

    Everything is written to a temporary sibling, flushed to disk, then renamed into place: a reader
    sees the whole directory or nothing. ``extra`` may add files to the temporary directory.
    """
    directory = Path(directory)
    if directory.exists():
        raise IndexFileError(f"{directory} already exists: an index directory is written once")
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        for name, array in arrays.items():
            np.save(staging / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
        if extra is not None:
            extra(staging)
        description = {"format": FORMAT, "format_version": FORMAT_VERSION, **meta}
        (staging / DESCRIPTION).write_text(json.dumps(description, indent=2) + "\n")
        for path in staging.iterdir():
            fsync_path(path)
        fsync_path(staging)
        staging.rename(directory)
        fsync_path(directory.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def read_description(directory: Path) -> dict[str, Any]:
    path = Path(directory) / DESCRIPTION
    try:
        description = json.loads(path.read_text())
    except FileNotFoundError as error:
        raise IndexFileError(f"{directory} is not an index directory: {DESCRIPTION} is missing") from error
    except (OSError, ValueError) as error:
        raise IndexFileError(f"{path} cannot be read: {error}") from error
    if not isinstance(description, dict) or description.get("format") != FORMAT:
        raise IndexFileError(f"{path} does not describe a {FORMAT}")
    if description.get("format_version") != FORMAT_VERSION:
        raise IndexFileError(
            f"{path} has format version {description.get('format_version')!r}; "
            f"this program reads version {FORMAT_VERSION}"
        )
    return description


def read_array(directory: Path, name: str) -> npt.NDArray[Any]:
    """A read-only, memory-mapped array of an index directory."""
    path = Path(directory) / f"{name}.npy"
    try:
        array: npt.NDArray[Any] = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as error:
        raise IndexFileError(f"{path} cannot be read: {error}") from error
    return array


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
