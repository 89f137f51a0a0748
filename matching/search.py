"""Searching a call's items against the served indexes and combining the hits per ref into a confidence."""

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Entry, HashList
from indexer.lists import video_percentages
from indexer.serving import ServedIndexes
from matcher import HASH_TYPES, VPDQ
from matcher.frames import decode_frames, usable
from matcher.video import VideoIndex, VideoMargin, share_margin
from matching.items import IndexNotReady, Item, by_type, unmatchable_refs

CRYPTOGRAPHIC = frozenset({"md5", "sha1", "sha256"})
VIDEO = frozenset({"vpdq"})
"""A video match rests on most frames of both videos matching (the list's percentages): high."""
PERCEPTUAL = frozenset({"pdq", "phash", "dhash", "photodna"})
WIDE = frozenset({"pdq", "photodna"})
"""Perceptual signals wide enough to stand alone (256 bits, 144 bytes: unrelated pictures sit far
beyond their thresholds); pHash and dHash (64 bits) are not: see :func:`confidence`."""
WEAK = frozenset({"ahash", "whash"})
_IN_CHUNK = 900  # ids per IN (...) clause: under every database's parameter limit


@dataclass(frozen=True)
class Hit:
    """One list entry a ref matched, with what only hotlines and the authority may see."""

    hash_type: str
    entry_id: int
    distance: int
    """Bits apart; a video: the larger share of unmatched frames (query's or listed video's), in %."""
    list_id: int
    list_name: str
    hotline_id: int
    item: str | None
    category: str | None
    variant: str | None = None
    """Which transformed copy of the item the entry hashes (a list-side variant), None: the item."""


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


def search_threshold(served: ServedIndexes, hash_type: str, requested: Mapping[str, int]) -> int:
    """The radius to search: the largest list threshold of the type (from the manifest), or the type's
    default (a type without one, PhotoDNA, is published only with lists that set it), lowered by the
    request."""
    published = served.manifest.get("search_thresholds", {})
    if hash_type not in published and HASH_TYPES[hash_type].threshold_required:
        return 0  # no list holds the type: it has no index, nothing to search
    radius = HASH_TYPES[hash_type].list_threshold(published)
    return min(radius, requested.get(hash_type, radius))


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
    share_edge: Callable[[int], bool] | None = None,
) -> tuple[dict[str, list[Hit]], list[tuple[str, VideoMargin]]]:
    """For each ref, every active list entry its items match within both thresholds (only entries of
    lists of ``owner``, when given: a hotline learns about its own lists only); variant items within
    ``variant_thresholds`` of their type too, where it is lower. And, with ``share_edge``, per ref,
    where each video item stands against every listed video it came near (the probing guard's share
    boundary: :func:`find_video_hits`)."""
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
    hits: dict[str, list[Hit]] = defaultdict(list)
    margins: list[tuple[str, VideoMargin]] = []
    for item in items:
        if isinstance(HASH_TYPES[item.hash_type], VPDQ):
            video_hits, near = find_video_hits(session, served, item, requested, owner, share_edge)
            hits[item.ref].extend(video_hits)
            margins.extend((item.ref, margin) for margin in near)
    if not found:
        return hits, margins
    entries = _load_entries(session, {entry for _, _, entry, _ in found})
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
        hits[ref].append(_hit(name, entry, hash_list, distance))
    return hits, margins


def _hit(name: str, entry: Entry, hash_list: HashList, distance: int) -> Hit:
    return Hit(
        name,
        entry.id,
        distance,
        hash_list.id,
        hash_list.name,
        hash_list.organisation_id,
        entry.item,
        entry.category or hash_list.default_category,
        entry.variant,
    )


