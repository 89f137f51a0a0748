"""The probing rule on its own (guard.probing): every walk is stopped before it learns its share of a
listed hash's bits, and honest copies around a listed entry are not probes."""

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest

from guard.probing import (
    ProbeRule,
    Watch,
    distances,
    euclidean_rule,
    flat_index,
    near_edges,
    nearest,
    observe,
    observed_answer,
    rule_for,
)
from guard.shares import ShareWatch
from matcher.video import VideoMargin
from tests.attacks import Ask, Attack, Stopped, distance, flip_bit, threshold_oracle

LIMIT = 6  # the default HASHMATCH_PROBE_LIMIT
CASES = [(256, 48, 32), (256, 31, 32), (64, 8, 8), (64, 6, 8)]
"""(bits, threshold, most bits an attack may learn): PDQ at the default and Meta's threshold, pHash
and dHash at theirs and aHash's."""


def guarded(listed: bytes, threshold: int, rule: ProbeRule, variant: int | None = None) -> Ask:
    """The answers of one organisation's calls under the rule: the entry is watched from its first
    match on, and the call that reaches the suspension is refused whole. ``variant``: every query is
    a variant item answered at that lower radius."""
    watch: list[Watch] = []
    radius = threshold if variant is None else min(threshold, variant)

    def ask(codes: Sequence[bytes]) -> list[bool]:
        answers = [distance(code, listed) <= radius for code in codes]
        if not watch and any(answers):
            watch.append(Watch(1, np.frombuffer(listed, np.uint8), threshold))
        queries = np.frombuffer(b"".join(codes), np.uint8).reshape(len(codes), -1)
        caps = None if variant is None else np.full(len(codes), variant, np.int32)
        observe(watch, queries, rule, caps)
        if watch and watch[0].probes >= rule.suspend_at:
            raise Stopped
        return answers

    return ask


