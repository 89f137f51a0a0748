"""Compiled loops of multi-index hashing (numba, released GIL).

Codes are rows of 64-bit words; bit ``i`` of a code is bit ``i % 64`` of word ``i // 64``. A
substring is the code's bits at a table's ``width`` bit positions, used as the table's key.
"""

# numba types these loops itself; mypy reads them as plain NumPy code, where integer widths differ,
# and numba's code generation helpers are untyped.
# mypy: disable-error-code="assignment, call-arg, no-any-return, no-untyped-call"

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

PREFETCH_AHEAD = 16
"""How many buckets or candidates ahead a loop asks for the memory it will read: the reads are
random, and asking early keeps more of them in flight (about 25 % faster at 10M codes)."""


@intrinsic
def _ctpop(typingctx, value):  # type: ignore[no-untyped-def]
    signature = types.uint64(types.uint64)

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        return builder.ctpop(args[0])

    return signature, codegen


@intrinsic
def _prefetch(typingctx, array, row):  # type: ignore[no-untyped-def]
    """Start loading ``array[row]`` into the cache (a hint: nothing is read or checked)."""
    signature = types.void(array, row)

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        array_type = sig.args[0]
        view = context.make_array(array_type)(context, builder, args[0])
        row_index = context.cast(builder, args[1], sig.args[1], types.intp)
        indices = [row_index] + [context.get_constant(types.intp, 0)] * (array_type.ndim - 1)
        pointer = cgutils.get_item_pointer2(
            context, builder, view.data, cgutils.unpack_tuple(builder, view.shape),
            cgutils.unpack_tuple(builder, view.strides), array_type.layout, indices, wraparound=False,
        )  # fmt: skip
        byte_pointer = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]),
            "llvm.prefetch.p0i8",
        )
        # read (0), keep in every cache level (3), data cache (1)
        builder.call(function, [builder.bitcast(pointer, byte_pointer), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return signature, codegen


@njit(inline="always")
def popcount(value: np.uint64) -> np.int64:
    return np.int64(_ctpop(np.uint64(value)))


@njit(inline="always")
def bit(words: np.ndarray, position: int) -> np.uint64:
    return (words[position >> 6] >> np.uint64(position & 63)) & np.uint64(1)


@njit(inline="always")
def substring(words: np.ndarray, positions: np.ndarray) -> np.int64:
    """The table key of a code: its bits at ``positions``, the first one lowest."""
    key = np.uint64(0)
    for j in range(positions.shape[0]):
        key |= bit(words, positions[j]) << np.uint64(j)
    return np.int64(key)


@njit(nogil=True, cache=True)
def count_ones(words: np.ndarray) -> np.ndarray:
    """How many codes have each bit set."""
    n_bytes = words.shape[1] * 8
    histogram = np.zeros((n_bytes, 256), dtype=np.int64)
    for i in range(words.shape[0]):
        for w in range(words.shape[1]):
            value = words[i, w]
            for b in range(8):
                histogram[w * 8 + b, (value >> np.uint64(8 * b)) & np.uint64(255)] += 1
    counts = np.zeros(n_bytes * 8, dtype=np.int64)
    for j in range(n_bytes):
        for value in range(256):
            for b in range(8):
                if value >> b & 1:
                    counts[j * 8 + b] += histogram[j, value]
    return counts


@njit(nogil=True, cache=True)
def build_table(words: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counting sort of all codes by one substring: bucket offsets and the code ids in bucket order."""
    n = words.shape[0]
    offsets = np.zeros((1 << positions.shape[0]) + 1, dtype=np.uint32)
    keys = np.empty(n, dtype=np.uint32)
    for i in range(n):
        key = substring(words[i], positions)
        keys[i] = key
        offsets[key + 1] += 1
    for key in range(1 << positions.shape[0]):
        offsets[key + 1] += offsets[key]
    fill = offsets[:-1].copy()
    ids = np.empty(n, dtype=np.uint32)
    for i in range(n):
        key = keys[i]
        ids[fill[key]] = i
        fill[key] += 1
    return offsets, ids


@njit(nogil=True, cache=True)
def flip_masks(width: int, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """All ``width``-bit masks of at most ``radius`` set bits, ordered by popcount, and the number
    of masks of popcount <= r for each r from 0 to ``radius``."""
    counts = np.zeros(radius + 1, dtype=np.int64)
    for value in range(1 << width):
        ones = popcount(np.uint64(value))
        if ones <= radius:
            counts[ones] += 1
    fill = np.zeros(radius + 1, dtype=np.int64)
    for r in range(1, radius + 1):
        fill[r] = fill[r - 1] + counts[r - 1]
    masks = np.empty(fill[radius] + counts[radius], dtype=np.uint32)
    for value in range(1 << width):
        ones = popcount(np.uint64(value))
        if ones <= radius:
            masks[fill[ones]] = value
            fill[ones] += 1
    return masks, np.cumsum(counts)


@njit(nogil=True, cache=True)
def within(agree: np.ndarray, cap: int) -> np.ndarray:
    """P(at most r of the bits differ) for r = 0..cap, bits independent, bit ``j`` agreeing with
    probability ``agree[j]``."""
    exact = np.zeros(cap + 1)
    exact[0] = 1.0
    for j in range(agree.shape[0]):
        for r in range(cap, 0, -1):
            exact[r] = exact[r] * agree[j] + exact[r - 1] * (1.0 - agree[j])
        exact[0] *= agree[j]
    return np.cumsum(exact)


@njit(nogil=True, cache=True)
def allocate_radii(costs: np.ndarray, need: int, width: int) -> np.ndarray:
    """Probe radius per table (-1: not probed) with ``sum(radius + 1) >= need`` at the least total
    cost, ``costs[k, r]`` being table k's cost at radius r (r = 0..cap).

    Why that suffices: if every table's substring differed from the query's in more bits than its
    radius, the codes would differ in at least ``sum(radius + 1) >= need`` bits. With
    ``need = threshold + 1``, a code within the threshold lies within the radius of some table.
    A table probed at radius ``width`` (every key) reaches every code: that covers any ``need``.
    """
    tables, choices = costs.shape
    best = np.full((tables + 1, need + 1), np.inf)
    step_taken = np.zeros((tables, need + 1), dtype=np.int64)
    came_from = np.zeros((tables, need + 1), dtype=np.int64)
    best[0, 0] = 0.0
    for k in range(tables):
        for used in range(need + 1):
            if best[k, used] == np.inf:
                continue
            for step in range(choices + 1):  # step = radius + 1
                after = need if step == width + 1 else min(need, used + step)
                cost = best[k, used] + (costs[k, step - 1] if step else 0.0)
                if cost < best[k + 1, after]:
                    best[k + 1, after] = cost
                    step_taken[k, after] = step
                    came_from[k, after] = used
    if best[tables, need] == np.inf:
        raise ValueError("the radii cannot add up to the threshold")
    radii = np.empty(tables, dtype=np.int64)
    used = need
    for k in range(tables - 1, -1, -1):
        radii[k] = step_taken[k, used] - 1
        used = came_from[k, used]
    return radii


@njit(nogil=True, cache=True)
def query_cost(
    positions: np.ndarray,
    ones: np.ndarray,
    query: np.ndarray,
    mask_counts: np.ndarray,
    n: int,
    threshold: int,
    probe_cost: float,
    candidate_cost: float,
) -> tuple[np.ndarray, float]:
    """The probe radius per table for this query (:func:`allocate_radii`) and the expected cost of
    probing at them.

    A table's cost at radius r: its bucket reads plus its candidates, ``n`` times the chance that a
    code lies within r of the query on the table's bits, a share ``ones[b]`` of codes having bit b
    set (bits taken as independent: an estimate, which steers speed only).
    """
    tables, width = positions.shape
    cap = mask_counts.shape[0] - 1
    costs = np.empty((tables, cap + 1))
    agree = np.empty(width)
    for k in range(tables):
        for j in range(width):
            position = positions[k, j]
            agree[j] = ones[position] if bit(query, position) else 1.0 - ones[position]
        probability = within(agree, cap)
        for r in range(cap + 1):
            costs[k, r] = mask_counts[r] * probe_cost + n * probability[r] * candidate_cost
    radii = allocate_radii(costs, threshold + 1, width)
    total = 0.0
    for k in range(tables):
        if radii[k] >= 0:
            total += costs[k, radii[k]]
    return radii, total


@njit(nogil=True, cache=True)
def mean_query_cost(
    positions: np.ndarray,
    ones: np.ndarray,
    queries: np.ndarray,
    mask_counts: np.ndarray,
    n: int,
    threshold: int,
    probe_cost: float,
    candidate_cost: float,
) -> float:
    """The expected cost of a search for each query, averaged."""
    total = 0.0
    for q in range(queries.shape[0]):
        total += query_cost(
            positions, ones, queries[q], mask_counts, n, threshold, probe_cost, candidate_cost
        )[1]
    return total / max(queries.shape[0], 1)


@njit(nogil=True, cache=True)
def search_tables(
    words: np.ndarray,
    table_offsets: np.ndarray,
    table_ids: np.ndarray,
    positions: np.ndarray,
    ones: np.ndarray,
    masks: np.ndarray,
    mask_counts: np.ndarray,
    queries: np.ndarray,
    threshold: int,
    candidate_limit: int,
    probe_cost: float,
    candidate_cost: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every code within ``threshold`` of each query, found through the substring tables.

    Each query gets its own probe radius per table (:func:`query_cost`): in crowded parts of skewed
    data the radius moves to the tables where the query's neighbourhood is sparse. Table ``k`` is
    probed with every key within its radius of the query's substring; ``masks`` lists flip masks by
    popcount, ``mask_counts[r]`` how many have popcount <= r. A code reached through several tables
    is reported only from the first table that reaches it. A query whose expected cost or actual
    candidates exceed ``candidate_limit`` is abandoned and flagged in ``overflow`` so the caller
    can scan for it instead.

    Each query runs in passes (bucket bounds, candidate ids, verification) whose memory reads do
    not depend on each other, so the processor overlaps their cache misses; the last two also
    prefetch :data:`PREFETCH_AHEAD` reads ahead.

    Returns (query, code id, distance, overflow flags).
    """
    n_tables = positions.shape[0]
    n_words = words.shape[1]
    n = words.shape[0]
    bucket_table = np.empty(1024, dtype=np.int64)
    bucket_lo = np.empty(1024, dtype=np.int64)
    bucket_hi = np.empty(1024, dtype=np.int64)
    candidate_table = np.empty(1024, dtype=np.uint8)
    candidate_id = np.empty(1024, dtype=np.uint32)
    out_query = np.empty(1024, dtype=np.int64)
    out_code = np.empty(1024, dtype=np.int64)
    out_distance = np.empty(1024, dtype=np.int64)
    overflow = np.zeros(queries.shape[0], dtype=np.bool_)
    found = 0
    query_keys = np.empty(n_tables, dtype=np.int64)
    for q in range(queries.shape[0]):
        query = queries[q]
        radii, expected = query_cost(
            positions, ones, query, mask_counts, n, threshold, probe_cost, candidate_cost
        )
        if expected > candidate_limit:
            overflow[q] = True
            continue
        for k in range(n_tables):
            query_keys[k] = substring(query, positions[k])
        # pass 1: bounds of every bucket to read
        probes = 0
        for k in range(n_tables):
            if radii[k] >= 0:
                probes += mask_counts[radii[k]]
        if probes > bucket_lo.shape[0]:
            size = max(probes, 2 * bucket_lo.shape[0])
            bucket_table = np.empty(size, dtype=np.int64)
            bucket_lo = np.empty(size, dtype=np.int64)
            bucket_hi = np.empty(size, dtype=np.int64)
        b = 0
        candidates = 0
        for k in range(n_tables):
            if radii[k] < 0:
                continue
            offsets = table_offsets[k]
            for p in range(mask_counts[radii[k]]):
                key = query_keys[k] ^ np.int64(masks[p])
                lo = np.int64(offsets[key])
                hi = np.int64(offsets[key + 1])
                bucket_table[b] = k
                bucket_lo[b] = lo
                bucket_hi[b] = hi
                candidates += hi - lo
                b += 1
        if candidates > candidate_limit:
            overflow[q] = True
            continue
        # pass 2: the code ids in those buckets
        if candidates > candidate_id.shape[0]:
            size = max(candidates, 2 * candidate_id.shape[0])
            candidate_table = np.empty(size, dtype=np.uint8)
            candidate_id = np.empty(size, dtype=np.uint32)
        c = 0
        for i in range(b):
            if i + PREFETCH_AHEAD < b:
                _prefetch(table_ids[bucket_table[i + PREFETCH_AHEAD]], bucket_lo[i + PREFETCH_AHEAD])
            k = bucket_table[i]
            ids = table_ids[k]
            for j in range(bucket_lo[i], bucket_hi[i]):
                candidate_table[c] = k
                candidate_id[c] = ids[j]
                c += 1
        # pass 3: verify, keeping each code only from the first table that reaches it
        for i in range(c):
            if i + PREFETCH_AHEAD < c:
                _prefetch(words, candidate_id[i + PREFETCH_AHEAD])
            code_id = candidate_id[i]
            code = words[code_id]
            distance = 0
            for w in range(n_words):
                distance += popcount(code[w] ^ query[w])
            if distance > threshold:
                continue
            seen = False
            for earlier in range(candidate_table[i]):
                if radii[earlier] >= 0 and (
                    popcount(np.uint64(substring(code, positions[earlier]) ^ query_keys[earlier]))
                    <= radii[earlier]
                ):
                    seen = True
                    break
            if seen:
                continue
            if found == out_query.shape[0]:
                out_query = _grow(out_query, 2 * found)
                out_code = _grow(out_code, 2 * found)
                out_distance = _grow(out_distance, 2 * found)
            out_query[found] = q
            out_code[found] = code_id
            out_distance[found] = distance
            found += 1
    return out_query[:found], out_code[:found], out_distance[:found], overflow


@njit(inline="always")
def _grow(array: np.ndarray, capacity: int) -> np.ndarray:
    bigger = np.empty(capacity, dtype=array.dtype)
    bigger[: array.shape[0]] = array
    return bigger
