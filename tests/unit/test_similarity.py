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


def clustered_hashes(n: int, seed: int, sources: int, flips: int) -> np.ndarray:
    """Hashes drawn from a few sources, each with up to ``flips`` bits flipped: large
    buckets in every chunk (deep members), many exact duplicates and chains of near pairs."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 2**64 - 1, size=sources, dtype=np.uint64, endpoint=True)
    hashes = base[rng.integers(0, sources, size=n)]
    for _ in range(flips):
        flipped = rng.random(n) < 0.5
        bits = rng.integers(0, 64, size=int(flipped.sum())).astype(np.uint64)
        hashes[flipped] ^= np.uint64(1) << bits
    return hashes


def sorted_reference(hashes: np.ndarray, threshold: int) -> np.ndarray:
    expected = similarity._brute_force(similarity._as_uint64(hashes), threshold)
    return expected[np.lexsort((expected[:, 1], expected[:, 0]))]


@pytest.mark.parametrize(
    ("n", "sources", "flips", "threshold"),
    [
        (6_000, 60, 3, 8),  # clusters of ~100: deep buckets on every chunk
        (6_000, 300, 5, 10),  # the copy keys' threshold
        (6_000, 6_000, 0, 8),  # plain random hashes with repeats
        (6_000, 40, 2, 4),
        (6_000, 200, 6, 12),
    ],
)
def test_multi_index_matches_brute_force_on_clustered_hashes(
    n: int, sources: int, flips: int, threshold: int
) -> None:
    hashes = clustered_hashes(n, seed=n + sources + threshold, sources=sources, flips=flips)
    assert similarity._plan(n, threshold) is not None
    np.testing.assert_array_equal(
        hamming_pairs(hashes, threshold), sorted_reference(hashes, threshold)
    )


@pytest.mark.parametrize("threshold", [0, 1, 2, 7, 8, 9])
def test_pairs_exactly_at_the_threshold_are_kept_and_one_more_bit_is_not(threshold: int) -> None:
    rng = np.random.default_rng(threshold)
    hashes = rng.integers(0, 2**64 - 1, size=8_000, dtype=np.uint64, endpoint=True)
    for k in range(0, 2_000, 2):  # planted pairs at threshold and threshold + 1 bits
        bits = rng.choice(64, threshold + (k // 2) % 2, replace=False)
        hashes[k + 1] = flip(int(hashes[k]), *bits)
    found = hamming_pairs(hashes, threshold)
    np.testing.assert_array_equal(found, sorted_reference(hashes, threshold))
    planted = {(k, k + 1) for k in range(0, 2_000, 4)}
    assert planted <= {(int(i), int(j)) for i, j, _ in found}
    assert not {(k, k + 1) for k in range(2, 2_000, 4)} & {(int(i), int(j)) for i, j, _ in found}


@pytest.mark.parametrize(
    "plan",
    [
        [(0, 22, 2), (22, 21, 2), (43, 21, 2)],  # what a million hashes get at threshold 8
        [(0, 22, 3), (22, 21, 3), (43, 21, 2)],  # ... and at the copy keys' threshold 10
        [(0, 8, 2), (8, 8, 2), (16, 8, 2), (24, 8, 2)],  # crowded slots: many deep members
    ],
)
def test_every_plan_shape_is_exact(plan: list[tuple[int, int, int]]) -> None:
    """Any chunks whose radii add up past the threshold find every pair (pigeonhole)."""
    threshold = sum(radius + 1 for _start, _width, radius in plan) - 1
    hashes = np.concatenate(
        [
            random_hashes(3_000, seed=threshold, planted=600, max_flips=threshold),
            clustered_hashes(3_000, seed=threshold, sources=100, flips=4),
        ]
    )
    found = similarity._multi_index(hashes, threshold, plan)
    found = found[np.lexsort((found[:, 1], found[:, 0]))]
    np.testing.assert_array_equal(found, sorted_reference(hashes, threshold))


@pytest.mark.parametrize("threshold", [4, 8])
def test_groups_equal_those_built_from_brute_force_pairs(threshold: int) -> None:
    """group_near's groups are the ones its pairs would give if found all against all."""
    hashes = clustered_hashes(6_000, seed=threshold, sources=400, flips=4)
    rank = np.random.default_rng(1).random(len(hashes)).tolist()
    reference = sorted_reference(hashes, threshold)
    # threshold -1 finds no pair itself: the groups come from the brute-force pairs alone
    expected = group_near(hashes, -1, rank=rank, extra_pairs=reference)
    got = group_near(hashes, threshold, rank=rank)
    assert len(got) > 50
    assert [(g.keeper, g.members, g.distances) for g in got] == [
        (g.keeper, g.members, g.distances) for g in expected
    ]


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


