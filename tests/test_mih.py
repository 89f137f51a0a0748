"""The parts of multi-index hashing that steer speed must never cost exactness: per-query probe radii,
the choice of bits for each table, and the bit statistics they rest on."""

from itertools import product

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher import kernels
from matcher.hamming import HammingIndex
from matcher.mih import bit_shares, radius_cap, table_positions
from tests.oracle import as_set, brute_force, flip_bits


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 5), st.integers(0, 4), st.integers(0, 2**32 - 1), st.data())
def test_radii_cover_the_threshold_at_the_least_cost(
    tables: int, cap: int, seed: int, data: st.DataObject
) -> None:
    width = data.draw(st.integers(cap, cap + 3))
    need = data.draw(st.integers(1, tables * (cap + 1) if cap < width else 40))
    rng = np.random.default_rng(seed)
    costs = np.cumsum(rng.integers(1, 50, (tables, cap + 1)), axis=1).astype(np.float64)
    radii = kernels.allocate_radii(costs, need, width)

    def covered(choice: tuple[int, ...]) -> bool:
        return width in choice or sum(r + 1 for r in choice) >= need

    def cost(choice: tuple[int, ...]) -> float:
        return float(sum(costs[k, r] for k, r in enumerate(choice) if r >= 0))

    assert all(-1 <= r <= cap for r in radii)
    assert covered(tuple(radii))
    best = min(cost(choice) for choice in product(range(-1, cap + 1), repeat=tables) if covered(choice))
    assert cost(tuple(radii)) == best


def test_bit_shares_count_every_bit() -> None:
    rng = np.random.default_rng(5)
    codes = np.packbits(rng.random((999, 256)) < rng.random(256), axis=1, bitorder="little")
    expected = np.unpackbits(codes, axis=1, bitorder="little").mean(axis=0)
    assert np.allclose(bit_shares(codes.view(np.uint64)), expected)


def test_tables_leave_out_the_bits_every_code_shares() -> None:
    ones = np.full(64, 0.5)
    ones[:16] = 1.0  # set in every code: no information
    ones[16:24] = 0.0
    positions = table_positions(ones, 2, 20)
    assert positions.shape == (2, 20)
    assert set(positions.ravel().tolist()).isdisjoint(range(24))
    assert positions.ravel().tolist() == sorted(positions.ravel().tolist())  # in code order when tied


def test_radius_cap_leaves_room_for_an_uneven_split() -> None:
    assert radius_cap(11, 23, 31) == 2 + 2
    assert radius_cap(3, 21, 8) == 2 + 2
    assert radius_cap(2, 12, 63) == 12  # never wider than a table: then one table reaches every code


def skewed_codes(rng: np.random.Generator, n: int) -> npt.NDArray[np.uint8]:
    """PDQ-sized codes whose first 128 bits are nearly constant and the rest uniform."""
    ones = np.concatenate([np.full(128, 0.03), np.full(128, 0.5)])
    return np.packbits(rng.random((n, 256)) < ones, axis=1, bitorder="little")


def test_queries_move_their_radius_to_the_informative_tables_and_stay_exact() -> None:
    rng = np.random.default_rng(11)
    codes = skewed_codes(rng, 3000)
    ids = np.arange(3000, dtype=np.int64)
    # 16 tables of 16 bits: half of them over the informative bits, half over the constant ones
    index = HammingIndex.build("pdq", 256, 63, codes, ids, 31, layout=(16, 16))
    assert index.tables is not None
    query = codes[:1].view(np.uint64)[0]
    cap = radius_cap(16, 16, 31)
    counts = np.cumsum([1, 16, 120, 560, 1820, 4368, 8008][: cap + 1])
    radii, _ = kernels.query_cost(
        index.tables.positions, index.tables.ones, query, counts, 3000, 31, 1.0, 1.0
    )
    informative = [k for k in range(16) if index.tables.positions[k].min() >= 128]
    crowded = [k for k in range(16) if k not in informative]
    assert len(informative) == 8
    assert min(radii[informative]) > max(radii[crowded])  # the radius goes where buckets are sparse
    queries = np.array([flip_bits(codes[i], t, rng) for i, t in ((0, 31), (1, 32), (2, 10), (3, 0))])
    queries = np.concatenate([queries, skewed_codes(rng, 4)])
    for threshold in (0, 8, 31, 48, 63):
        assert as_set(index.search(queries, threshold)) == brute_force(codes, ids, queries, threshold)
