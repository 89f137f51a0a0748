"""``hashmatch lists``: a hotline analyst's commands over hash lists, their versions and the served index
(what they print: :mod:`cli.listviews`)."""

import argparse
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from cli.common import CommandError, Commands, open_binary, open_database, parse_thresholds, plural
from cli.listviews import import_summary, publish_summary, show_all, show_one, table

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from indexer.formats import Progress
    from indexer.listfile import ListFile
    from indexer.lists import ImportResult, Mode

LIST_FORMATS = "csv, ndjson, plain or vpdq (one video in Meta's frame lines)"
"""The list file formats (``indexer.formats.FORMATS``), as ``--format`` help names them."""


def register(commands: Commands) -> None:
    lists = commands.add_parser("lists", help="hotline hash lists: create, import, publish, retract")
    actions = lists.add_subparsers(required=True, metavar="ACTION")

    create = actions.add_parser("create", help="create an empty list for a hotline")
    create.add_argument("name", help="the list's name (unique within the organisation)")
    create.add_argument("--org", required=True, help="the hotline organisation that owns the list")
    create.add_argument("--description", default="")
    create.add_argument("--category", help="category of entries whose row names none (e.g. A)")
    create.add_argument("--legal-basis", default="", help="the legal basis notices cite")
    create.add_argument(
        "--threshold", action="append", default=[], metavar="TYPE=N", help="override a type's threshold"
    )
    create.add_argument("--deadline-hours", type=int, default=24, help="deadline of notices (default 24)")
    create.add_argument(
        "--video-percent",
        default="80/80",
        metavar="QUERY/LISTED",
        help="vpdq: the shares (percent) of the query video's frames that must match and of the listed "
        "video's frames that must be matched (default 80/80)",
    )
    create.set_defaults(handler=_create)

    imports = actions.add_parser("import", help="import a file as the list's next version")
    imports.add_argument("list", help="ORGANISATION/NAME, list id, or a unique name")
    imports.add_argument("file", help="CSV, NDJSON or '<type> <hash>' file; '-' for standard input")
    mode = imports.add_mutually_exclusive_group(required=True)
    mode.add_argument("--full", dest="mode", action="store_const", const="full", help="replace the list")
    mode.add_argument(
        "--delta",
        dest="mode",
        action="store_const",
        const="delta",
        help="add rows; retract action=retract rows",
    )
    imports.add_argument("--format", help=f"{LIST_FORMATS} (default: by the file name)")
    imports.add_argument(
        "--skip-bad", action="store_true", help="import the valid lines of a file with bad ones"
    )
    imports.add_argument(
        "--allow-low-quality", action="store_true", help="keep rows with PDQ quality below 50 (flagged)"
    )
    imports.add_argument(
        "--allow-empty", action="store_true", help="let a full import of a file without rows empty the list"
    )
    imports.add_argument("--publish", action="store_true", help="publish right after the import")
    imports.set_defaults(handler=_import)

    publishes = actions.add_parser("publish", help="serve the newest version of lists (default: all)")
    publishes.add_argument("lists", nargs="*", help="lists to publish (others stay as served)")
    publishes.set_defaults(handler=_publish)

    show = actions.add_parser("show", help="lists with their versions and what is served")
    show.add_argument("list", nargs="?", help="one list in detail")
    show.set_defaults(handler=_show)

    retract = actions.add_parser("retract", help="retract entries (false positives) as a new version")
    retract.add_argument("list")
    retract.add_argument("file", nargs="?", help="file of hashes to retract (any import format)")
    retract.add_argument("--entry", type=int, action="append", default=[], metavar="ID", help="an entry id")
    retract.add_argument("--format", help=LIST_FORMATS)
    retract.add_argument("--reason", default="", help="why (kept with the version)")
    retract.add_argument("--publish", action="store_true", help="publish right after")
    retract.set_defaults(handler=_retract)

    versions = actions.add_parser("versions", help="the versions of a list")
    versions.add_argument("list")
    versions.set_defaults(handler=_versions)


