"""``hashmatch hash``: a hotline hashes its files into a list (the list import format)."""

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from cli.common import CommandError, Commands, plural
from scanner.defaults import DEFAULT_TYPES, DRAFT_SIZE
from scanner.output import FORMATS

if TYPE_CHECKING:
    from scanner.walking import FileEntry

LIST_COLUMNS = ("type", "hash", "item", "quality")


def register(commands: Commands) -> None:
    hash_command = commands.add_parser(
        "hash", help="hash files into a list (the list import format, CSV or NDJSON)"
    )
    hash_command.add_argument("paths", nargs="+", type=Path, metavar="FILE|DIR", help="files or directories")
    add_hash_options(hash_command)
    hash_command.add_argument(
        "--format", choices=FORMATS, help="output format (default: csv, or by --out's name)"
    )
    hash_command.add_argument("--out", type=Path, help="write to this file instead of standard output")
    hash_command.add_argument(
        "--category", help="add a category column with this value on every row (e.g. an IWF category)"
    )
    hash_command.add_argument(
        "--variants",
        action="store_true",
        help="also hash centre crops (5 %%, 10 %%) and 3-degree turns of each picture, as variant rows "
        "of its item: cropped and slightly turned copies then match",
    )
    hash_command.add_argument(
        "--draft",
        action="store_const",
        const=DRAFT_SIZE,
        help=f"decode JPEGs at reduced size (sides >= {DRAFT_SIZE}): faster, PDQ a few bits off",
    )
    hash_command.set_defaults(handler=_hash)


def add_hash_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--types",
        default=",".join(DEFAULT_TYPES),
        help="comma-separated hash types (default: %(default)s; also ahash, whash, sha1)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="hashing processes (default: the number of cores, %(default)s)",
    )
    parser.add_argument(
        "--video-interval",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="vpdq: seconds between hashed frames of a video (default 1, what lists are hashed at)",
    )
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress on standard error (a bar on a terminal, else a line every 30 s)",
    )


def _hash(args: argparse.Namespace) -> None:
    from scanner.hashfile import HashOptions, hash_files
    from scanner.output import RowWriter, format_for
    from scanner.progress import progress

    options = HashOptions(
        types=parse_types(args.types),
        draft_size=args.draft,
        variants=args.variants,
        check_scaling=True,
        video_interval=video_interval(args),
    )
    entries = list(_walk_all(args.paths))
    output_format = args.format or (format_for(args.out) if args.out else "csv")
    files = written = 0
    problems: list[str] = []
    notes: list[str] = []
    with (
        _output(args.out) as stream,
        progress(len(entries), "file", "hashing", not args.no_progress) as bar,
    ):
        category = {} if args.category is None else {"category": args.category}
        labelled = ("variant",) if args.variants else ()
        writer = RowWriter(stream, (*LIST_COLUMNS, *labelled, *category), output_format)
        for entry, found in zip(
            entries,
            hash_files((e.path for e in entries), options, min(args.workers, len(entries))),
            strict=True,
        ):
            files += 1
            bar.update()
            if found.problem is not None:
                problems.append(f"{entry.path}: {found.problem}")
            notes.extend(f"{entry.path}: {note}" for note in found.notes)
            for item in found.hashes:
                row = {"type": item.type, "hash": item.hash, "item": entry.relative, "quality": item.quality}
                writer.write(row | ({"variant": item.label} if args.variants else {}) | category)
                written += 1
    for line in [*notes, *problems]:
        print(f"hashmatch: warning: {line}", file=sys.stderr)
    summary = f"{plural(files, 'file')}, {plural(written, 'hash')}, "
    print(summary + f"{plural(len(problems), 'file')} with problems", file=sys.stderr)


def _walk_all(paths: list[Path]) -> "Iterator[FileEntry]":
    from scanner.walking import walk

    for path in paths:
        if not path.exists():
            raise CommandError(f"{path}: no such file or directory")
    for path in paths:
        yield from walk(path, on_error=_warn)


def _warn(path: Path, error: OSError) -> None:
    print(f"hashmatch: warning: {path}: unreadable: {error.strerror or error}", file=sys.stderr)


@contextmanager
def _output(path: Path | None) -> Iterator[TextIO]:
    """Standard output, or a file written in full or not at all (a temporary sibling renamed)."""
    if path is None:
        yield sys.stdout
        return
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8", newline="") as stream:
        try:
            yield stream
        except BaseException:
            stream.close()
            partial.unlink()
            raise
    partial.replace(path)


def video_interval(args: argparse.Namespace) -> float:
    interval = float(args.video_interval)
    if not 0 < interval <= 3600:
        raise CommandError(f"--video-interval {args.video_interval}: expected seconds above 0, at most 3600")
    return interval


def parse_types(text: str) -> tuple[str, ...]:
    from scanner.hashing import CannotCompute, check_types

    names = [name for name in text.split(",") if name.strip()]
    if not names:
        raise CommandError("--types: name at least one hash type")
    try:
        return check_types(names)
    except CannotCompute as error:
        raise CommandError(f"--types: {error}") from error
