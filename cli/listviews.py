"""What ``hashmatch lists`` prints: an import's and a publish's summary, the table of every list, one
list's settings and counts, and the plain-text table they share. Kept apart from the commands
(:mod:`cli.lists`), which read the arguments and make the changes these describe."""

from collections.abc import Sequence
from typing import TYPE_CHECKING

from cli.common import plural

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from db.models import HashList
    from indexer.lists import ImportResult
    from indexer.publishing import PublishResult


def import_summary(label: str, result: "ImportResult", seconds: float | None) -> str:
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


def publish_summary(result: "PublishResult", seconds: float) -> str:
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


def show_all(session: "Session", served: dict[int, int]) -> None:
    from sqlalchemy import select

    from db.models import HashList, ListVersion, Organisation
    from indexer.versions import active_by_type, latest_version

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
    table(["list", "id", "newest", "served", "entries", "by type"], rows)


def show_one(session: "Session", hash_list: "HashList", served: dict[int, int]) -> None:
    from db.models import ListVersion
    from indexer.lists import DEFAULT_VIDEO_PERCENT, list_label, video_percentages
    from indexer.versions import active_by_type, latest_version

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


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """``rows`` under ``headers``, each column as wide as its widest cell."""
    widths = [max(len(row[column]) for row in [headers, *rows]) for column in range(len(headers))]
    for row in [headers, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _default_threshold(name: str) -> int | str:
    from matcher import get_hash_type

    hash_type = get_hash_type(name)
    return "none set (required)" if hash_type.threshold_required else hash_type.default_threshold
