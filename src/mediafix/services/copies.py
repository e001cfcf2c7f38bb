"""Hard copies in the library: candidates from the copy keys, confirmed on the pixels.

``regroup`` asks :func:`hard_copy_pairs` for the pairs its first hash misses: every file's
first hash and copy keys (``fingerprint.copy_keys``: bars trimmed, mirrored, central region)
are searched together with ``media.similarity.hamming_pairs``; a pair of files with two keys
within the copy threshold, which the first hash did not already match, is a candidate, and
``media.copycheck`` decides it by aligning the two pictures. Verdicts are remembered per
pair of contents (``CopyCheck`` rows), so a regroup after a rescan or a threshold change
looks at the pixels of new candidates only.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
from array import array
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from mediafix.media import copycheck, fingerprint
from mediafix.media.copycheck import Verdict
from mediafix.media.safe_open import Refused, open_scanned
from mediafix.media.similarity import give_back_memory, hamming_pair_parts
from mediafix.store.models import CopyCheck

__all__ = [
    "Candidates",
    "Fresh",
    "SearchInput",
    "Waiting",
    "check_budget",
    "check_pairs",
    "closest_per_pair",
    "copy_threshold",
    "give_back_memory",
    "hard_copy_pairs",
    "key_table",
    "map_large_blocks",
    "parse_copy_keys",
    "search_candidates",
]

log = logging.getLogger(__name__)


# Pixel checks a regroup made and has not stored yet, by pair of contents (the lower hash
# first): their version and verdict as JSON text (as dicts, ~1 kB each: 10 MB at 100,000
# files).
Fresh = dict[tuple[str, str], tuple[int, str]]


class CopyRow(Protocol):
    """What the hard-copy search reads of a file: a ``File`` or regroup's lighter row."""

    @property
    def path(self) -> str: ...
    @property
    def root(self) -> str: ...
    @property
    def size(self) -> int | None: ...
    @property
    def mtime(self) -> float | None: ...
    @property
    def sha256(self) -> str | None: ...
    @property
    def copy_keys(self) -> str | None: ...


# Largest distance between two files' copy keys that makes them a candidate, at the
# default near-duplicate threshold (scaled with a person's threshold; bench/hard_copies.py).
COPY_THRESHOLD = 10
# Pictures kept decoded while candidates are checked (pairs come sorted by their first file,
# so its picture is the one looked at again). The 9,600 checks of a regroup of 100,000
# generated pictures decoded 15,757 pictures keeping 16, 15,699 keeping 256: those held
# ~65 MB more (a picture ~270 kB with its features).
_VIEWS_KEPT = 16
_KEY_CODES = {name: code for code, name in enumerate(fingerprint.COPY_KEYS, start=1)}


