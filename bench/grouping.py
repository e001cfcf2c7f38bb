"""How fast are near-duplicate pairs and groups found among many 64-bit hashes?

Random hashes stand for a large library (distinct photos are ~32 bits apart); near pairs are
planted with 1..threshold flipped bits. For each size it times
:func:`mediafix.media.similarity.hamming_pairs` (multi-index hashing) and
:func:`~mediafix.media.similarity.group_near` (also with each pair confirmed by 256-bit detail
hashes, as ``regroup`` runs it), checks every planted pair was found, checks the
pairs against an all-against-all numpy reference where that is affordable, and times that
pure-numpy brute force for comparison (extrapolated as n^2 beyond what it can run).

Targets on this 2-core machine: 100,000 hashes in <= 1 s and 1,000,000 in <= 10 s at
threshold >= 8.

Run by hand: ``.venv/bin/python bench/grouping.py [--max-n 1000000]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import numpy as np

from mediafix.media.similarity import group_near, hamming_pairs

SEED = 20260202


def make_hashes(n: int, threshold: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random hashes of which n/1000 (at least 10) are planted near copies of others."""
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, 2**64 - 1, size=n, dtype=np.uint64, endpoint=True)
    planted = max(10, n // 1000)
    positions = rng.choice(n, size=2 * planted, replace=False)
    sources, targets = positions[:planted], positions[planted:]
    for source, target in zip(sources, targets, strict=True):
        value = int(hashes[source])
        for bit in rng.choice(64, size=int(rng.integers(1, threshold + 1)), replace=False):
            value ^= 1 << int(bit)
        hashes[target] = value
    pairs = np.sort(np.stack([sources, targets], axis=1), axis=1)
    return hashes, pairs


def detail_hashes(n: int, planted: np.ndarray, seed: int) -> list[int | None]:
    rng = np.random.default_rng(seed)
    words = rng.integers(0, 2**64 - 1, size=(n, 4), dtype=np.uint64, endpoint=True)
    values: list[int | None] = [int.from_bytes(row.astype(">u8").tobytes(), "big") for row in words]
    for source, target in planted.tolist():
        values[target] = values[source]
    return values


def numpy_brute_force(hashes: np.ndarray, threshold: int) -> np.ndarray:
    """All-against-all with numpy broadcasting, in blocks of rows: the reference."""
    n = len(hashes)
    out = []
    block = max(1, 8_000_000 // n)
    for start in range(0, n, block):
        rows = hashes[start : start + block]
        distance = np.bitwise_count(rows[:, None] ^ hashes[None, :])
        r, c = np.nonzero(distance <= threshold)
        i = r + start
        keep = c > i
        out.append(np.stack([i[keep], c[keep], distance[r[keep], c[keep]]], axis=1))
    found = np.concatenate(out).astype(np.int64)
    return found[np.lexsort((found[:, 1], found[:, 0]))]


def recovered(found: np.ndarray, planted: np.ndarray) -> int:
    have = {(int(i), int(j)) for i, j in found[:, :2]}
    return sum((int(i), int(j)) in have for i, j in planted)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-n", type=int, default=1_000_000)
    args = parser.parse_args(argv)

    header = f"{'n':>9} {'thr':>4} {'method':<28} {'seconds':>8} {'pairs':>8} {'planted found':>14}"
    print(header)
    print("-" * len(header))
    cases = [(10_000, 8), (100_000, 8), (100_000, 10), (1_000_000, 8)]
    for n, threshold in cases:
        if n > args.max_n:
            continue
        hashes, planted = make_hashes(n, threshold, SEED + n + threshold)
        start = time.perf_counter()
        found = hamming_pairs(hashes, threshold)
        seconds = time.perf_counter() - start
        print(
            f"{n:>9,} {threshold:>4} {'hamming_pairs (multi-index)':<28} {seconds:>8.2f} "
            f"{len(found):>8,} {recovered(found, planted):>6,} / {len(planted):<6,}"
        )
        start = time.perf_counter()
        groups = group_near(hashes, threshold)
        seconds = time.perf_counter() - start
        grouped = sum(len(group.members) for group in groups)
        print(
            f"{n:>9,} {threshold:>4} {'group_near (pairs + groups)':<28} {seconds:>8.2f} "
            f"{len(groups):>8,} {'groups, ' + format(grouped, ',') + ' files':>14}"
        )
        # As regroup runs it: each pair also confirmed by the files' 256-bit detail hashes
        # (random here, the planted copy's equal to its source's, so only chance pairs go).
        details = detail_hashes(n, planted, SEED + n)
        start = time.perf_counter()
        groups = group_near(hashes, threshold, details=details, detail_threshold=56)
        seconds = time.perf_counter() - start
        grouped = sum(len(group.members) for group in groups)
        print(
            f"{n:>9,} {threshold:>4} {'group_near + detail confirm':<28} {seconds:>8.2f} "
            f"{len(groups):>8,} {'groups, ' + format(grouped, ',') + ' files':>14}"
        )
        if n <= 10_000:
            start = time.perf_counter()
            reference = numpy_brute_force(hashes, threshold)
            seconds = time.perf_counter() - start
            same = "identical" if np.array_equal(reference, found) else "DIFFERENT"
            print(
                f"{n:>9,} {threshold:>4} {'numpy brute force':<28} {seconds:>8.2f} "
                f"{len(reference):>8,} {same:>14}"
            )
    # the reference's cost grows as n^2: time it where it runs, extrapolate the rest
    hashes, _ = make_hashes(20_000, 8, SEED)
    start = time.perf_counter()
    numpy_brute_force(hashes, 8)
    per_pair = (time.perf_counter() - start) / (20_000**2 / 2)
    for n in (100_000, 1_000_000):
        print(
            f"{n:>9,} {8:>4} {'numpy brute force (n^2 est.)':<28} {per_pair * n * n / 2:>8.0f} "
            f"{'-':>8} {'-':>14}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