def _create(args: argparse.Namespace) -> None:
    from config import get_settings
    from indexer.lists import create_list, list_label

    thresholds = parse_thresholds(args.threshold)
    query, _, listed = args.video_percent.partition("/")
    if not (query.isdigit() and listed.isdigit()):
        raise CommandError(f"--video-percent {args.video_percent!r}: expected QUERY/LISTED, e.g. 80/80")
    with open_database(get_settings()) as sessions, sessions.begin() as session:
        hash_list = create_list(
            session,
            args.org,
            args.name,
            description=args.description,
            default_category=args.category,
            legal_basis=args.legal_basis,
            thresholds=thresholds,
            notice_deadline_hours=args.deadline_hours,
            video_percent=(int(query), int(listed)),
        )
        label = list_label(session, hash_list)
        print(
            f"created list {label} (id {hash_list.id}); "
            f"import entries with 'hashmatch lists import {label} FILE --full'"
        )


def _import(args: argparse.Namespace) -> None:
    from config import get_settings
    from indexer.lists import find_list, list_label

    with open_database(get_settings()) as sessions:
        with sessions() as session:
            hash_list = find_list(session, args.list)
            label = list_label(session, hash_list)
        found = _read(
            args.file,
            args.format,
            allow_retract=args.mode == "delta",
            allow_low_quality=args.allow_low_quality,
        )
        started = time.perf_counter()
        result = _apply(
            sessions,
            hash_list.id,
            found,
            args.mode,
            args.file,
            args.skip_bad,
            "",
            allow_empty=args.allow_empty,
        )
        print(import_summary(label, result, time.perf_counter() - started))
        _then_publish(sessions, args.publish)


def _retract(args: argparse.Namespace) -> None:
    from config import get_settings
    from indexer.lists import find_list, list_label, retract_entries

    if (args.file is None) == (not args.entry):
        raise CommandError("give either a FILE of hashes or --entry ID (repeatable), not both")
    with open_database(get_settings()) as sessions:
        with sessions() as session:
            hash_list = find_list(session, args.list)
            label = list_label(session, hash_list)
        if args.file is not None:
            found = _read(args.file, args.format, allow_retract=True, adding=False)
            result = _apply(sessions, hash_list.id, found, "retract", args.file, False, args.reason)
            print(import_summary(label, result, None))
        else:
            with sessions.begin() as session:
                version = retract_entries(session, hash_list.id, args.entry, args.reason)
                print(
                    f"{label} version {version.number} (retract): "
                    f"{plural(version.removed, 'entry')} retracted, {version.entries:,} active"
                )
        _then_publish(sessions, args.publish)


def _publish(args: argparse.Namespace) -> None:
    from config import get_settings
    from indexer.lists import find_list

    with open_database(get_settings()) as sessions:
        with sessions() as session:
            ids = [find_list(session, ref).id for ref in args.lists] if args.lists else None
        _run_publish(sessions, ids)


def _show(args: argparse.Namespace) -> None:
    from config import get_settings
    from indexer import serving
    from indexer.lists import find_list
    from indexer.publishing import newest_publication, served_list_versions, unserved_publication

    with open_database(get_settings()) as sessions:
        index_dir = get_settings().index_dir
        with sessions() as session:
            served = served_list_versions(session)
            newest = newest_publication(session)
            pending = unserved_publication(session, index_dir)
            if args.list is None:
                show_all(session, served)
            else:
                show_one(session, find_list(session, args.list), served)
        print(f"served index version: {newest.version if newest else 'none (nothing published yet)'}")
        if pending is not None and (index_dir / serving.POINTER).exists():
            print(f"publication {pending.version} was interrupted: 'hashmatch lists publish' finishes it")


