"""The match service: a batch of ``{type, hash, ref}`` items against the served indexes, combined per
ref into a confidence, and a takedown notice for every matched ref of a hoster.

Confidence (signals are hash types; several items of one type for a ref count once):

- a cryptographic match (md5, sha1, sha256) is ``high``;
- two or more of pdq/phash/dhash/photodna matching entries of the same list item is ``high``, and so
  is one of them corroborated by ahash/whash on the same item;
- one of pdq/phash/dhash/photodna is ``medium`` (PhotoDNA is a perceptual signal like PDQ);
- ahash/whash alone never make a match.

A trivial query hash (the digest of the empty file, a blank image's perceptual hash: see
:meth:`matcher.HashType.trivial`) is never searched; a ref with only such hashes is answered as not
matched with the reason, ``unmatchable``. A match counts only within its entry's list threshold and the
request's threshold. An item marked ``variant`` (a query-side transform of the file: a flipped or rotated
copy's hash) is searched at the server's variant threshold of its type where that is lower (never above
the list's); it is the same signal of the same ref as the file's own hash. Notices are
idempotent: one active notice per (hoster, ref), enforced by a unique key on the ref's digest.
Query hashes that match nothing are never stored; only counts are.
"""

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import Entry, HashList, Notice, NoticeMatch, Organisation, text_problem
from db.tokens import random_token
from indexer.serving import ServedIndexes
from matcher import HASH_TYPES, InvalidThreshold, UnknownHashType, get_hash_type
from matcher.codes import Codes
from notices.lifecycle import record_created

CRYPTOGRAPHIC = frozenset({"md5", "sha1", "sha256"})
PERCEPTUAL = frozenset({"pdq", "phash", "dhash", "photodna"})
WEAK = frozenset({"ahash", "whash"})
ITEM_FIELDS = frozenset({"type", "hash", "ref", "variant"})
MAX_REF_LENGTH = 2048
_IN_CHUNK = 900  # ids per IN (...) clause: under every database's parameter limit


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
    """A valid item: its position in the request, its hash type, hash bytes and the hoster's ref;
    ``unmatchable``: why it is a trivial value, never searched."""

    index: int
    hash_type: str
    code: bytes
    ref: str
    unmatchable: str | None = None
    variant: bool = False


@dataclass(frozen=True)
class Hit:
    """One list entry a ref matched, with what only hotlines and the authority may see."""

    hash_type: str
    entry_id: int
    distance: int
    list_id: int
    list_name: str
    hotline_id: int
    item: str | None
    category: str | None


@dataclass
class RefResult:
    ref: str
    matched: bool = False
    confidence: str | None = None
    signals: list[str] = field(default_factory=list)
    notice_id: str | None = None
    reupload_of: str | None = None
    hits: list[Hit] = field(default_factory=list)
    unmatchable: str | None = None


@dataclass(frozen=True)
class MatchOutcome:
    results: list[RefResult]
    items: int
    notices_created: int
    index_version: str

    @property
    def counts(self) -> dict[str, int]:
        return {
            "items": self.items,
            "refs": len(self.results),
            "matched": sum(result.matched for result in self.results),
        }


def parse_items(raw: Sequence[object], offset: int = 0) -> tuple[list[Item], list[ItemError]]:
    """Validate raw JSON items; returns the good ones and every error (``index`` = position + offset)."""
    pending: dict[str, list[tuple[int, str, str, bool]]] = defaultdict(list)
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


def search_threshold(served: ServedIndexes, hash_type: str, requested: Mapping[str, int]) -> int:
    """The radius to search: the largest list threshold of the type (from the manifest), or the type's
    default (a type without one, PhotoDNA, is published only with lists that set it), lowered by the
    request."""
    published = served.manifest.get("search_thresholds", {})
    if hash_type not in published and HASH_TYPES[hash_type].threshold_required:
        return 0  # no list holds the type: it has no index, nothing to search
    radius = HASH_TYPES[hash_type].list_threshold(published)
    return min(radius, requested.get(hash_type, radius))


