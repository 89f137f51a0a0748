"""Reading hash list files: CSV with a header, NDJSON, and python-threatexchange's plain lines.

- CSV: a header row naming at least ``type`` and ``hash``; optional ``item`` (the hotline's reference of
  the source material), ``category``, ``quality`` (PDQ quality 0-100), ``action`` (``add`` or
  ``retract``, delta imports only) and ``variant`` (the row hashes a transformed copy of its item, such
  as ``crop5`` or ``rot3``, made by ``hashmatch hash --variants``: it needs an item). Other columns are
  ignored and reported.
- NDJSON (``.ndjson``, ``.jsonl``): one object per line with the same keys.
- Plain (anything else): one ``<type> <hash>`` pair per line; blank lines and ``#`` comments ignored.
- vPDQ (``.vpdq``; ``--format vpdq`` for Meta's ``.txt`` files): one video as Meta's ``vpdq`` tools
  write it, a line per frame
  ``frame,quality,pdq hex,timestamp``; the file name (without its extension) is the entry's item.

A vPDQ hash in the other formats is the same lines separated by ``;`` (or newlines inside a JSON string,
or a JSON list of lines): ``vpdq 0,100,<pdq>,0.000;1,100,<pdq>,1.000``; a CSV field holding it is quoted.
Its frames are kept by digest (:attr:`ListFile.frames`), the rows carry the digest.

A hash is written as its type reads it (:meth:`matcher.HashType.parse_batch`): lowercase or uppercase
hex; PhotoDNA also as base64 (192 characters, standard or URL-safe alphabet).

Files are read as a stream (bytes, decoded strictly as UTF-8 line by line, or text), a chunk of rows at a
time: what is kept is one binary code per valid row (a NumPy array per hash type) and the few distinct
(item, category, quality, variant) combinations, never the text. A UTF-8 byte order mark at the start
is skipped.
Every bad line is counted; the first ``error_cap`` are kept with their line number, value and reason. Bad
lines include: bytes that are not UTF-8, NUL characters, a hash of the wrong length, a trivial value in a
row that adds (see :meth:`matcher.HashType.trivial`) and PDQ quality below ``LOW_QUALITY`` unless allowed.
"""

import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import NamedTuple, cast

import numpy as np
import numpy.typing as npt

from db.models import text_problem
from indexer.bulk import gc_paused
from indexer.errors import FileFormatError
from matcher import HASH_TYPES, VPDQ, HashType, MatcherError, get_hash_type
from matcher.codes import Codes, decode_hex
from matcher.frames import digest, encode_frames, parse_frames

FIELD_LIMIT = 64 << 20
"""Longest quoted CSV field read (a vPDQ video's frames in one field: an hour at one frame a second is
about 300 KB); the request body limit bounds what reaches it anyway."""
FORMATS = ("csv", "ndjson", "plain", "vpdq")
COLUMNS = ("type", "hash", "item", "category", "quality", "action", "variant")
ACTIONS = ("add", "retract")
LOW_QUALITY = 50
"""PDQ quality below this is unreliable: such rows are refused unless allowed (then kept and counted)."""
ITEM_LENGTH = 256
CATEGORY_LENGTH = 64
VARIANT_LENGTH = 32
BOM = "\ufeff"
CHUNK_ROWS = 65_536

Lines = Iterable[str | bytes]
"""A file's lines: bytes (as a file opened in binary mode gives them) or text."""
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
    variant: str | None = None
    """Which transformed copy of the item the hash is of (``crop5``...); None: the item as it is."""


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
    frames: dict[bytes, bytes] = field(default_factory=dict)
    """Video types: digest -> the frames (:func:`matcher.frames.encode_frames`) of every video read."""

    @property
    def valid_rows(self) -> int:
        return sum(hashes.codes.shape[0] for hashes in self.by_type.values())


def detect_format(path: Path | str) -> str:
    """The format a file name implies: ``.csv``, ``.ndjson``/``.jsonl``, ``.vpdq``, otherwise plain."""
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".ndjson", ".jsonl"):
        return "ndjson"
    if suffix == ".vpdq":
        return "vpdq"
    return "plain"


