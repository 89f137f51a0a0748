"""Checksums of an index version's files: written into its manifest at publish, verified before it is served.

Pure functions of a directory and a manifest (no state, no logging): the watcher verifies a version
before it swaps, ``publish`` before it trusts a version on disk, and a replica that downloads versions
into a local cache can verify each download the same way. Files are read in chunks, so verifying a
1.2 GB index takes constant memory.
"""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

MANIFEST = "manifest.json"
CHUNK = 1 << 20


@dataclass(frozen=True, order=True)
class Problem:
    """What is wrong with one file of a version (``file`` relative to the version's directory)."""

    file: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.reason}" if self.reason else self.file


def file_checksums(directory: Path) -> dict[str, dict[str, Any]]:
    """Size and SHA-256 of every file under ``directory`` but the manifest, by relative POSIX path."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file() and path.relative_to(directory).as_posix() != MANIFEST:
            found[path.relative_to(directory).as_posix()] = {
                "size": path.stat().st_size,
                "sha256": sha256_of(path),
            }
    return found


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, read in chunks."""
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256", _bufsize=CHUNK).hexdigest()


def check_sizes(directory: Path, manifest: Mapping[str, Any]) -> list[Problem]:
    """Every file the manifest lists exists with its size (what must hold before a file is mapped:
    reading past the end of a mapped file kills the process with SIGBUS). Sorted by file name."""
    files = manifest.get("files")
    if not isinstance(files, Mapping):
        return [Problem(MANIFEST, "lists no file checksums (written by an older hashmatch)")]
    problems: list[Problem] = []
    for name in manifest.get("types", {}):
        if not any(str(listed).startswith(f"{name}/") for listed in files):
            problems.append(Problem(MANIFEST, f"lists no files of type {name}"))
    for name, expected in sorted(files.items()):
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            problems.append(Problem(name, "not a file name inside the version"))
            continue
        if not isinstance(expected, Mapping):
            problems.append(Problem(name, "has no size and SHA-256 in the manifest"))
            continue
        try:
            size = (directory / relative).stat().st_size
        except FileNotFoundError:
            problems.append(Problem(name, "missing"))
            continue
        except OSError as error:
            problems.append(Problem(name, f"cannot be read ({error.strerror})"))
            continue
        if size != expected.get("size"):
            problems.append(Problem(name, f"{size} bytes, the manifest says {expected.get('size')}"))
    return sorted(problems)


def verify_version(directory: Path, manifest: Mapping[str, Any]) -> list[Problem]:
    """Every problem of the version in ``directory`` against its manifest (none: it may be served):
    files missing, of another size or another SHA-256 than the manifest lists. Sorted by file name."""
    problems = check_sizes(directory, manifest)
    damaged = {problem.file for problem in problems}
    files = manifest.get("files")
    if not isinstance(files, Mapping):
        return problems
    for name, expected in sorted(files.items()):
        if name in damaged:
            continue
        try:
            digest = sha256_of(directory / name)
        except OSError as error:
            problems.append(Problem(name, f"cannot be read ({error.strerror})"))
            continue
        if digest != expected.get("sha256"):
            problems.append(Problem(name, "its SHA-256 differs from the manifest's"))
    return sorted(problems)
