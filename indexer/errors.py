"""The indexer's named errors: each reads as one line that says what was wrong."""

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from indexer.listfile import ListFile


class ListsError(Exception):
    """Base of every error the indexer raises on bad input."""


class FileFormatError(ListsError, ValueError):
    """A file that cannot be read at all (e.g. a CSV file without the required header)."""


class NotFound(ListsError, LookupError):
    """An organisation, list or entry that does not exist (or is not what was asked for)."""


class InvalidList(ListsError, ValueError):
    """List settings that cannot be used (thresholds, deadline, name)."""


class ListChanged(ListsError):
    """Another change of the list was committed while an import was being prepared."""


class ImportRejected(ListsError, ValueError):
    """A file with bad lines, imported without permission to skip them: nothing was written."""

    def __init__(self, source: str, found: "ListFile") -> None:
        self.source = source
        self.found = found
        first = found.errors[0] if found.errors else "no valid rows"
        others = found.bad_lines - 1
        more = f" (and {others} more bad line{'' if others == 1 else 's'})" if others else ""
        super().__init__(
            f"{source}: {first}{more}; nothing was imported (--skip-bad imports the valid lines)"
        )


class EmptyImport(ListsError, ValueError):
    """A full import without a valid row: it would empty the list, which must be asked for."""

    def __init__(self, source: str, entries: int) -> None:
        self.source = source
        self.entries = entries
        super().__init__(
            f"{source}: no valid rows: as a full import it would remove all {entries} entries of the list; "
            "nothing was imported (--allow-empty empties the list)"
        )


class InvalidRetraction(ListsError, ValueError):
    """Entries to retract named wrongly: each problem as (position in the request or None, field,
    reason); nothing was written."""

    def __init__(self, problems: Sequence[tuple[int | None, str, str]]) -> None:
        self.problems = tuple(problems)
        index, name, reason = self.problems[0]
        at = f"{name}[{index}]" if index is not None else name
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"{at}: {reason}{more}; nothing was retracted")


class NothingToPublish(ListsError):
    """A publish of an organisation's lists when it has none."""


class UnknownEntries(NotFound):
    """Entry ids that are not active entries of the list."""

    def __init__(self, list_name: str, entry_ids: Sequence[int]) -> None:
        self.entry_ids = tuple(entry_ids)
        shown = ", ".join(str(entry) for entry in self.entry_ids[:10])
        more = f" and {len(self.entry_ids) - 10} more" if len(self.entry_ids) > 10 else ""
        super().__init__(f"not active entries of list {list_name}: {shown}{more}")


class VersionRefused(Exception):
    """An index version that must not be served: its problems in words, file names relative to the
    index directory (never absolute paths: they are shown on a public route)."""

    def __init__(self, version: str, problems: Sequence[str]) -> None:
        self.version = version
        self.problems = tuple(problems)
        super().__init__(f"version {version} was refused: {'; '.join(self.problems)}")
