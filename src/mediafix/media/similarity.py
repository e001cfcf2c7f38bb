"""Near-duplicate search and grouping over 64-bit perceptual hashes.

Why not a BK-tree or all pairs: a library of a million photos has 5e11 pairs, and a
pure-Python tree walks far too many nodes. :func:`hamming_pairs` finds every pair within
the threshold exactly with *multi-index hashing*: the 64 bits are cut into a few chunks and,
by the pigeonhole principle, two hashes within distance ``t`` agree to within ``r_c`` bits on
at least one chunk ``c`` whenever ``sum(r_c + 1) > t``. Each chunk's values are bucketed
(a dense table), and for every flip pattern of at most ``r_c`` bits the buckets ``k`` and
``k ^ pattern`` are joined with numpy; the few candidates are then checked on all 64 bits.
The chunk count is picked by a cost model (table size vs candidates); small inputs are
simply compared all against all.

:func:`group_near` turns pairs into groups *without chaining*: files are taken best first
(by ``rank``), each one not yet placed becomes a keeper, and a file joins a keeper's group only
if it is within the threshold of that keeper itself (A~B and B~C never pull A and C together
through B). Pairs the user marked "not duplicates" never share a group. The order of the
input does not change the result: ties are broken by the hash value. Given the files' 256-bit
detail hashes, a pair counts only if those agree too (:func:`confirmed`): the 64-bit search
stays fast at a million files, and the second look removes look-alikes such as documents
in one layout.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

__all__ = ["Group", "confirmed", "group_near", "hamming_pairs"]

BITS = 64
# All-against-all is cheaper than building tables below this many hashes.
_BRUTE_FORCE_MAX = 3_000
# Dense bucket tables: at most 2**22 slots (16 MB) per chunk.
_MAX_CHUNK_BITS = 22
# The search runs its numpy loops on this many threads.
_THREADS = 2
# Candidate pairs of crossed buckets checked at once (their index arrays are a few MB).
_CROSS_SLICE = 1 << 17


@dataclass
class Group:
    """One near-duplicate group: every member is within the threshold of the keeper.

    ``members`` are indexes into the input, the keeper first, then the others best first;
    ``distances`` maps each member (keeper included, at 0) to its distance to the keeper.
    """

    members: list[int]
    keeper: int
    distances: dict[int, int] = field(default_factory=dict)


def hamming_pairs(hashes: np.ndarray, threshold: int) -> np.ndarray:
    """Every pair of hashes within ``threshold`` bits: a (k, 3) int64 array [i, j, distance].

    ``i < j``, rows sorted by (i, j). Exact (no pair is missed), in time that grows with the
    number of hashes and of matches, not with the number of all pairs.
    """
    values = _as_uint64(hashes)
    n = len(values)
    if n < 2 or threshold < 0:
        return np.empty((0, 3), dtype=np.int64)
    threshold = min(int(threshold), BITS)
    plan = _plan(n, threshold)
    if plan is None:
        found = _brute_force(values, threshold)
    else:
        found = _multi_index(values, threshold, plan)
    if len(found) == 0:
        return np.empty((0, 3), dtype=np.int64)
    order = np.lexsort((found[:, 1], found[:, 0]))
    return np.ascontiguousarray(found[order])


def group_near(
    hashes: np.ndarray,
    threshold: int,
    rank: Sequence[float] | None = None,
    forbidden: set[frozenset[int]] | None = None,
    details: Sequence[int | None] | None = None,
    detail_threshold: int = 0,
    extra_pairs: np.ndarray | None = None,
) -> list[Group]:
    """Near-duplicate groups (two or more members), best keeper first.

    ``rank[i]`` is how much file ``i`` deserves to be the keeper (higher is better, e.g.
    :func:`mediafix.media.keeper.keeper_ranks`); without it the hash value breaks ties so
    the result still does not depend on input order. ``forbidden`` holds index pairs a
    person said are not duplicates: they never end up in one group. ``details`` are the
    files' detail hashes (see :func:`confirmed`): a pair within ``threshold`` is a match
    only if its detail hashes are within ``detail_threshold`` too, or one of them is None.
    ``extra_pairs`` (rows [i, j, distance]) are matches found otherwise (hard copies
    confirmed on their pixels): they count as pairs within the threshold.
    """
    values = _as_uint64(hashes)
    n = len(values)
    if rank is not None and len(rank) != n:
        raise ValueError(f"rank has {len(rank)} values for {n} hashes")
    pairs = hamming_pairs(values, threshold)
    if details is not None:
        if len(details) != n:
            raise ValueError(f"details has {len(details)} values for {n} hashes")
        pairs = pairs[confirmed(pairs, details, detail_threshold)]
    if extra_pairs is not None and len(extra_pairs):
        extra = np.asarray(extra_pairs, dtype=np.int64).reshape(-1, 3)
        low, high = np.minimum(extra[:, 0], extra[:, 1]), np.maximum(extra[:, 0], extra[:, 1])
        extra = np.stack([low, high, extra[:, 2]], axis=1)
        pairs = np.concatenate([pairs, extra[low != high]])
    if len(pairs) == 0:
        return []
    involved = np.unique(pairs[:, :2])  # only files with a neighbour can be grouped
    scores = None if rank is None else np.asarray(rank, dtype=np.float64)[involved]
    preference = involved[_preference_order(values[involved], scores, involved)]
    position = dict(zip(preference.tolist(), range(len(preference)), strict=True))
    neighbours: dict[int, dict[int, int]] = {}
    for i, j, distance in pairs.tolist():
        neighbours.setdefault(i, {})[j] = distance
        neighbours.setdefault(j, {})[i] = distance
    blocked: dict[int, set[int]] = {}
    for pair in forbidden or ():
        if len(pair) == 2:
            a, b = tuple(pair)
            blocked.setdefault(a, set()).add(b)
            blocked.setdefault(b, set()).add(a)

    placed: set[int] = set()
    groups: list[Group] = []
    for keeper in sorted(neighbours, key=lambda index: position[index]):
        if keeper in placed:
            continue
        placed.add(keeper)
        near = neighbours[keeper]
        candidates = sorted(
            (index for index in near if index not in placed), key=lambda index: position[index]
        )
        members = [keeper]
        excluded = set(blocked.get(keeper, ()))
        for index in candidates:
            if index in excluded:
                continue
            members.append(index)
            excluded |= blocked.get(index, set())
        if len(members) < 2:
            continue
        placed.update(members)
        distances = {keeper: 0} | {index: near[index] for index in members[1:]}
        groups.append(Group(members=members, keeper=keeper, distances=distances))
    return groups


def confirmed(pairs: np.ndarray, details: Sequence[int | None], threshold: int) -> np.ndarray:
    """Which of ``pairs`` (rows [i, j, ...]) the detail hashes confirm: a boolean mask.

    Detail hashes are 256-bit ints; a pair is confirmed when both are within ``threshold``
    bits, and also when either is None (a file hashed before detail hashes existed, or a
    blank one): such a pair is judged on the first hash alone, as it always was.
    """
    keep = np.ones(len(pairs), dtype=bool)
    if len(pairs) == 0:
        return keep
    involved = np.unique(pairs[:, :2])
    known = np.zeros(len(details), dtype=bool)
    words = np.zeros((len(details), 4), dtype=np.uint64)
    for index in involved.tolist():
        value = details[index]
        if value is not None:
            known[index] = True
            words[index] = np.frombuffer(value.to_bytes(32, "big"), dtype=">u8")
    i, j = pairs[:, 0], pairs[:, 1]
    both = known[i] & known[j]
    distance = np.bitwise_count(words[i[both]] ^ words[j[both]]).sum(axis=1)
    keep[both] = distance <= threshold
    return keep


# --------------------------------------------------------------------------- internals


def _as_uint64(hashes: np.ndarray | Sequence[int]) -> np.ndarray:
    array = np.asarray(hashes)
    if array.dtype == np.uint64:
        return array.ravel()
    if array.dtype == np.int64:
        return array.ravel().view(np.uint64)
    if array.dtype == object or array.size == 0:
        return np.array([int(value) & (2**BITS - 1) for value in array.ravel()], dtype=np.uint64)
    return array.ravel().astype(np.uint64)


def _preference_order(
    values: np.ndarray, scores: np.ndarray | None, index: np.ndarray
) -> np.ndarray:
    """Positions best first: score descending, then hash ascending, then index."""
    if scores is None:
        return np.lexsort((index, values))
    return np.lexsort((index, values, -scores))


def _brute_force(values: np.ndarray, threshold: int) -> np.ndarray:
    n = len(values)
    out = []
    block = max(1, 4_000_000 // n)
    for start in range(0, n - 1, block):
        rows = values[start : start + block]
        # each row against every later hash
        diff = np.bitwise_count(rows[:, None] ^ values[None, :])
        row_index, column = np.nonzero(diff <= threshold)
        i = row_index + start
        keep = column > i
        if keep.any():
            i, j = i[keep], column[keep]
            out.append(np.stack([i, j, diff[row_index[keep], j]], axis=1).astype(np.int64))
    return np.concatenate(out) if out else np.empty((0, 3), dtype=np.int64)


def _ball(bits: int, radius: int) -> int:
    return sum(math.comb(bits, k) for k in range(radius + 1))


def _plan(n: int, threshold: int) -> list[tuple[int, int, int]] | None:
    """Chunks (start bit, bits, radius) to search, or None when all-against-all is cheaper."""
    brute = n * (n - 1) / 2 * 0.25
    best: tuple[float, list[tuple[int, int, int]]] | None = None
    for chunks in range(3, 9):
        widths = [BITS // chunks + (1 if c < BITS % chunks else 0) for c in range(chunks)]
        if max(widths) > _MAX_CHUNK_BITS:
            continue
        units = threshold + 1  # sum of (radius + 1) over the searched chunks
        quotas = [units // chunks + (1 if c < units % chunks else 0) for c in range(chunks)]
        plan, start, cost = [], 0, 0.0
        for width, quota in zip(widths, quotas, strict=True):
            if quota > 0:
                radius = quota - 1
                buckets = min(n, 2**width)
                candidates = n * n / 2**width / 2
                cost += _ball(width, radius) * (buckets + 1.5 * candidates)
                plan.append((start, width, radius))
            start += width
        if best is None or cost < best[0]:
            best = (cost, plan)
    if best is None or n <= _BRUTE_FORCE_MAX or best[0] >= brute:
        return None
    return best[1]


def _flip_masks(bits: int, radius: int) -> list[int]:
    """Every pattern of 1..radius set bits among ``bits``."""
    masks = []
    for weight in range(1, radius + 1):
        for positions in combinations(range(bits), weight):
            mask = 0
            for position in positions:
                mask |= 1 << position
            masks.append(mask)
    return masks


def _multi_index(
    values: np.ndarray, threshold: int, plan: list[tuple[int, int, int]]
) -> np.ndarray:
    # One table at a time, each table's matches merged into the ones found so far as
    # (i * n + j, distance) and made unique at once: a pair met in several chunks (or
    # by several flip patterns) is held once, not as one [i, j, distance] row per meeting
    # (20,000 photos' copy keys met 765,000 pairs and took 250 MB as rows).
    n = len(values)
    keys = np.empty(0, dtype=np.int64)
    distances = np.empty(0, dtype=np.int8)
    for start, width, radius in plan:
        table = _ChunkTable(values, start, width)
        masks = [0, *_flip_masks(width, radius)]
        step = max(1, len(masks) // 8)
        jobs = [masks[i : i + step] for i in range(0, len(masks), step)]
        # numpy releases the GIL in its loops, so two threads use two cores.
        with ThreadPoolExecutor(max_workers=_THREADS) as pool:
            parts = [
                (part[:, 0] * n + part[:, 1], part[:, 2].astype(np.int8))
                for part in pool.map(table.search, jobs, [threshold] * len(jobs))
                if len(part)
            ]
        del table
        if not parts:
            continue
        keys = np.concatenate([keys, *(k for k, _ in parts)])
        distances = np.concatenate([distances, *(d for _, d in parts)])
        del parts
        keys, first = np.unique(keys, return_index=True)
        distances = distances[first]
    if not len(keys):
        return np.empty((0, 3), dtype=np.int64)
    return np.stack([keys // n, keys % n, distances.astype(np.int64)], axis=1)


class _ChunkTable:
    """The hashes bucketed by the value of bits [start, start + width)."""

    def __init__(self, values: np.ndarray, start: int, width: int) -> None:
        keys = ((values >> np.uint64(start)) & np.uint64((1 << width) - 1)).astype(np.int32)
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        first = np.ones(len(keys), dtype=bool)
        first[1:] = sorted_keys[1:] != sorted_keys[:-1]
        self.starts = np.flatnonzero(first).astype(np.int64)
        self.counts = np.diff(np.append(self.starts, len(keys)))
        self.keys = sorted_keys[self.starts]
        self.ids = np.arange(len(self.keys), dtype=np.int32)
        self.slot = np.full(1 << width, -1, dtype=np.int32)
        self.slot[self.keys] = self.ids
        self.single = self.counts == 1
        self.order = order
        self.sorted_values = values[order]
        self.first_value = self.sorted_values[self.starts]
        # For a flip pattern whose highest bit is p, only buckets with bit p clear need
        # looking at: their partner has it set, so each bucket pair is met exactly once.
        self._low: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _clear(self, bit: int) -> tuple[np.ndarray, np.ndarray]:
        if bit not in self._low:
            ids = np.flatnonzero((self.keys >> bit) & 1 == 0).astype(np.int32)
            self._low[bit] = (ids, self.keys[ids])
        return self._low[bit]

    def search(self, masks: list[int], threshold: int) -> np.ndarray:
        """Pairs within ``threshold`` whose chunk values differ by one of ``masks``."""
        out: list[np.ndarray] = []
        for mask in masks:
            if mask == 0:  # pairs inside one bucket
                a = np.flatnonzero(~self.single)
                if len(a):
                    out.extend(self._cross_check(a, a, threshold, inside=True))
                continue
            ids, keys = self._clear(mask.bit_length() - 1)
            partner = self.slot[keys ^ np.int32(mask)]
            hits = np.flatnonzero(partner >= 0)
            if not len(hits):
                continue
            a, b = ids[hits], partner[hits]
            simple = self.single[a] & self.single[b]
            sa, sb = a[simple], b[simple]
            distance = np.bitwise_count(self.first_value[sa] ^ self.first_value[sb])
            keep = distance <= threshold
            if keep.any():
                out.append(
                    _rows(
                        self.order[self.starts[sa[keep]]],
                        self.order[self.starts[sb[keep]]],
                        distance[keep],
                    )
                )
            if not simple.all():
                out.extend(self._cross_check(a[~simple], b[~simple], threshold))
        found = [part for part in out if len(part)]
        return np.concatenate(found) if found else np.empty((0, 3), dtype=np.int64)

    def _cross_check(
        self, a: np.ndarray, b: np.ndarray, threshold: int, inside: bool = False
    ) -> list[np.ndarray]:
        """The pairs within ``threshold`` of bucket a[k] x bucket b[k] (``inside``: a == b,
        each pair once), a slice of bucket pairs at a time: the pairs of a slice are at
        most ``_CROSS_SLICE`` (big buckets crossed at once took 90 MB per thread)."""
        sizes = self.counts[a] * self.counts[b]
        ends = np.cumsum(sizes)
        out = []
        lo = 0
        while lo < len(a):
            base = ends[lo] - sizes[lo]
            hi = max(lo + 1, int(np.searchsorted(ends, base + _CROSS_SLICE, side="right")))
            sa, sb = a[lo:hi], b[lo:hi]
            x, y = _cross(self.starts[sa], self.counts[sa], self.starts[sb], self.counts[sb])
            if inside:
                keep = x < y
                x, y = x[keep], y[keep]
            found = self._check(x, y, threshold)
            if len(found):
                out.append(found)
            lo = hi
        return out

    def _check(self, x: np.ndarray, y: np.ndarray, threshold: int) -> np.ndarray:
        distance = np.bitwise_count(self.sorted_values[x] ^ self.sorted_values[y])
        keep = distance <= threshold
        return _rows(self.order[x[keep]], self.order[y[keep]], distance[keep])


def _rows(i: np.ndarray, j: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """[low, high, distance] rows (int64) for index pairs in any order."""
    low, high = np.minimum(i, j), np.maximum(i, j)
    return np.stack([low, high, distance.astype(np.int64)], axis=1).astype(np.int64)


def _cross(
    start_a: np.ndarray, count_a: np.ndarray, start_b: np.ndarray, count_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """All (x, y) with x in bucket a and y in bucket b, for each bucket pair (a, b)."""
    if (count_a == 1).all() and (count_b == 1).all():
        return start_a, start_b
    sizes = count_a * count_b
    which = np.repeat(np.arange(len(sizes)), sizes)
    within = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    width = count_b[which]
    return start_a[which] + within // width, start_b[which] + within % width
