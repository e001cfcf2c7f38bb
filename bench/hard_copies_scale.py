"""Does hard-copy finding scale? Candidate and confirmed pairs, and CPU, at 100,000 photos.

The library: the real files of ``hard_copies.py``'s set (photos, their copies of every kind,
the hard negatives; built with ``--keep DIR`` there, or here) plus synthetic photos up to
``--n`` (default 100,000) whose keys are made like real ones: a random first hash, copy keys
a few bits from it (a picture's windows and its centre are alike) and an unrelated mirror key.
It runs the candidate search exactly as ``regroup`` does (``services.copies._candidates``:
every key in one multi-index search), confirms a sample of the candidates among real files
with ``media.copycheck`` (their pixels exist) and prints: keys searched, search seconds, candidate
pairs (real, synthetic), confirmed pairs, CPU seconds of the confirmation, and the CPU the
whole library's candidates would take at the measured cost per pair.

Run by hand: ``.venv/bin/python bench/hard_copies_scale.py --keep /tmp/hc_set30 [--n 100000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import hard_copies as hc
from mediafix.media import fingerprint
from mediafix.services.copies import _candidates

SEED = 20261206


@dataclass
class Row:
    """What the candidate search reads of a file row."""

    copy_keys: str
    sha256: str
    path: str


def synthetic(n: int, rng: np.random.Generator) -> tuple[np.ndarray, list[Row]]:
    first = rng.integers(0, 2**64 - 1, size=n, dtype=np.uint64, endpoint=True)
    rows = []
    for index, value in enumerate(first.tolist()):
        keys = []
        for name in fingerprint.COPY_KEYS:
            if name == "t":
                continue  # most photos have no bars
            if name == "m":
                key = int(rng.integers(0, 2**63)) * 2 + int(rng.integers(0, 2))
            else:
                key = value
                for bit in rng.choice(64, size=int(rng.integers(6, 20)), replace=False):
                    key ^= 1 << int(bit)
            keys.append(f"{name}:{key:016x}")
        rows.append(Row(" ".join(keys), f"s{index}", ""))
    return first, rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, required=True, help="hard_copies.py --keep DIR")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--sample", type=int, default=400, help="real candidates checked to time a pair (0: all)"
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    listing = args.keep / "items.json"
    if not listing.exists():
        print(f"build the set first: bench/hard_copies.py --keep {args.keep}")
        return 2
    items = [hc.Item(**row) for row in json.loads(listing.read_text())]
    with ProcessPoolExecutor(args.workers) as pool:
        hashed = list(pool.map(hc.hash_file, [i.path for i in items], chunksize=8))
    real_first = np.array([h[0] for h in hashed], dtype=np.uint64)
    real_rows = [
        Row(" ".join(f"{k}:{v:016x}" for k, v in h[2].items()), f"r{n}", item.path)
        for n, (h, item) in enumerate(zip(hashed, items, strict=True))
    ]
    fake_first, fake_rows = synthetic(max(0, args.n - len(items)), np.random.default_rng(SEED))
    first = np.concatenate([real_first, fake_first])
    rows = real_rows + fake_rows
    details = [h[1] for h in hashed] + [None] * len(fake_rows)
    keys = len(rows) + sum(len(r.copy_keys.split()) for r in rows)
    began = time.perf_counter()
    cpu = time.process_time()
    found = _candidates(rows, first, details, fingerprint.DEFAULT_THRESHOLD)  # type: ignore[arg-type]
    search = time.perf_counter() - began
    search_cpu = time.process_time() - cpu
    candidates = found.rows()
    real = candidates[(candidates[:, 0] < len(items)) & (candidates[:, 1] < len(items))]
    chosen = real
    if args.sample and len(real) > args.sample:
        rng = np.random.default_rng(SEED)
        chosen = real[np.sort(rng.choice(len(real), args.sample, replace=False))]
    pairs = [(items[i].path, items[j].path) for i, j, _ in chosen.tolist()]
    with ProcessPoolExecutor(args.workers) as pool:
        checks = list(pool.map(hc.check_pair, pairs, chunksize=8))
    check_cpu = sum(c[2] for c in checks)
    per_pair = check_cpu / max(1, len(checks))
    confirmed = sum(c[0] for c in checks)
    print(
        f"library: {len(rows):,} photos ({len(items):,} real files of the hard-copy set, "
        f"{len(fake_rows):,} synthetic); {keys:,} keys searched"
    )
    print(f"candidate search: {search:.2f} s wall, {search_cpu:.2f} s CPU")
    print(
        f"candidate pairs: {len(candidates):,} ({len(real):,} among real files, "
        f"{len(candidates) - len(real):,} touching synthetic ones)"
    )
    print(
        f"confirmed: {confirmed:,} of {len(chosen):,} real candidates checked; CPU "
        f"{check_cpu:.1f} s ({1000 * per_pair:.0f} ms per pair)"
    )
    print(
        f"hard-copy stage at this size: {search_cpu + per_pair * len(candidates):.0f} s CPU "
        "(search + every candidate at the measured cost per pair; target <= 600 s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