def read_list(
    lines: Lines,
    file_format: str,
    *,
    allow_retract: bool = False,
    adding: bool = True,
    allow_low_quality: bool = False,
    error_cap: int = 100,
    progress: Progress | None = None,
    item: str | None = None,
) -> ListFile:
    """Read and validate a whole list file (lines of bytes, as a file opened in binary mode gives them,
    or of text). ``allow_retract``: rows may carry ``action=retract``. ``adding``: the rows add entries
    (False for a file of retractions): trivial values and PDQ quality below ``LOW_QUALITY`` are refused
    in rows that add, the latter unless ``allow_low_quality``. ``item``: the item of a video read in the
    ``vpdq`` format (its file name)."""
    if file_format not in FORMATS:
        raise FileFormatError(f"unknown format {file_format!r}: expected one of {', '.join(FORMATS)}")
    reader = _Reader(allow_retract, error_cap, adding=adding, allow_low_quality=allow_low_quality)
    reader.item = item
    counted = _without_bom(_counted(lines, progress) if progress is not None else lines)
    chunks = {"csv": _csv_chunks, "ndjson": _ndjson_chunks, "plain": _plain_chunks, "vpdq": _vpdq_chunks}[
        file_format
    ]
    with gc_paused():
        for chunk in chunks(counted, reader):
            reader.add(chunk)
        return reader.finish()


def read_plain(lines: Lines) -> tuple[dict[str, TypedHashes], list[LineError]]:
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

    def __init__(self, allow_retract: bool, error_cap: int, *, adding: bool, allow_low_quality: bool) -> None:
        self.allow_retract = allow_retract
        self.error_cap = error_cap
        self.adding = adding
        self.allow_low_quality = allow_low_quality
        self.result = ListFile()
        self._metas: dict[Meta, int] = {}
        self._types: dict[object, HashType | str] = {}
        self._parts: dict[
            str, list[tuple[npt.NDArray[np.int64], Codes, npt.NDArray[np.int32], npt.NDArray[np.bool_]]]
        ] = {}
        self.ignored: dict[str, None] = {}
        self._pending: list[LineError] = []
        self.item: str | None = None

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
            self._keep(hash_type, lines, codes, meta, np.zeros(count, dtype=bool))
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
            codes, errors = (
                self._videos(hash_type, values, retract[valid])
                if isinstance(hash_type, VPDQ)
                else hash_type.parse_batch(values)
            )
            keep = np.ones(valid.size, dtype=bool)
            for position, reason in errors:
                keep[position] = False
                self.error(
                    chunk.lines[valid[position]], values[position], f"invalid {type_name} hash: {reason}"
                )
            picked = valid[keep]
            self._keep(hash_type, lines[picked], codes[keep], meta[picked], retract[picked])
        self._flush_errors()

    def _videos(
        self, hash_type: VPDQ, values: list[object], retract: npt.NDArray[np.bool_]
    ) -> tuple[Codes, list[tuple[int, str]]]:
        """Video hashes as digests, their frames kept in :attr:`ListFile.frames`; a video that adds
        without a frame usable for matching is an error."""
        videos, errors = hash_type.parse_videos(values)
        codes = np.zeros((len(values), hash_type.nbytes), np.uint8)
        for row, frames in enumerate(videos):
            if frames is None:
                continue
            why = hash_type.trivial_video(frames) if self.adding and not retract[row] else None
            if why is not None:
                errors.append((row, f"{why}: it would match nothing"))
                continue
            key = digest(frames)
            codes[row] = np.frombuffer(key, np.uint8)
            self.result.frames.setdefault(key, encode_frames(frames))
        return codes, sorted(errors)

    def _keep(
        self,
        hash_type: HashType,
        lines: npt.NDArray[np.int64],
        codes: Codes,
        meta: npt.NDArray[np.int32],
        retract: npt.NDArray[np.bool_],
    ) -> None:
        """Keep valid rows of one type, but for rows that add a trivial value (reported)."""
        if self.adding:
            adds = np.flatnonzero(~retract)
            found = hash_type.trivial(codes if adds.size == retract.size else codes[adds])
            if found:
                keep = np.ones(retract.size, dtype=bool)
                what = "file" if hash_type.is_exact else "image"
                for position, reason in found:
                    row = adds[position]
                    keep[row] = False
                    self.error(
                        int(lines[row]),
                        hash_type.format(codes[row]),
                        f"{reason}: it would match every such {what}",
                    )
                lines, codes, meta, retract = lines[keep], codes[keep], meta[keep], retract[keep]
        self._parts.setdefault(hash_type.name, []).append((lines, codes, meta, retract))

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
        values = {name: columns[name][row] for name in COLUMNS[2:]}
        problem = self._meta_problem(values)
        if problem is not None:
            self.error(line, values[problem[0]], problem[1])
            return None
        item, category, variant = (cast(str | None, values[name]) for name in ("item", "category", "variant"))
        number, retract = _quality(values["quality"]), values["action"] == "retract"
        if number is not None and number < LOW_QUALITY and self.adding and not retract:
            self.result.low_quality += 1
        return self._intern(Meta(item, category, number, variant)), retract

    def _meta_problem(self, values: dict[str, object]) -> tuple[str, str] | None:
        """The field at fault in a row's item, category, quality, action and variant, and why; None if
        none."""
        problem = self._text_fields_problem(values)
        if problem is not None:
            return problem
        quality, action = values["quality"], values["action"]
        number = _quality(quality)
        if quality is not None and number is None:
            return "quality", "quality must be a whole number from 0 to 100"
        if action is not None and action not in ACTIONS:
            return "action", f"action must be one of {', '.join(ACTIONS)}"
        if action == "retract":
            return (
                None
                if self.allow_retract
                else ("action", "action 'retract' is only allowed in a delta import")
            )
        if number is not None and number < LOW_QUALITY and self.adding and not self.allow_low_quality:
            return (
                "quality",
                f"quality {number} is below {LOW_QUALITY}: unreliable (--allow-low-quality keeps it)",
            )
        return None

    @staticmethod
    def _text_fields_problem(values: dict[str, object]) -> tuple[str, str] | None:
        for name, limit in (
            ("item", ITEM_LENGTH),
            ("category", CATEGORY_LENGTH),
            ("variant", VARIANT_LENGTH),
        ):
            problem = _text_problem(name, values[name], limit)
            if problem is not None:
                return name, problem
        if values["variant"] is not None and values["item"] is None:
            return "variant", "a variant needs an item: the item it is a transformed copy of"
        return None

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


