"""Seeing a walk along a listed hash's threshold: the pure rule.

Whoever gets match / no match answers at a fixed threshold can rebuild a listed hash: walk a matching
hash to the edge of the entry's threshold, then flip one bit at a time and read each bit off the answer
(REFERENCE, "Oracles": about 290 calls for PDQ). Every such walk needs many *distinct* queries that
sit *at the edge* of one listed entry (their distance to it within ``band`` of its threshold) and lie
*close to each other* (one or two bits apart). Honest storage rarely does that: unrelated pictures sit
far from every entry (PDQ: 90-128 bits), and copies of a listed picture (resized, re-encoded, flipped,
padded) mostly sit well inside the threshold, exact duplicates repeat one code, and transformed copies
that happen to fall near the edge differ from each other by many bits.

So, per organisation and per listed entry it has matched (a *watch*): a query whose distance to the
entry is within ``band`` of the entry's threshold is an *edge query*; an edge query within ``cluster``
bits of one of the watch's earlier (distinct) edge queries *whose answer was the other one* (one
matched, the other did not: the answers flip across the threshold) is a *probe*. Each probe can teach at most
one bit, so the organisation is throttled at ``throttle_at`` probes on one entry and suspended at
``suspend_at``, both scaled to the hash's width; the call that reaches the suspension is refused
whole, so its answers teach nothing.

PhotoDNA is compared by Euclidean distance, and its threshold is the list's own (no default exists):
the same rule holds with distances rounded up to whole units and the band and cluster radius a share
of the watched entry's threshold (:data:`EUCLIDEAN_SHARE`) instead of a count of bits. A walk there
moves one value of the 144 at a time near the edge: consecutive probes are a few units apart while
the threshold is hundreds; honest copies near the edge differ from each other by about the threshold.

An entry has one edge per radius its queries are answered at: the list's threshold, and the lower
radius of items marked variant where the server has one (HASHMATCH_VARIANT_THRESHOLDS). Each query is
compared with the edge it was answered at (the smaller of the entry's threshold and the query's own
radius), and flips are looked for among earlier edge queries answered at that same radius; the probes
of every edge of an entry count together, as every one of them can teach a bit of the same entry.

A watch keeps only its newest edge queries (:data:`EDGE_KEPT` for PDQ, :data:`NARROW_EDGE_KEPT` for
64-bit hashes): a walker could send that many other edge queries, spread around the entry, before each
bit it reads, so that the query the read would flip with is forgotten. Every that many distinct edge
queries of a watch therefore count as one probe: such a flood pays one probe per bit, like a plain walk.
A 64-bit edge is narrow (2 bits of 64) and thousands of honest copies of one listed picture put hundreds
of distinct queries there: its watches keep, and count, three times as many.

This module holds the rule and the arithmetic; :mod:`guard.watching` keeps the state in the database.
"""

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from math import ceil
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from matcher import HASH_TYPES
from matcher.codes import Codes

EDGE_KEPT = 64
"""Distinct edge queries kept per watch of a PDQ entry (the newest): enough to see any walk's neighbours;
as many distinct edge queries count as one probe, so that flooding the memory costs a probe per bit."""
NARROW_EDGE_KEPT = 192
"""What a watch of a 64-bit hash keeps, and counts as one probe. Its edge (2 bits of 64) is narrow:
thousands of honest copies of one listed picture put hundreds of distinct queries there (420-485 of
4,000 copies at pHash's 8, 650 at aHash's 6), at most 3 probes at this size, below the throttle at 5;
a flood needs this many queries per bit it reads, a probe per bit, and is suspended after 6 bits."""
EUCLIDEAN = frozenset({"photodna"})
"""Hash types compared by Euclidean distance."""
CHUNK_BYTES = 8 << 20
"""Working memory of one distance block (queries x watched entries x bytes)."""
EUCLIDEAN_SHARE = 16
"""Euclidean types: the band and the cluster radius are the watched entry's threshold divided by
this, rounded up (PhotoDNA at a threshold of 1,000: 63 units)."""
UNCAPPED = np.iinfo(np.int32).max
"""A query's radius when it is answered at its entries' own thresholds (not a variant item)."""