def _versions(args: argparse.Namespace) -> None:
    from config import get_settings
    from indexer.lists import find_list
    from indexer.publishing import served_list_versions
    from indexer.versions import versions_of

    with open_database(get_settings()) as sessions:
        with sessions() as session:
            hash_list = find_list(session, args.list)
            served = served_list_versions(session).get(hash_list.id)
            rows = [
                [
                    str(version.number) + (" *" if version.id == served else ""),
                    version.mode,
                    version.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                    f"{version.added:,}",
                    f"{version.removed:,}",
                    f"{version.entries:,}",
                    f"{version.skipped:,}",
                    version.published_at.strftime("%Y-%m-%d %H:%M:%S") if version.published_at else "-",
                    version.reason or version.source,
                ]
                for version in versions_of(session, hash_list.id)
            ]
        headers = [
            "version",
            "mode",
            "created (UTC)",
            "added",
            "removed",
            "entries",
            "skipped",
            "published",
            "source",
        ]
        table(headers, rows)
        print("* served")


def _read(
    name: str,
    file_format: str | None,
    *,
    allow_retract: bool,
    adding: bool = True,
    allow_low_quality: bool = False,
) -> "ListFile":
    """Read and validate the whole file; print each reported bad line to standard error."""
    from config import get_settings
    from indexer.formats import FORMATS, detect_format, read_list

    if file_format is not None and file_format not in FORMATS:
        raise CommandError(f"--format {file_format!r}: expected {LIST_FORMATS}")
    chosen = file_format or detect_format(name)
    cap = get_settings().import_error_cap
    with open_binary(name) as stream, _progress(name) as progress:
        found = read_list(
            stream,
            chosen,
            allow_retract=allow_retract,
            adding=adding,
            allow_low_quality=allow_low_quality,
            error_cap=cap,
            progress=progress,
            item=Path(name).stem if chosen == "vpdq" else None,
        )
    for error in found.errors:
        print(f"{name} line {error.line}: {error.reason} (value {error.text!r})", file=sys.stderr)
    if found.bad_lines > len(found.errors):
        hidden = plural(found.bad_lines - len(found.errors), "more bad line")
        print(f"{name}: {hidden} not shown", file=sys.stderr)
    return found


def _apply(
    sessions: "sessionmaker[Session]",
    list_id: int,
    found: "ListFile",
    mode: "Mode",
    source: str,
    skip_bad: bool,
    reason: str,
    *,
    allow_empty: bool = False,
) -> "ImportResult":
    from db.models import HashList
    from indexer.errors import EmptyImport, ImportRejected
    from indexer.lists import import_list

    try:
        with sessions.begin() as session:
            hash_list = session.get(HashList, list_id)
            assert hash_list is not None
            return import_list(
                session,
                hash_list,
                found,
                mode=mode,
                source=Path(source).name,
                skip_bad=skip_bad,
                allow_empty=allow_empty,
                reason=reason,
            )
    except (ImportRejected, EmptyImport) as rejected:
        raise CommandError(str(rejected)) from None


def _then_publish(sessions: "sessionmaker[Session]", wanted: bool) -> None:
    if wanted:
        _run_publish(sessions, None)
    else:
        print("not served until 'hashmatch lists publish'")


def _run_publish(sessions: "sessionmaker[Session]", ids: Sequence[int] | None) -> None:
    from config import get_settings
    from notices.publishing import publish_lists

    started = time.perf_counter()
    result = publish_lists(sessions, get_settings(), lists=ids)
    print(publish_summary(result, time.perf_counter() - started))


@contextmanager
def _progress(name: str) -> "Iterator[Progress | None]":
    """Progress on standard error (a bar on a terminal, else a line every 30 s), when the file's size is
    known."""
    from scanner.progress import progress as show_progress

    if name == "-":
        yield None
        return
    with show_progress(Path(name).stat().st_size, "B", "reading", scale=True) as bar:

        def advance(characters: int) -> None:
            bar.update(characters)

        yield advance
