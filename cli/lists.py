"""``hashmatch lists``: a hotline analyst's commands over hash lists, their versions and the served index."""

import argparse
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from cli.common import CommandError, Commands, open_binary, open_database, parse_thresholds, plural

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from db.models import HashList
    from indexer.formats import Progress
    from indexer.listfile import ListFile
    from indexer.lists import ImportResult, Mode
    from indexer.publishing import PublishResult

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
        print(_summary(label, result, time.perf_counter() - started))
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
            print(_summary(label, result, None))
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
                _show_all(session, served)
            else:
                _show_one(session, find_list(session, args.list), served)
        print(f"served index version: {newest.version if newest else 'none (nothing published yet)'}")
        if pending is not None and (index_dir / serving.POINTER).exists():
            print(f"publication {pending.version} was interrupted: 'hashmatch lists publish' finishes it")


def _versions(args: argparse.Namespace) -> None:
    from config import get_settings
    from indexer.lists import find_list, versions_of
    from indexer.publishing import served_list_versions

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
        _table(headers, rows)
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


def _summary(label: str, result: "ImportResult", seconds: float | None) -> str:
    version = result.version
    if not result.changed or version is None:
        held = (
            f"the {plural(version.entries, 'active entry')} of version {version.number}"
            if version
            else "no entries"
        )
        return f"{label} unchanged: the file holds {held}; no new version"
    by_type = ", ".join(f"{name} {count:,}" for name, count in sorted(result.added.items()) if count)
    lines = [
        f"{label} version {version.number} ({version.mode}): {plural(version.added, 'entry')} added"
        + (f" ({by_type})" if by_type else "")
        + f", {version.removed:,} removed, {result.unchanged:,} unchanged; {version.entries:,} active"
    ]
    notes = []
    if result.duplicates:
        notes.append(f"{plural(result.duplicates, 'repeated row')} counted once")
    if result.not_found:
        notes.append(f"{plural(result.not_found, 'retraction')} matched no active entry")
    if result.skipped:
        notes.append(f"{plural(result.skipped, 'bad line')} skipped")
    if result.low_quality:
        notes.append(f"{plural(result.low_quality, 'entry')} with PDQ quality below 50 kept and flagged")
    if result.ignored_columns:
        notes.append(f"columns ignored: {', '.join(result.ignored_columns)}")
    lines += [f"  {note}" for note in notes]
    if seconds is not None:
        lines.append(f"imported in {seconds:.1f} s")
    return "\n".join(lines)


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
    print(_publish_summary(result, time.perf_counter() - started))


def _publish_summary(result: "PublishResult", seconds: float) -> str:
    counts = ", ".join(f"{name} {count:,}" for name, count in sorted(result.entries.items())) or "no entries"
    lines = []
    if result.finished_interrupted:
        lines.append("finished an interrupted publication first")
    if result.repaired:
        lines.append(f"rebuilt damaged index version {result.version} from the database")
    if not result.changed:
        lines.append(f"already served: index version {result.version} ({counts})")
        return "\n".join(lines)
    thresholds = ", ".join(f"{name} {value}" for name, value in sorted(result.search_thresholds.items()))
    lines.append(f"published index version {result.version}: {counts}")
    lines.append(
        f"  {plural(len(result.list_versions), 'list')}; "
        f"{plural(result.removed, 'entry')} no longer served; "
        f"search thresholds: {thresholds or '-'}; {seconds:.1f} s"
    )
    return "\n".join(lines)


def _show_all(session: "Session", served: dict[int, int]) -> None:
    from sqlalchemy import select

    from db.models import HashList, ListVersion, Organisation
    from indexer.lists import active_by_type, latest_version

    rows = []
    query = (
        select(HashList, Organisation.name)
        .join(Organisation, Organisation.id == HashList.organisation_id)
        .order_by(Organisation.name, HashList.name)
    )
    for hash_list, organisation in session.execute(query):
        newest = latest_version(session, hash_list.id)
        served_number = session.scalar(
            select(ListVersion.number).where(ListVersion.id == served.get(hash_list.id))
        )
        counts = active_by_type(session, hash_list.id)
        rows.append(
            [
                f"{organisation}/{hash_list.name}",
                str(hash_list.id),
                str(newest.number) if newest else "-",
                str(served_number) if served_number else "-",
                f"{sum(counts.values()):,}",
                " ".join(f"{name}:{count:,}" for name, count in counts.items()) or "-",
            ]
        )
    if not rows:
        print("no lists yet: 'hashmatch lists create NAME --org HOTLINE'")
        return
    _table(["list", "id", "newest", "served", "entries", "by type"], rows)


def _show_one(session: "Session", hash_list: "HashList", served: dict[int, int]) -> None:
    from db.models import ListVersion
    from indexer.lists import (
        DEFAULT_VIDEO_PERCENT,
        active_by_type,
        latest_version,
        list_label,
        video_percentages,
    )

    newest = latest_version(session, hash_list.id)
    served_id = served.get(hash_list.id)
    served_version = session.get(ListVersion, served_id) if served_id else None
    thresholds = {
        name: hash_list.thresholds.get(name, _default_threshold(name))
        for name in active_by_type(session, hash_list.id) | hash_list.thresholds
    }
    fields = [
        ("list", f"{list_label(session, hash_list)} (id {hash_list.id})"),
        ("description", hash_list.description or "-"),
        ("default category", hash_list.default_category or "-"),
        ("legal basis", hash_list.legal_basis or "-"),
        ("notice deadline", f"{hash_list.notice_deadline_hours} h"),
        (
            "thresholds",
            ", ".join(f"{name} {value}" for name, value in sorted(thresholds.items())) or "defaults",
        ),
        (
            "newest version",
            f"{newest.number} ({plural(newest.entries, 'entry')})" if newest else "none",
        ),
        ("served version", f"{served_version.number}" if served_version else "none"),
    ]
    shares = video_percentages(session, [hash_list.id])[hash_list.id]
    if "vpdq" in thresholds or shares != DEFAULT_VIDEO_PERCENT:
        fields.insert(
            6, ("video match", "{} % of the query's frames, {} % of the listed video's".format(*shares))
        )
    for name, count in active_by_type(session, hash_list.id).items():
        fields.append((f"  {name}", plural(count, "entry")))
    width = max(len(label) for label, _ in fields)
    for label, value in fields:
        print(f"{label:<{width}}  {value}")


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[column]) for row in [headers, *rows]) for column in range(len(headers))]
    for row in [headers, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


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


def _default_threshold(name: str) -> int | str:
    from matcher import get_hash_type

    hash_type = get_hash_type(name)
    return "none set (required)" if hash_type.threshold_required else hash_type.default_threshold
