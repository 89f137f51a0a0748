"""Commands on the hoster's and the hotline's side: hashing files into a list, scanning storage."""

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from cli.common import CommandError, Commands
from scanner.client import MAX_ITEMS, MatchClient, Retrying
from scanner.errors import ScannerError
from scanner.hashfile import HashOptions, hash_files
from scanner.hashing import DEFAULT_TYPES, CannotCompute, check_types
from scanner.loading import DRAFT_SIZE
from scanner.output import FORMATS, RowWriter, format_for
from scanner.report import REPORT_COLUMNS, Report, Summary
from scanner.scan import DEFAULT_BATCH_ITEMS, ScanConfig, run_scan
from scanner.state import ScanState
from scanner.walking import FileEntry, walk

LIST_COLUMNS = ("type", "hash", "item", "quality")
KEY_VARIABLE = "HASHMATCH_API_KEY"


def register(commands: Commands) -> None:
    hash_command = commands.add_parser(
        "hash", help="hash files into a list (the list import format, CSV or NDJSON)"
    )
    hash_command.add_argument("paths", nargs="+", type=Path, metavar="FILE|DIR", help="files or directories")
    _add_hash_options(hash_command)
    hash_command.add_argument(
        "--format", choices=FORMATS, help="output format (default: csv, or by --out's name)"
    )
    hash_command.add_argument("--out", type=Path, help="write to this file instead of standard output")
    hash_command.add_argument(
        "--category", help="add a category column with this value on every row (e.g. an IWF category)"
    )
    hash_command.add_argument(
        "--draft",
        action="store_const",
        const=DRAFT_SIZE,
        help=f"decode JPEGs at reduced size (sides >= {DRAFT_SIZE}): faster, PDQ a few bits off",
    )
    hash_command.set_defaults(handler=_hash)

    scan = commands.add_parser("scan", help="hash a storage tree and match it against the server's lists")
    scan.add_argument("root", type=Path, metavar="DIR", help="directory to scan")
    scan.add_argument("--server", required=True, help="the hashmatch server's base URL")
    scan.add_argument("--key", help=f"API key (default: the {KEY_VARIABLE} environment variable)")
    scan.add_argument(
        "--ref-prefix", help="refs are this prefix + the path relative to DIR (default: absolute paths)"
    )
    scan.add_argument(
        "--state",
        type=Path,
        default=Path("hashmatch-state.sqlite"),
        help="state file recording what was sent, so a re-run sends only new and changed files "
        "(default: %(default)s)",
    )
    scan.add_argument(
        "--report", type=Path, help="report file (default: hashmatch-report-<UTC time>.csv here)"
    )
    scan.add_argument("--format", choices=FORMATS, help="report format (default: by the report's name)")
    _add_hash_options(scan)
    scan.add_argument(
        "--no-dihedral", action="store_true", help="do not query PDQ's flipped/rotated variants"
    )
    scan.add_argument("--no-trim", action="store_true", help="do not query the image without uniform borders")
    scan.add_argument(
        "--draft-size",
        type=_positive,
        default=DRAFT_SIZE,
        help="decode JPEGs at reduced size, both sides at least this long (default: %(default)s)",
    )
    scan.add_argument("--no-draft", action="store_true", help="decode JPEGs at full size")
    scan.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_ITEMS,
        help=f"hashes per request, at most {MAX_ITEMS} (default: %(default)s)",
    )
    scan.add_argument(
        "--retries",
        type=int,
        default=8,
        help="retries of a failing request, with backoff (default: %(default)s)",
    )
    scan.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar (there is none if stderr is not a terminal)",
    )
    scan.set_defaults(handler=_scan)


def _add_hash_options(parser: argparse.ArgumentParser) -> None:
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


def _hash(args: argparse.Namespace) -> None:
    options = HashOptions(types=_types(args.types), draft_size=args.draft)
    entries = list(_walk_all(args.paths))
    output_format = args.format or (format_for(args.out) if args.out else "csv")
    files = written = 0
    problems: list[str] = []
    with _output(args.out) as stream:
        category = {} if args.category is None else {"category": args.category}
        writer = RowWriter(stream, (*LIST_COLUMNS, *category), output_format)
        for entry, found in zip(
            entries,
            hash_files((e.path for e in entries), options, min(args.workers, len(entries))),
            strict=True,
        ):
            files += 1
            if found.problem is not None:
                problems.append(f"{entry.path}: {found.problem}")
            for item in found.hashes:
                row = {"type": item.type, "hash": item.hash, "item": entry.relative, "quality": item.quality}
                writer.write(row | category)
                written += 1
    for line in problems:
        print(f"hashmatch: warning: {line}", file=sys.stderr)
    print(f"{files} files, {written} hashes, {len(problems)} files with problems", file=sys.stderr)


def _walk_all(paths: list[Path]) -> Iterator[FileEntry]:
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


def _scan(args: argparse.Namespace) -> None:
    key = args.key or os.environ.get(KEY_VARIABLE)
    if not key:
        raise CommandError(f"no API key: pass --key or set {KEY_VARIABLE}")
    if not args.root.is_dir():
        raise CommandError(f"{args.root} is not a directory")
    options = HashOptions(
        types=_types(args.types),
        dihedral=not args.no_dihedral,
        trim=not args.no_trim,
        draft_size=None if args.no_draft else args.draft_size,
    )
    try:
        config = ScanConfig(
            args.root,
            options,
            ref_prefix=args.ref_prefix,
            batch_items=args.batch_size,
            workers=args.workers,
            progress=not args.no_progress and sys.stderr.isatty(),
        )
    except ValueError as error:
        raise CommandError(f"--batch-size: {error}") from None
    report_path = args.report or Path(f"hashmatch-report-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.csv")
    summary = Summary()
    try:
        with (
            closing(ScanState(args.state, config.settings(args.server))) as state,
            closing(MatchClient(args.server, key, Retrying(retries=args.retries))) as client,
            report_path.open("w", encoding="utf-8", newline="") as stream,
        ):
            report = Report(
                RowWriter(stream, REPORT_COLUMNS, args.format or format_for(report_path)), summary
            )
            state_files = [
                args.state.with_name(args.state.name + suffix) for suffix in ("", "-journal", "-wal")
            ]
            run_scan(config, client, state, report, skip=[*state_files, report_path])
    except ScannerError as error:
        if summary.found:
            _print_summary(summary, report_path)
        raise CommandError(str(error)) from None
    _print_summary(summary, report_path)


def _print_summary(summary: Summary, report_path: Path) -> None:
    for line in summary.lines():
        print(line)
    print(f"report: {report_path}")


def _types(text: str) -> tuple[str, ...]:
    names = [name for name in text.split(",") if name.strip()]
    if not names:
        raise CommandError("--types: name at least one hash type")
    try:
        return check_types(names)
    except CannotCompute as error:
        raise CommandError(f"--types: {error}") from error


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of pixels >= 1, got {text!r}")
    return value
