"""The scan's report and its summary counts.

A report says what one run found new: a row per file hashed and sent (or that could not be), and a row
per stored file that matched when matched again. Every row names its run (the time it started, UTC), so
runs can share one report file, each appended to it.
"""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from scanner.client import MatchResult
from scanner.output import RowWriter
from scanner.problems import Problem

REPORT_COLUMNS = (
    "run",
    "source",
    "ref",
    "matched",
    "confidence",
    "signals",
    "notice_id",
    "reupload_of",
    "problem",
)


@dataclass
class Summary:
    """What a scan did; ``problems`` counts files by problem kind."""

    found: int = 0
    unchanged: int = 0
    hashed: int = 0
    sent: int = 0
    items: int = 0
    matched: int = 0
    rematched: int = 0
    """Stored files matched again (their hashes were sent again, not the files read)."""
    newly_matched: int = 0
    """Of those, the ones that matched this time."""
    regions: int = 0
    """Regions found inside images (a picture in a screenshot, its candidate boxes; the parts of a
    collage) and hashed as well..."""
    region_files: int = 0
    """...in this many files."""
    problems: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def lines(self) -> Iterator[str]:
        rate = self.hashed / self.seconds if self.seconds > 0 else 0.0
        if self.rematched:
            yield (
                f"{self.rematched} stored file{'' if self.rematched == 1 else 's'} matched again against a "
                "newer index version; "
                f"{self.newly_matched} matched now"
            )
        yield f"{_files(self.found)} found, {self.unchanged} unchanged since the last scan (skipped)"
        hashes = f"{self.items} hash{'' if self.items == 1 else 'es'}"
        yield (
            f"{_files(self.hashed)} hashed and {self.sent} sent ({hashes}) in {self.seconds:.1f} s "
            f"({rate:.1f} files/s); {self.matched} matched"
        )
        if self.regions:
            yield (
                f"{self.regions} region{'' if self.regions == 1 else 's'} found inside "
                f"{_files(self.region_files)} (pictures in screenshots, parts of collages) and hashed too"
            )
        if self.problems:
            kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(self.problems.items()))
            yield f"{_files(sum(self.problems.values()))} with problems: {kinds} (see the report)"


def _files(count: int) -> str:
    return f"{count} file{'' if count == 1 else 's'}"


class Report:
    """Rows for the report file, counted into a :class:`Summary`; ``run`` names the run on each row."""

    def __init__(self, writer: RowWriter, summary: Summary, run: str) -> None:
        self.writer = writer
        self.summary = summary
        self.run = run

    def result(self, result: MatchResult, problem: Problem | None, source: str = "scan") -> None:
        """A file's answer: ``source`` is scan (hashed in this run) or rematch (stored hashes)."""
        if source == "scan":
            self.summary.matched += result.matched
        else:
            self.summary.newly_matched += result.matched
        self.writer.write(
            {
                "run": self.run,
                "source": source,
                "ref": result.ref,
                "matched": result.matched,
                "confidence": result.confidence,
                "signals": "+".join(result.signals) or None,
                "notice_id": result.notice_id,
                "reupload_of": result.reupload_of,
                "problem": None if problem is None else str(problem),
            }
        )

    def unsent(self, ref: str, problem: Problem) -> None:
        """A file nothing could be sent for."""
        self.writer.write(
            {
                "run": self.run,
                "source": "scan",
                "ref": ref,
                "matched": None,
                "confidence": None,
                "signals": None,
                "notice_id": None,
                "reupload_of": None,
                "problem": str(problem),
            }
        )

    def flush(self) -> None:
        self.writer.stream.flush()