def _blocks(lines: Lines, reader: _Reader, first: int = 1) -> Iterator[tuple[int, list[str]]]:
    """Up to ``CHUNK_ROWS`` lines at a time as text, with the number of the first."""
    iterator: Iterator[str | bytes] = iter(lines)
    while block := list(islice(iterator, CHUNK_ROWS)):
        yield first, _text(block, first, reader)
        first += len(block)


def _text(block: list[str | bytes], first: int, reader: _Reader) -> list[str]:
    """The lines of ``block`` as text, checked at C speed: a line that is not UTF-8 or holds a NUL
    character is reported and read as a blank line (which every format skips)."""
    if isinstance(block[0], bytes):
        raw = cast(list[bytes], block)
        joined = b"".join(raw)
        if b"\x00" not in joined and b"" not in raw:
            try:
                text = joined.decode().splitlines(keepends=True)
            except UnicodeDecodeError:
                text = []
            if len(text) == len(raw):  # else a line holds a break other than \n, or is not UTF-8
                return text
    elif "\x00" not in "".join(cast(list[str], block)):
        return cast(list[str], block)
    return [_checked(line, first + row, reader) for row, line in enumerate(block)]


def _checked(line: str | bytes, number: int, reader: _Reader) -> str:
    problem = _problem(line)
    if problem is not None:
        reader.error(number, _shown(line), problem)
        return ""
    return line.decode() if isinstance(line, bytes) else line


