"""What a list file holds once read (:class:`ListFile`), and the checks of its rows' values.

:mod:`indexer.formats` reads each format's syntax into chunks of columns (:class:`Chunk`); a
:class:`Reader` checks every value of them (the hash type, the hash, item, category, quality, action,
variant, trivial values) and keeps the valid rows as one binary code per row in a NumPy array per hash
type, with the few distinct (item, category, quality, variant) combinations. Kept apart because these
checks are the same whatever the format, and what they make is what the rest of the indexer uses.
"""

from dataclasses import dataclass, field
from typing import NamedTuple, cast

import numpy as np
import numpy.typing as npt

from db.models import text_problem
from matcher import VPDQ, HashType, MatcherError, get_hash_type
from matcher.codes import Codes
from matcher.frames import digest, encode_frames

COLUMNS = ("type", "hash", "item", "category", "quality", "action", "variant")
ACTIONS = ("add", "retract")
LOW_QUALITY = 50
"""PDQ quality below this is unreliable: such rows are refused unless allowed (then kept and counted)."""
ITEM_LENGTH = 256
CATEGORY_LENGTH = 64
VARIANT_LENGTH = 32


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


@dataclass
class Chunk:
    """Up to ``formats.CHUNK_ROWS`` rows of a file as columns: ``type`` and ``hash`` always, the
    others with ``has_meta`` (None where a row has no value)."""

    lines: list[int]
    columns: dict[str, list[object]]
    has_meta: bool = False
    decoded: tuple[HashType, Codes] | None = None  # a block of one layout, decoded at once


class Reader:
    """Validates chunks of rows and accumulates the valid ones as arrays per hash type; the format
    readers report the lines they cannot read through :meth:`error`."""

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

    def add(self, chunk: Chunk) -> None:
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


def _shorten(value: object, limit: int = 80) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