def by_type(items: Sequence[Item]) -> dict[str, tuple[list[Item], Codes]]:
    """The items of each hash type, and their codes as one array."""
    grouped: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        grouped[item.hash_type].append(item)
    return {
        name: (typed, np.frombuffer(b"".join(item.code for item in typed), np.uint8).reshape(len(typed), -1))
        for name, typed in grouped.items()
    }


def radius_groups(
    typed: Sequence[Item], radius: int, variant_radius: int
) -> list[tuple[npt.NDArray[np.int64], int]]:
    """The rows of ``typed`` to search at each radius: the file's own hashes at ``radius``, its
    variants at ``variant_radius`` when that is lower (then the files' own hashes first)."""
    flags = np.array([item.variant for item in typed], dtype=np.bool_)
    if variant_radius >= radius or not flags.any():
        return [(np.arange(len(typed)), radius)]
    groups = [(np.flatnonzero(~flags), radius), (np.flatnonzero(flags), variant_radius)]
    return [(rows, r) for rows, r in groups if rows.size]


def find_hits(
    session: Session,
    served: ServedIndexes,
    items: Sequence[Item],
    requested: Mapping[str, int],
    owner: int | None = None,
    variant_thresholds: Mapping[str, int] | None = None,
) -> dict[str, list[Hit]]:
    """For each ref, every active list entry its items match within both thresholds (only entries of
    lists of ``owner``, when given: a hotline learns about its own lists only); variant items within
    ``variant_thresholds`` of their type too, where it is lower."""
    found: list[tuple[str, str, int, int]] = []  # ref, type, entry id, distance
    for name, (typed, codes) in by_type(items).items():
        radius = search_threshold(served, name, requested)
        cheaper = (variant_thresholds or {}).get(name, radius)
        for rows, searched in radius_groups(typed, radius, cheaper):
            matches = served.search(name, codes[rows], searched)
            for query, entry, distance in zip(
                matches.query.tolist(), matches.entry.tolist(), matches.distance.tolist(), strict=True
            ):
                found.append((typed[int(rows[query])].ref, name, entry, distance))
    if not found:
        return {}
    entries = _load_entries(session, {entry for _, _, entry, _ in found})
    hits: dict[str, list[Hit]] = defaultdict(list)
    seen: set[tuple[str, int]] = set()
    for ref, name, entry_id, distance in found:
        known = entries.get(entry_id)
        if known is None or (ref, entry_id) in seen:
            continue
        entry, hash_list = known
        if owner is not None and hash_list.organisation_id != owner:
            continue
        limit = HASH_TYPES[name].list_threshold(hash_list.thresholds)
        if distance > min(limit, requested.get(name, distance)):
            continue
        seen.add((ref, entry_id))
        hits[ref].append(
            Hit(
                name,
                entry_id,
                distance,
                hash_list.id,
                hash_list.name,
                hash_list.organisation_id,
                entry.item,
                entry.category or hash_list.default_category,
            )
        )
    return hits


def _load_entries(session: Session, ids: Iterable[int]) -> dict[int, tuple[Entry, HashList]]:
    """The entries still on their lists (a retracted entry no longer matches, even before the index
    without it is published), with their lists."""
    ordered = sorted(ids)
    loaded: dict[int, tuple[Entry, HashList]] = {}
    for start in range(0, len(ordered), _IN_CHUNK):
        chunk = ordered[start : start + _IN_CHUNK]
        rows = session.execute(
            select(Entry, HashList).join(HashList).where(Entry.id.in_(chunk), Entry.removed_in.is_(None))
        )
        loaded.update((entry.id, (entry, hash_list)) for entry, hash_list in rows)
    return loaded


