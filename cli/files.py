"""Commands over files, no database: the hash types, building indexes from a list file, matching."""

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from cli.common import CommandError, Commands, describe_errors, open_binary, parse_thresholds

if TYPE_CHECKING:
    from indexer.listfile import TypedHashes
    from matcher import Index


def register(commands: Commands) -> None:
    types = commands.add_parser("types", help="list the supported hash types")
    types.set_defaults(handler=_types)

    index = commands.add_parser("index", help="build search indexes from a list file")
    index_commands = index.add_subparsers(required=True, metavar="ACTION")
    build = index_commands.add_parser("build", help="index a '<type> <hash>' file, one index per type")
    build.add_argument("list", type=Path, help="list file: one '<type> <hash>' per line")
    build.add_argument("--out", type=Path, required=True, help="new directory for the indexes")
    build.set_defaults(handler=_index_build)

    match = commands.add_parser("match", help="match '<type> <hash>' queries against built indexes")
    match.add_argument("queries", nargs="?", default="-", help="query file, '-' for standard input")
    match.add_argument("--index", type=Path, required=True, help="directory written by 'index build'")
    match.add_argument(
        "--threshold",
        action="append",
        default=[],
        metavar="TYPE=N",
        help="threshold for a type (default: the type's default; photodna has none: required); repeatable",
    )
    match.set_defaults(handler=_match)


def _types(_: argparse.Namespace) -> None:
    from matcher import HASH_TYPES

    print("type\tbits\tdefault threshold\tmax threshold\tdescription")
    for hash_type in HASH_TYPES.values():
        print(
            f"{hash_type.name}\t{hash_type.bits}\t"
            f"{'set per list' if hash_type.threshold_required else hash_type.default_threshold}\t"
            f"{hash_type.max_threshold}\t{hash_type.description}"
        )


def _index_build(args: argparse.Namespace) -> None:
    if args.out.exists():
        raise CommandError(f"{args.out} already exists: choose a new directory")
    by_type = _read_list(args.list)
    for name, hashes in sorted(by_type.items()):
        started = time.perf_counter()
        index = hashes.hash_type.build_index(hashes.codes, hashes.lines)
        index.save(args.out / name)
        print(
            f"{name}: {index.entry_count} entries ({index.unique_count} distinct), "
            f"{_layout(index)}, built in {time.perf_counter() - started:.2f} s"
        )
    print(f"indexes written to {args.out}")


def _match(args: argparse.Namespace) -> None:
    import numpy as np

    from indexer.formats import read_plain

    thresholds = parse_thresholds(args.threshold)
    indexes = _load_indexes(args.index)
    with open_binary(args.queries) as stream:
        by_type, errors = read_plain(stream)
    if errors:
        raise CommandError(describe_errors(args.queries, errors))
    _refuse_videos(args.queries, by_type)
    print("query_line\ttype\tentry\tdistance")
    queries = matched = 0
    started = time.perf_counter()
    for name, hashes in sorted(by_type.items()):
        queries += hashes.codes.shape[0]
        index = indexes.get(name)
        if index is None:
            continue
        threshold = hashes.hash_type.list_threshold(thresholds)
        found = index.search(hashes.codes, threshold)
        matched += np.unique(found.query).size
        for query, entry, distance in zip(found.query, found.entry, found.distance, strict=True):
            print(f"{hashes.lines[query]}\t{name}\t{entry}\t{distance}")
    elapsed = (time.perf_counter() - started) * 1000
    print(f"{queries} queries, {matched} matched, searched in {elapsed:.1f} ms", file=sys.stderr)


def _read_list(path: Path) -> "dict[str, TypedHashes]":
    from indexer.formats import read_plain

    with path.open("rb") as stream:
        by_type, errors = read_plain(stream)
    if errors:
        raise CommandError(describe_errors(str(path), errors))
    if not by_type:
        raise CommandError(f"{path}: no hashes found (expected '<type> <hash>' lines)")
    _refuse_videos(str(path), by_type)
    return by_type


def _refuse_videos(name: str, by_type: "dict[str, TypedHashes]") -> None:
    """Video hashes are matched as frame sets with a list's percentages: through lists, not these tools."""
    from matcher import VPDQ

    for hashes in by_type.values():
        if isinstance(hashes.hash_type, VPDQ):
            raise CommandError(
                f"{name}: line {hashes.lines[0]}: vpdq hashes are matched through lists "
                "('hashmatch lists import', then the match API or 'hashmatch scan'), not these file tools"
            )


def _load_indexes(directory: Path) -> "dict[str, Index]":
    from matcher import HASH_TYPES, load_index

    if not directory.is_dir():
        raise CommandError(f"{directory} is not a directory of indexes (see 'hashmatch index build')")
    indexes = {path.name: load_index(path) for path in sorted(directory.iterdir()) if path.name in HASH_TYPES}
    if not indexes:
        raise CommandError(f"{directory} holds no index (see 'hashmatch index build')")
    return indexes


def _layout(index: "Index") -> str:
    from matcher.euclidean import EuclideanIndex
    from matcher.hamming import HammingIndex

    if isinstance(index, HammingIndex) and index.tables is not None:
        return f"{index.tables.count} tables of {index.tables.width} bits"
    if isinstance(index, EuclideanIndex):
        return "filtered scan by column"
    return "flat scan" if isinstance(index, HammingIndex) else "sorted lookup"
