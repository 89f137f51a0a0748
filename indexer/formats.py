"""Reading hash list files: CSV with a header, NDJSON, and python-threatexchange's plain lines.

- CSV: a header row naming at least ``type`` and ``hash``; optional ``item`` (the hotline's reference of
  the source material), ``category``, ``quality`` (PDQ quality 0-100) and ``action`` (``add`` or
  ``retract``, delta imports only). Other columns are ignored and reported.
- NDJSON (``.ndjson``, ``.jsonl``): one object per line with the same keys.
- Plain (anything else): one ``<type> <hash>`` pair per line; blank lines and ``#`` comments ignored.

Files are read as a stream, a chunk of rows at a time: what is kept is one binary code per valid row
(a NumPy array per hash type) and the few distinct (item, category, quality) combinations, never the
text. Every bad line is counted; the first ``error_cap`` are kept with their line number, value and
reason.
"""

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from indexer.bulk import gc_paused
from indexer.errors import FileFormatError
from matcher import HASH_TYPES, HashType, MatcherError, get_hash_type
from matcher.codes import Codes, decode_hex, parse_hex_batch

FORMATS = ("csv", "ndjson", "plain")
COLUMNS = ("type", "hash", "item", "category", "quality", "action")
ACTIONS = ("add", "retract")
LOW_QUALITY = 50
"""PDQ quality below this is unreliable: such entries are kept but flagged."""
CATEGORY_LENGTH = 64
CHUNK_ROWS = 65_536

Progress = Callable[[int], None]
"""Called with the number of characters read since the last call."""


@dataclass(frozen=True)
class LineError:
    """A line that could not be read: its number (from 1), the offending value and why."""

    line: int
    text: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class Meta(NamedTuple):
    """What an entry carries beside its hash."""

    item: str | None
    category: str | None
    quality: int | None


@dataclass(frozen=True)
class TypedHashes:
    """The valid rows of one hash type: line numbers, codes, and per row its ``Meta`` (an index into
    :attr:`ListFile.metas`) and whether it retracts rather than adds."""

    hash_type: HashType
    lines: npt.NDArray[np.int64]
    codes: Codes
    meta: npt.NDArray[np.int32]
    retract: npt.NDArray[np.bool_]


@dataclass
class ListFile:
    """Everything read from one file."""

    by_type: dict[str, TypedHashes] = field(default_factory=dict)
    metas: list[Meta] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    bad_lines: int = 0
    rows: int = 0
    low_quality: int = 0
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def valid_rows(self) -> int:
        return sum(hashes.codes.shape[0] for hashes in self.by_type.values())


def detect_format(path: Path | str) -> str:
    """The format a file name implies: ``.csv``, ``.ndjson``/``.jsonl``, otherwise plain."""
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".ndjson", ".jsonl"):
        return "ndjson"
    return "plain"


def read_list(
    lines: Iterable[str],
    file_format: str,
    *,
    allow_retract: bool = False,
    error_cap: int = 100,
    progress: Progress | None = None,
) -> ListFile:
    """Read and validate a whole list file. ``allow_retract``: rows may carry ``action=retract``."""
    if file_format not in FORMATS:
        raise FileFormatError(f"unknown format {file_format!r}: expected one of {', '.join(FORMATS)}")
    reader = _Reader(allow_retract, error_cap)
    counted = _counted(lines, progress) if progress is not None else lines
    chunks = {"csv": _csv_chunks, "ndjson": _ndjson_chunks, "plain": _plain_chunks}[file_format]
    with gc_paused():
        for chunk in chunks(counted, reader):
            reader.add(chunk)
        return reader.finish()


def read_plain(lines: Iterable[str]) -> tuple[dict[str, TypedHashes], list[LineError]]:
    """Hashes by type name from ``<type> <hash>`` lines, and every bad line."""
    found = read_list(lines, "plain", error_cap=2**62)
    return found.by_type, found.errors


@dataclass
class _Chunk:
    """Up to ``CHUNK_ROWS`` rows as columns: ``type`` and ``hash`` always, the others with
    ``has_meta`` (None where a row has no value)."""

    lines: list[int]
    columns: dict[str, list[object]]
    has_meta: bool = False
    decoded: tuple[HashType, Codes] | None = None  # a block of one layout, decoded at once


