"""services.copies: the hard-copy candidates folded from parts of the key search are
exactly those of a straightforward all-against-all computation, crowded keys included."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from mediafix.media import fingerprint, similarity
from mediafix.services import copies
from mediafix.services.copies import _candidates, copy_threshold, parse_copy_keys


@dataclass
class Row:
    copy_keys: str
    sha256: str = ""
    path: str = ""
    root: str = ""
    size: int | None = None
    mtime: float | None = None


def flipped(rng: np.random.Generator, value: int, most: int) -> int:
    for bit in rng.choice(64, int(rng.integers(0, most + 1)), replace=False):
        value ^= 1 << int(bit)
    return value


def library(n: int, seed: int, crowd: int) -> tuple[list[Row], np.ndarray, list[int | None]]:
    """``n`` files: random first hashes and copy keys, some files copies of others (keys a
    few bits off), and ``crowd`` files whose central keys sit near one value (plain,
    alike pictures: a key shared by or near thousands of files in a real library)."""
    rng = np.random.default_rng(seed)
    first = rng.integers(0, 2**64 - 1, size=n, dtype=np.uint64, endpoint=True)
    crowded = int(rng.integers(0, 2**63))
    keys: list[dict[str, int]] = []
    for index in range(n):
        base = int(first[index])
        mine = {}
        for name in fingerprint.COPY_KEYS:
            if rng.random() < 0.15:
                continue  # a key a file lacks (no bars to trim, ...)
            mine[name] = flipped(rng, base, 14) if name != "m" else int(rng.integers(0, 2**63))
        if index < crowd:
            mine["c"] = flipped(rng, crowded, 6)
            mine["p"] = flipped(rng, crowded, 12)
        keys.append(mine)
    for _ in range(n // 5):  # copies: another file's keys (any of them) a few bits off
        source, target = (int(x) for x in rng.integers(0, n, 2))
        if source != target and keys[source]:
            name = list(keys[source])[int(rng.integers(0, len(keys[source])))]
            keys[target][str(rng.choice(fingerprint.COPY_KEYS))] = flipped(
                rng, keys[source][name], 8
            )
            if rng.random() < 0.3:  # the first hash matches too
                first[target] = flipped(rng, int(first[source]), 6)
    rows = [
        Row(" ".join(f"{k}:{v:016x}" for k, v in mine.items()), sha256=f"{i:064x}")
        for i, mine in enumerate(keys)
    ]
    details: list[int | None] = [
        None if rng.random() < 0.3 else int(rng.integers(0, 2**63)) << 192 for _ in range(n)
    ]
    for index in range(0, n, 7):  # some detail hashes that agree with a neighbour's
        if details[index] is not None and index + 1 < n:
            details[index + 1] = details[index] ^ 0xFF
    return rows, first, details


def reference(
    rows: list[Row], first: np.ndarray, details: list[int | None], threshold: int
) -> np.ndarray:
    """All keys against all keys, then the rules of a candidate one at a time."""
    values, owners, kinds = [int(h) for h in first], list(range(len(rows))), [0] * len(rows)
    for index, row in enumerate(rows):
        for code, value in parse_copy_keys(row.copy_keys):
            values.append(value)
            owners.append(index)
            kinds.append(code)
    keys = np.array(values, dtype=np.uint64)
    distance = np.bitwise_count(keys[:, None] ^ keys[None, :])
    limit = copy_threshold(threshold)
    best: dict[tuple[int, int], int] = {}
    for x, y in zip(*np.nonzero(distance <= limit), strict=True):
        a, b = owners[x], owners[y]
        if x >= y or a == b or (kinds[x] == 0 and kinds[y] == 0):
            continue
        pair = (min(a, b), max(a, b))
        best[pair] = min(best.get(pair, 64), int(distance[x, y]))
    out = []
    for (a, b), d in sorted(best.items()):
        plain = (int(first[a]) ^ int(first[b])).bit_count() <= threshold
        da, db = details[a], details[b]
        if plain and da is not None and db is not None:
            plain = (da ^ db).bit_count() <= fingerprint.DETAIL_THRESHOLD
        if not plain:
            out.append((a, b, d))
    return np.array(out, dtype=np.int64).reshape(-1, 3)


@pytest.mark.parametrize(
    ("n", "crowd", "threshold", "small_parts"),
    [
        (150, 0, 8, False),  # few keys: the all-against-all path of the search
        (700, 0, 8, False),  # the multi-index path
        (700, 300, 8, False),  # a crowded key
        (700, 300, 8, True),  # ... handed out and folded in many small parts
        (700, 500, 12, True),  # a person's looser threshold
    ],
)
def test_candidates_equal_an_all_against_all_computation(
    monkeypatch: pytest.MonkeyPatch, n: int, crowd: int, threshold: int, small_parts: bool
) -> None:
    rows, first, details = library(n, seed=n + crowd + threshold, crowd=crowd)
    if small_parts:
        monkeypatch.setattr(similarity, "_PART_ROWS", 700)
        monkeypatch.setattr(copies, "_FOLD_ROWS", 900)
    expected = reference(rows, first, details, threshold)
    found = _candidates(rows, first, details, threshold)
    np.testing.assert_array_equal(found.rows(), expected)
    assert len(expected) > (2_000 if crowd else n // 10)
    assert found.packed.dtype == np.int64  # one int64 per pair of files


def test_no_copy_keys_no_candidates() -> None:
    rows = [Row(""), Row("")]
    found = _candidates(rows, np.array([1, 2], dtype=np.uint64), [None, None], 8)
    assert len(found) == 0
    assert found.rows().shape == (0, 3)


@pytest.mark.parametrize("budget", [0, 1, 37, 400, 1_000, 5_000])
def test_the_closest_new_candidates_are_those_a_sort_by_distance_picks(budget: int) -> None:
    rng = np.random.default_rng(budget)
    number = np.unique(rng.integers(0, 10**9, 3_000))
    candidates = copies.Candidates(number << 7 | rng.integers(0, 65, len(number)), 10**5)
    known = rng.random(len(number)) < 0.3
    new = np.flatnonzero(~known)
    order = np.argsort(candidates.distance[new], kind="stable")  # the closest, then in order
    checked, total = copies._closest_new(candidates, known, 0, budget)
    assert checked.tolist() == new[order[:budget]].tolist()  # in that order
    assert total == len(new)
    # the next ones, as the regroups by parts get them to check
    later, _total = copies._closest_new(candidates, known, budget, budget + 250)
    assert later.tolist() == new[order[budget : budget + 250]].tolist()


def test_candidates_let_go_leave_none() -> None:
    found = copies.Candidates.of(np.array([0, 3]), np.array([2, 1]), np.array([5, 9]), 4)
    assert found.rows().tolist() == [[0, 2, 5], [1, 3, 9]]
    found.release()
    assert len(found) == 0 and found.rows().shape == (0, 3)
