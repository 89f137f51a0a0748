"""Walking the storage: every regular file under the given roots, in a stable order."""

import os
import stat
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FileEntry:
    """A file found by the walk (or an object listed): where it is (a local path, or the object's path
    in its store), its path relative to the root it was found under (POSIX separators; the file name for
    a root that is a file), and what the state file compares: size, modification time and, for an
    object, its version (ETag; its time is then 0: a copy with the same bytes is unchanged)."""

    path: str
    relative: str
    size: int
    mtime_ns: int
    version: str | None = None


def walk(
    root: Path, skip: Collection[Path] = (), on_error: Callable[[Path, OSError], None] | None = None
) -> Iterator[FileEntry]:
    """Every regular file in ``root`` (or ``root`` itself if it is a file), sorted by path, except those
    in ``skip``. Directory symlinks are not followed. ``on_error`` hears of each directory or file that
    cannot be listed or stat'ed; the walk goes on."""
    skipped = {os.path.abspath(path) for path in skip}
    if root.is_file():
        yield from _entries(root.parent, [root.name], root.parent, skipped, on_error)
        return
    for directory, subdirectories, names in os.walk(root, onerror=_report(on_error)):
        subdirectories.sort()
        yield from _entries(Path(directory), sorted(names), root, skipped, on_error)


def _entries(
    directory: Path,
    names: list[str],
    root: Path,
    skipped: set[str],
    on_error: Callable[[Path, OSError], None] | None,
) -> Iterator[FileEntry]:
    for name in names:
        path = directory / name
        if os.path.abspath(path) in skipped:
            continue
        try:
            info = path.stat()
        except OSError as error:
            if on_error is not None:
                on_error(path, error)
            continue
        if stat.S_ISREG(info.st_mode):
            yield FileEntry(str(path), path.relative_to(root).as_posix(), info.st_size, info.st_mtime_ns)


def _report(on_error: Callable[[Path, OSError], None] | None) -> Callable[[OSError], None] | None:
    if on_error is None:
        return None
    return lambda error: on_error(Path(error.filename or ""), error)