def confidence(hits: Sequence[Hit]) -> str | None:
    """``high``, ``medium`` or None (no match) for the hits of one ref, by the rules above."""
    types = {hit.hash_type for hit in hits}
    if types & CRYPTOGRAPHIC:
        return "high"
    per_item: dict[tuple[int, str], set[str]] = defaultdict(set)
    for hit in hits:
        if hit.item is not None:
            per_item[(hit.list_id, hit.item)].add(hit.hash_type)
    for signals in per_item.values():
        strong = signals & PERCEPTUAL
        if len(strong) >= 2 or (strong and signals & WEAK):
            return "high"
    return "medium" if types & PERCEPTUAL else None


def supporting(hits: Sequence[Hit]) -> list[Hit]:
    """The hits a match rests on: weak signals only where they corroborate a stronger one."""
    strong_items = {
        (hit.list_id, hit.item) for hit in hits if hit.hash_type not in WEAK and hit.item is not None
    }
    return [hit for hit in hits if hit.hash_type not in WEAK or (hit.list_id, hit.item) in strong_items]


def unmatchable_refs(items: Sequence[Item]) -> dict[str, str]:
    """The refs whose every item is a trivial value, with the first one's reason."""
    reasons: dict[str, str | None] = {}
    for item in items:
        if item.unmatchable is None:
            reasons[item.ref] = None
        else:
            reasons.setdefault(item.ref, item.unmatchable)
    return {ref: reason for ref, reason in reasons.items() if reason is not None}


def combine(
    refs: Sequence[str], hits: Mapping[str, list[Hit]], unmatchable: Mapping[str, str] | None = None
) -> list[RefResult]:
    """One result per distinct ref in order of first appearance; ``unmatchable``: refs that could not
    be searched, and why."""
    results: list[RefResult] = []
    for ref in dict.fromkeys(refs):
        ref_hits = hits.get(ref, [])
        level = confidence(ref_hits)
        if level is None:
            results.append(RefResult(ref, unmatchable=(unmatchable or {}).get(ref)))
            continue
        kept = supporting(ref_hits)
        results.append(RefResult(ref, True, level, sorted({hit.hash_type for hit in kept}), hits=kept))
    return results


def new_public_id() -> str:
    """``ntc_`` and 24 random base32 characters (120 bits): unguessable."""
    return "ntc_" + random_token(15)


def ref_digest(ref: str) -> str:
    return hashlib.sha256(ref.encode("utf-8")).hexdigest()


def _active_notice(session: Session, hoster_id: int, active_ref: str) -> Notice | None:
    return session.scalar(
        select(Notice).where(Notice.hoster_id == hoster_id, Notice.active_ref == active_ref)
    )


def _earlier_removed(session: Session, hoster_id: int, entry_ids: Sequence[int]) -> Notice | None:
    """The newest removed notice of this hoster on any of the same entries: content coming back."""
    return session.scalar(
        select(Notice)
        .join(NoticeMatch, NoticeMatch.notice_id == Notice.id)
        .where(Notice.hoster_id == hoster_id, Notice.status == "removed", NoticeMatch.entry_id.in_(entry_ids))
        .order_by(Notice.created_at.desc(), Notice.id.desc())
        .limit(1)
    )


