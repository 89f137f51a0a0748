"""PhotoDNA: the type (hex and base64, exact Euclidean distance, threshold set per list, trivial
values) and its index, property-tested against a brute force written apart from the matcher."""

import base64
from math import isqrt
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher import HASH_TYPES, InvalidHash, InvalidThreshold, load_index
from matcher.euclidean import EuclideanIndex
from tests.oracle import as_set

Codes = npt.NDArray[np.uint8]
PHOTODNA = HASH_TYPES["photodna"]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def euclidean_brute_force(
    codes: Codes, ids: npt.NDArray[np.int64], queries: Codes, threshold: int
) -> set[tuple[int, int, int]]:
    """{(query, entry id, distance rounded up)} for every entry within ``threshold``: Python ints."""
    found = set()
    for position, query in enumerate(queries.tolist()):
        for row, code in enumerate(codes.tolist()):
            squared = sum((a - b) ** 2 for a, b in zip(query, code, strict=True))
            if squared <= threshold * threshold:
                root = isqrt(squared)
                found.add((position, int(ids[row]), root if root * root == squared else root + 1))
    return found


def clustered(rng: np.random.Generator, n: int, spread: float) -> Codes:
    """Vectors around a few centres, values clipped to 0-255 (the benchmark's generator, small)."""
    centres = rng.integers(0, 256, (max(1, n // 25), 144))
    noise = rng.normal(0, spread, (n, 144))
    return np.clip(np.rint(centres[rng.integers(0, len(centres), n)] + noise), 0, 255).astype(np.uint8)


def at_distance(rng: np.random.Generator, code: Codes, squared: int) -> Codes:
    """A vector whose squared distance to ``code`` is exactly ``squared`` (where one exists nearby),
    built by moving single values: lands queries exactly on a threshold's edge."""
    moved = code.astype(np.int64)
    left = squared
    for position in rng.permutation(144):
        if left == 0:
            break
        step = min(isqrt(left), 255)
        for size in range(step, 0, -1):
            target = moved[position] + size if moved[position] + size <= 255 else moved[position] - size
            if 0 <= target <= 255:
                moved[position] = target
                left -= size * size
                break
    return moved.astype(np.uint8)


def edge_queries(rng: np.random.Generator, codes: Codes, threshold: int) -> Codes:
    rows = []
    for _ in range(10):
        if len(codes):
            source = codes[rng.integers(len(codes))]
            for squared in (threshold * threshold, threshold * threshold + 1, int(rng.integers(0, 4000))):
                rows.append(at_distance(rng, source, squared))
        rows.append(rng.integers(0, 256, 144, dtype=np.uint8))
    return np.array(rows, dtype=np.uint8)


def test_hex_and_both_base64_alphabets_give_the_same_bytes() -> None:
    code = np.random.default_rng(1).integers(0, 256, 144, dtype=np.uint8).tobytes()
    code = code[:10] + b"\xfb\xff\xfe" + code[13:]  # bytes whose base64 uses + / (or - _)
    forms = [
        code.hex(),
        f" {code.hex().upper()}\n",
        base64.b64encode(code).decode(),
        base64.urlsafe_b64encode(code).decode(),
    ]
    assert "+" in forms[2] or "/" in forms[2]
    assert [PHOTODNA.parse(form) for form in forms] == [code] * 4
    assert PHOTODNA.format(code) == code.hex()
    assert PHOTODNA.parse_many(forms).shape == (4, 144)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("ab" * 100, "expected 288 hexadecimal digits or 192 base64 characters, got 200 characters"),
        (None, "expected a string of 288 hexadecimal digits or 192 base64 characters, got nothing"),
        ("0" * 287 + "g", "character 'g' at position 287 is not hexadecimal"),
        ("A" * 100 + "*" + "A" * 91, "character '*' at position 100 is not base64"),
        ("A" * 190 + "==", "character '=' at position 190 is not base64"),
    ],
)
def test_malformed_photodna_says_why(value: object, reason: str) -> None:
    with pytest.raises(InvalidHash) as raised:
        PHOTODNA.parse(value)
    assert raised.value.reason == reason


def test_distance_is_euclidean_rounded_up_and_exact_at_the_edge() -> None:
    a = np.zeros(144, np.uint8)
    b = a.copy()
    b[:4] = (3, 4, 0, 0)
    assert PHOTODNA.distance(a, b) == 5  # 3-4-5: exactly 5
    b[2] = 1
    assert PHOTODNA.distance(a, b) == 6  # sqrt(26) > 5
    assert PHOTODNA.distance(np.zeros(144, np.uint8), np.full(144, 255, np.uint8)) == 3060


def test_a_threshold_is_required_and_checked() -> None:
    assert PHOTODNA.threshold_required
    with pytest.raises(InvalidThreshold, match="no threshold for photodna: no default is published"):
        PHOTODNA.list_threshold({"pdq": 31})
    assert PHOTODNA.list_threshold({"photodna": 1800}) == 1800
    assert PHOTODNA.check_threshold(3060) == 3060
    with pytest.raises(InvalidThreshold, match="from 0 to 3060"):
        PHOTODNA.check_threshold(3061)
    assert HASH_TYPES["pdq"].list_threshold({}) == 48


def test_constant_vectors_are_trivial() -> None:
    codes = np.stack([np.zeros(144, np.uint8), np.full(144, 7, np.uint8), np.arange(144, dtype=np.uint8)])
    assert PHOTODNA.trivial(codes) == [
        (0, "all-zero photodna (an image without gradients)"),
        (1, "constant photodna: all 144 values are 7"),
    ]
    assert PHOTODNA.trivial(clustered(np.random.default_rng(3), 500, 10)) == []
    assert PHOTODNA.trivial(np.zeros((0, 144), np.uint8)) == []


@st.composite
def cases(draw: st.DrawFn) -> tuple[Codes, npt.NDArray[np.int64], Codes, int]:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.sampled_from([0, 1, 2, 9, 80, 400, 1500, 2100]))
    spread = draw(st.sampled_from([0.0, 3.0, 20.0, 80.0]))
    codes = clustered(rng, n, spread) if draw(st.booleans()) else rng.integers(0, 256, (n, 144), np.uint8)
    if n and draw(st.booleans()):  # the same value under several entries
        codes = np.concatenate([codes, codes[rng.integers(0, n, n // 2 + 1)]])
    ids = rng.choice(10**12, len(codes), replace=False).astype(np.int64)
    threshold = draw(st.one_of(st.integers(0, 200), st.integers(0, PHOTODNA.max_threshold)))
    return codes, ids, edge_queries(rng, codes, threshold), threshold


@SETTINGS
@given(cases())
def test_the_index_equals_brute_force(case: tuple[Codes, npt.NDArray[np.int64], Codes, int]) -> None:
    codes, ids, queries, threshold = case
    index = EuclideanIndex.build("photodna", 144, PHOTODNA.max_threshold, codes, ids)
    expected = euclidean_brute_force(codes, ids, queries, threshold)
    for threads in (1, 2):
        assert as_set(index.search(queries, threshold, threads=threads)) == expected
    # fewer queries than workers: the codes are shared out instead
    one = {(0, entry, distance) for query, entry, distance in expected if query == 0}
    assert as_set(index.search(queries[:1], threshold, threads=3)) == one


def test_a_query_exactly_at_the_threshold_matches_and_one_step_beyond_does_not() -> None:
    rng = np.random.default_rng(5)
    codes = clustered(rng, 3000, 12)
    index = PHOTODNA.build_index(codes, np.arange(3000))
    assert isinstance(index, EuclideanIndex)
    for threshold in (1, 37, 150, 600):
        source = codes[int(rng.integers(3000))]
        queries = np.stack(
            [at_distance(rng, source, threshold**2), at_distance(rng, source, threshold**2 + 1)]
        )
        squared = ((queries.astype(np.int64) - source) ** 2).sum(axis=1).tolist()
        assert squared == [threshold**2, threshold**2 + 1]
        found = as_set(index.search(queries, threshold))
        assert found == euclidean_brute_force(codes, np.arange(3000), queries, threshold)
        assert any(query == 0 for query, _, _ in found)


def test_save_and_load_are_memory_mapped_and_exact(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    codes = clustered(rng, 5000, 15)
    ids = rng.choice(10**9, 5000, replace=False).astype(np.int64)
    index = PHOTODNA.build_index(codes, ids)
    index.save(tmp_path / "photodna")
    loaded = load_index(tmp_path / "photodna")
    assert isinstance(loaded, EuclideanIndex)
    assert (loaded.kind, loaded.name, loaded.unique_count, loaded.entry_count) == (
        "euclidean",
        "photodna",
        5000,
        5000,
    )
    for array in (loaded.columns, loaded.entries.ids):
        assert isinstance(array, np.memmap)
        assert not array.flags.writeable
    queries = edge_queries(rng, codes, 120)
    for threshold in (0, 120, 400):
        assert as_set(loaded.search(queries, threshold)) == euclidean_brute_force(
            codes, ids, queries, threshold
        )