def listed_and_copy(bits: int, near: int, seed: int = 3) -> tuple[bytes, bytes]:
    rng = np.random.default_rng(seed)
    listed = bytes(rng.integers(0, 256, bits // 8, dtype=np.uint8))
    copy = listed
    for bit in rng.choice(bits, near, replace=False):
        copy = flip_bit(copy, int(bit))
    return listed, copy


def test_the_rule_scales_with_the_hash_width() -> None:
    assert rule_for(256, LIMIT) == ProbeRule(band=4, cluster=4, throttle_at=18, suspend_at=24, flood=64)
    assert rule_for(64, LIMIT) == ProbeRule(
        band=2, cluster=2, throttle_at=5, suspend_at=6, flood=192, kept=192
    )


@pytest.mark.parametrize(("bits", "threshold", "allowed"), CASES)
def test_unguarded_answers_give_the_whole_hash_away(bits: int, threshold: int, allowed: int) -> None:
    listed, copy = listed_and_copy(bits, 3)
    attack = Attack(threshold_oracle(listed, threshold), bits)
    assert attack.run(copy) == bits


@pytest.mark.parametrize(("bits", "threshold", "allowed"), CASES)
@pytest.mark.parametrize(
    "shape",
    [
        {},
        {"outside": True},
        {"fillers": 127},
        {"batch": 256},
        {"batch": 16, "fillers": 31, "outside": True},
    ],
    ids=["walk", "outside-edge", "fillers", "one-batch", "batches-fillers-outside"],
)
def test_every_walk_is_stopped_before_it_learns_its_share(
    bits: int, threshold: int, allowed: int, shape: dict[str, object]
) -> None:
    listed, copy = listed_and_copy(bits, 2)
    rule = rule_for(bits, LIMIT)
    attack = Attack(guarded(listed, threshold, rule), bits, **shape)  # type: ignore[arg-type]
    learned = attack.run(copy)
    assert learned <= allowed, f"{learned} of {bits} bits learned in {attack.calls} calls"


@pytest.mark.parametrize(("bits", "threshold", "allowed"), CASES)
@pytest.mark.parametrize("shape", [{}, {"outside": True}, {"batch": 16, "fillers": 31}], ids=str)
def test_a_walk_at_a_variant_radius_is_stopped_before_it_learns_its_share(
    bits: int, threshold: int, allowed: int, shape: dict[str, object]
) -> None:
    """Variant items answered at a lower radius have an edge of their own there: walked just the same."""
    listed, copy = listed_and_copy(bits, 2)
    rule = rule_for(bits, LIMIT)
    variant = threshold * 3 // 4  # PDQ at 48: 36
    attack = Attack(guarded(listed, threshold, rule, variant), bits, **shape)  # type: ignore[arg-type]
    learned = attack.run(copy)
    assert learned <= allowed, f"{learned} of {bits} bits learned in {attack.calls} calls"


def test_edges_at_two_radii_are_kept_apart_and_count_together() -> None:
    """A query is compared with earlier ones answered at its own radius (an answer at another radius
    says nothing about the same bit), and the probes at both radii add up on the entry."""
    listed = np.zeros(32, np.uint8)
    rule = rule_for(256, LIMIT)
    watch = Watch(1, listed, 48)

    def at(distance: int, extra: int = 0) -> npt.NDArray[np.uint8]:
        bits = np.zeros(256, np.uint8)
        bits[:distance] = 1
        bits[200 : 200 + extra] = 1
        return np.packbits(bits)

    assert not watch.see(at(36), rule, 36)  # inside the variant radius
    assert not watch.see(at(37), rule, 48)  # one bit off, but answered at the threshold: no flip there
    assert watch.see(at(37), rule, 36)  # the same code at the variant radius: it flips
    assert watch.see(at(49), rule, 48) == 0  # the threshold's edge: nothing to flip with yet
    assert watch.see(at(47, 1), rule, 48)  # inside, 3 bits from the one just outside
    assert watch.probes == 2
    assert watch.radii.tolist() == [36, 48, 36, 48, 48]


def test_near_edges_and_observe_use_the_radius_each_query_was_answered_at() -> None:
    rng = np.random.default_rng(13)
    codes = rng.integers(0, 256, (300, 8), dtype=np.uint8)
    thresholds = rng.integers(6, 12, 300).astype(np.int32)
    moved = codes[:40].copy()
    moved[:, 0] ^= 0x1F  # 5 bits from their entries
    queries = np.concatenate([rng.integers(0, 256, (50, 8), dtype=np.uint8), moved])
    caps = rng.choice([4, 5, np.iinfo(np.int32).max], queries.shape[0]).astype(np.int32)
    radii = np.minimum(thresholds[None, :], caps[:, None])
    expected = (np.abs(distances(queries, codes) - radii) <= 2).any(axis=0)
    rule = rule_for(64, LIMIT)
    found = near_edges(queries, codes, flat_index(codes, rule), thresholds, rule, caps)
    assert found.tolist() == expected.tolist()
    assert expected.sum() > 0
    assert found.tolist() != near_edges(queries, codes, flat_index(codes, rule), thresholds, rule).tolist()


@pytest.mark.parametrize(("bits", "threshold", "allowed"), CASES)
def test_scattered_copies_around_an_entry_are_no_probes(bits: int, threshold: int, allowed: int) -> None:
    """Thousands of copies of a listed picture, each its own transform (its own bits flipped, most
    copies close to the entry and a long tail out past its threshold: hundreds at the edge), a third
    of them stored twice: no two edge copies are within the cluster radius often enough to count."""
    rng = np.random.default_rng(5)
    listed = rng.integers(0, 256, bits // 8, dtype=np.uint8)
    rule = rule_for(bits, LIMIT)
    drifts = np.minimum(rng.geometric(2 / threshold, 3000) - 1, bits // 2)
    copies = []
    for drift in drifts:
        mask = np.zeros(bits, np.uint8)
        mask[rng.choice(bits, int(drift), replace=False)] = 1
        copies.append(listed ^ np.packbits(mask))
    copies += copies[:1000]
    assert (np.abs(drifts - threshold) <= rule.band).sum() >= 100
    watch = Watch(1, listed, threshold)
    assert observe([watch], np.stack(copies), rule) < rule.throttle_at


def test_distances_agree_with_a_plain_count_in_every_block() -> None:
    rng = np.random.default_rng(9)
    queries = rng.integers(0, 256, (300, 32), dtype=np.uint8)
    codes = rng.integers(0, 256, (70, 32), dtype=np.uint8)
    expected = [[distance(bytes(q), bytes(c)) for c in codes] for q in queries]
    assert distances(queries, codes).tolist() == expected


def test_nearest_in_chunks_is_the_minimum_of_the_whole_matrix() -> None:
    """A long video's frames against a long listed video's, a few queries at a time (bounded memory):
    the same nearest distance per listed frame as the whole matrix's minimum."""
    rng = np.random.default_rng(17)
    queries = rng.integers(0, 256, (103, 32), dtype=np.uint8)
    codes = rng.integers(0, 256, (41, 32), dtype=np.uint8)
    codes[::5] = queries[::12][: codes[::5].shape[0]]  # some at distance 0
    whole = distances(queries, codes).min(axis=0)
    for budget in (1, 41 * 4, 41 * 4 * 7, 1 << 30):
        assert np.array_equal(nearest(queries, codes, budget), whole)


def test_near_edges_finds_exactly_the_codes_a_query_came_to_the_edge_of() -> None:
    rng = np.random.default_rng(12)
    codes = rng.integers(0, 256, (400, 8), dtype=np.uint8)
    thresholds = rng.integers(4, 12, 400).astype(np.int32)
    queries = np.concatenate([rng.integers(0, 256, (50, 8), dtype=np.uint8), codes[:30] ^ 0x01])
    apart = distances(queries, codes)
    expected = (np.abs(apart - thresholds[None, :]) <= 2).any(axis=0)
    rule = rule_for(64, LIMIT)
    assert near_edges(queries, codes, flat_index(codes, rule), thresholds, rule).tolist() == expected.tolist()
    assert expected.sum() > 0


def test_the_same_edge_code_again_is_no_probe() -> None:
    listed = np.zeros(8, np.uint8)
    rule = rule_for(64, LIMIT)
    at_edge = np.frombuffer(flip_bit(bytes(8), 0), np.uint8) | np.array([0x7F, 0, 0, 0, 0, 0, 0, 0], np.uint8)
    watch = Watch(1, listed, 8)
    assert observe([watch], np.stack([at_edge] * 20), rule) == 0
    assert watch.edge.shape[0] == 1


def test_a_walk_on_a_photodna_entry_is_stopped_and_scattered_copies_are_not_probes() -> None:
    """PhotoDNA's rule is in Euclidean units scaled to the list's threshold: a walk that moves one of
    the 144 values at a time across the edge is suspended long before it has read the values, while
    thousands of copies around the entry, many at the edge, are no probes."""
    rng = np.random.default_rng(4)
    rule = euclidean_rule(144, LIMIT)
    threshold = 200
    listed = rng.integers(60, 196, 144).astype(np.int64)
    direction = rng.normal(0, 1, 144)
    edge = np.rint(listed + direction / np.linalg.norm(direction) * threshold * 1.05).astype(np.int64)
    # the walk's first part: move one value a unit at a time until the answer is about to flip
    while int(((edge - listed) ** 2).sum()) > threshold**2:
        position = int(np.argmax(np.abs(edge - listed)))
        edge[position] -= np.sign(edge[position] - listed[position])
    watch = Watch(1, listed.astype(np.uint8), threshold)
    asked = 0
    for position in range(144):  # then read each value's side off the answers flipping across the edge
        for step in (-3, 3):
            moved = edge.copy()
            moved[position] += step
            observe([watch], moved.astype(np.uint8)[None, :], rule)
            asked += 1
        if watch.probes >= rule.suspend_at:
            break
    assert watch.probes >= rule.suspend_at
    assert asked < 2 * 144 * 0.8, f"suspended only after {asked} queries"
    honest = Watch(2, listed.astype(np.uint8), threshold)
    spreads = rng.uniform(0, 1.3 * threshold / 12, 3000)
    noise = rng.normal(0, 1, (3000, 144)) * spreads[:, None]
    copies = np.clip(np.rint(listed + noise), 0, 255).astype(np.uint8)
    apart = distances(copies, listed.astype(np.uint8)[None, :], euclidean=True)[:, 0]
    assert (np.abs(apart - threshold) <= rule.band_at(threshold)).sum() >= 100
    assert observe([honest], copies, rule) < rule.throttle_at


@pytest.mark.parametrize(
    ("bits", "threshold", "moved"), [(256, 48, 4), (256, 31, 4), (64, 8, 1), (64, 10, 1), (64, 6, 1)]
)
def test_a_walk_that_floods_the_edge_between_its_reads_is_stopped(
    bits: int, threshold: int, moved: int
) -> None:
    """A walker sends, before each bit it reads, a memory's worth of other distinct queries at the
    edge, spread around the entry and never flipping among themselves, so that the walk's earlier
    queries are forgotten: the flood counts as probes instead, and it learns no more than a plain walk
    is allowed (its share of the width: 1/8)."""
    rng = np.random.default_rng(8)
    listed = rng.integers(0, 256, bits // 8, dtype=np.uint8)
    rule = rule_for(bits, LIMIT)
    watch = Watch(1, listed, threshold)
    centre = np.unpackbits(listed)
    centre[:threshold] ^= 1  # exactly at the threshold: inside
    agree = np.flatnonzero(centre == np.unpackbits(listed))
    differ = np.flatnonzero(centre != np.unpackbits(listed))

    def flood() -> npt.NDArray[np.uint8]:
        """Queries at the threshold exactly (as many bits flipped towards the entry as away), apart."""
        flooded: dict[bytes, npt.NDArray[np.uint8]] = {}
        while len(flooded) < rule.kept:
            shifted = centre.copy()
            shifted[rng.choice(agree, moved, replace=False)] ^= 1
            shifted[rng.choice(differ, moved, replace=False)] ^= 1
            flooded.setdefault(np.packbits(shifted).tobytes(), np.packbits(shifted))
        return np.stack(list(flooded.values()))

    learned = 0
    for bit in range(bits):
        observe([watch], flood(), rule)
        read = centre.copy()
        read[bit] ^= 1
        observe([watch], np.packbits(read)[None, :], rule)
        if watch.probes >= rule.suspend_at:
            break
        learned += 1
    assert learned <= bits // 8, f"{learned} of {bits} bits read behind {rule.kept} edge queries each"


def test_copies_whose_answer_another_entry_decided_are_no_probes() -> None:
    """What a hoster sees is the answer for its file, not per entry: copies of a listed picture that
    matched (through the picture's own entry) straddle the edge of its variant entry a few bits away
    without teaching anything about it. Flips count only between answers the caller saw differ."""
    rule = rule_for(64, LIMIT)
    listed = np.zeros(8, np.uint8)
    bits = np.zeros(64, np.uint8)
    copies = []
    for moved in range(4, 13):  # 4 to 12 bits from the variant entry: both sides of its edge at 8
        for start in range(0, 48, 6):
            flipped = bits.copy()
            flipped[start : start + moved] = 1
            copies.append(np.packbits(flipped))
    queries = np.stack(copies)
    seen_matched = Watch(1, listed, 8)
    observe([seen_matched], queries, rule, answers=np.full(len(copies), 7, np.int64))
    assert seen_matched.probes == 0
    by_distance = Watch(2, listed, 8)  # answers not given: each entry's own, as a walk's single hashes
    observe([by_distance], queries, rule)
    assert by_distance.probes >= rule.suspend_at
    seen_as_walked = Watch(3, listed, 8)
    answered = (distances(queries, listed[None, :])[:, 0] <= 8).astype(np.int64)
    observe([seen_as_walked], queries, rule, answers=answered)
    assert seen_as_walked.probes == by_distance.probes
    beyond = queries[distances(queries, listed[None, :])[:, 0] > 8]  # all outside this entry's edge
    decided_elsewhere = Watch(4, listed, 8)  # their files' answers flip, through other entries
    observe([decided_elsewhere], beyond, rule, answers=np.arange(beyond.shape[0]) % 2 + 7)
    assert decided_elsewhere.probes == 0


def test_a_walk_behind_an_anchor_that_keeps_its_file_matched_is_stopped() -> None:
    """A walker puts a hash that always matches (an anchor) in every file beside its walking query: the
    file stays matched, but the signals and confidence it is told follow the walked entry's answer.
    What counts is the whole answer the caller sees, so the walk is stopped as any other."""
    rule = rule_for(256, LIMIT)
    listed = np.random.default_rng(9).integers(0, 256, 32, dtype=np.uint8)
    watch = Watch(1, listed, 48)
    centre = np.unpackbits(listed)
    centre[:48] ^= 1  # exactly at the threshold: inside

    def told(code: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
        inside = int(distances(code[None, :], listed[None, :])[0, 0]) <= 48
        signals = ["phash", "pdq"] if inside else ["phash"]
        return np.array([observed_answer(True, "high" if inside else "medium", signals)])

    plain = Watch(2, listed, 48)  # the same walk without the anchor: each query's own answer
    reads = [np.packbits(centre)]
    for bit in range(256):
        read = centre.copy()
        read[bit] ^= 1
        reads.append(np.packbits(read))
    for query in reads:
        observe([watch], query[None, :], rule, answers=told(query))
        observe([plain], query[None, :], rule)
    assert watch.probes == plain.probes >= rule.suspend_at


def share_edge(frames: npt.NDArray[np.uint8], listed: int, margin: int) -> VideoMargin:
    """A video whose every frame matched, ``listed`` listed frames matched, ``margin`` from its boundary."""
    return VideoMargin(1, frames, frames.shape[0], frames.shape[0], listed, margin)


@pytest.mark.parametrize("shuffled", [False, True])
def test_videos_that_differ_in_a_frame_and_flip_at_the_share_boundary_are_probes(shuffled: bool) -> None:
    """Adding and removing matching frames at a listed video's share boundary: after the first few
    near-identical videos, every flip is a probe; the same video again teaches nothing. Matching
    ignores frame order, so neither does the watch: each video's frames sent in a new order too."""
    rule = rule_for(256, LIMIT)
    frames = np.random.default_rng(12).integers(0, 256, (24, 32), dtype=np.uint8)
    order = np.random.default_rng(14)

    def sent(video: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        return video[order.permutation(video.shape[0])] if shuffled else video

    watch = ShareWatch(1)
    assert watch.see(share_edge(sent(frames), 24, 0), 5, rule) == 0
    made = [watch.see(share_edge(sent(np.delete(frames, i, axis=0)), 23, -1), 0, rule) for i in range(24)]
    assert made[:2] == [0, 0]  # a video, its trim and a longer cut: a few may straddle the boundary
    assert made[2:] == [1] * 22
    assert watch.see(share_edge(sent(frames), 24, 0), 5, rule) == 0  # seen before
    assert watch.probes == 22


def test_copies_of_a_clip_re_encoded_at_the_share_boundary_are_not_probes() -> None:
    """Re-encodes of one clip, some just matching and some just not: their frames differ by many bits
    (each a few to 35 bits off the listed frames), so they are no walk."""
    rule = rule_for(256, LIMIT)
    rng = np.random.default_rng(13)
    clip = rng.integers(0, 256, (24, 32), dtype=np.uint8)
    watch = ShareWatch(1)
    for copy in range(60):
        bits = np.unpackbits(clip, axis=1)
        for row in bits:
            row[rng.choice(256, int(rng.integers(3, 36)), replace=False)] ^= 1
        reached = copy % 2 == 0
        watch.see(
            share_edge(np.packbits(bits, axis=1), 24 if reached else 23, 0 if reached else -1), copy % 2, rule
        )
    assert watch.probes == 0