def test_parts_hold_every_pair_once_and_stay_small(monkeypatch: pytest.MonkeyPatch) -> None:
    """A crowded set (a value shared by a thousand hashes, clusters around others) comes
    in parts of about ``_PART_ROWS`` pairs, each pair in exactly one part."""
    monkeypatch.setattr(similarity, "_PART_ROWS", 2_000)
    hashes = np.concatenate(
        [
            np.full(1_000, 0x0123456789ABCDEF, dtype=np.uint64),
            clustered_hashes(5_000, seed=3, sources=50, flips=3),
            random_hashes(2_000, seed=4, planted=400),
        ]
    )
    assert similarity._plan(len(hashes), 10) is not None
    parts = list(similarity.hamming_pair_parts(hashes, 10))
    assert max(len(part) for part in parts) <= 4 * 2_000
    found = np.concatenate(parts)
    found = found[np.lexsort((found[:, 1], found[:, 0]))]
    np.testing.assert_array_equal(found, sorted_reference(hashes, 10))
    assert len(found) > 500_000


def test_leaving_the_parts_early_ends_the_search(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    monkeypatch.setattr(similarity, "_PART_ROWS", 1_000)
    before = threading.active_count()
    hashes = clustered_hashes(20_000, seed=5, sources=40, flips=2)
    parts = similarity.hamming_pair_parts(hashes, 8)
    assert len(next(parts)) > 0
    parts.close()
    assert threading.active_count() == before


@pytest.mark.parametrize(
    ("n", "queries", "threshold", "clustered"),
    [
        (5_000, 300, 10, False),
        (5_000, 300, 10, True),
        (20_000, 600, 6, True),
        (4_000, 50, 25, True),
    ],
)
def test_an_index_finds_what_a_pass_over_every_hash_finds(
    n: int, queries: int, threshold: int, clustered: bool
) -> None:
    """HammingIndex.within: every (query, hash) within the threshold, each once, exact
    distances; on hashes spread out and on hashes crowded around a few (as copy keys of
    alike pictures are), and queries that are indexed hashes, near them, or anything."""
    rng = np.random.default_rng(n + threshold)
    if clustered:
        centres = rng.integers(0, 2**64 - 1, 8, dtype=np.uint64, endpoint=True)
        values = centres[rng.integers(0, 8, n)]
        for bit in range(64):  # each hash a few bits from its centre
            values ^= (rng.random(n) < 0.06).astype(np.uint64) << np.uint64(bit)
    else:
        values = random_hashes(n, seed=n, planted=n // 5)
    asked = np.concatenate(
        [
            values[rng.integers(0, n, queries // 3)],
            values[rng.integers(0, n, queries // 3)] ^ np.uint64(0b1011 << 20),
            rng.integers(0, 2**64 - 1, queries - 2 * (queries // 3), dtype=np.uint64),
        ]
    )
    index = similarity.HammingIndex(values, threshold)
    assert index.brute == (threshold == 25)  # its bucket looks beyond a pass over all
    got = index.within(asked)
    distance = np.bitwise_count(asked[:, None] ^ values[None, :])
    q, h = np.nonzero(distance <= threshold)
    expected = np.stack([q, h, distance[q, h]], axis=1).astype(np.int64)
    order = np.lexsort((got[:, 1], got[:, 0]))
    assert np.array_equal(got[order], expected)
    assert len(expected) > queries // 3  # the indexed hashes find at least themselves


def test_an_index_of_nothing_or_a_negative_threshold_finds_nothing() -> None:
    assert similarity.HammingIndex(np.array([], dtype=np.uint64), 10).within([1, 2]).shape == (0, 3)
    assert similarity.HammingIndex([5, 6], -1).within([5]).shape == (0, 3)
    assert similarity.HammingIndex([5, 6], 0).within([5]).tolist() == [[0, 0, 0]]


def test_an_index_checks_crowded_buckets_a_run_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parts of a few members (here 50) at a time, a bucket larger than that alone: the
    same matches as all at once."""
    rng = np.random.default_rng(7)
    values = rng.integers(0, 2**64 - 1, 3, dtype=np.uint64, endpoint=True)[rng.integers(0, 3, 3000)]
    values ^= rng.integers(0, 2**12, 3000, dtype=np.uint64)  # crowded: ~1,000 per bucket
    asked = values[:40]
    whole = similarity.HammingIndex(values, 10).within(asked)
    monkeypatch.setattr(similarity, "_PART_ROWS", 50)
    runs = similarity.HammingIndex(values, 10).within(asked)
    assert len(whole) >= 40 * 900
    assert sorted(map(tuple, whole.tolist())) == sorted(map(tuple, runs.tolist()))