def open_notice(session: Session, hoster_id: int, result: RefResult, now: datetime) -> tuple[Notice, bool]:
    """The active notice for a matched ref: the existing one, or a new one with its matches and its
    ``created`` event. Returns the notice and whether it is new."""
    active_ref = ref_digest(result.ref)
    existing = _active_notice(session, hoster_id, active_ref)
    if existing is not None:
        return existing, False
    lists = {
        hash_list.id: hash_list
        for hash_list in session.scalars(
            select(HashList).where(HashList.id.in_({hit.list_id for hit in result.hits}))
        )
    }
    earlier = _earlier_removed(session, hoster_id, [hit.entry_id for hit in result.hits])
    categories = sorted({hit.category for hit in result.hits if hit.category})
    notice = Notice(
        public_id=new_public_id(),
        hoster_id=hoster_id,
        ref=result.ref,
        active_ref=active_ref,
        status="open",
        confidence=result.confidence,
        signals=result.signals,
        category=categories[0] if categories else None,
        legal_basis="; ".join(sorted({lst.legal_basis for lst in lists.values() if lst.legal_basis})),
        created_at=now,
        deadline=now + timedelta(hours=min(lst.notice_deadline_hours for lst in lists.values())),
        reupload_of=earlier.id if earlier is not None else None,
    )
    try:
        with session.begin_nested():
            session.add(notice)
            session.flush()
    except IntegrityError:  # a concurrent call opened it first: that one is the notice
        existing = _active_notice(session, hoster_id, active_ref)
        if existing is None:
            raise
        return existing, False
    session.add_all(
        NoticeMatch(
            notice_id=notice.id,
            entry_id=hit.entry_id,
            list_id=hit.list_id,
            hash_type=hit.hash_type,
            distance=hit.distance,
        )
        for hit in result.hits
    )
    record_created(session, notice, session.get(Organisation, hoster_id), now)  # by the hoster's call
    return notice, True


@dataclass(frozen=True)
class Search:
    """What a call's items matched: one result per ref, and every hit behind them (weak ones that
    corroborate nothing included: the probing guard watches every entry a caller came near)."""

    results: list[RefResult]
    hits: list[Hit]
    index_version: str


def search(
    session: Session,
    served: ServedIndexes | None,
    items: Sequence[Item],
    thresholds: Mapping[str, int],
    owner: int | None = None,
    variant_thresholds: Mapping[str, int] | None = None,
) -> Search:
    """Match ``items``; with ``owner``, against that organisation's lists only; variant items at
    ``variant_thresholds`` where lower. Writes nothing."""
    if served is None:
        raise IndexNotReady("no index has been published yet: import a list first")
    searched = [item for item in items if item.unmatchable is None]
    hits = find_hits(session, served, searched, thresholds, owner, variant_thresholds)
    results = combine([item.ref for item in items], hits, unmatchable_refs(items))
    return Search(results, [hit for ref_hits in hits.values() for hit in ref_hits], served.version)


def open_notices(session: Session, hoster_id: int, found: Search, now: datetime) -> int:
    """Open (or find) the notice of every matched ref of ``found`` for the hoster and put its id on
    the result; the number of notices created. Writes only notices (with their matches and events):
    the caller commits."""
    created = 0
    reupload_ids: dict[int, str] = {}
    for result in found.results:
        if not result.matched:
            continue
        notice, new = open_notice(session, hoster_id, result, now)
        created += new
        result.notice_id = notice.public_id
        if notice.reupload_of is not None:
            if notice.reupload_of not in reupload_ids:
                earlier = session.get(Notice, notice.reupload_of)
                reupload_ids[notice.reupload_of] = earlier.public_id if earlier is not None else ""
            result.reupload_of = reupload_ids[notice.reupload_of] or None
    return created


def match(
    session: Session,
    served: ServedIndexes | None,
    organisation_id: int,
    role: str,
    items: Sequence[Item],
    thresholds: Mapping[str, int],
    now: datetime,
) -> MatchOutcome:
    """Match ``items`` as ``role`` may see them (a hotline: its own lists only) and, when the caller
    is a hoster, open a notice for every matched ref. The caller commits."""
    found = search(session, served, items, thresholds, organisation_id if role == "hotline" else None)
    created = open_notices(session, organisation_id, found, now) if role == "hoster" else 0
    return MatchOutcome(found.results, len(items), created, found.index_version)


def audit_detail(outcome: MatchOutcome, refused: int = 0) -> dict[str, Any]:
    """What the audit log keeps of a match call: counts only, never a query hash."""
    return {
        **outcome.counts,
        "refused": refused,
        "notices_created": outcome.notices_created,
        "index": outcome.index_version,
    }