class _Reader:
    """Validates chunks of rows and accumulates the valid ones as arrays per hash type."""

    def __init__(self, allow_retract: bool, error_cap: int) -> None:
        self.allow_retract = allow_retract
        self.error_cap = error_cap
        self.result = ListFile()
        self._metas: dict[Meta, int] = {}
        self._types: dict[object, HashType | str] = {}
        self._parts: dict[
            str, list[tuple[npt.NDArray[np.int64], Codes, npt.NDArray[np.int32], npt.NDArray[np.bool_]]]
        ] = {}
        self.ignored: dict[str, None] = {}
        self._pending: list[LineError] = []

    def error(self, line: int, text: object, reason: str) -> None:
        """Report a bad line of the chunk being read (kept in line order, up to the cap)."""
        self.result.bad_lines += 1
        if len(self.result.errors) < self.error_cap:
            self._pending.append(LineError(line, _shorten(text), reason))

    def _flush_errors(self) -> None:
        self._pending.sort(key=lambda error: error.line)
        self.result.errors += self._pending[: self.error_cap - len(self.result.errors)]
        self._pending.clear()

    def add(self, chunk: _Chunk) -> None:
        count = len(chunk.lines)
        self.result.rows += count
        if chunk.decoded is not None:
            hash_type, codes = chunk.decoded
            meta = np.full(count, self._intern(Meta(None, None, None)), dtype=np.int32)
            lines = np.asarray(chunk.lines, dtype=np.int64)
            self._parts.setdefault(hash_type.name, []).append(
                (lines, codes, meta, np.zeros(count, dtype=bool))
            )
            self._flush_errors()
            return
        columns = chunk.columns
        good = np.ones(count, dtype=bool)
        meta = np.zeros(count, dtype=np.int32)
        retract = np.zeros(count, dtype=bool)
        if chunk.has_meta:
            for row in range(count):
                found = self._row_meta(chunk.lines[row], columns, row)
                if found is None:
                    good[row] = False
                else:
                    meta[row], retract[row] = found
        else:
            meta[:] = self._intern(Meta(None, None, None))
        types = columns["type"]
        lines = np.asarray(chunk.lines, dtype=np.int64)
        distinct = set(types)
        by_name = (
            {next(iter(distinct)): np.arange(count)}
            if len(distinct) == 1
            else {
                name: np.flatnonzero(np.fromiter((t == name for t in types), bool, count))
                for name in distinct
            }
        )
        resolved: dict[str, list[npt.NDArray[np.int64]]] = {}  # spellings of one type read together
        for name, rows in by_name.items():
            spelled = self._hash_type(name)
            if isinstance(spelled, str):
                for bad in rows.tolist():
                    self.error(chunk.lines[bad], name, spelled)
            else:
                resolved.setdefault(spelled.name, []).append(rows)
        for type_name, parts in resolved.items():
            hash_type = get_hash_type(type_name)
            rows = np.sort(np.concatenate(parts)) if len(parts) > 1 else parts[0]
            valid = rows[good[rows]]
            hashes = columns["hash"]
            values = hashes if valid.size == len(hashes) else [hashes[row] for row in valid]
            codes, errors = parse_hex_batch(values, hash_type.nbytes)
            keep = np.ones(valid.size, dtype=bool)
            for position, reason in errors:
                keep[position] = False
                self.error(
                    chunk.lines[valid[position]], values[position], f"invalid {type_name} hash: {reason}"
                )
            picked = valid[keep]
            self._parts.setdefault(type_name, []).append(
                (lines[picked], codes[keep], meta[picked], retract[picked])
            )
        self._flush_errors()

    def _hash_type(self, name: object) -> HashType | str:
        """The type named ``name``, or why there is none (cached per distinct spelling)."""
        if not isinstance(name, str):
            return "the type is missing"
        found = self._types.get(name)
        if found is None:
            try:
                found = get_hash_type(name)
            except MatcherError as error:
                found = str(error)
            self._types[name] = found
        return found

    def _row_meta(self, line: int, columns: dict[str, list[object]], row: int) -> tuple[int, bool] | None:
        """The row's meta index and whether it retracts, or None (after reporting) if invalid."""
        item, category, quality, action = (
            columns[name][row] for name in ("item", "category", "quality", "action")
        )
        if item is not None and not isinstance(item, str):
            self.error(line, item, "item must be text")
            return None
        if category is not None and (not isinstance(category, str) or len(category) > CATEGORY_LENGTH):
            self.error(line, category, f"category must be text of at most {CATEGORY_LENGTH} characters")
            return None
        number = _quality(quality)
        if quality is not None and number is None:
            self.error(line, quality, "quality must be a whole number from 0 to 100")
            return None
        if action is not None and action not in ACTIONS:
            self.error(line, action, f"action must be one of {', '.join(ACTIONS)}")
            return None
        retract = action == "retract"
        if retract and not self.allow_retract:
            self.error(line, action, "action 'retract' is only allowed in a delta import")
            return None
        if number is not None and number < LOW_QUALITY:
            self.result.low_quality += 1
        return self._intern(Meta(item, category, number)), retract

    def _intern(self, meta: Meta) -> int:
        index = self._metas.get(meta)
        if index is None:
            index = self._metas[meta] = len(self._metas)
        return index

    def finish(self) -> ListFile:
        self._flush_errors()
        result = self.result
        for name, parts in self._parts.items():
            lines, codes, meta, retract = (np.concatenate(column) for column in zip(*parts, strict=True))
            result.by_type[name] = TypedHashes(get_hash_type(name), lines, codes, meta, retract)
        self._parts.clear()
        result.metas = list(self._metas)
        result.ignored_columns = list(self.ignored)
        return result


def _blocks(lines: Iterable[str], first: int = 1) -> Iterator[tuple[int, list[str]]]:
    """Up to ``CHUNK_ROWS`` lines at a time, with the number of the first."""
    iterator = iter(lines)
    while block := list(islice(iterator, CHUNK_ROWS)):
        yield first, block
        first += len(block)


