"""Every index answers exactly what brute force answers: property tests on random and skewed lists."""

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher import HASH_TYPES, VPDQ, IndexFileError, InvalidThreshold, load_index
from matcher.exact import ExactIndex
from matcher.hamming import HammingIndex
from matcher.mih import MihTables, flip_masks
from matcher.storage import FORMAT_VERSION
from tests.oracle import as_set, brute_force, flip_bits

Codes = npt.NDArray[np.uint8]
HAMMING = ["pdq", "phash"]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def make_codes(rng: np.random.Generator, n: int, nbytes: int, shape: str) -> Codes:
    """Uniform codes, codes with a per-bit bias, or clusters of near-identical codes."""
    if shape == "uniform":
        return rng.integers(0, 256, (n, nbytes), dtype=np.uint8)
    if shape == "biased":
        ones = rng.uniform(0.02, 0.98, nbytes * 8)
        return np.packbits(rng.random((n, nbytes * 8)) < ones, axis=1)
    centers = rng.integers(0, 256, (max(1, n // 20), nbytes), dtype=np.uint8)
    return np.array(
        [flip_bits(centers[rng.integers(len(centers))], int(rng.integers(0, 24)), rng) for _ in range(n)],
        dtype=np.uint8,
    ).reshape(n, nbytes)


def make_queries(rng: np.random.Generator, codes: Codes, nbytes: int, threshold: int) -> Codes:
    """Copies of list codes at exactly t and t + 1 bits, small changes, and unrelated codes."""
    rows = []
    for _ in range(12):
        if len(codes):
            source = codes[rng.integers(len(codes))]
            for bits in (threshold, threshold + 1, int(rng.integers(0, threshold + 2))):
                rows.append(flip_bits(source, min(bits, nbytes * 8), rng))
        rows.append(rng.integers(0, 256, nbytes, dtype=np.uint8))
    return np.array(rows, dtype=np.uint8)


@st.composite
def hamming_cases(draw: st.DrawFn) -> tuple[str, Codes, npt.NDArray[np.int64], Codes, int, int]:
    name = draw(st.sampled_from(HAMMING))
    hash_type = HASH_TYPES[name]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.sampled_from([0, 1, 2, 7, 60, 400]))
    codes = make_codes(rng, n, hash_type.nbytes, draw(st.sampled_from(["uniform", "biased", "clustered"])))
    if n and draw(st.booleans()):  # the same value under several entries
        codes = np.concatenate([codes, codes[rng.integers(0, n, n // 2 + 1)]])
    ids = rng.choice(10**12, len(codes), replace=False).astype(np.int64)
    threshold = draw(st.integers(0, hash_type.max_threshold))
    count = draw(st.integers(2, min(hash_type.bits // 8, 16)))
    width = min(hash_type.bits // count, 12)
    return (
        name,
        codes,
        ids,
        make_queries(rng, codes, hash_type.nbytes, threshold),
        threshold,
        count * 100 + width,
    )


def build(name: str, codes: Codes, ids: npt.NDArray[np.int64], layout: int) -> HammingIndex:
    hash_type = HASH_TYPES[name]
    return HammingIndex.build(
        name, hash_type.bits, hash_type.max_threshold, codes, ids, hash_type.default_threshold,
        layout=divmod(layout, 100),
    )  # fmt: skip


@SETTINGS
@given(hamming_cases())
def test_every_method_equals_brute_force(
    case: tuple[str, Codes, npt.NDArray[np.int64], Codes, int, int],
) -> None:
    name, codes, ids, queries, threshold, layout = case
    index = build(name, codes, ids, layout)
    expected = brute_force(codes, ids, queries, threshold)
    for method in ("scan", "auto"):
        for threads in (1, 2):
            assert as_set(index.search(queries, threshold, threads=threads, method=method)) == expected


@SETTINGS
@given(hamming_cases())
def test_tables_alone_equal_brute_force_at_every_threshold(
    case: tuple[str, Codes, npt.NDArray[np.int64], Codes, int, int],
) -> None:
    """The substring tables without any fallback scan: the pigeonhole radii lose nothing."""
    name, codes, ids, queries, _, layout = case
    index = build(name, codes, ids, layout)
    assert index.tables is not None
    unique_ids = np.arange(index.unique_count, dtype=np.int64)
    words = index.codes.view(np.uint64)
    for threshold in range(HASH_TYPES[name].max_threshold + 1):
        query, code, distance, overflow = index.tables.search(
            words, queries.view(np.uint64), threshold, candidate_limit=2**62, threads=1
        )
        assert not overflow.any()
        assert len(set(zip(query.tolist(), code.tolist(), strict=True))) == query.size  # no duplicates
        found = set(zip(query.tolist(), code.tolist(), distance.tolist(), strict=True))
        assert found == brute_force(index.codes, unique_ids, queries, threshold)


def test_query_at_exactly_the_threshold_matches_and_one_bit_more_does_not() -> None:
    rng = np.random.default_rng(7)
    pdq = HASH_TYPES["pdq"]
    codes = rng.integers(0, 256, (3000, 32), dtype=np.uint8)
    index = pdq.build_index(codes, np.arange(3000), design_threshold=31)
    source = codes[1234]
    for threshold in (0, 31, 48, 63):
        at = index.search(flip_bits(source, threshold, rng)[None, :], threshold)
        beyond = index.search(flip_bits(source, threshold + 1, rng)[None, :], threshold)
        assert 1234 in at.entry.tolist()
        assert 1234 not in beyond.entry.tolist()


def test_candidate_overflow_falls_back_to_a_scan() -> None:
    rng = np.random.default_rng(3)
    phash = HASH_TYPES["phash"]
    codes = np.repeat(rng.integers(0, 256, (4, 8), dtype=np.uint8), 500, axis=0)  # crowded buckets
    codes = flip_codes(codes, rng)
    ids = np.arange(len(codes), dtype=np.int64)
    index = HammingIndex.build("phash", 64, 12, codes, ids, 8, layout=(4, 16))
    assert index.tables is not None
    queries = codes[:5]
    _, _, _, overflow = index.tables.search(index.codes.view(np.uint64), queries.view(np.uint64), 8, 10, 1)
    assert overflow.all()
    assert as_set(index.search(queries, 8)) == brute_force(codes, ids, queries, 8)
    assert phash.max_threshold == 12


def flip_codes(codes: Codes, rng: np.random.Generator) -> Codes:
    return np.array([flip_bits(row, int(rng.integers(0, 4)), rng) for row in codes], dtype=np.uint8)


CODE_TYPES = {name: t for name, t in HASH_TYPES.items() if not isinstance(t, VPDQ)}
"""Types whose values are codes (a vpdq video is frames: its index in tests/test_vpdq.py)."""


def test_one_entry_list_matches() -> None:
    """A one-entry list that never matched was a real bug in a peer."""
    for name in CODE_TYPES:
        hash_type = HASH_TYPES[name]
        code = np.full((1, hash_type.nbytes), 0xA5, dtype=np.uint8)
        index = hash_type.build_index(code, [42])
        found = index.search(code, hash_type.default_threshold)
        assert (found.query.tolist(), found.entry.tolist(), found.distance.tolist()) == (
            [0],
            [42],
            [0],
        )


def test_empty_list_and_empty_batch() -> None:
    for hash_type in CODE_TYPES.values():
        empty = np.empty((0, hash_type.nbytes), dtype=np.uint8)
        index = hash_type.build_index(empty, [])
        assert len(index.search(np.zeros((3, hash_type.nbytes), np.uint8), 0)) == 0
        assert len(index.search(empty, 0)) == 0


def test_identical_values_are_stored_once_and_answer_with_every_entry() -> None:
    pdq = HASH_TYPES["pdq"]
    codes = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 32, axis=1)[:10]
    codes = np.concatenate([codes, codes[:3], codes[:1]])
    ids = np.arange(100, 100 + len(codes))
    index = pdq.build_index(codes, ids)
    assert index.unique_count == 10
    assert index.entry_count == 14
    found = index.search(codes[:1], 0)
    assert found.entry.tolist() == [100, 110, 113]


@SETTINGS
@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from(["md5", "sha1", "sha256"]),
    st.sampled_from([0, 1, 5, 300]),
)
def test_exact_index_equals_brute_force(seed: int, name: str, n: int) -> None:
    hash_type = HASH_TYPES[name]
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, (n, hash_type.nbytes), dtype=np.uint8)
    codes[: n // 2, :8] = 7  # many codes share their leading bytes
    if n:
        codes = np.concatenate([codes, codes[rng.integers(0, n, 3)]])
    ids = np.arange(len(codes), dtype=np.int64) * 3
    index = hash_type.build_index(codes, ids)
    assert isinstance(index, ExactIndex)
    queries = rng.integers(0, 256, (6, hash_type.nbytes), dtype=np.uint8)
    queries[:3, :8] = 7
    if n:
        queries = np.concatenate([queries, codes[rng.integers(0, len(codes), 6)]])
    assert as_set(index.search(queries, 0)) == brute_force(codes, ids, queries, 0)


def test_exact_types_refuse_a_nonzero_threshold() -> None:
    index = HASH_TYPES["md5"].build_index(np.zeros((1, 16), np.uint8), [1])
    with pytest.raises(InvalidThreshold, match="expected an integer from 0 to 0"):
        index.search(np.zeros((1, 16), np.uint8), 1)


def test_threshold_above_the_type_maximum_is_refused() -> None:
    index = HASH_TYPES["phash"].build_index(np.zeros((1, 8), np.uint8), [1])
    with pytest.raises(InvalidThreshold, match="invalid threshold 13 for phash"):
        index.search(np.zeros((1, 8), np.uint8), 13)


@pytest.mark.parametrize(
    ("queries", "error"),
    [
        (np.zeros((1, 9), np.uint8), ValueError),
        (np.zeros(8, np.uint8), TypeError),
        (np.zeros((1, 8), np.int64), TypeError),
        ([[0] * 8], TypeError),
    ],
)
def test_queries_must_be_parsed_codes(queries: object, error: type[Exception]) -> None:
    index = HASH_TYPES["phash"].build_index(np.zeros((1, 8), np.uint8), [1])
    with pytest.raises(error):
        index.search(queries, 0)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["pdq", "phash", "md5", "sha1"])
def test_save_and_load_round_trip(tmp_path: Path, name: str) -> None:
    hash_type = HASH_TYPES[name]
    rng = np.random.default_rng(11)
    codes = make_codes(rng, 20000, hash_type.nbytes, "clustered")
    ids = rng.choice(10**9, 20000, replace=False).astype(np.int64)
    index = hash_type.build_index(codes, ids, design_threshold=hash_type.max_threshold // 2)
    if name in HAMMING:
        assert isinstance(index, HammingIndex)
        assert index.tables is not None
    index.save(tmp_path / "index")
    loaded = load_index(tmp_path / "index")
    assert (loaded.kind, loaded.name, loaded.unique_count, loaded.entry_count) == (
        index.kind, name, index.unique_count, index.entry_count,
    )  # fmt: skip
    queries = make_queries(rng, codes, hash_type.nbytes, hash_type.default_threshold)
    for threshold in {0, hash_type.default_threshold, hash_type.max_threshold}:
        expected = brute_force(codes, ids, queries, threshold)
        assert as_set(loaded.search(queries, threshold)) == expected
        assert as_set(index.search(queries, threshold)) == expected


def test_loaded_arrays_are_memory_mapped_and_read_only(tmp_path: Path) -> None:
    pdq = HASH_TYPES["pdq"]
    codes = np.random.default_rng(2).integers(0, 256, (20000, 32), dtype=np.uint8)
    pdq.build_index(codes, np.arange(20000), design_threshold=31).save(tmp_path / "i")
    loaded = load_index(tmp_path / "i")
    assert isinstance(loaded, HammingIndex)
    assert loaded.tables is not None
    assert isinstance(loaded.tables.ids, np.memmap)
    assert isinstance(loaded.entries.ids, np.memmap)
    assert not loaded.codes.flags.writeable
    files = ["bit_shares.npy", "codes.faiss", "entry_ids.npy", "entry_offsets.npy", "index.json"]
    tables = ["table_ids.npy", "table_offsets.npy", "table_positions.npy"]
    assert sorted(p.name for p in (tmp_path / "i").iterdir()) == [*files, *tables]


def test_an_index_directory_is_written_once(tmp_path: Path) -> None:
    index = HASH_TYPES["md5"].build_index(np.zeros((1, 16), np.uint8), [1])
    index.save(tmp_path / "i")
    with pytest.raises(IndexFileError, match="already exists"):
        index.save(tmp_path / "i")
    assert [p.name for p in tmp_path.iterdir()] == ["i"]  # no staging directory left behind


def test_unreadable_index_directories_raise_a_named_error(tmp_path: Path) -> None:
    with pytest.raises(IndexFileError, match=r"index\.json is missing"):
        load_index(tmp_path)
    (tmp_path / "index.json").write_text("{not json")
    with pytest.raises(IndexFileError, match="cannot be read"):
        load_index(tmp_path)
    (tmp_path / "index.json").write_text('{"format": "hashmatch-index", "format_version": 99}')
    with pytest.raises(IndexFileError, match="format version 99"):
        load_index(tmp_path)
    (tmp_path / "index.json").write_text(
        f'{{"format": "hashmatch-index", "format_version": {FORMAT_VERSION}, "kind": "ivf"}}'
    )
    with pytest.raises(IndexFileError, match="unknown kind 'ivf'"):
        load_index(tmp_path)
    index = HASH_TYPES["phash"].build_index(np.zeros((1, 8), np.uint8), [1])
    index.save(tmp_path / "cut")
    (tmp_path / "cut" / "entry_ids.npy").unlink()
    with pytest.raises(IndexFileError, match=r"entry_ids\.npy cannot be read"):
        load_index(tmp_path / "cut")


def test_flip_masks_cover_every_key_within_the_radius() -> None:
    masks, counts = flip_masks(10, 3)
    assert counts.tolist() == [1, 11, 56, 176]
    popcounts = [bin(int(m)).count("1") for m in masks]
    assert popcounts == sorted(popcounts)
    assert len(set(masks.tolist())) == len(masks)


def test_tables_refuse_more_codes_than_32_bit_ids_can_name() -> None:
    huge = np.lib.stride_tricks.as_strided(np.zeros(1, np.uint64), shape=(2**32, 1), strides=(0, 8))
    with pytest.raises(ValueError, match="too many codes"):
        MihTables.build(huge, np.full(64, 0.5), 16, 4)
