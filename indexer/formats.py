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
Its frames are kept by digest (:attr:`indexer.listfile.ListFile.frames`), the rows carry the digest.

A hash is written as its type reads it (:meth:`matcher.HashType.parse_batch`): lowercase or uppercase
hex; PhotoDNA also as base64 (192 characters, standard or URL-safe alphabet).

Files are read as a stream (bytes, decoded strictly as UTF-8 line by line, or text), a chunk of rows at a
time: this module reads each format's syntax into columns, :mod:`indexer.listfile` checks their values
and keeps one binary code per valid row (a NumPy array per hash type) and the few distinct (item,
category, quality, variant) combinations, never the text. A UTF-8 byte order mark at the start is skipped.
Every bad line is counted; the first ``error_cap`` are kept with their line number, value and reason. Bad
lines include: bytes that are not UTF-8, NUL characters, a hash of the wrong length, a trivial value in a
row that adds (see :meth:`matcher.HashType.trivial`) and PDQ quality below
:data:`indexer.listfile.LOW_QUALITY` unless allowed.
"""

import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator
from itertools import chain, islice
from pathlib import Path
from typing import cast

import numpy as np

from indexer.bulk import gc_paused
from indexer.errors import FileFormatError
from indexer.listfile import COLUMNS, Chunk, LineError, ListFile, Reader, TypedHashes
from matcher import HASH_TYPES, VPDQ
from matcher.codes import decode_hex
from matcher.frames import parse_frames

FIELD_LIMIT = 64 << 20
"""Longest quoted CSV field read (a vPDQ video's frames in one field: an hour at one frame a second is
about 300 KB); the request body limit bounds what reaches it anyway."""
FORMATS = ("csv", "ndjson", "plain", "vpdq")
BOM = "\ufeff"
CHUNK_ROWS = 65_536

Lines = Iterable[str | bytes]
"""A file's lines: bytes (as a file opened in binary mode gives them) or text."""
Progress = Callable[[int], None]
"""Called with the number of characters read since the last call."""


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
    (False for a file of retractions): trivial values and PDQ quality below ``listfile.LOW_QUALITY`` are
    refused in rows that add, the latter unless ``allow_low_quality``. ``item``: the item of a video read
    in the ``vpdq`` format (its file name)."""
    if file_format not in FORMATS:
        raise FileFormatError(f"unknown format {file_format!r}: expected one of {', '.join(FORMATS)}")
    reader = Reader(allow_retract, error_cap, adding=adding, allow_low_quality=allow_low_quality)
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


def _blocks(lines: Lines, reader: Reader, first: int = 1) -> Iterator[tuple[int, list[str]]]:
    """Up to ``CHUNK_ROWS`` lines at a time as text, with the number of the first."""
    iterator: Iterator[str | bytes] = iter(lines)
    while block := list(islice(iterator, CHUNK_ROWS)):
        yield first, _text(block, first, reader)
        first += len(block)


def _text(block: list[str | bytes], first: int, reader: Reader) -> list[str]:
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


def _checked(line: str | bytes, number: int, reader: Reader) -> str:
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


def _decoded(block: list[str], first: int, separator: str) -> Chunk | None:
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
    return Chunk(list(range(first, first + len(block))), {}, decoded=(hash_type, codes))


def _plain_chunks(lines: Lines, reader: Reader) -> Iterator[Chunk]:
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
        yield Chunk(
            [first + row for row in kept],
            {"type": [fields[row][0] for row in kept], "hash": [fields[row][1] for row in kept]},
        )


def _vpdq_chunks(lines: Lines, reader: Reader) -> Iterator[Chunk]:
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
    yield Chunk(numbers[:1], columns, has_meta=True)


def _csv_chunks(lines: Lines, reader: Reader) -> Iterator[Chunk]:
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
        yield Chunk([first + row for row in kept], columns, has_meta)


def _ndjson_chunks(lines: Lines, reader: Reader) -> Iterator[Chunk]:
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
        yield Chunk(numbers, columns, has_meta=True)


def _counted(lines: Lines, progress: Progress) -> Iterator[str | bytes]:
    pending = 0
    for line in lines:
        pending += len(line)
        if pending >= 1 << 20:
            progress(pending)
            pending = 0
        yield line
    progress(pending)