def _decoded(block: list[str], first: int, separator: str) -> _Chunk | None:
    """A block whose lines all read ``<type><separator><hash>`` in one layout (same type, same
    length, nothing else), decoded without a Python step per line; None for any other block."""
    name, found, _ = block[0].partition(separator)
    hash_type = HASH_TYPES.get(name)
    if not found or hash_type is None:
        return None
    length, start, width = len(block[0]), len(name) + len(separator), 2 * hash_type.nbytes
    if length - start - width not in (1, 2) or any(len(line) != length for line in block):
        return None
    text = "".join(block)
    if not text.isascii():
        return None
    raw = np.frombuffer(text.encode("ascii"), dtype=np.uint8).reshape(len(block), length)
    layout = np.concatenate([raw[:, :start], raw[:, start + width :]], axis=1)
    if not (layout == layout[0]).all():
        return None
    codes, bad = decode_hex(raw[:, start : start + width])
    if bad.any():
        return None
    return _Chunk(list(range(first, first + len(block))), {}, decoded=(hash_type, codes))


def _plain_chunks(lines: Iterable[str], reader: _Reader) -> Iterator[_Chunk]:
    for first, block in _blocks(lines):
        decoded = _decoded(block, first, " ")
        if decoded is not None:
            yield decoded
            continue
        fields = [line.split() for line in block]
        kept = [row for row, found in enumerate(fields) if found and not found[0].startswith("#")]
        for row in kept:
            if len(fields[row]) != 2:
                reader.error(first + row, block[row].strip(), "expected '<type> <hash>'")
        kept = [row for row in kept if len(fields[row]) == 2]
        yield _Chunk(
            [first + row for row in kept],
            {"type": [fields[row][0] for row in kept], "hash": [fields[row][1] for row in kept]},
        )


def _csv_chunks(lines: Iterable[str], reader: _Reader) -> Iterator[_Chunk]:
    iterator = iter(lines)
    first_line = next(iterator, "")
    header = next(csv.reader([first_line]), [])
    if not first_line.strip():
        raise FileFormatError("the CSV file is empty: expected a header row with the columns type,hash")
    names = [name.strip().lower() for name in header]
    missing = [name for name in ("type", "hash") if name not in names]
    if missing:
        raise FileFormatError(
            f"line 1: the CSV header must name the columns type and hash (missing {', '.join(missing)}); "
            f"found {','.join(header)}"
        )
    for name in names:
        if name not in COLUMNS:
            reader.ignored[name] = None
    positions = {name: names.index(name) for name in COLUMNS if name in names}
    has_meta = len(positions) > 2
    simple = names == ["type", "hash"]
    for first, block in _blocks(iterator, first=2):
        decoded = _decoded(block, first, ",") if simple else None
        if decoded is not None:
            yield decoded
            continue
        if any('"' in line for line in block):
            rows = list(csv.reader(block))
            if len(rows) != len(block):
                last = first + len(block) - 1
                raise FileFormatError(f"lines {first}-{last}: a quoted field spans lines (not supported)")
        else:
            rows = [line.rstrip("\r\n").split(",") for line in block]
        kept = [row for row, values in enumerate(rows) if values and (len(values) > 1 or values[0].strip())]
        columns: dict[str, list[object]] = {
            name: [rows[row][position] if position < len(rows[row]) else None for row in kept]
            for name, position in positions.items()
        }
        if has_meta:
            for name in COLUMNS[2:]:
                values = columns.get(name)
                columns[name] = (
                    [None] * len(kept)
                    if values is None
                    else [(value.strip() or None) if isinstance(value, str) else None for value in values]
                )
        yield _Chunk([first + row for row in kept], columns, has_meta)


def _ndjson_chunks(lines: Iterable[str], reader: _Reader) -> Iterator[_Chunk]:
    for first, block in _blocks(lines):
        numbers: list[int] = []
        columns: dict[str, list[object]] = {name: [] for name in COLUMNS}
        for row, line in enumerate(block):
            if not line.strip():
                continue
            try:
                found = json.loads(line)
            except ValueError as error:
                reader.error(first + row, line.strip(), f"not valid JSON: {error}")
                continue
            if not isinstance(found, dict):
                reader.error(first + row, line.strip(), "expected a JSON object")
                continue
            if not isinstance(found.get("type"), str):
                reader.error(first + row, line.strip(), "expected a 'type' key with a text value")
                continue
            for key in found:
                if key not in COLUMNS:
                    reader.ignored[key] = None
            numbers.append(first + row)
            for name in COLUMNS:
                columns[name].append(found.get(name))
        yield _Chunk(numbers, columns, has_meta=True)


def _quality(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, int) and 0 <= value <= 100:
        return value
    return None


def _counted(lines: Iterable[str], progress: Progress) -> Iterator[str]:
    pending = 0
    for line in lines:
        pending += len(line)
        if pending >= 1 << 20:
            progress(pending)
            pending = 0
        yield line
    progress(pending)


def _shorten(value: object, limit: int = 80) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