def _problem(line: str | bytes) -> str | None:
    """Why ``line`` is no text a list file may hold, if it is not."""
    if isinstance(line, bytes):
        try:
            line = line.decode()
        except UnicodeDecodeError as error:
            return f"not valid UTF-8: byte 0x{line[error.start]:02x} at column {error.start + 1}"
    column = line.find("\x00")
    return f"contains a NUL character at column {column + 1}" if column >= 0 else None


def _shown(line: str | bytes) -> str:
    text = line.decode(errors="backslashreplace") if isinstance(line, bytes) else line
    return text.strip()


def _without_bom(lines: Lines) -> Lines:
    """``lines`` without the UTF-8 byte order mark that may start the first."""
    iterator: Iterator[str | bytes] = iter(lines)
    first = next(iterator, None)
    if first is None:
        return []
    if isinstance(first, bytes):
        return chain([first.removeprefix(BOM.encode())], iterator)
    return chain([first.removeprefix(BOM)], iterator)


def _decoded(block: list[str], first: int, separator: str) -> _Chunk | None:
    """A block whose lines all read ``<type><separator><hash>`` in one layout (same type, same
    length, nothing else), decoded without a Python step per line; None for any other block."""
    name, found, _ = block[0].partition(separator)
    hash_type = HASH_TYPES.get(name)
    if not found or hash_type is None or isinstance(hash_type, VPDQ):
        return None
    length, start, width = len(block[0]), len(name) + len(separator), 2 * hash_type.nbytes
    if block[0][start + width :] not in ("\n", "\r\n") or any(len(line) != length for line in block):
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


def _plain_chunks(lines: Lines, reader: _Reader) -> Iterator[_Chunk]:
    for first, block in _blocks(lines, reader):
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


def _vpdq_chunks(lines: Lines, reader: _Reader) -> Iterator[_Chunk]:
    """One video: every non-blank line a frame (an error names the file's line)."""
    numbers: list[int] = []
    frames: list[str] = []
    for first, block in _blocks(lines, reader):
        for row, line in enumerate(block):
            if line.strip():
                numbers.append(first + row)
                frames.append(line.strip())
    if not frames:
        return
    try:
        parse_frames(frames)
    except ValueError as error:
        found = re.match(r"frame line (\d+) \(.*?\): (.*)", str(error))
        if found is None:
            reader.error(numbers[0], frames[0], f"invalid vpdq hash: {error}")
        else:
            row = int(found[1]) - 1
            reader.error(numbers[row], frames[row], f"invalid vpdq frame: {found[2]}")
        return
    columns: dict[str, list[object]] = {name: [None] for name in COLUMNS}
    columns |= {"type": ["vpdq"], "hash": [frames], "item": [reader.item]}
    yield _Chunk(numbers[:1], columns, has_meta=True)


def _csv_chunks(lines: Lines, reader: _Reader) -> Iterator[_Chunk]:
    iterator = iter(lines)
    raw_header = next(iterator, "")
    problem = _problem(raw_header)
    if problem is not None:
        raise FileFormatError(f"line 1: {problem}: expected a header row with the columns type,hash")
    first_line = raw_header.decode() if isinstance(raw_header, bytes) else raw_header
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
    for first, block in _blocks(iterator, reader, first=2):
        decoded = _decoded(block, first, ",") if simple else None
        if decoded is not None:
            yield decoded
            continue
        if any('"' in line for line in block):
            last = first + len(block) - 1
            if csv.field_size_limit() < FIELD_LIMIT:  # the module's own 128 KB is half an hour of video
                csv.field_size_limit(FIELD_LIMIT)
            try:
                rows = list(csv.reader(block))
            except csv.Error as error:
                raise FileFormatError(f"lines {first}-{last}: not readable as CSV ({error})") from None
            if len(rows) != len(block):
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


def _ndjson_chunks(lines: Lines, reader: _Reader) -> Iterator[_Chunk]:
    for first, block in _blocks(lines, reader):
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


def _text_problem(name: str, value: object, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        return f"{name} must be text of at most {limit} characters"
    problem = text_problem(value)
    return None if problem is None else f"{name} {problem}"


def _quality(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, int) and 0 <= value <= 100:
        return value
    return None


def _counted(lines: Lines, progress: Progress) -> Iterator[str | bytes]:
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
