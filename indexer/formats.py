"""Reading hash list files.

The plain format of python-threatexchange's local files: one ``<type> <hash>`` pair per line;
blank lines and lines starting with ``#`` are ignored.
"""

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matcher import HashType, InvalidHashes, MatcherError, get_hash_type


@dataclass(frozen=True)
class LineError:
    """A line that could not be read: its number (from 1), its text and why."""

    line: int
    text: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True)
class TypedHashes:
    """The valid hashes of one type read from a file, with the line each came from."""

    hash_type: HashType
    lines: npt.NDArray[np.int64]
    codes: npt.NDArray[np.uint8]


def read_plain(lines: Iterable[str]) -> tuple[dict[str, TypedHashes], list[LineError]]:
    """Hashes by type name, and every bad line (unknown type, malformed hash, missing field)."""
    found: dict[str, tuple[list[int], list[str]]] = {}
    errors: list[LineError] = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        fields = text.split()
        if len(fields) != 2:
            errors.append(LineError(number, text, "expected '<type> <hash>'"))
            continue
        try:
            name = get_hash_type(fields[0]).name
        except MatcherError as error:
            errors.append(LineError(number, text, str(error)))
            continue
        numbers, values = found.setdefault(name, ([], []))
        numbers.append(number)
        values.append(fields[1])
    by_type: dict[str, TypedHashes] = {}
    for name, (numbers, values) in found.items():
        hash_type = get_hash_type(name)
        valid = np.ones(len(values), dtype=bool)
        try:
            codes = hash_type.parse_many(values)
        except InvalidHashes as invalid:
            for bad in invalid.errors:
                position = bad.index or 0
                valid[position] = False
                errors.append(
                    LineError(numbers[position], values[position], f"invalid {name} hash: {bad.reason}")
                )
            codes = hash_type.parse_many([v for v, ok in zip(values, valid, strict=True) if ok])
        by_type[name] = TypedHashes(hash_type, np.asarray(numbers, dtype=np.int64)[valid], codes)
    errors.sort(key=lambda line_error: line_error.line)
    return by_type, errors
