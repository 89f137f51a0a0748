"""The items of a match call: parsing and checking ``{type, hash, ref}`` items and per-type thresholds,
and the errors that name what is wrong."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from db.models import text_problem
from matcher import HASH_TYPES, VPDQ, InvalidThreshold, UnknownHashType, get_hash_type
from matcher.codes import Codes
from matcher.frames import decode_frames, encode_frames, usable

ITEM_FIELDS = frozenset({"type", "hash", "ref", "variant"})
MAX_REF_LENGTH = 2048


class MatchError(Exception):
    """Base of the match service's errors."""


@dataclass(frozen=True)
class ItemError:
    """One bad item: its position in the batch, the field at fault and what was expected."""

    index: int
    field: str
    reason: str


class InvalidItems(MatchError, ValueError):
    def __init__(self, errors: Sequence[ItemError]) -> None:
        self.errors = tuple(errors)
        first = self.errors[0]
        more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        super().__init__(f"item {first.index} field {first.field!r}: {first.reason}{more}")


class InvalidThresholds(MatchError, ValueError):
    def __init__(self, errors: Sequence[ItemError]) -> None:
        self.errors = tuple(errors)
        super().__init__(f"bad thresholds: {errors[0].field}: {errors[0].reason}")


class IndexNotReady(MatchError):
    """No index version has been published yet: nothing can be matched."""


@dataclass(frozen=True)
class Item:
    """A valid item: its position in the request, its hash type, hash bytes (a video's: its frames) and
    the hoster's ref; ``unmatchable``: why it is a trivial value, never searched."""

    index: int
    hash_type: str
    code: bytes
    ref: str
    unmatchable: str | None = None
    variant: bool = False
    cost: int = 1
    """Hashes it costs of the rate budget: a video's frames."""


def parse_items(raw: Sequence[object], offset: int = 0) -> tuple[list[Item], list[ItemError]]:
    """Validate raw JSON items; returns the good ones and every error (``index`` = position + offset)."""
    pending: dict[str, list[tuple[int, object, str, bool]]] = defaultdict(list)
    errors: list[ItemError] = []
    for position, value in enumerate(raw):
        index = position + offset
        if not isinstance(value, dict):
            errors.append(ItemError(index, "item", "expected an object with 'type', 'hash' and 'ref'"))
            continue
        unknown = sorted(set(value) - ITEM_FIELDS)
        if unknown:
            errors.append(
                ItemError(index, unknown[0], "unknown field: expected only 'type', 'hash', 'ref', 'variant'")
            )
            continue
        variant = value.get("variant", False)
        if not isinstance(variant, bool):
            errors.append(ItemError(index, "variant", "expected true or false"))
            continue
        ref = value.get("ref")
        ref_error = _ref_error(ref)
        if ref_error is not None:
            errors.append(ItemError(index, "ref", ref_error))
        try:
            hash_type = get_hash_type(value.get("type"))
        except UnknownHashType as error:
            errors.append(ItemError(index, "type", f"expected one of {', '.join(error.known)}"))
            continue
        if "hash" not in value:
            errors.append(ItemError(index, "hash", "missing"))
            continue
        if isinstance(ref, str) and ref_error is None:
            pending[hash_type.name].append((index, value["hash"], ref, variant))
        else:
            try:
                hash_type.parse(value["hash"])
            except ValueError as error:
                errors.append(ItemError(index, "hash", str(getattr(error, "reason", error))))
    items: list[Item] = []
    for name, rows in pending.items():
        hash_type = HASH_TYPES[name]
        if isinstance(hash_type, VPDQ):
            found, video_errors = _videos(hash_type, rows)
            items += found
            errors += video_errors
            continue
        codes, bad = HASH_TYPES[name].parse_batch([row[1] for row in rows])
        failed = dict(bad)
        trivial = dict(HASH_TYPES[name].trivial(codes))
        errors.extend(ItemError(rows[i][0], "hash", f"invalid {name} hash: {why}") for i, why in bad)
        items.extend(
            Item(index, name, bytes(codes[i]), ref, trivial.get(i), variant)
            for i, (index, _, ref, variant) in enumerate(rows)
            if i not in failed
        )
    items.sort(key=lambda item: item.index)
    errors.sort(key=lambda error: (error.index, error.field))
    return items, errors


