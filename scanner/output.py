"""Rows written as CSV (a header row, then one line per row) or NDJSON (one JSON object per line)."""

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import PurePath
from typing import Literal, TextIO, TypeAlias

Format: TypeAlias = Literal["csv", "ndjson"]
FORMATS: tuple[Format, ...] = ("csv", "ndjson")
Value: TypeAlias = str | int | bool | None


def format_for(path: PurePath) -> Format:
    """NDJSON for a ``.ndjson``/``.jsonl``/``.json`` file name, else CSV."""
    return "ndjson" if path.suffix.lower() in {".ndjson", ".jsonl", ".json"} else "csv"


class RowWriter:
    """Writes rows with the keys ``columns`` to ``stream``; CSV cells are empty for None. A CSV starts
    with its header row unless ``header`` is false (rows appended to a file that has it)."""

    def __init__(
        self, stream: TextIO, columns: Sequence[str], output_format: Format, header: bool = True
    ) -> None:
        self.stream = stream
        self.columns = tuple(columns)
        self._csv = csv.writer(stream, lineterminator="\n") if output_format == "csv" else None
        if self._csv is not None and header:
            self._csv.writerow(self.columns)

    def write(self, row: Mapping[str, Value]) -> None:
        if self._csv is None:
            self.stream.write(json.dumps({key: row[key] for key in self.columns}) + "\n")
        else:
            self._csv.writerow([_cell(row[key]) for key in self.columns])


def _cell(value: Value) -> str | int:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value
