"""``hashmatch scan``: a hoster scans its storage against the server's lists; ``hashmatch scan report``
lists the files of a state file that have an active notice."""

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from cli.common import CommandError, Commands
from cli.hashing import add_hash_options, parse_types, video_interval
from scanner.defaults import DEFAULT_BATCH_ITEMS, DEFAULT_REGIONS, DRAFT_SIZE, MAX_ITEMS
from scanner.output import FORMATS, Format

if TYPE_CHECKING:
    from scanner.output import RowWriter
    from scanner.report import Summary

KEY_VARIABLE = "HASHMATCH_API_KEY"
ENGINES = ("local", "ray")
REPORT = "report"
"""``scan report``: the word in place of the directory (a directory named so is ``./report``)."""


def register(commands: Commands) -> None:
    scan = commands.add_parser(
        "scan",
        help="hash a storage tree and match it against the server's lists; "
        "`scan report --state FILE`: the state's files with an active notice",
    )
    scan.add_argument(
        "root",
        metavar="DIR|URL|report",
        help="directory or object store to scan (s3://bucket/prefix, gs://..., az://...), "
        "or `report` (see --state)",
    )
    scan.add_argument("--server", help="the hashmatch server's base URL (scan report: the state's)")
    scan.add_argument("--key", help=f"API key (default: the {KEY_VARIABLE} environment variable)")
    scan.add_argument(
        "--ref-prefix",
        help="refs are this prefix + the path relative to DIR|URL (default: absolute paths; objects' URLs)",
    )
    scan.add_argument(
        "--s3-endpoint-url",
        help="the S3 API's URL when it is not AWS's (MinIO, Ceph...; default: AWS_ENDPOINT_URL, else AWS)",
    )
    scan.add_argument(
        "--engine",
        choices=ENGINES,
        default="local",
        help="local: --workers processes here; ray: Ray tasks on the cluster at --ray-address "
        "(the 'ray' extra) (default: %(default)s)",
    )
    scan.add_argument(
        "--ray-address",
        help="the Ray cluster to hash on (ray://head:10001, or auto); default: a local Ray instance "
        "of --workers CPUs",
    )
    scan.add_argument(
        "--state",
        type=Path,
        default=Path("hashmatch-state.sqlite"),
        help="state file keeping what was sent (hashes only), so a re-run sends only new and changed "
        "files and matches stored ones again when the lists changed (default: %(default)s)",
    )
    scan.add_argument(
        "--rematch-only",
        action="store_true",
        help="only match the stored files again if the server's lists changed; read no file (daily cron)",
    )
    scan.add_argument(
        "--report",
        type=Path,
        help="report file, appended to with a run column (default: hashmatch-report-<UTC time>.csv here; "
        "scan report: standard output)",
    )
    scan.add_argument("--format", choices=FORMATS, help="report format (default: by the report's name)")
    add_hash_options(scan)
    scan.add_argument("--no-dihedral", action="store_true", help="do not query flipped/rotated variants")
    scan.add_argument(
        "--no-trim",
        action="store_true",
        help="do not query the image without uniform borders, nor a turned picture straightened",
    )
    scan.add_argument(
        "--max-regions",
        type=int,
        default=DEFAULT_REGIONS,
        help="hash at most this many regions found inside an image (a photo in a screenshot and its "
        "candidate boxes, the parts of a collage); 0: none (default: %(default)s)",
    )
    scan.add_argument(
        "--draft-size",
        type=_positive,
        default=DRAFT_SIZE,
        help="decode and reduce images to at least this many pixels a side before hashing "
        "(default: %(default)s)",
    )
    scan.add_argument("--no-draft", action="store_true", help="hash images at full size")
    scan.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_ITEMS,
        help=f"hashes per request (a video counts its frames), at most {MAX_ITEMS} (default: %(default)s)",
    )
    scan.add_argument(
        "--retries",
        type=int,
        default=8,
        help="retries of a failing request, with backoff (default: %(default)s)",
    )
    scan.set_defaults(handler=_dispatch)


def _dispatch(args: argparse.Namespace) -> None:
    if args.root == REPORT:
        _report(args)
    else:
        _scan(args)


def _key(args: argparse.Namespace) -> str:
    key: str | None = args.key or os.environ.get(KEY_VARIABLE)
    if not key:
        raise CommandError(f"no API key: pass --key or set {KEY_VARIABLE}")
    return key


