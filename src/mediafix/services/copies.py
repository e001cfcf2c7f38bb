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

import logging
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from mediafix.media import copycheck, fingerprint
from mediafix.media.copycheck import Verdict
from mediafix.media.safe_open import Refused, open_scanned
from mediafix.media.similarity import hamming_pairs
from mediafix.store.models import CopyCheck

__all__ = ["check_budget", "copy_threshold", "hard_copy_pairs", "parse_copy_keys"]

log = logging.getLogger(__name__)


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
# Pictures kept decoded while candidates are checked (pairs come sorted by their first file).
_VIEWS_KEPT = 256
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
) -> tuple[np.ndarray, dict[tuple[int, int], Verdict]]:
    """Confirmed hard-copy pairs among ``rows`` (distinct contents, first hashes ``hashes``).

    Returns rows [i, j, distance] (i < j; distance: of the closest keys) for
    ``group_near``'s ``extra_pairs``, and each pair's verdict (``edited`` "a" is i).
    """
    candidates = _candidates(rows, hashes, details, threshold)
    if len(candidates) == 0:
        return np.empty((0, 3), dtype=np.int64), {}
    verdicts = _verdicts(session, rows, candidates)
    keep = [n for n, (i, j, _d) in enumerate(candidates.tolist()) if verdicts[(i, j)].same]
    confirmed = {(int(i), int(j)): verdicts[(int(i), int(j))] for i, j, _ in candidates[keep]}
    return candidates[keep], confirmed


def _candidates(
    rows: Sequence[CopyRow], hashes: np.ndarray, details: Sequence[int | None], threshold: int
) -> np.ndarray:
    """Pairs [i, j, distance] of files whose keys meet, that the first hash did not match."""
    values, owners, codes = list(hashes.tolist()), list(range(len(rows))), [0] * len(rows)
    for index, row in enumerate(rows):
        for code, value in parse_copy_keys(row.copy_keys):
            values.append(value)
            owners.append(index)
            codes.append(code)
    if len(values) == len(rows):
        return np.empty((0, 3), dtype=np.int64)
    owner = np.array(owners, dtype=np.int64)
    kind = np.array(codes, dtype=np.int8)
    found = hamming_pairs(np.array(values, dtype=np.uint64), copy_threshold(threshold))
    a, b = owner[found[:, 0]], owner[found[:, 1]]
    useful = (a != b) & ((kind[found[:, 0]] != 0) | (kind[found[:, 1]] != 0))
    a, b, distance = a[useful], b[useful], found[useful, 2]
    low, high = np.minimum(a, b), np.maximum(a, b)
    if not len(low):
        return np.empty((0, 3), dtype=np.int64)
    # one row per pair of files, at its closest keys
    order = np.lexsort((distance, high, low))
    low, high, distance = low[order], high[order], distance[order]
    first = np.ones(len(low), dtype=bool)
    first[1:] = (low[1:] != low[:-1]) | (high[1:] != high[:-1])
    low, high, distance = low[first], high[first], distance[first]
    # pairs the first hash already matches (and its detail hash confirms) need no look
    plain = np.bitwise_count(hashes[low] ^ hashes[high]).astype(np.int64) <= threshold
    for n in np.flatnonzero(plain).tolist():
        x, y = details[int(low[n])], details[int(high[n])]
        if x is not None and y is not None:
            plain[n] = (x ^ y).bit_count() <= fingerprint.DETAIL_THRESHOLD
    return np.stack([low, high, distance], axis=1)[~plain].astype(np.int64)


# New pixel checks one regroup makes (~50 ms of CPU each): enough for every candidate of a
# library with ordinary copies, and growing linearly with it. A library of many plain,
# alike pictures (bench/scale.py's generated shapes: 84,000 candidates among 18,000 files)
# would otherwise cost hours; its closest pairs are checked first and the rest by the
# regroups that follow (verdicts are remembered).
CHECK_BUDGET_BASE = 6_000
CHECK_BUDGET_PER_FILE = 0.04


def check_budget(files: int) -> int:
    """How many new candidate pairs one regroup of ``files`` distinct pictures checks."""
    return CHECK_BUDGET_BASE + int(CHECK_BUDGET_PER_FILE * files)


def _verdicts(
    session: Session, rows: Sequence[CopyRow], candidates: np.ndarray
) -> dict[tuple[int, int], Verdict]:
    """Each candidate's verdict: remembered ones read back, the others checked and stored,
    the closest first and at most :func:`check_budget` of them; the rest wait for the next
    regroup (not remembered, so each regroup goes further)."""
    wanted: dict[tuple[str, str], tuple[int, int]] = {}
    distance: dict[tuple[int, int], int] = {}
    for i, j, d in candidates.tolist():
        sha_i, sha_j = rows[i].sha256 or "", rows[j].sha256 or ""
        wanted[(min(sha_i, sha_j), max(sha_i, sha_j))] = (i, j)
        distance[(i, j)] = d
    known: dict[tuple[str, str], Verdict] = {}
    keys = list(wanted)
    for start in range(0, len(keys), 400):
        chunk = keys[start : start + 400]
        for check in session.scalars(
            select(CopyCheck).where(tuple_(CopyCheck.sha256, CopyCheck.other_sha256).in_(chunk))
        ):
            if check.version == copycheck.CHECK_VERSION:
                known[(check.sha256, check.other_sha256)] = Verdict.from_json(check.verdict)
    new = sorted((distance[pair], pair) for key, pair in wanted.items() if key not in known)
    budget = check_budget(len(rows))
    later = {pair for _d, pair in new[budget:]}
    if later:
        log.info(
            "hard copies: %d of %d new candidate pairs checked (the closest); %d wait for "
            "the next regroup",
            budget,
            len(new),
            len(later),
        )
    views: OrderedDict[int, copycheck.View | None] = OrderedDict()
    out: dict[tuple[int, int], Verdict] = {}
    for (low_sha, high_sha), (i, j) in sorted(wanted.items(), key=lambda item: item[1]):
        verdict = known.get((low_sha, high_sha))
        if verdict is None and (i, j) in later:
            out[(i, j)] = Verdict(False, why_not="not checked yet (over this regroup's budget)")
        elif verdict is None:
            first, second = _view(views, rows, i), _view(views, rows, j)
            if first is None or second is None:
                out[(i, j)] = Verdict(False, why_not="file not readable")
                continue  # not remembered: the file may be back next time
            mine = copycheck.compare(first, second)
            stored = mine if (rows[i].sha256 or "") == low_sha else _swapped(mine)
            session.merge(
                CopyCheck(
                    sha256=low_sha,
                    other_sha256=high_sha,
                    version=copycheck.CHECK_VERSION,
                    verdict=stored.to_json(),
                )
            )
            out[(i, j)] = mine
        else:
            out[(i, j)] = verdict if (rows[i].sha256 or "") == low_sha else _swapped(verdict)
    session.flush()
    return out


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
