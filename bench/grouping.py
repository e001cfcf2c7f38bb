"""How fast are near-duplicate pairs and groups found among many 64-bit hashes?

Random hashes stand for a large library (distinct photos are ~32 bits apart); near pairs are
planted with 1..threshold flipped bits. For each size it times
:func:`mediafix.media.similarity.hamming_pairs` (multi-index hashing) and
:func:`~mediafix.media.similarity.group_near` (also with each pair confirmed by 256-bit detail
hashes, as ``regroup`` runs it), checks every planted pair was found, checks the
pairs against an all-against-all numpy reference where that is affordable, and times that
pure-numpy brute force for comparison (extrapolated as n^2 beyond what it can run).

Each search runs ``--repeat`` times; the table shows CPU seconds (user + system of both
search threads: what the work costs on a shared machine) best and median, the best wall
time, and the peak RSS of the process during that step (the kernel's high-water mark,
reset before each step). The load average is printed first: wall times mean little when
other processes share the cores.

Target (issue #20): 1,000,000 hashes grouped at the default threshold 8 in <= 3 s, with
exactly the pairs of brute force.

Before/after: run it once on the code to compare and once on this tree, e.g.
``PYTHONPATH=/path/to/other/src .venv/bin/python bench/grouping.py``; the first line says
which ``similarity.py`` was measured.

Run by hand: ``.venv/bin/python bench/grouping.py [--max-n 1000000] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mediafix.media import similarity
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


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux); False where it cannot."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mb() -> float:
    """Peak RSS since the last reset (VmHWM), or of the whole run where it cannot be reset."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def measure(run: Callable[[], Any], repeat: int) -> tuple[Any, list[float], list[float], float]:
    """``run``'s last result, its CPU and wall seconds per repetition, and the peak RSS."""
    cpu, wall = [], []
    reset_peak_rss()
    result = None
    for _ in range(repeat):
        result = None  # the previous result is not part of this run's memory
        start_cpu, start_wall = cpu_seconds(), time.perf_counter()
        result = run()
        cpu.append(cpu_seconds() - start_cpu)
        wall.append(time.perf_counter() - start_wall)
    return result, cpu, wall, peak_rss_mb()


def row(n: int, threshold: int, method: str, cpu: list[float], wall: list[float]) -> str:
    return (
        f"{n:>9,} {threshold:>4} {method:<28} {min(cpu):>7.2f} {statistics.median(cpu):>7.2f} "
        f"{min(wall):>7.2f}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    print(f"similarity: {similarity.__file__}")
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"load average (1, 5, 15 min): {load} on {os.cpu_count()} cores; repeat {args.repeat}")
    header = (
        f"{'n':>9} {'thr':>4} {'method':<28} {'cpu best':>7} {'cpu med':>7} {'wall':>7} "
        f"{'RSS MB':>7} {'pairs':>9} {'result':>16}"
    )
    print(header)
    print("-" * len(header))
    cases = [(10_000, 8), (100_000, 8), (100_000, 10), (1_000_000, 8)]
    for n, threshold in cases:
        if n > args.max_n:
            continue
        hashes, planted = make_hashes(n, threshold, SEED + n + threshold)
        found, cpu, wall, rss = measure(
            functools.partial(hamming_pairs, hashes, threshold), args.repeat
        )
        print(
            f"{row(n, threshold, 'hamming_pairs (multi-index)', cpu, wall)} {rss:>7.0f} "
            f"{len(found):>9,} {recovered(found, planted):>7,} / {len(planted):<6,}"
        )
        groups, cpu, wall, rss = measure(
            functools.partial(group_near, hashes, threshold), args.repeat
        )
        grouped = sum(len(group.members) for group in groups)
        print(
            f"{row(n, threshold, 'group_near (pairs + groups)', cpu, wall)} {rss:>7.0f} "
            f"{len(groups):>9,} {format(grouped, ',') + ' files':>16}"
        )
        # As regroup runs it: each pair also confirmed by the files' 256-bit detail hashes
        # (random here, the planted copy's equal to its source's, so only chance pairs go).
        details = detail_hashes(n, planted, SEED + n)
        groups, cpu, wall, rss = measure(
            functools.partial(group_near, hashes, threshold, details=details, detail_threshold=56),
            args.repeat,
        )
        grouped = sum(len(group.members) for group in groups)
        print(
            f"{row(n, threshold, 'group_near + detail confirm', cpu, wall)} {rss:>7.0f} "
            f"{len(groups):>9,} {format(grouped, ',') + ' files':>16}"
        )
        del details
        if n <= 10_000:
            reference, cpu, wall, rss = measure(
                functools.partial(numpy_brute_force, hashes, threshold), 1
            )
            same = "identical" if np.array_equal(reference, found) else "DIFFERENT"
            print(
                f"{row(n, threshold, 'numpy brute force', cpu, wall)} {rss:>7.0f} "
                f"{len(reference):>9,} {same:>16}"
            )
    # the reference's cost grows as n^2: time it where it runs, extrapolate the rest
    hashes, _ = make_hashes(20_000, 8, SEED)
    start = cpu_seconds()
    numpy_brute_force(hashes, 8)
    per_pair = (cpu_seconds() - start) / (20_000**2 / 2)
    for n in (100_000, 1_000_000):
        print(
            f"{n:>9,} {8:>4} {'numpy brute force (n^2 est.)':<28} {per_pair * n * n / 2:>7.0f} "
            f"{'-':>7} {'-':>7} {'-':>7} {'-':>9} {'-':>16}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