def _scan(args: argparse.Namespace) -> None:
    from scanner.client import MatchClient, Retrying
    from scanner.config import ScanConfig
    from scanner.distributed import ray_hasher
    from scanner.errors import ScannerError
    from scanner.hashfile import HashOptions
    from scanner.output import format_for
    from scanner.report import Report, Summary
    from scanner.scan import local_hasher, run_scan
    from scanner.state import ScanState

    key = _key(args)
    if not args.server:
        raise CommandError("--server: the hashmatch server's base URL is required")
    options = HashOptions(
        types=parse_types(args.types),
        dihedral=not args.no_dihedral,
        trim=not args.no_trim,
        regions=_non_negative(args.max_regions, "--max-regions"),
        draft_size=None if args.no_draft else args.draft_size,
        video_interval=video_interval(args),
    )
    try:
        config = ScanConfig(
            args.root,
            options,
            ref_prefix=args.ref_prefix,
            batch_items=args.batch_size,
            workers=args.workers,
            progress=not args.no_progress,
            endpoint_url=args.s3_endpoint_url,
        )
    except ValueError as error:
        raise CommandError(f"--batch-size: {error}") from None
    try:
        config.source()  # a missing directory or store is said before any file is written
    except ScannerError as error:
        raise CommandError(str(error)) from None
    hasher = ray_hasher(args.ray_address) if args.engine == "ray" else local_hasher
    started = datetime.now(UTC)
    report_path = args.report or Path(f"hashmatch-report-{started:%Y%m%dT%H%M%SZ}.csv")
    summary = Summary()
    try:
        with (
            closing(ScanState(args.state, config.settings(args.server))) as state,
            closing(MatchClient(args.server, key, Retrying(retries=args.retries))) as client,
            _appending(report_path, args.format or format_for(report_path)) as writer,
        ):
            report = Report(writer, summary, run=started.isoformat(timespec="milliseconds"))
            state_files = [
                args.state.with_name(args.state.name + suffix) for suffix in ("", "-journal", "-wal")
            ]
            skip = [*state_files, report_path]
            run_scan(config, client, state, report, skip=skip, rematch_only=args.rematch_only, hasher=hasher)
    except ScannerError as error:
        if summary.found or summary.rematched:
            _print_summary(summary, report_path)
        raise CommandError(str(error)) from None
    _print_summary(summary, report_path)


@contextmanager
def _appending(path: Path, output_format: Format) -> "Iterator[RowWriter]":
    """A writer appending to the report at ``path``: a CSV gets its header if it is new, and must have
    this version's columns if it is not."""
    from scanner.output import RowWriter
    from scanner.report import REPORT_COLUMNS

    exists = path.is_file() and path.stat().st_size > 0
    if exists and output_format == "csv":
        with path.open(encoding="utf-8", newline="") as stream:
            header = stream.readline().rstrip("\r\n")
        if header != ",".join(REPORT_COLUMNS):
            raise CommandError(
                f"--report {path}: its columns are not a scan report's ({header[:80]!r}): "
                "name another report file"
            )
    with path.open("a", encoding="utf-8", newline="") as stream:
        yield RowWriter(stream, REPORT_COLUMNS, output_format, header=not exists)


def _print_summary(summary: "Summary", report_path: Path) -> None:
    for line in summary.lines():
        print(line)
    print(f"report: {report_path}")


def _report(args: argparse.Namespace) -> None:
    from scanner.client import MatchClient, Retrying
    from scanner.config import ScanConfig
    from scanner.errors import ScannerError
    from scanner.hashfile import HashOptions
    from scanner.noticed import NOTICE_COLUMNS, noticed_rows
    from scanner.output import RowWriter, format_for
    from scanner.state import ScanState

    key = _key(args)
    try:
        with closing(ScanState(args.state, None)) as state:
            stored = state.settings
            server = args.server or str(stored["server"])
            config = ScanConfig(str(stored["root"]), HashOptions(), ref_prefix=stored.get("ref_prefix"))
            with (
                closing(MatchClient(server, key, Retrying(retries=args.retries))) as client,
                _output(args.report) as stream,
            ):
                client.check()
                output_format = args.format or (format_for(args.report) if args.report else "csv")
                writer = RowWriter(stream, NOTICE_COLUMNS, output_format)
                for row in noticed_rows(state, config, client):
                    writer.write(row)
    except ScannerError as error:
        raise CommandError(str(error)) from None


@contextmanager
def _output(path: Path | None) -> Iterator[TextIO]:
    if path is None:
        yield sys.stdout
        return
    with path.open("w", encoding="utf-8", newline="") as stream:
        yield stream


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of pixels >= 1, got {text!r}")
    return value


def _non_negative(value: int, option: str) -> int:
    if value < 0:
        raise CommandError(f"{option}: expected 0 or more, got {value}")
    return value