def copy_threshold(threshold: int) -> int:
    """The copy keys' threshold for a person's near-duplicate ``threshold``."""
    return min(fingerprint.HASH_BITS, COPY_THRESHOLD * threshold // fingerprint.DEFAULT_THRESHOLD)


def parse_copy_keys(text: str | None) -> list[tuple[int, int]]:
    """``"t:<hex> m:<hex>"`` -> [(key code, value)]; unknown or broken parts are skipped."""
    out = []
    for part in (text or "").split():
        name, _, value = part.partition(":")
        if name in _KEY_CODES:
            try:
                out.append((_KEY_CODES[name], int(value, 16)))
            except ValueError:
                continue
    return out


def hard_copy_pairs(
    session: Session,
    rows: Sequence[CopyRow],
    hashes: np.ndarray,
    details: Sequence[int | None],
    threshold: int,
    fresh: Fresh | None = None,
    *,
    candidates: Candidates | None = None,
    waiting: Waiting | None = None,
    budget: int | None = None,
) -> tuple[np.ndarray, dict[tuple[int, int], Verdict], int]:
    """Confirmed hard-copy pairs among ``rows`` (distinct contents, first hashes ``hashes``).

    Returns rows [i, j, distance] (i < j; distance: of the closest keys) for
    ``group_near``'s ``extra_pairs``, each pair's verdict (``edited`` "a" is i), and how
    many pixel checks were made. Those are stored in ``session``, or put in ``fresh`` when
    given (a regroup that reads without the write lock stores them when it writes its
    groups; see :func:`_verdicts`).

    ``candidates``: the ones to look at, when the caller found them (a regroup by parts:
    only pairs reaching out of its part), else every one among ``rows``. ``waiting`` gets
    the candidates left unchecked (over the budget: ``budget``, or :func:`check_budget` of
    the rows).
    """
    if candidates is None:
        candidates = _candidates(rows, hashes, details, threshold)
    if len(candidates) == 0:
        return np.empty((0, 3), dtype=np.int64), {}, 0
    verdicts, made = _verdicts(session, rows, candidates, fresh, budget=budget, waiting=waiting)
    confirmed = {pair: verdict for pair, verdict in sorted(verdicts.items()) if verdict.same}
    if not confirmed:
        return np.empty((0, 3), dtype=np.int64), {}, made
    i, j = np.array(list(confirmed), dtype=np.int64).reshape(-1, 2).T
    distance = candidates.distance_of(i, j)
    return np.stack([i, j, distance], axis=1), confirmed, made


class Candidates:
    """Candidate pairs of files, one int64 each: ``(low * n + high) << 7 | distance``.

    Sorted, so by (low, high); one per pair of files, at the distance of its closest keys
    (at most 64, hence 7 bits). A crowded library has millions of candidates: 8 bytes each
    here, where rows of Python tuples took a hundred.
    """

    def __init__(self, packed: np.ndarray, n: int) -> None:
        self.packed = packed
        self.n = n

    @classmethod
    def of(cls, i: np.ndarray, j: np.ndarray, distance: np.ndarray | int, n: int) -> Candidates:
        """The pairs (i[k], j[k]) of ``n`` files, in either order, at ``distance[k]``: one
        per pair of files, at its smallest."""
        low, high = np.minimum(i, j).astype(np.int64), np.maximum(i, j).astype(np.int64)
        return cls(closest_per_pair((low * n + high) << 7 | distance), n)

    def __len__(self) -> int:
        return len(self.packed)

    def release(self) -> None:
        """Let the candidates go (none left): a regroup is done with them once their pixel
        checks are, while the frames that found them live on (25 MB at 100,000 files)."""
        self.packed = np.empty(0, dtype=np.int64)

    @property
    def low(self) -> np.ndarray:
        return (self.packed >> 7) // self.n

    @property
    def high(self) -> np.ndarray:
        return (self.packed >> 7) % self.n

    @property
    def distance(self) -> np.ndarray:
        return self.packed & 0x7F

    def rows(self) -> np.ndarray:
        """The candidates as rows [low, high, distance] (int64)."""
        return np.stack([self.low, self.high, self.distance], axis=1)

    def pairs(self, begin: int, end: int) -> tuple[list[int], list[int]]:
        """The files (low, high) of candidates ``begin`` to ``end``, as ints: a slice at a
        time, not arrays of every candidate (three int64 arrays of a crowded library's
        three million candidates were 75 MB)."""
        number = self.packed[begin:end] >> 7
        return (number // self.n).tolist(), (number % self.n).tolist()

    def distance_of(self, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """The distance of candidates (low[k], high[k]), each of which is one."""
        # a pair's entry is the first at or after its number with distance 0: no array of
        # every candidate's number or distance is made
        at = np.searchsorted(self.packed, (low * self.n + high) << 7)
        return self.packed[at] & 0x7F


# Key pairs gathered before they are folded into the candidates found so far: a fold sorts
# them with one band's candidates (see :class:`_Bands`), so memory is little more than the
# candidate pairs of files, never that of pairs of keys.
_FOLD_ROWS = 1 << 20
# Bands of the candidates, by their lower file.
_BANDS = 16


@dataclass
class SearchInput:
    """What the candidate search reads of the files, in arrays: the rows themselves can be
    let go while it runs (a regroup reads them again after: ~60 MB at 100,000 files)."""

    n: int
    first: np.ndarray  # each file's first hash (uint64)
    values: np.ndarray  # every key (first hashes, then copy keys): :func:`key_table`
    owner: np.ndarray
    kind: np.ndarray
    known: np.ndarray  # which files have a detail hash, and its words: ``_detail_words``
    words: np.ndarray

    @classmethod
    def of(
        cls, rows: Sequence[CopyRow], hashes: np.ndarray, details: Sequence[int | None]
    ) -> SearchInput:
        values, owner, kind = key_table(rows, hashes)
        known, words = _detail_words(details)
        first = np.ascontiguousarray(hashes, dtype=np.uint64)
        return cls(len(rows), first, values, owner, kind, known, words)


def _candidates(
    rows: Sequence[CopyRow], hashes: np.ndarray, details: Sequence[int | None], threshold: int
) -> Candidates:
    """Pairs of files whose keys meet, that the first hash did not match."""
    return search_candidates(SearchInput.of(rows, hashes, details), threshold)


def search_candidates(search: SearchInput, threshold: int) -> Candidates:
    """Pairs of files whose keys meet, that the first hash did not match.

    Pairs of keys come from ``hamming_pair_parts`` a part at a time and are folded into pairs
    of files as they come: 100,000 generated pictures' keys make 18 million pairs of keys
    but few pairs of files (a picture's own keys are close to each other; the same pair
    of files meets through several of their keys).
    """
    n, first, values, owner, kind = search.n, search.first, search.values, search.owner, search.kind
    known, words = search.known, search.words
    if len(values) == n:
        return Candidates(np.empty(0, dtype=np.int64), n)
    bands = _Bands(n)
    for part in hamming_pair_parts(values, copy_threshold(threshold)):
        a, b = owner[part[:, 0]], owner[part[:, 1]]
        useful = (a != b) & ((kind[part[:, 0]] != 0) | (kind[part[:, 1]] != 0))
        a, b, distance = a[useful], b[useful], part[useful, 2]
        low, high = np.minimum(a, b), np.maximum(a, b)
        # pairs the first hash already matches (and its detail hash confirms) need no look
        plain = np.bitwise_count(first[low] ^ first[high]) <= threshold
        both = plain & known[low] & known[high]
        plain[both] = (
            np.bitwise_count(words[low[both]] ^ words[high[both]]).sum(axis=1)
            <= fingerprint.DETAIL_THRESHOLD
        )
        new = ~plain
        if new.any():
            bands.add((low[new] * n + high[new]) << 7 | distance[new])
    del values, owner, kind, known, words, search
    found = bands.result()
    give_back_memory()
    return Candidates(found, n)


class _Bands:
    """Packed candidate pairs, gathered in one buffer of ``_FOLD_ROWS`` and folded from it
    into ``_BANDS`` bands of their lower file: sorted, one per pair of files, at its smallest
    distance (the distance is the low bits, so it sorts first within a pair).

    Folding every candidate at once held them about four times over for a moment (3 million
    candidates: ~100 MB); a band's fold holds only that band's twice. The buffer is one
    block, reused: pieces of parts kept waiting would be small blocks outliving the search's
    temporaries around them, pinning heap pages that could not be given back.
    """

    def __init__(self, n: int) -> None:
        # band k holds the pairs whose packed value is below edges[k + 1]
        width = max(1, -(-n // _BANDS))  # files per band
        self.edges = np.array([(k * width * n) << 7 for k in range(_BANDS + 1)], dtype=np.int64)
        self.edges[-1] = np.iinfo(np.int64).max
        self.found = [np.empty(0, dtype=np.int64) for _ in range(_BANDS)]
        self.buffer = np.empty(_FOLD_ROWS, dtype=np.int64)
        self.held = 0

    def add(self, packed: np.ndarray) -> None:
        while len(packed):
            room = min(len(packed), len(self.buffer) - self.held)
            self.buffer[self.held : self.held + room] = packed[:room]
            self.held += room
            packed = packed[room:]
            if self.held == len(self.buffer):
                self._fold()

    def _fold(self) -> None:
        waiting = self.buffer[: self.held]
        waiting.sort()
        at = np.searchsorted(waiting, self.edges).tolist()
        for number in range(_BANDS):
            if at[number] == at[number + 1]:
                continue
            # two sorted runs: the stable sort is one merge
            self.found[number] = closest_per_pair(
                np.concatenate([self.found[number], waiting[at[number] : at[number + 1]]])
            )
        self.held = 0
        give_back_memory()

    def result(self) -> np.ndarray:
        """Every candidate, sorted (the bands emptied)."""
        self._fold()
        self.buffer = self.buffer[:0]
        found, self.found = self.found, []
        return np.concatenate(found)


def closest_per_pair(packed: np.ndarray) -> np.ndarray:
    """Packed pairs ``(pair << 7) | distance`` (sorted in place), one per pair at its
    smallest distance: the distance is the low bits, so it sorts first within a pair."""
    packed.sort(kind="stable")
    first = np.ones(len(packed), dtype=bool)
    first[1:] = (packed[1:] >> 7) != (packed[:-1] >> 7)
    return packed[first]


# Blocks of this size or more get a mapping of their own (glibc's M_MMAP_THRESHOLD).
LARGE_BLOCK = 1 << 20


def map_large_blocks() -> None:
    """Give every block of ``LARGE_BLOCK`` or more (the search's and the regroup's numpy
    arrays) its own mapping, handed back to the system when freed (glibc only; elsewhere
    nothing).

    glibc raises its threshold to the largest mapped block freed (up to 32 MB): from then on
    the big arrays come from the heap, and the holes they leave stay resident. On a 100,000
    -file library with 3 million hard-copy candidates that held 50-80 MB through the rest of
    the regroup (its peak 456 -> 393 MB, the write 319 -> 249 MB; same CPU)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).mallopt(-3, LARGE_BLOCK)  # -3: M_MMAP_THRESHOLD


def key_table(rows: Sequence[CopyRow], hashes: np.ndarray) -> tuple[np.ndarray, ...]:
    """Every file's first hash and copy keys: values, owning file, key code (0: first hash).

    Gathered in typed arrays: Python lists of a million ints would take ~100 MB."""
    values = array("Q", np.ascontiguousarray(hashes, dtype=np.uint64).tobytes())
    owners = array("q", range(len(rows)))
    codes = array("b", bytes(len(rows)))
    for index, row in enumerate(rows):
        for code, value in parse_copy_keys(row.copy_keys):
            values.append(value)
            owners.append(index)
            codes.append(code)
    return (
        np.frombuffer(values, dtype=np.uint64),
        np.frombuffer(owners, dtype=np.int64),
        np.frombuffer(codes, dtype=np.int8),
    )


def _detail_words(details: Sequence[int | None]) -> tuple[np.ndarray, np.ndarray]:
    """Which files have a 256-bit detail hash, and its four 64-bit words."""
    known = np.zeros(len(details), dtype=bool)
    words = np.zeros((len(details), 4), dtype=np.uint64)
    for index, value in enumerate(details):
        if value is not None:
            known[index] = True
            words[index] = np.frombuffer(value.to_bytes(32, "big"), dtype=">u8")
    return known, words


# New pixel checks one regroup makes (~50 ms of CPU each): enough for every candidate of a
# library with ordinary copies, and growing linearly with it. A library of many plain,
# alike pictures (bench/scale.py's generated shapes: 84,000 candidates among 18,000 files)
# would otherwise cost hours; its closest pairs are checked first and the rest by the
# regroups that follow (verdicts are remembered).
CHECK_BUDGET_BASE = 6_000
CHECK_BUDGET_PER_FILE = 0.04


# Of the candidates a regroup leaves unchecked, how many (in budgets) it hands on to the
# regroups by parts that follow, which check a share of them each (``services.duplicates``).
WAITING_KEPT = 4


@dataclass
class Waiting:
    """The hard-copy candidates a search left unchecked, over its pixel-check budget."""

    # rows [i, j] of the search's rows, the closest first: at most WAITING_KEPT budgets
    pairs: list[np.ndarray] = field(default_factory=list)
    more: bool = False  # others beyond those, not kept


def check_pairs(
    session: Session,
    rows: Sequence[CopyRow],
    pairs: np.ndarray,
    fresh: Fresh | None = None,
) -> tuple[dict[tuple[int, int], Verdict], int]:
    """The verdicts "the same photo" among candidate ``pairs`` (rows [i, j] of ``rows``,
    i != j), every one checked on the pixels unless remembered; and how many checks were
    made. ``fresh`` as for :func:`hard_copy_pairs`."""
    if len(pairs) == 0:
        return {}, 0
    candidates = Candidates.of(pairs[:, 0], pairs[:, 1], 0, len(rows))
    return _verdicts(session, rows, candidates, fresh, budget=len(candidates))


def check_budget(files: int) -> int:
    """How many new candidate pairs one regroup of ``files`` distinct pictures checks."""
    return CHECK_BUDGET_BASE + int(CHECK_BUDGET_PER_FILE * files)


def _verdicts(
    session: Session,
    rows: Sequence[CopyRow],
    candidates: Candidates,
    fresh: Fresh | None = None,
    *,
    budget: int | None = None,
    waiting: Waiting | None = None,
) -> tuple[dict[tuple[int, int], Verdict], int]:
    """The verdicts of the candidates looked at that say "the same photo", and how many
    pixel checks were made: remembered ones read back, the others checked and stored, the
    closest first and at most :func:`check_budget` of them; the rest wait for the next
    regroup (not remembered, so each regroup goes further) and are left out, as are pairs
    with a file that could not be read: neither is a copy, yet.

    With ``fresh`` (the checks a regroup made and has not stored yet, by pair of contents:
    the ``CopyCheck`` columns), new checks go there instead of into ``session``, and the
    ones already there count as remembered.

    A remembered "not the same" is one bit here (a crowded library has a million
    candidates; Python verdicts of all of them took hundreds of MB)."""
    known = np.zeros(len(candidates), dtype=bool)
    same: dict[int, Verdict] = {}  # candidate number -> remembered verdict of a copy
    table = CopyCheck.__table__
    query = select(table.c.sha256, table.c.other_sha256, table.c.version, table.c.verdict)

    def remember(number: int, version: int, verdict: dict[str, Any]) -> None:
        if version == copycheck.CHECK_VERSION:
            known[number] = True
            if verdict.get("same"):
                same[number] = Verdict.from_json(verdict)

    for begin in range(0, len(candidates), 400):
        wanted: dict[tuple[str, str], int] = {}
        lows, highs = candidates.pairs(begin, begin + 400)
        for number, i, j in zip(range(begin, begin + 400), lows, highs, strict=False):
            sha_i, sha_j = rows[i].sha256 or "", rows[j].sha256 or ""
            pair = (min(sha_i, sha_j), max(sha_i, sha_j))
            if fresh is not None and pair in fresh:
                version, text = fresh[pair]
                remember(number, version, json.loads(text))
            else:
                wanted[pair] = number
        if not wanted:
            continue
        found = query.where(tuple_(table.c.sha256, table.c.other_sha256).in_(list(wanted)))
        for sha, other, version, verdict in session.execute(found):
            remember(wanted[(sha, other)], version, verdict)
    if budget is None:
        budget = check_budget(len(rows))
    closest, total = _closest_new(candidates, known, 0, budget)
    checked = set(closest.tolist())
    del closest
    left = total - len(checked)
    if waiting is not None and left:
        kept = WAITING_KEPT * max(budget, check_budget(len(rows)))
        later, _total = _closest_new(candidates, known, budget, budget + kept)
        pair = candidates.packed[later] >> 7
        waiting.pairs.append(np.stack([pair // candidates.n, pair % candidates.n], axis=1))
        waiting.more |= left > kept
        del later, pair
    if left:
        log.info(
            "hard copies: %d of %d new candidate pairs checked (the closest); %d wait for "
            "the next regroup",
            len(checked),
            total,
            left,
        )
    views: OrderedDict[int, copycheck.View | None] = OrderedDict()
    out: dict[tuple[int, int], Verdict] = {}
    made = 0
    for number in sorted(same.keys() | checked):
        (i,), (j,) = candidates.pairs(number, number + 1)
        sha_i, sha_j = rows[i].sha256 or "", rows[j].sha256 or ""
        verdict = same.get(number)
        if verdict is None:
            first, second = _view(views, rows, i), _view(views, rows, j)
            if first is None or second is None:
                continue  # not remembered: the file may be back next time
            mine = copycheck.compare(first, second)
            made += 1
            stored = mine if sha_i <= sha_j else _swapped(mine)
            pair = (min(sha_i, sha_j), max(sha_i, sha_j))
            if fresh is None:
                session.merge(
                    CopyCheck(
                        sha256=pair[0],
                        other_sha256=pair[1],
                        version=copycheck.CHECK_VERSION,
                        verdict=stored.to_json(),
                    )
                )
            else:
                fresh[pair] = (copycheck.CHECK_VERSION, json.dumps(stored.to_json()))
            if mine.same:
                out[(i, j)] = mine
        else:
            out[(i, j)] = verdict if sha_i <= sha_j else _swapped(verdict)
    if fresh is None:
        session.flush()
    return out, made


def _closest_new(
    candidates: Candidates, known: np.ndarray, begin: int, end: int
) -> tuple[np.ndarray, int]:
    """The numbers of the new candidates (not ``known``) ranked ``begin`` to ``end`` by
    distance, the closest first, then in the candidates' order; and how many new ones there
    are in all.

    Found by counting the new candidates at each distance, not by sorting every one of them
    (a crowded library's 3 million: arrays of 50 MB)."""
    distance = (candidates.packed & 0x7F).astype(np.uint8)
    distance[known] = 0xFF  # not new: beyond every distance
    counts = np.bincount(distance, minlength=0x100)[:0xFF]
    total = int(counts.sum())
    end = min(end, total)
    found: list[np.ndarray] = [np.empty(0, dtype=np.int64)]
    if begin >= end:
        return found[0], total
    first = np.cumsum(counts) - counts  # the rank of the first new candidate at each distance
    for d in np.flatnonzero(counts).tolist():
        low, high = int(first[d]), int(first[d] + counts[d])
        if high <= begin or low >= end:
            continue
        at = np.flatnonzero(distance == d)  # in the candidates' order
        found.append(at[max(0, begin - low) : end - low])
    return np.concatenate(found), total


def _swapped(verdict: Verdict) -> Verdict:
    """The same verdict for the pair taken the other way round."""
    edited = {"a": "b", "b": "a"}.get(verdict.edited or "")
    return Verdict(
        verdict.same,
        edited=edited,
        kinds=list(verdict.kinds),
        inliers=verdict.inliers,
        detail_distance=verdict.detail_distance,
        contained=verdict.contained,
        why_not=verdict.why_not,
    )


def _view(
    views: OrderedDict[int, copycheck.View | None], rows: Sequence[CopyRow], index: int
) -> copycheck.View | None:
    if index in views:
        views.move_to_end(index)
        return views[index]
    row = rows[index]
    try:
        # The file as it was scanned, inside its root, never through a link swapped in since
        # (the same door as thumbnails and the originals the server sends).
        fh, _st = open_scanned(row.path, row.root, row.size, row.mtime)
        with fh:
            view: copycheck.View | None = copycheck.prepare(fh.read())
    except (OSError, Refused, fingerprint.FingerprintError) as exc:
        log.info("hard-copy check skipped %s: %s", row.path, exc)
        view = None
    views[index] = view
    if len(views) > _VIEWS_KEPT:
        views.popitem(last=False)
    return view