def _videos(
    hash_type: VPDQ, rows: Sequence[tuple[int, object, str, bool]]
) -> tuple[list[Item], list[ItemError]]:
    """Video items: the code is the frames (:func:`matcher.frames.encode_frames`)."""
    name = hash_type.name
    videos, bad = hash_type.parse_videos([row[1] for row in rows])
    errors = [ItemError(rows[i][0], "hash", f"invalid {name} hash: {why}") for i, why in bad]
    items = [
        Item(index, name, encode_frames(frames), ref, hash_type.trivial_video(frames), variant, frames.size)
        for (index, _, ref, variant), frames in zip(rows, videos, strict=True)
        if frames is not None
    ]
    return items, errors


def item_cost(raw: object) -> int:
    """What one raw item costs of its organisation's rate budget, in hashes: one; a video its frames."""
    if not isinstance(raw, dict):
        return 1
    try:
        return get_hash_type(raw.get("type")).cost(raw.get("hash"))
    except UnknownHashType:
        return 1


def _ref_error(ref: object) -> str | None:
    """What is wrong with an item's ``ref``, if anything (it is stored on a notice when it matches)."""
    if not isinstance(ref, str) or not ref.strip():
        return "expected a non-empty string: your location of the file"
    if len(ref) > MAX_REF_LENGTH:
        return f"longer than {MAX_REF_LENGTH} characters"
    return text_problem(ref)


def parse_thresholds(raw: object) -> dict[str, int]:
    """The request's per-type thresholds (they can only lower the lists' own)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidThresholds([ItemError(-1, "thresholds", "expected an object of type -> integer")])
    thresholds: dict[str, int] = {}
    errors: list[ItemError] = []
    for name, value in raw.items():
        try:
            hash_type = get_hash_type(name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidThreshold(hash_type.name, value, hash_type.max_threshold)
            thresholds[hash_type.name] = hash_type.check_threshold(value)
        except (UnknownHashType, InvalidThreshold) as error:
            errors.append(ItemError(-1, f"thresholds.{name}", str(error)))
    if errors:
        raise InvalidThresholds(errors)
    return thresholds


def by_type(items: Sequence[Item]) -> dict[str, tuple[list[Item], Codes]]:
    """The items of each hash type but video ones, and their codes as one array."""
    grouped: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        if isinstance(HASH_TYPES[item.hash_type], VPDQ):
            continue
        grouped[item.hash_type].append(item)
    return {
        name: (typed, np.frombuffer(b"".join(item.code for item in typed), np.uint8).reshape(len(typed), -1))
        for name, typed in grouped.items()
    }


def perceptual_queries(items: Sequence[Item]) -> dict[str, Codes]:
    """What the probing guard sees of a call: the codes of each type, and a video's usable frames both
    as PDQ codes (a frame is a PDQ hash: walking one through video items is watched as walking it
    alone) and as ``vpdq`` codes (compared with the listed frames of the videos watched)."""
    queries = {name: codes for name, (_, codes) in by_type(items).items()}
    frames = [
        usable(decode_frames(item.code)) for item in items if isinstance(HASH_TYPES[item.hash_type], VPDQ)
    ]
    if frames:
        queries["pdq"] = np.concatenate([queries.get("pdq", np.empty((0, 32), np.uint8)), *frames])
        queries["vpdq"] = np.concatenate(frames)
    return queries


def query_refs(items: Sequence[Item]) -> dict[str, list[str]]:
    """The ref of every code :func:`perceptual_queries` gives, in the same order."""
    refs = {name: [item.ref for item in typed] for name, (typed, _) in by_type(items).items()}
    for item in items:
        if isinstance(HASH_TYPES[item.hash_type], VPDQ):
            frames = [item.ref] * usable(decode_frames(item.code)).shape[0]
            refs.setdefault("pdq", []).extend(frames)
            refs.setdefault("vpdq", []).extend(frames)
    return refs


def unmatchable_refs(items: Sequence[Item]) -> dict[str, str]:
    """The refs whose every item is a trivial value, with the first one's reason."""
    reasons: dict[str, str | None] = {}
    for item in items:
        if item.unmatchable is None:
            reasons[item.ref] = None
        else:
            reasons.setdefault(item.ref, item.unmatchable)
    return {ref: reason for ref, reason in reasons.items() if reason is not None}
