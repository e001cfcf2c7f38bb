"""Near-duplicate search and grouping over 64-bit perceptual hashes.

Why not a BK-tree or all pairs: a library of a million photos has 5e11 pairs, and a
pure-Python tree walks far too many nodes. :func:`hamming_pairs` finds every pair within
the threshold exactly with *multi-index hashing*: the 64 bits are cut into a few chunks and,
by the pigeonhole principle, two hashes within distance ``t`` agree to within ``r_c`` bits on
at least one chunk ``c`` whenever ``sum(r_c + 1) > t``. Each chunk's value is a hash's
*slot* in a dense table that holds 32 other bits of the hash (its *filter*); for every flip
pattern of at most ``r_c`` bits, each hash reads the filter at ``slot ^ pattern`` with one
numpy gather, and only the few whose filters are close enough are checked on all 64 bits
(see :class:`_ChunkTable`). The chunks are picked by a cost model (probes, table size);
small inputs are simply compared all against all.

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

import contextlib
import ctypes
import math
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from itertools import combinations
from typing import Any

import numpy as np

__all__ = [
    "Group",
    "HammingIndex",
    "confirmed",
    "give_back_memory",
    "group_near",
    "hamming_pair_parts",
    "hamming_pairs",
]

BITS = 64
# All-against-all is cheaper than building tables below this many hashes.
_BRUTE_FORCE_MAX = 3_000
# Dense bucket tables: at most 2**22 slots (16 MB) per chunk.
_MAX_CHUNK_BITS = 22
# The search runs its numpy loops on this many threads.
_THREADS = 2
# Probes run over blocks of this many hashes, so each step's arrays stay in the core's cache.
_BLOCK = 16_384
# A bucket's first and second members get dense filter tables; the rest are "deep".
_DENSE_LEVELS = 2
# Pairs handed out (and candidate pairs checked) at most about this many at a time: a crowded
# set of keys (the copy keys of many plain, alike pictures) has tens of millions of pairs,
# which a caller that folds them into fewer rows should never hold all at once.
_PART_ROWS = 1 << 16
# Parts waiting for the caller while the search threads go on.
_PARTS_QUEUED = 4


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
    parts = list(hamming_pair_parts(hashes, threshold))
    if not parts:
        return np.empty((0, 3), dtype=np.int64)
    found = np.concatenate(parts)
    del parts
    order = np.lexsort((found[:, 1], found[:, 0]))
    return np.ascontiguousarray(found[order])


def hamming_pair_parts(hashes: np.ndarray, threshold: int) -> Iterator[np.ndarray]:
    """:func:`hamming_pairs`' rows a part at a time, for a caller that folds them as they come.

    Every pair within ``threshold`` comes exactly once (``i < j``) in one of the parts, each a
    (k, 3) int64 array of at most about ``_PART_ROWS`` rows, in no particular order. Memory
    stays that of the search tables and a few parts however many pairs there are. Leaving
    the loop early stops the search.
    """
    values = _as_uint64(hashes)
    n = len(values)
    if n < 2 or threshold < 0:
        return
    threshold = min(int(threshold), BITS)
    plan = _plan(n, threshold)
    if plan is None:
        yield from _brute_force_parts(values, threshold)
    else:
        yield from _multi_index_parts(values, threshold, plan)


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


def give_back_memory() -> None:
    """Hand the heap the search freed back to the system (glibc only; elsewhere nothing).

    The search's threads allocate in their own malloc arenas, and glibc keeps the blocks
    they free there (below its mmap threshold): without this a search of 800,000 copy keys
    held 25-35 MB it no longer used at each new chunk table, and the rest of a regroup, on
    the main thread, could not reuse them either.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


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
    parts = list(_brute_force_parts(values, threshold))
    return np.concatenate(parts) if parts else np.empty((0, 3), dtype=np.int64)


