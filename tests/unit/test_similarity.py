"""similarity: exact pair search and grouping without chaining."""

from __future__ import annotations

import numpy as np
import pytest

from mediafix.media import similarity
from mediafix.media.similarity import Group, group_near, hamming_pairs


def brute_force(hashes: np.ndarray, threshold: int) -> np.ndarray:
    rows = []
    values = [int(h) for h in hashes]
    for i, a in enumerate(values):
        for j in range(i + 1, len(values)):
            d = (a ^ values[j]).bit_count()
            if d <= threshold:
                rows.append((i, j, d))
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def random_hashes(n: int, seed: int, planted: int = 0, max_flips: int = 10) -> np.ndarray:
    """Random 64-bit hashes, some of them copies of others with a few bits flipped."""
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, 2**64 - 1, size=n, dtype=np.uint64, endpoint=True)
    for _ in range(planted):
        source, target = rng.integers(0, n, 2)
        value = int(hashes[source])
        for bit in rng.choice(64, int(rng.integers(0, max_flips + 1)), replace=False):
            value ^= 1 << int(bit)
        hashes[target] = value
    return hashes


def flip(value: int, *bits: int) -> int:
    for bit in bits:
        value ^= 1 << int(bit)
    return value


@pytest.mark.parametrize(("n", "threshold"), [(300, 8), (1_500, 4), (5_000, 8), (5_000, 11)])
def test_pairs_match_brute_force(n: int, threshold: int) -> None:
    hashes = random_hashes(n, seed=n + threshold, planted=n // 8)
    expected = brute_force(hashes, threshold) if n <= 1_500 else None
    found = hamming_pairs(hashes, threshold)
    if expected is None:  # large n: compare with the all-against-all path of the module
        expected = similarity._brute_force(hashes, threshold)
        expected = expected[np.lexsort((expected[:, 1], expected[:, 0]))]
    assert found.dtype == np.int64
    assert found.shape[1] == 3
    np.testing.assert_array_equal(found, expected)


def test_multi_index_path_is_used_and_exact() -> None:
    hashes = random_hashes(8_000, seed=7, planted=2_000)
    assert similarity._plan(len(hashes), 8) is not None
    found = hamming_pairs(hashes, 8)
    expected = similarity._brute_force(hashes, 8)
    expected = expected[np.lexsort((expected[:, 1], expected[:, 0]))]
    np.testing.assert_array_equal(found, expected)
    assert len(found) > 500


def test_crowded_buckets_checked_in_slices_find_every_pair(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Low-detail pictures share most hash bits: buckets of dozens, crossed a slice of
    # bucket pairs at a time (issue #20: memory); a tiny slice must not lose or repeat a pair.
    rng = np.random.default_rng(5)
    bases = rng.integers(0, 2**64 - 1, size=40, dtype=np.uint64, endpoint=True)
    hashes = np.array(
        [flip(int(bases[i % 40]), *rng.choice(64, 4, replace=False)) for i in range(6_000)],
        dtype=np.uint64,
    )
    assert similarity._plan(len(hashes), 10) is not None
    expected = similarity._brute_force(hashes, 10)
    expected = expected[np.lexsort((expected[:, 1], expected[:, 0]))]
    monkeypatch.setattr(similarity, "_CROSS_SLICE", 97)
    np.testing.assert_array_equal(hamming_pairs(hashes, 10), expected)
    assert len(expected) > 100_000


def test_exact_duplicates_and_edge_thresholds() -> None:
    hashes = np.array([5, 5, 5, 2**64 - 1, 0], dtype=np.uint64)
    assert hamming_pairs(hashes, 0).tolist() == [[0, 1, 0], [0, 2, 0], [1, 2, 0]]
    assert len(hamming_pairs(hashes, 64)) == 10
    assert len(hamming_pairs(hashes, -1)) == 0
    assert len(hamming_pairs(np.array([], dtype=np.uint64), 8)) == 0


def test_accepts_python_ints_and_int64() -> None:
    values = [2**63 + 1, 2**63 + 3, 7]
    assert hamming_pairs(np.array(values, dtype=np.uint64), 1).tolist() == [[0, 1, 1]]
    as_int64 = np.array(values, dtype=np.uint64).view(np.int64)
    assert hamming_pairs(as_int64, 1).tolist() == [[0, 1, 1]]


def test_no_chaining() -> None:
    a = 0
    b = flip(a, *range(6))  # A-B: 6
    c = flip(b, *range(6, 12))  # B-C: 6, A-C: 12
    hashes = np.array([a, b, c], dtype=np.uint64)
    groups = group_near(hashes, 8, rank=[3.0, 2.0, 1.0])
    assert [(g.keeper, sorted(g.members)) for g in groups] == [(0, [0, 1])]
    # B as keeper takes both A and C: each is within 8 of B itself.
    groups = group_near(hashes, 8, rank=[1.0, 3.0, 2.0])
    assert [(g.keeper, sorted(g.members)) for g in groups] == [(1, [0, 1, 2])]
    assert groups[0].distances == {1: 0, 0: 6, 2: 6}


def test_member_only_joins_a_keeper_within_threshold() -> None:
    keeper = 0
    near = flip(keeper, 0, 1, 2, 3)
    far_from_keeper = flip(near, 10, 11, 12, 13, 14, 15)  # near it, 10 from the keeper
    groups = group_near(
        np.array([keeper, near, far_from_keeper], dtype=np.uint64), 8, rank=[3.0, 2.0, 1.0]
    )
    for group in groups:
        for member in group.members:
            assert group.distances[member] <= 8
    assert sorted(sorted(g.members) for g in groups) == [[0, 1]]


def canonical(groups: list[Group], labels: np.ndarray) -> list[tuple[int, tuple[int, ...]]]:
    """Groups in terms of stable labels, independent of positions."""
    return sorted(
        (int(labels[g.keeper]), tuple(sorted(int(labels[m]) for m in g.members))) for g in groups
    )


@pytest.mark.parametrize("with_rank", [True, False])
def test_result_does_not_depend_on_input_order(with_rank: bool) -> None:
    rng = np.random.default_rng(3)
    bases = rng.integers(0, 2**64 - 1, size=40, dtype=np.uint64, endpoint=True)
    hashes = [int(b) for b in bases]
    for base in bases[:25]:  # clusters whose members are close to several others
        for _ in range(4):
            hashes.append(flip(int(base), *rng.choice(64, int(rng.integers(1, 9)), replace=False)))
    values = np.array(hashes, dtype=np.uint64)
    labels = np.arange(len(values))
    scores = rng.permutation(len(values)).astype(float) if with_rank else None
    reference = canonical(group_near(values, 8, rank=scores), labels)
    assert reference
    for seed in range(5):
        perm = np.random.default_rng(seed).permutation(len(values))
        shuffled_rank = None if scores is None else scores[perm]
        groups = group_near(values[perm], 8, rank=shuffled_rank)
        assert canonical(groups, labels[perm]) == reference


def test_forbidden_pairs_never_share_a_group() -> None:
    a, b, c = 0, flip(0, 1, 2), flip(0, 3, 4)
    hashes = np.array([a, b, c], dtype=np.uint64)
    groups = group_near(hashes, 8, rank=[3.0, 2.0, 1.0], forbidden={frozenset((0, 1))})
    assert [(g.keeper, sorted(g.members)) for g in groups] == [(0, [0, 2])]
    groups = group_near(hashes, 8, rank=[3.0, 2.0, 1.0], forbidden={frozenset((1, 2))})
    assert [(g.keeper, sorted(g.members)) for g in groups] == [(0, [0, 1])]
    groups = group_near(
        hashes, 8, rank=[3.0, 2.0, 1.0], forbidden={frozenset((0, 1)), frozenset((0, 2))}
    )
    assert [(g.keeper, sorted(g.members)) for g in groups] == [(1, [1, 2])]


def test_groups_cover_every_close_pair_to_a_keeper() -> None:
    hashes = random_hashes(3_000, seed=11, planted=600, max_flips=6)
    groups = group_near(hashes, 8)
    seen: set[int] = set()
    for group in groups:
        assert group.members[0] == group.keeper
        assert not seen & set(group.members)
        seen |= set(group.members)
        for member in group.members:
            d = (int(hashes[member]) ^ int(hashes[group.keeper])).bit_count()
            assert group.distances[member] == d <= 8


def test_rank_length_is_checked() -> None:
    with pytest.raises(ValueError, match="rank"):
        group_near(np.array([0, 1], dtype=np.uint64), 8, rank=[1.0])


def test_detail_hashes_confirm_or_veto_pairs() -> None:
    a, b, c = 0, flip(0, 1, 2), flip(0, 3, 4)  # all three within 4 bits
    hashes = np.array([a, b, c], dtype=np.uint64)
    near_detail = 2**256 - 1  # c's detail is 10 bits from a's and b's; b's equals a's
    details: list[int | None] = [
        near_detail,
        near_detail,
        flip(near_detail, *range(250, 256), 0, 1, 2, 3),
    ]
    groups = group_near(hashes, 8, rank=[3.0, 2.0, 1.0], details=details, detail_threshold=8)
    assert [(g.keeper, sorted(g.members)) for g in groups] == [(0, [0, 1])]
    groups = group_near(hashes, 8, rank=[3.0, 2.0, 1.0], details=details, detail_threshold=10)
    assert [(g.keeper, sorted(g.members)) for g in groups] == [(0, [0, 1, 2])]
    # A file without a detail hash (scanned before there were any) is judged as before.
    details[2] = None
    groups = group_near(hashes, 8, rank=[3.0, 2.0, 1.0], details=details, detail_threshold=0)
    assert [(g.keeper, sorted(g.members)) for g in groups] == [(0, [0, 1, 2])]


def test_confirmed_checks_all_256_bits() -> None:
    pairs = np.array([[0, 1, 0], [0, 2, 0], [1, 2, 0], [0, 3, 0]], dtype=np.int64)
    base = int.from_bytes(bytes(range(32)), "big")
    details = [base, base ^ (1 << 255) ^ 1, base ^ (0b111 << 128), None]
    # distances: 0-1: 2 (top and bottom bits), 0-2: 3, 1-2: 5, 0-3: unknown
    assert similarity.confirmed(pairs, details, 2).tolist() == [True, False, False, True]
    assert similarity.confirmed(pairs, details, 3).tolist() == [True, True, False, True]
    assert similarity.confirmed(pairs, details, 5).tolist() == [True, True, True, True]
    with pytest.raises(ValueError, match="details"):
        group_near(np.array([0, 1], dtype=np.uint64), 8, details=[None])