def find_video_hits(
    session: Session,
    served: ServedIndexes,
    item: Item,
    requested: Mapping[str, int],
    owner: int | None,
    share_edge: Callable[[int], bool] | None = None,
) -> tuple[list[Hit], list[VideoMargin]]:
    """The listed videos a video item matches: frame pairs found once at the search radius, each
    candidate then scored exactly at its list's frame threshold and held to its list's percentages;
    and, with ``share_edge``, where the item stands against every candidate
    (:class:`matcher.video.VideoMargin`), its matched frames only where ``share_edge`` of the margin
    (where the probing guard reads them; elsewhere none)."""
    index = served.indexes.get(item.hash_type)
    if not isinstance(index, VideoIndex):
        return [], []
    query = decode_frames(item.code)
    codes = usable(query)
    query_frames = codes.shape[0]
    pairs = index.pairs(query, search_threshold(served, item.hash_type, requested))
    videos = index.pair_videos(pairs)
    candidates = index.score(pairs, index.max_threshold).entry
    by_threshold: dict[int, list[tuple[Entry, HashList]]] = defaultdict(list)
    loaded = _load_entries(session, candidates.tolist()).values()
    percent = video_percentages(session, {hash_list.id for _, hash_list in loaded})
    for entry, hash_list in loaded:
        if owner is None or hash_list.organisation_id == owner:
            limit = HASH_TYPES[item.hash_type].list_threshold(hash_list.thresholds)
            by_threshold[min(limit, requested.get(item.hash_type, limit))].append((entry, hash_list))
    hits: list[Hit] = []
    margins: list[VideoMargin] = []
    for threshold, listed in sorted(by_threshold.items()):
        scores = index.score(pairs, threshold)
        row_of = {int(entry): row for row, entry in enumerate(scores.entry.tolist())}
        for entry, hash_list in listed:
            row = row_of.get(entry.id)
            if row is None:
                continue
            matched, total = int(scores.listed_matched[row]), int(scores.listed_frames[row])
            mine = int(scores.query_matched[row])
            query_percent, listed_percent = percent[hash_list.id]
            margin = share_margin(mine, query_frames, query_percent, matched, total, listed_percent)
            if margin >= 0:
                unmatched = max(100 - 100 * mine // query_frames, 100 - 100 * matched // total)
                hits.append(_hit(item.hash_type, entry, hash_list, unmatched))
            if share_edge is None:
                continue
            frames = codes[:0]
            if share_edge(margin):
                position = int(scores.position[row])
                frames = codes[index.matched_query_frames(pairs, videos, threshold, position)]
            margins.append(VideoMargin(entry.id, frames, query_frames, mine, matched, margin))
    return sorted(hits, key=lambda hit: hit.entry_id), margins


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


def confidence(hits: Sequence[Hit], contradicted: Set[tuple[int, str]] = frozenset()) -> str | None:
    """``high``, ``medium``, ``review`` or None (no match) for the hits of one ref, by the rules of
    :mod:`matching`; ``contradicted``: the (list, item) pairs whose PDQ or PhotoDNA entry the ref's own
    hash of that type did not match."""
    types = {hit.hash_type for hit in hits}
    if types & (CRYPTOGRAPHIC | VIDEO):
        return "high"
    per_item = _per_item(hits)
    fallen = _fallen(per_item, contradicted)
    standing = {key: signals for key, signals in per_item.items() if key not in fallen}
    for signals in standing.values():
        strong = signals & PERCEPTUAL
        if len(strong) >= 2 or (strong and signals & WEAK):
            return "high"
    loose = {hit.hash_type for hit in hits if hit.item is None}
    if any(signals & PERCEPTUAL for signals in standing.values()) or loose & PERCEPTUAL:
        return "medium"
    return "review" if types & PERCEPTUAL else None


def _per_item(hits: Sequence[Hit]) -> dict[tuple[int, str], set[str]]:
    """The hash types each (list, item) was matched on."""
    per_item: dict[tuple[int, str], set[str]] = defaultdict(set)
    for hit in hits:
        if hit.item is not None:
            per_item[(hit.list_id, hit.item)].add(hit.hash_type)
    return per_item


def _fallen(
    per_item: Mapping[tuple[int, str], set[str]], contradicted: Set[tuple[int, str]]
) -> set[tuple[int, str]]:
    """The contradicted items matched on pHash/dHash (or weak signals) only while their PDQ (PhotoDNA)
    says another picture: no wide, cryptographic or video signal stands for them."""
    return {
        key
        for key, signals in per_item.items()
        if key in contradicted and not signals & (WIDE | CRYPTOGRAPHIC | VIDEO)
    }


def supporting(hits: Sequence[Hit]) -> list[Hit]:
    """The hits a match rests on: weak signals only where they corroborate a stronger one."""
    strong_items = {
        (hit.list_id, hit.item) for hit in hits if hit.hash_type not in WEAK and hit.item is not None
    }
    return [hit for hit in hits if hit.hash_type not in WEAK or (hit.list_id, hit.item) in strong_items]


def combine(
    refs: Sequence[str],
    hits: Mapping[str, list[Hit]],
    unmatchable: Mapping[str, str] | None = None,
    contradicted: Mapping[str, Set[tuple[int, str]]] | None = None,
) -> list[RefResult]:
    """One result per distinct ref in order of first appearance; ``unmatchable``: refs that could not
    be searched, and why; ``contradicted``: per ref, the items its PDQ (PhotoDNA) did not match, which a
    matched ref's notice does not rest on. A ``review`` result is not matched (no notice): its hits are
    there for the hotline to see."""
    results: list[RefResult] = []
    for ref in dict.fromkeys(refs):
        ref_hits = hits.get(ref, [])
        against = (contradicted or {}).get(ref, frozenset())
        level = confidence(ref_hits, against)
        if level is None:
            results.append(RefResult(ref, unmatchable=(unmatchable or {}).get(ref)))
            continue
        kept = supporting(ref_hits)
        if against and level != "review":  # a notice rests on the items that stand, not a contradicted one
            fallen = _fallen(_per_item(ref_hits), against)
            kept = [hit for hit in kept if (hit.list_id, hit.item) not in fallen]
        signals = sorted({hit.hash_type for hit in kept})
        results.append(RefResult(ref, level != "review", level, signals, hits=kept))
    return results


def contradicted_items(
    session: Session, items: Sequence[Item], hits: Mapping[str, list[Hit]]
) -> dict[str, set[tuple[int, str]]]:
    """Per ref, the (list, item) pairs it matched on pHash/dHash only although it sent a hash of a
    wide type (PDQ, PhotoDNA) that the item is listed with: that hash was searched and did not match
    the item. One query per list involved, for such refs only (few)."""
    sent: dict[str, set[str]] = defaultdict(set)
    for item in items:
        sent[item.ref].add(item.hash_type)
    suspects: dict[str, set[tuple[int, str]]] = {}
    for ref, ref_hits in hits.items():
        matched: dict[tuple[int, str], set[str]] = defaultdict(set)
        for hit in ref_hits:
            if hit.item is not None:
                matched[(hit.list_id, hit.item)].add(hit.hash_type)
        narrow = {key for key, signals in matched.items() if signals & PERCEPTUAL and not signals & WIDE}
        if narrow and sent[ref] & WIDE:
            suspects[ref] = narrow
    if not suspects:
        return {}
    wanted = sorted({key for keys in suspects.values() for key in keys})
    listed: set[tuple[int, str, str]] = set()
    for list_id in {key[0] for key in wanted}:
        names = sorted({item for other, item in wanted if other == list_id})
        for start in range(0, len(names), _IN_CHUNK):
            rows = session.execute(
                select(Entry.item, Entry.hash_type)
                .where(
                    Entry.list_id == list_id,
                    Entry.item.in_(names[start : start + _IN_CHUNK]),
                    Entry.hash_type.in_(sorted(WIDE)),
                    Entry.removed_in.is_(None),
                )
                .distinct()
            )
            listed.update((list_id, str(item), str(hash_type)) for item, hash_type in rows)
    return {
        ref: {key for key in keys if any((*key, kind) in listed for kind in WIDE & sent[ref])}
        for ref, keys in suspects.items()
    }


@dataclass(frozen=True)
class Search:
    """What a call's items matched: one result per ref, and every hit behind them (weak ones that
    corroborate nothing included: the probing guard watches every entry a caller came near)."""

    results: list[RefResult]
    hits: list[Hit]
    index_version: str
    margins: list[tuple[str, VideoMargin]] = field(default_factory=list)
    """Per ref, where each of its video items stands against the listed videos it came near."""


def search(
    session: Session,
    served: ServedIndexes | None,
    items: Sequence[Item],
    thresholds: Mapping[str, int],
    owner: int | None = None,
    variant_thresholds: Mapping[str, int] | None = None,
    share_edge: Callable[[int], bool] | None = None,
) -> Search:
    """Match ``items``; with ``owner``, against that organisation's lists only; variant items at
    ``variant_thresholds`` where lower; with ``share_edge``, the video items' margins for the probing
    guard (:func:`find_video_hits`). Writes nothing."""
    if served is None:
        raise IndexNotReady("no index has been published yet: import a list first")
    searched = [item for item in items if item.unmatchable is None]
    hits, margins = find_hits(session, served, searched, thresholds, owner, variant_thresholds, share_edge)
    contradicted = contradicted_items(session, searched, hits)
    results = combine([item.ref for item in items], hits, unmatchable_refs(items), contradicted)
    every_hit = [hit for ref_hits in hits.values() for hit in ref_hits]
    return Search(results, every_hit, served.version, margins)
