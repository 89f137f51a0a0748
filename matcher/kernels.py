"""Compiled loops of multi-index hashing (numba, released GIL).

Codes are rows of 64-bit words; bit ``i`` of a code is bit ``i % 64`` of word ``i // 64``. A
substring is ``width`` consecutive bits starting at a bit offset, used as a table key.
"""

# numba types these loops itself; mypy reads them as plain NumPy code, where integer widths differ.
# mypy: disable-error-code="assignment, call-arg, no-any-return"

import numpy as np
from numba import njit, types
from numba.extending import intrinsic


@intrinsic
def _ctpop(typingctx, value):  # type: ignore[no-untyped-def]
    signature = types.uint64(types.uint64)

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        return builder.ctpop(args[0])

    return signature, codegen


@njit(inline="always")
def popcount(value: np.uint64) -> np.int64:
    return np.int64(_ctpop(np.uint64(value)))


@njit(inline="always")
def substring(words: np.ndarray, start: int, width: int) -> np.uint64:
    """``width`` (<= 32) bits of a code from bit ``start``."""
    word = start >> 6
    shift = start & 63
    value = words[word] >> np.uint64(shift)
    if shift + width > 64:
        value |= words[word + 1] << np.uint64(64 - shift)
    return value & np.uint64((1 << width) - 1)


@njit(nogil=True, cache=True)
def build_table(words: np.ndarray, start: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Counting sort of all codes by one substring: bucket offsets and the code ids in bucket order."""
    n = words.shape[0]
    offsets = np.zeros((1 << width) + 1, dtype=np.uint32)
    keys = np.empty(n, dtype=np.uint32)
    for i in range(n):
        key = np.int64(substring(words[i], start, width))
        keys[i] = key
        offsets[key + 1] += 1
    for key in range(1 << width):
        offsets[key + 1] += offsets[key]
    fill = offsets[:-1].copy()
    ids = np.empty(n, dtype=np.uint32)
    for i in range(n):
        key = keys[i]
        ids[fill[key]] = i
        fill[key] += 1
    return offsets, ids


@njit(nogil=True, cache=True)
def search_tables(
    words: np.ndarray,
    table_offsets: np.ndarray,
    table_ids: np.ndarray,
    starts: np.ndarray,
    width: int,
    radii: np.ndarray,
    masks: np.ndarray,
    mask_counts: np.ndarray,
    queries: np.ndarray,
    threshold: int,
    candidate_limit: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every code within ``threshold`` of each query, found through the substring tables.

    Table ``k`` is probed with every key within ``radii[k]`` of the query's substring (negative:
    not probed); ``masks`` lists flip masks by popcount, ``mask_counts[r]`` how many have popcount
    <= r. A code reached through several tables is reported only from the first table that reaches
    it. A query whose candidates exceed ``candidate_limit`` is abandoned and flagged in
    ``overflow`` so the caller can scan for it instead.

    Each query runs in passes (bucket bounds, candidate ids, verification) whose memory reads do
    not depend on each other, so the processor overlaps their cache misses.

    Returns (query, code id, distance, overflow flags).
    """
    n_tables = starts.shape[0]
    n_words = words.shape[1]
    probes = 0
    for k in range(n_tables):
        if radii[k] >= 0:
            probes += mask_counts[radii[k]]
    bucket_table = np.empty(probes, dtype=np.int64)
    bucket_lo = np.empty(probes, dtype=np.int64)
    bucket_hi = np.empty(probes, dtype=np.int64)
    candidate_table = np.empty(1024, dtype=np.int64)
    candidate_id = np.empty(1024, dtype=np.int64)
    out_query = np.empty(1024, dtype=np.int64)
    out_code = np.empty(1024, dtype=np.int64)
    out_distance = np.empty(1024, dtype=np.int64)
    overflow = np.zeros(queries.shape[0], dtype=np.bool_)
    found = 0
    query_keys = np.empty(n_tables, dtype=np.int64)
    for q in range(queries.shape[0]):
        query = queries[q]
        for k in range(n_tables):
            query_keys[k] = np.int64(substring(query, starts[k], width))
        # pass 1: bounds of every bucket to read
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
            candidate_table = np.empty(size, dtype=np.int64)
            candidate_id = np.empty(size, dtype=np.int64)
        c = 0
        for i in range(b):
            k = bucket_table[i]
            ids = table_ids[k]
            for j in range(bucket_lo[i], bucket_hi[i]):
                candidate_table[c] = k
                candidate_id[c] = ids[j]
                c += 1
        # pass 3: verify, keeping each code only from the first table that reaches it
        if found + c > out_query.shape[0]:
            size = max(found + c, 2 * out_query.shape[0])
            out_query = _grow(out_query, size)
            out_code = _grow(out_code, size)
            out_distance = _grow(out_distance, size)
        for i in range(c):
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
                    popcount(substring(code, starts[earlier], width) ^ np.uint64(query_keys[earlier]))
                    <= radii[earlier]
                ):
                    seen = True
                    break
            if seen:
                continue
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