def _brute_force_parts(values: np.ndarray, threshold: int) -> Iterator[np.ndarray]:
    n = len(values)
    block = max(1, min(4_000_000, 8 * _PART_ROWS) // n)
    for start in range(0, n - 1, block):
        rows = values[start : start + block]
        # each row against every later hash
        diff = np.bitwise_count(rows[:, None] ^ values[None, :])
        row_index, column = np.nonzero(diff <= threshold)
        i = row_index + start
        keep = column > i
        if keep.any():
            i, j = i[keep], column[keep]
            yield np.stack([i, j, diff[row_index[keep], j]], axis=1).astype(np.int64)


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
                cost += _chunk_cost(n, width, radius, threshold)
                plan.append((start, width, radius))
            start += width
        if best is None or cost < best[0]:
            best = (cost, plan)
    if best is None or n <= _BRUTE_FORCE_MAX or best[0] >= brute:
        return None
    return best[1]


def _chunk_cost(n: int, width: int, radius: int, threshold: int) -> float:
    """Rough work of one chunk's search in hash probes (see :class:`_ChunkTable`)."""
    slots = 2**width
    load = n / slots
    first = slots * -math.expm1(-load)  # buckets, i.e. level-0 members
    second = slots * (1 - math.exp(-load) * (1 + load))  # buckets of two or more
    deep = max(0.0, n - first - second)
    # level 0 and 1 from their lower slot, level 1 into level 0, deep into both levels
    probes = first / 2 + second * 1.5 + deep * 2.5
    # pairs of deep members meet through a cross product; filter bits let a few through
    crosses = deep * deep / slots
    passed = probes * _binomial_tail(32, threshold)
    per_mask = probes + 3 * crosses + 5 * passed
    return _ball(width, radius) * per_mask + 4 * n + 2 * slots + width * (first + second)


def _binomial_tail(bits: int, limit: int) -> float:
    """P(at most ``limit`` of ``bits`` random bits differ)."""
    return sum(math.comb(bits, k) for k in range(min(limit, bits) + 1)) / 2**bits


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
    parts = list(_multi_index_parts(values, threshold, plan))
    return np.concatenate(parts) if parts else np.empty((0, 3), dtype=np.int64)


class _Stopped(Exception):
    """The caller left the loop: the search threads end."""


def _multi_index_parts(
    values: np.ndarray, threshold: int, plan: list[tuple[int, int, int]]
) -> Iterator[np.ndarray]:
    """The pairs, each exactly once: a chunk's table hands out a pair only if no earlier
    chunk of the plan is close enough to have found it (see :meth:`_ChunkTable._check`).

    numpy releases the GIL in its loops, so two threads use two cores; they put their parts
    on a short queue that this generator empties, so at most a few parts wait at any time.
    One chunk's tables at a time: they are the memory peak (tens of MB each at a million
    hashes).
    """
    parts: queue.Queue[np.ndarray | BaseException | None] = queue.Queue(_PARTS_QUEUED)
    stop = threading.Event()

    def put(item: np.ndarray | BaseException | None) -> None:
        while not stop.is_set():
            try:
                parts.put(item, timeout=0.05)
                return
            except queue.Full:
                continue
        raise _Stopped

    def run(job: Callable[[], Iterator[np.ndarray]]) -> None:
        try:
            for part in job():
                if len(part):
                    put(part)
            put(None)
        except _Stopped:
            return
        except BaseException as exc:  # handed to the caller's thread
            try:
                put(exc)
            except _Stopped:
                return

    with ThreadPoolExecutor(max_workers=_THREADS) as pool:
        try:
            for number, (start, width, radius) in enumerate(plan):
                give_back_memory()  # the last chunk's search, before this one's table
                table = _ChunkTable(values, start, width, earlier=plan[:number])
                give_back_memory()  # the table's sorting and scattering
                by_top: dict[int, list[int]] = {}
                for mask in _flip_masks(width, radius):
                    by_top.setdefault(mask.bit_length() - 1, []).append(mask)
                jobs = [[0], *(by_top[top] for top in sorted(by_top, reverse=True))]
                for masks in jobs:
                    pool.submit(run, partial(table.search, masks, threshold))
                running = len(jobs)
                while running:
                    item = parts.get()
                    if item is None:
                        running -= 1
                    elif isinstance(item, BaseException):
                        raise item
                    else:
                        yield item
                del table
        finally:
            stop.set()  # threads waiting to put give up; jobs not started are dropped
            pool.shutdown(wait=True, cancel_futures=True)


class _Level:
    """Some of a chunk table's hashes: their slots (chunk values), filter bits and positions."""

    def __init__(self, slots: np.ndarray, filters: np.ndarray, positions: np.ndarray) -> None:
        self.slots = slots
        self.filters = filters
        self.positions = positions

    def half(self, bit: int, width: int) -> _Level:
        """The hashes whose slot has ``bit`` clear (slots are sorted, ``width`` bits)."""
        if width - bit <= 7:  # a high bit: at most 64 runs of sorted slots, copied as slices
            edges = np.searchsorted(self.slots, np.arange(0, (1 << width) + 1, 1 << bit))
            runs = [slice(edges[k], edges[k + 1]) for k in range(0, len(edges) - 1, 2)]
            return _Level(
                np.concatenate([self.slots[run] for run in runs]),
                np.concatenate([self.filters[run] for run in runs]),
                np.concatenate([self.positions[run] for run in runs]),
            )
        keep = np.flatnonzero((self.slots >> bit) & 1 == 0)
        return _Level(self.slots[keep], self.filters[keep], self.positions[keep])

    def probe(
        self, table: np.ndarray, masks: list[int], limits: list[int], buffers: _Buffers
    ) -> Iterator[list[tuple[int, np.ndarray]]]:
        """(mask, positions) of the hashes whose filter bits are within the mask's limit of
        ``table[slot ^ mask]``, a block of hashes at a time.

        Block by block, every mask on one block before the next: the block's slots span a
        few hundred KB of the table, and masks that share their high bits read the same
        part, so the table is read from the core's cache, not from memory, once per mask.
        The buffers are reused: fresh pages for large temporaries cost more than the
        arithmetic. Each block's positions go to the caller before the next block: a level
        of crowded keys (copy keys of alike pictures) passes millions of them in all, which
        held together took tens of MB per search thread.
        """
        for begin in range(0, len(self.slots), _BLOCK):
            size = min(_BLOCK, len(self.slots) - begin)
            slots = self.slots[begin : begin + size]
            filters = self.filters[begin : begin + size]
            index, got = buffers.index[:size], buffers.filter[:size]
            count, near = buffers.count[:size], buffers.near[:size]
            found: list[tuple[int, np.ndarray]] = []
            for mask, limit in zip(masks, limits, strict=True):
                np.bitwise_xor(slots, mask, out=index)
                np.take(table, index, out=got, mode="clip")
                np.bitwise_xor(got, filters, out=got)
                np.bitwise_count(got, out=count)
                np.less_equal(count, limit, out=near)
                hits = np.flatnonzero(near)
                if len(hits):
                    found.append((mask, hits + begin))
            yield found


class _Buffers:
    """Scratch arrays of one search job (one thread)."""

    def __init__(self) -> None:
        self.index = np.empty(_BLOCK, dtype=np.int64)
        self.filter = np.empty(_BLOCK, dtype=np.uint32)
        self.count = np.empty(_BLOCK, dtype=np.uint8)
        self.near = np.empty(_BLOCK, dtype=bool)


class _ChunkTable:
    """The hashes bucketed by the value of bits [start, start + width) (their *slot*).

    A bucket's first member is on level 0, its second on level 1 (``_DENSE_LEVELS``); each
    level has a dense table, indexed by slot, of its members' *filter bits*: the 32 bits of
    the hash that follow the chunk. A pair whose slots differ by ``mask`` is within the
    threshold only if its filter bits are within ``threshold - popcount(mask)``, so one
    gather from a dense table (8-16 MB, read almost in order) tests a hash against its
    partner slot: no bucket lists, no cross products for the common case. The few that
    pass (and any empty slot whose zero filter passes) are checked on all 64 bits. The
    members beyond the dense levels (*deep*: large buckets) probe the dense tables too, and
    each other through the bucket counts.
    """

    def __init__(
        self,
        values: np.ndarray,
        start: int,
        width: int,
        earlier: Sequence[tuple[int, int, int]] = (),
    ) -> None:
        n = len(values)
        # the plan's chunks searched before this one: a pair they find is not handed out again
        self.earlier = list(earlier)
        # Positions and slots (at most _MAX_CHUNK_BITS) in 32 bits below 2**31 hashes: a
        # million hashes' table is ~25 MB lighter, and scatters and gathers are quicker.
        small: type[np.signedinteger[Any]] = np.int32 if n < 2**31 else np.int64
        keys = (values >> np.uint64(start)) & np.uint64((1 << width) - 1)
        if n < 2**32:  # one sort of (key, index) packed in 64 bits: stable, and fast
            packed = np.sort((keys << np.uint64(32)) | np.arange(n, dtype=np.uint64))
            del keys
            sorted_keys = (packed >> np.uint64(32)).astype(np.int32)
            order = (packed & np.uint64(0xFFFFFFFF)).astype(small)
            del packed
        else:
            order = np.argsort(keys, kind="stable")
            sorted_keys = keys[order].astype(np.int32)
            del keys
        first = np.ones(n, dtype=bool)
        first[1:] = sorted_keys[1:] != sorted_keys[:-1]
        starts = np.flatnonzero(first).astype(small)
        del first
        counts = np.diff(np.append(starts, n)).astype(small)
        slots = sorted_keys[starts]
        self.width = width
        self.order = order
        self.sorted_values = values[order]
        # Buckets of two or more, for the pairs inside a bucket (most buckets hold one).
        multi = counts > 1
        self.starts, self.counts = starts[multi], counts[multi]
        del multi
        # Dense by slot: how many hashes have a lower slot, i.e. where the slot's bucket
        # starts in sorted order (and the next slot's, where it ends). One table, not one of
        # starts and one of sizes: 16 MB less at 22 bits.
        self.below = np.zeros((1 << width) + 1, dtype=small)
        self.below[slots + 1] = counts
        np.add.accumulate(self.below, out=self.below)
        del slots
        rank = np.arange(n, dtype=small) - np.repeat(starts, counts)
        shift = (start + width) % BITS
        rotated = self.sorted_values >> np.uint64(shift)
        if shift:
            rotated |= self.sorted_values << np.uint64(BITS - shift)
        filters = (rotated & np.uint64(0xFFFFFFFF)).astype(np.uint32)
        del rotated
        self.levels: list[_Level] = []
        self.tables: list[np.ndarray] = []
        for level in range(min(_DENSE_LEVELS, int(counts.max()))):
            at = np.flatnonzero(rank == level).astype(small)
            table = np.zeros(1 << width, dtype=np.uint32)
            table[sorted_keys[at]] = filters[at]
            self.levels.append(_Level(sorted_keys[at], filters[at], at))
            self.tables.append(table)
        at = np.flatnonzero(rank >= len(self.levels)).astype(small)
        self.deep = _Level(sorted_keys[at], filters[at], at)

    def search(self, masks: list[int], threshold: int) -> Iterator[np.ndarray]:
        """Pairs within ``threshold`` whose slots differ by one of ``masks``, in parts.

        ``masks`` is [0] (pairs inside a bucket) or masks that share their highest bit p:
        a pair of slots (s, s ^ mask) is looked at from the one with bit p clear, so once.
        """
        if masks == [0]:
            yield from self._inside(threshold)
            return
        top = masks[0].bit_length() - 1
        dense = len(self.levels)
        # (source, target level, whether the source is the half with bit p clear): pairs
        # on one level are met from their lower slot; pairs across levels from the higher
        # (sparser) level, whose hashes look at both partner slots.
        sources: list[tuple[_Level, int]] = []
        for level in range(dense):
            sources.append((self.levels[level].half(top, self.width), level))
            sources.extend((self.levels[other], level) for other in range(level + 1, dense))
            if len(self.deep.slots):
                sources.append((self.deep, level))
        deep_half = self.deep.half(top, self.width)
        buffers = _Buffers()
        xs: list[np.ndarray] = []
        ys: list[np.ndarray] = []
        masks = [mask for mask in masks if mask.bit_count() <= threshold]
        limits = [threshold - mask.bit_count() for mask in masks]
        held = 0
        for source, level in sources:
            for block in source.probe(self.tables[level], masks, limits, buffers):
                for mask, hits in block:
                    partner = source.slots[hits] ^ mask
                    start = self.below[partner]
                    # an empty slot's zero filter may pass
                    real = self.below[partner + 1] - start > level
                    xs.append(source.positions[hits[real]])
                    ys.append(start[real].astype(np.int64) + level)
                    held += len(xs[-1])
                if held >= _PART_ROWS:
                    yield self._check(np.concatenate(xs), np.concatenate(ys), threshold)
                    xs, ys, held = [], [], 0
        if xs:
            yield self._check(np.concatenate(xs), np.concatenate(ys), threshold)
        if len(deep_half.slots):  # deep members of both slots: through the counts
            for mask in masks:
                partner = deep_half.slots ^ mask
                start = self.below[partner].astype(np.int64)
                more = self.below[partner + 1] - start - dense
                some = np.flatnonzero(more > 0)
                if len(some):
                    for x, y in _cross_parts(
                        deep_half.positions[some],
                        np.ones(len(some), dtype=np.int64),
                        start[some] + dense,
                        more[some],
                    ):
                        yield self._check(x, y, threshold)

    def _inside(self, threshold: int) -> Iterator[np.ndarray]:
        """Pairs inside one bucket (the same chunk value)."""
        if not len(self.starts):
            return
        for x, y in _cross_parts(self.starts, self.counts, self.starts, self.counts):
            keep = x < y
            yield self._check(x[keep], y[keep], threshold)

    def _check(self, x: np.ndarray, y: np.ndarray, threshold: int) -> np.ndarray:
        """Rows for the pairs of sorted positions (x, y) within ``threshold`` on all 64 bits
        that no earlier chunk of the plan finds: one whose bits differ there by at most its
        radius is that chunk's (its search is exact), so each pair comes once."""
        differ = self.sorted_values[x] ^ self.sorted_values[y]
        distance = np.bitwise_count(differ)
        keep = distance <= threshold
        for start, width, radius in self.earlier:
            chunk = (differ >> np.uint64(start)) & np.uint64((1 << width) - 1)
            keep &= np.bitwise_count(chunk) > radius
        return _rows(self.order[x[keep]], self.order[y[keep]], distance[keep])


def _rows(i: np.ndarray, j: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """[low, high, distance] rows (int64) for index pairs in any order."""
    low, high = np.minimum(i, j), np.maximum(i, j)
    return np.stack([low, high, distance.astype(np.int64)], axis=1).astype(np.int64)


def _cross_parts(
    start_a: np.ndarray, count_a: np.ndarray, start_b: np.ndarray, count_b: np.ndarray
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """:func:`_cross` a few bucket pairs at a time, about ``_PART_ROWS`` pairs each: a bucket
    of thousands (a key shared by many pictures) is cut into runs of its first side's rows."""
    count_a, count_b = count_a.astype(np.int64), count_b.astype(np.int64)
    sizes = count_a * count_b
    if int(sizes.sum()) <= _PART_ROWS:
        yield _cross(start_a, count_a, start_b, count_b)
        return
    big = sizes > _PART_ROWS
    if big.any():  # each big pair -> runs of ``rows`` members of a against all of b
        rows = np.maximum(1, _PART_ROWS // count_b)
        pieces = np.where(big, -(-count_a // rows), 1)
        which = np.repeat(np.arange(len(sizes)), pieces)
        within = np.arange(int(pieces.sum())) - np.repeat(np.cumsum(pieces) - pieces, pieces)
        step = np.where(big, rows, count_a)[which]
        start_a = start_a[which] + within * step
        count_a = np.minimum(step, count_a[which] - within * step)
        start_b, count_b = start_b[which], count_b[which]
        sizes = count_a * count_b
    ends = np.cumsum(sizes)
    begin = 0
    while begin < len(sizes):
        before = ends[begin - 1] if begin else 0
        end = max(begin + 1, int(np.searchsorted(ends, before + _PART_ROWS, side="right")))
        part = slice(begin, end)
        yield _cross(start_a[part], count_a[part], start_b[part], count_b[part])
        begin = end


def _cross(
    start_a: np.ndarray, count_a: np.ndarray, start_b: np.ndarray, count_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """All (x, y) with x in bucket a and y in bucket b, for each bucket pair (a, b)."""
    if (count_a == 1).all() and (count_b == 1).all():
        return start_a, start_b
    count_a, count_b = count_a.astype(np.int64), count_b.astype(np.int64)
    sizes = count_a * count_b
    which = np.repeat(np.arange(len(sizes)), sizes)
    within = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    width = count_b[which]
    return start_a[which] + within // width, start_b[which] + within % width


# A query index cuts the 64 bits into this many chunks of 16 (dense tables of 65,536 slots).
_QUERY_CHUNKS = 4
_QUERY_CHUNK_BITS = BITS // _QUERY_CHUNKS
# Queries looked up together (their buckets' members checked ``_cross_parts`` at a time).
_QUERY_BLOCK = 256


class HammingIndex:
    """Hashes indexed for the question "which of them are within ``threshold`` of these?"
    asked of a few, where :func:`hamming_pairs` answers it for all against all.

    A regroup by parts asks it of the hashes of the rows that changed: a pass over all of
    a library's copy keys per key asked costs milliseconds, thousands of times. Here, by the
    pigeonhole principle again, a hash within ``threshold`` of a query agrees with it to
    within ``r_c`` bits on one of four 16-bit chunks (``sum(r_c + 1) = threshold + 1``);
    each chunk's table lists the hashes by chunk value, so a query looks at the buckets of
    its chunk values with up to ``r_c`` bits flipped (a few hundred) and checks their members
    on all 64 bits. Exact: nothing within the threshold is missed, each match comes once.
    """

    def __init__(self, hashes: np.ndarray | Sequence[int], threshold: int) -> None:
        self.values = _as_uint64(hashes)
        self.threshold = min(max(int(threshold), -1), BITS)
        small: type[np.signedinteger[Any]] = np.int32 if len(self.values) < 2**31 else np.int64
        units = self.threshold + 1
        quotas = [
            units // _QUERY_CHUNKS + (1 if c < units % _QUERY_CHUNKS else 0)
            for c in range(_QUERY_CHUNKS)
        ]
        # per chunk searched: start bit, radius, members by slot (order, bucket start, size)
        # and the flip patterns looked at
        self.chunks: list[tuple[int, int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        for number, quota in enumerate(quotas):
            if quota == 0:
                continue
            start = number * _QUERY_CHUNK_BITS
            slots = self._slots(self.values, start)
            order = np.argsort(slots, kind="stable").astype(small)
            size = np.bincount(slots, minlength=1 << _QUERY_CHUNK_BITS).astype(small)
            first = (np.cumsum(size, dtype=np.int64) - size).astype(small)
            masks = np.array([0, *_flip_masks(_QUERY_CHUNK_BITS, quota - 1)], dtype=np.int64)
            self.chunks.append((start, quota - 1, order, first, size, masks))
        # buckets looked at per query: beyond a share of the hashes (a large threshold, or
        # few hashes), comparing with all of them is cheaper
        looks = sum(len(chunk[-1]) for chunk in self.chunks)
        self.brute = looks * 4 > len(self.values)

    @staticmethod
    def _slots(values: np.ndarray, start: int) -> np.ndarray:
        chunk = (values >> np.uint64(start)) & np.uint64((1 << _QUERY_CHUNK_BITS) - 1)
        return chunk.astype(np.int64)

    def within(self, queries: np.ndarray | Sequence[int]) -> np.ndarray:
        """Rows [query, hash, distance] (int64) for every query and indexed hash within the
        threshold, each pair once, in no particular order."""
        asked = _as_uint64(queries)
        found: list[np.ndarray] = [np.empty((0, 3), dtype=np.int64)]
        if self.threshold < 0 or not len(self.values):
            return found[0]
        for begin in range(0, len(asked), _QUERY_BLOCK):
            block = asked[begin : begin + _QUERY_BLOCK]
            if self.brute:
                step = max(1, (1 << 20) // len(self.values))  # ~a million at a time
                for at in range(0, len(block), step):
                    distance = np.bitwise_count(block[at : at + step, None] ^ self.values[None, :])
                    which, member = np.nonzero(distance <= self.threshold)
                    found.append(
                        np.stack(
                            [which + begin + at, member, distance[which, member].astype(np.int64)],
                            axis=1,
                        )
                    )
                continue
            for number, (start, _radius, order, first, size, masks) in enumerate(self.chunks):
                probes = (self._slots(block, start)[:, None] ^ masks[None, :]).ravel()
                asker = np.arange(len(block)).repeat(len(masks))
                full = size[probes] > 0
                probes, asker = probes[full], asker[full]
                # each query against the members of its probed buckets, a part at a time
                # (crowded buckets of alike pictures' keys hold thousands)
                for query, spot in _cross_parts(
                    asker,
                    np.ones(len(probes), dtype=np.int64),
                    first[probes].astype(np.int64),
                    size[probes].astype(np.int64),
                ):
                    member = order[spot].astype(np.int64)
                    differ = block[query] ^ self.values[member]
                    distance = np.bitwise_count(differ).astype(np.int64)
                    keep = distance <= self.threshold
                    # a pair an earlier chunk finds (its bits there within that chunk's
                    # radius) is that chunk's: each comes once
                    for start_before, radius_before, *_ in self.chunks[:number]:
                        keep &= np.bitwise_count(self._slots(differ, start_before)) > radius_before
                    found.append(
                        np.stack([query[keep] + begin, member[keep], distance[keep]], axis=1)
                    )
        return np.concatenate(found)