@dataclass(frozen=True)
class ProbeRule:
    """The edge band, the cluster radius and the limits for one hash width."""

    band: int
    cluster: int
    throttle_at: int
    suspend_at: int
    euclidean: bool = False
    """Distances are Euclidean (rounded up), band and cluster a share of each entry's threshold;
    ``band`` and ``cluster`` are then unused."""
    flood: int = 0
    """Distinct edge queries of one watch that count as one probe (0: not counted)."""
    kept: int = EDGE_KEPT
    """The newest distinct edge queries a watch keeps to look for flips among."""

    def band_at(self, threshold: int) -> int:
        return max(1, ceil(threshold / EUCLIDEAN_SHARE)) if self.euclidean else self.band

    def cluster_at(self, threshold: int) -> int:
        return max(1, ceil(threshold / EUCLIDEAN_SHARE)) if self.euclidean else self.cluster

    def reach(self, reached: dict[str, set[int]], probes: int, entry_id: int) -> None:
        """Add ``entry_id`` to ``reached["throttled"]`` or ``reached["suspended"]`` if its watch's
        ``probes`` reach a limit."""
        if probes >= self.throttle_at:
            reached["suspended" if probes >= self.suspend_at else "throttled"].add(entry_id)

    def bands_at(self, radii: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
        """:meth:`band_at` of every radius of an array."""
        if not self.euclidean:
            return np.full_like(radii, self.band)
        return np.maximum(1, -(-radii // EUCLIDEAN_SHARE)).astype(np.int32)


def rule_for(bits: int, probes_per_64_bits: int) -> ProbeRule:
    """The rule for a hash of ``bits`` bits: a band of 1/64 of the width (at least 2 bits) and a
    cluster radius of the same, suspension at ``probes_per_64_bits`` for each 64 bits of width (PDQ at
    the default 6: 24 probes) and throttling a quarter before it (at least one probe before)."""
    band = max(2, bits // 64)
    suspend_at = max(2, probes_per_64_bits * bits // 64)
    throttle_at = suspend_at - max(1, suspend_at // 4)
    kept = EDGE_KEPT if bits >= 256 else NARROW_EDGE_KEPT
    return ProbeRule(band, band, throttle_at, suspend_at, flood=kept, kept=kept)


def euclidean_rule(nbytes: int, probes_per_64_bits: int) -> ProbeRule:
    """The rule for vectors of ``nbytes`` values compared by Euclidean distance: limits as for a hash
    of ``8 * nbytes`` bits (PhotoDNA at the default 6: suspension at 108 probes, while reading its 144
    values to the byte takes over a thousand), band and cluster scaled to each entry's threshold."""
    limits = rule_for(8 * nbytes, probes_per_64_bits)
    return ProbeRule(0, 0, limits.throttle_at, limits.suspend_at, euclidean=True)


def rules(probes_per_64_bits: int) -> dict[str, ProbeRule]:
    """The rule of every perceptual hash type (cryptographic ones are matched by equality: no walk;
    vPDQ's is its frames', PDQ hashes: a listed video is watched frame by frame)."""
    return {
        name: euclidean_rule(hash_type.nbytes, probes_per_64_bits)
        if name in EUCLIDEAN
        else rule_for(hash_type.bits, probes_per_64_bits)
        for name, hash_type in HASH_TYPES.items()
        if not hash_type.is_exact
    }


@dataclass
class Watch:
    """One watched entry of one organisation, as the rule sees it: its latest distinct edge queries
    (``edge``), the radius each was answered at (``radii``) and whether the caller saw it matched
    (``answers``)."""

    entry_id: int
    code: npt.NDArray[np.uint8]
    threshold: int
    probes: int = 0
    edge: npt.NDArray[np.uint8] = field(default_factory=lambda: np.zeros((0, 0), np.uint8))
    radii: npt.NDArray[np.int32] = field(default_factory=lambda: np.zeros(0, np.int32))
    """Empty where the edge was kept before radii were (every query at the entry's threshold)."""
    seen: int = 0
    """Distinct edge queries seen (kept or since forgotten)."""
    answers: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    """What the caller was told for each edge query's file (:func:`observed_answer`); empty where the
    edge was kept before answers were (each query's own answer against the entry, 1 or 0)."""
    changed: bool = False

    def __post_init__(self) -> None:
        if self.edge.size == 0:
            self.edge = np.zeros((0, self.code.size), np.uint8)
        if self.radii.size != self.edge.shape[0]:
            self.radii = np.full(self.edge.shape[0], self.threshold, np.int32)

    def see(
        self,
        code: npt.NDArray[np.uint8],
        rule: ProbeRule,
        radius: int | None = None,
        answer: int | None = None,
    ) -> int:
        """Record an edge query answered at ``radius`` (default: the entry's threshold), which the caller
        saw matched or not (``answer``: its file's answer; default: whether it is within ``radius`` of the
        entry, what a query alone in its file is answered); the probes it makes: one if it is within the
        cluster radius of an earlier, different edge query answered at the same radius on the other side
        of the entry's edge whose file the caller was told the other answer for (the answers flip between
        them, and this entry decided it), and one more if it completes a :attr:`ProbeRule.flood` of
        distinct edge queries."""
        radius = self.threshold if radius is None else radius
        matches = int(distances(code[None, :], self.code[None, :], rule.euclidean)[0, 0]) <= radius
        answer = int(matches) if answer is None else answer
        inside = distances(self.edge, self.code[None, :], rule.euclidean)[:, 0] <= self.radii
        if self.answers.size != self.edge.shape[0]:  # kept before answers were: each query's own
            self.answers = inside.astype(np.int64)
        if self.edge.shape[0]:
            apart = distances(self.edge, code[None, :], rule.euclidean)[:, 0]
            same = self.radii == radius
            if (apart[same] == 0).any():
                return 0  # the same code again, at the same radius, teaches nothing new
            # a flip the caller saw (its answers differ) that this entry decided (its own differ too)
            flips = (self.answers != answer) & (inside != matches)
            probe = bool((same & (apart <= rule.cluster_at(radius)) & flips).any())
        else:
            probe = False
        self.edge = np.concatenate([self.edge, code[None, :]])[-rule.kept :]
        self.radii = np.append(self.radii, np.int32(radius))[-rule.kept :]
        self.answers = np.append(self.answers, np.int64(answer))[-rule.kept :]
        self.seen += 1
        made = int(probe) + int(rule.flood > 0 and self.seen % rule.flood == 0)
        self.probes += made
        self.changed = True
        return made


def observed_answer(matched: bool, confidence: str | None, signals: Sequence[str]) -> int:
    """What a caller is told for a file, as one number: matched or not, and for a match its confidence
    and signals. Two edge queries flip when these differ: an anchor hash that keeps every file of a
    walk matched still shows the walked entry's answer in the signals and confidence."""
    told = f"{int(matched)}|{confidence or ''}|{','.join(sorted(signals))}" if matched else "0"
    return zlib.crc32(told.encode()) + 2  # never 0 or 1: those are a query's own answer (no caller's)


def distances(queries: Codes, codes: Codes, euclidean: bool = False) -> npt.NDArray[np.int32]:
    """Hamming distances (compared 64 bits at a time when the width allows) or, with ``euclidean``,
    Euclidean ones rounded up, between every query (rows) and every code (columns), in bounded memory."""
    found = np.empty((queries.shape[0], codes.shape[0]), np.int32)
    if codes.shape[0] == 0:
        return found
    if euclidean:
        measure = HASH_TYPES["photodna"].distances
        step = max(1, CHUNK_BYTES // max(1, codes.size * 4))
        for start in range(0, queries.shape[0], step):
            found[start : start + step] = measure(queries[start : start + step], codes)
        return found
    words = np.dtype(np.uint64 if codes.shape[1] % 8 == 0 else np.uint8)
    left: npt.NDArray[np.unsignedinteger[Any]] = np.ascontiguousarray(queries).view(words)
    right: npt.NDArray[np.unsignedinteger[Any]] = np.ascontiguousarray(codes).view(words)
    step = max(1, CHUNK_BYTES // max(1, codes.size))
    for start in range(0, queries.shape[0], step):
        block = left[start : start + step]
        found[start : start + step] = np.bitwise_count(block[:, None, :] ^ right[None, :, :]).sum(axis=2)
    return found


def nearest(queries: Codes, codes: Codes, budget: int = CHUNK_BYTES) -> npt.NDArray[np.int32]:
    """Each code's Hamming distance to its nearest query (at least one), the distances of as many queries
    at a time as fit in ``budget`` bytes: a long video's frames against a long listed video's never
    hold the whole matrix."""
    step = max(1, budget // max(1, codes.shape[0] * 4))
    found: npt.NDArray[np.int32] = distances(queries[:step], codes).min(axis=0)
    for start in range(step, queries.shape[0], step):
        np.minimum(found, distances(queries[start : start + step], codes).min(axis=0), out=found)
    return found


def flat_index(codes: Codes, rule: ProbeRule) -> Any:
    """A FAISS exact binary index over Hamming ``codes`` (rows), for :func:`near_edges`; None for a
    Euclidean type (compared directly)."""
    if rule.euclidean:
        return None
    flat = faiss.IndexBinaryFlat(codes.shape[1] * 8)
    if codes.shape[0]:
        flat.add(np.ascontiguousarray(codes))
    return flat


def answered_radii(
    thresholds: npt.NDArray[np.int32], caps: npt.NDArray[np.int32] | None, queries: int
) -> npt.NDArray[np.int32]:
    """The radius each query (rows) was answered at against each entry (columns): the entry's
    threshold, lowered to the query's own radius (``caps``, :data:`UNCAPPED` for none) if any."""
    if caps is None:
        return np.broadcast_to(thresholds[None, :], (queries, thresholds.size))
    return np.minimum(thresholds[None, :], caps[:, None]).astype(np.int32)


def near_edges(
    queries: Codes,
    codes: Codes,
    flat: Any,
    thresholds: npt.NDArray[np.int32],
    rule: ProbeRule,
    caps: npt.NDArray[np.int32] | None = None,
) -> npt.NDArray[np.bool_]:
    """Which ``codes`` some query came to the edge of (within the band of the radius it was answered
    at: see :func:`answered_radii`). Hamming: one exact FAISS range search of ``flat`` out to the
    largest threshold plus the band (microseconds per query against thousands of codes), then each
    pair's own radius; Euclidean: every distance."""
    found = np.zeros(codes.shape[0], np.bool_)
    if codes.shape[0] == 0 or queries.shape[0] == 0:
        return found
    if rule.euclidean:
        radii = answered_radii(thresholds, caps, queries.shape[0])
        apart = distances(np.ascontiguousarray(queries), codes, euclidean=True)
        return np.asarray((np.abs(apart - radii) <= rule.bands_at(radii)).any(axis=0))
    faiss.omp_set_num_threads(1)  # per thread; small searches lose more to thread start-up than they gain
    radius = int(thresholds.max()) + rule.band + 1
    lims, apart, columns = flat.range_search(np.ascontiguousarray(queries), radius)
    radii = thresholds[columns]
    if caps is not None:
        radii = np.minimum(radii, np.repeat(caps, np.diff(lims).astype(np.int64)))
    edge = np.abs(apart.astype(np.int32) - radii) <= rule.band
    found[columns[edge]] = True
    return found


def observe(
    watches: list[Watch],
    queries: Codes,
    rule: ProbeRule,
    caps: npt.NDArray[np.int32] | None = None,
    answers: npt.NDArray[np.integer[Any]] | None = None,
) -> int:
    """Let ``watches`` (entries of one hash type) see a call's ``queries`` of that type, in order, each
    answered at its entry's threshold or at its own lower radius in ``caps`` (:data:`UNCAPPED`: none),
    and seen by the caller as matched or not (``answers``: its file's answer; default: each query's own
    against each entry); returns the number of probes found."""
    if not watches or queries.shape[0] == 0:
        return 0
    codes = np.stack([watch.code for watch in watches])
    thresholds = np.array([watch.threshold for watch in watches], np.int32)
    radii = answered_radii(thresholds, caps, queries.shape[0])
    edge = np.abs(distances(queries, codes, rule.euclidean) - radii) <= rule.bands_at(radii)
    probes = 0
    for query, column in zip(*np.nonzero(edge), strict=True):  # row-major: in the call's order
        answer = None if answers is None else int(answers[query])
        probes += watches[int(column)].see(queries[int(query)], rule, int(radii[query, column]), answer)
    return probes
