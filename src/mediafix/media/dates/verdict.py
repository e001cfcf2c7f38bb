"""The verdict: a file's candidates -> one date, its offset, confidence and reason.

1. **Clocks.** Sources read on a local wall clock keep it; sources that hold an instant
   get their local time from the best offset known (``zones``).
2. **Winner.** The most trusted candidate wins (``TRUST_TABLE``), never the earliest.
3. **Confidence.** Independent sources that agree (the same second, or whole quarter-hours
   apart when only the zone differs) raise it; a disagreeing one lowers it, and the reason
   says so. Coarse precision (a day, a month) caps it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from mediafix.media.dates.cameras import local_time_headers
from mediafix.media.dates.candidates import collect
from mediafix.media.dates.evidence import Evidence, Raw, fine, label_of
from mediafix.media.dates.model import (
    Context,
    DateCandidate,
    DateOptions,
    DateVerdict,
    ZoneHint,
    level_for,
    none_verdict,
    now_of,
)
from mediafix.media.dates.parsing import show_date
from mediafix.media.dates.trust import (
    AGREE_GAIN,
    MTIME_CAP,
    TRUST_ORDER,
    VERDICT_CAP,
    factory_clock,
)
from mediafix.media.dates.zones import (
    NEIGHBOUR_CAP,
    NEIGHBOURS,
    localize_instants,
    nearest_offset,
    offset_for_local,
)
from mediafix.media.values import Precision

__all__ = ["date_evidence", "date_file", "judge"]

log = logging.getLogger("mediafix.media.dates")

# --- comparing candidates -------------------------------------------------------------------

_SAME, _ZONE, _DIFFERENT = "same", "zone", "different"


def _compare(a: Raw, b: Raw) -> tuple[str, float]:
    """(relation, weight): the same moment; the same up to a time zone; or different."""
    coarse = max(a.precision, b.precision, key=lambda p: p.rank)
    if coarse.rank >= Precision.DAY.rank:
        assert a.local is not None and b.local is not None
        fmt = {Precision.DAY: "%Y%m%d", Precision.MONTH: "%Y%m", Precision.YEAR: "%Y"}[coarse]
        same = a.local.strftime(fmt) == b.local.strftime(fmt)
        if not same and a.utc is not None and b.utc is not None and a.utc_known and b.utc_known:
            same = a.utc.strftime(fmt) == b.utc.strftime(fmt)
        return (_SAME, 0.5) if same else (_DIFFERENT, 1.0)
    slack = max(a.slack, b.slack, 60.0 if coarse is Precision.MINUTE else 0.0)
    weight = 1.0 if min(a.precision.rank, b.precision.rank) == coarse.rank else 0.5
    if a.utc_known and b.utc_known and a.utc is not None and b.utc is not None:
        diff = a.utc - b.utc
        if abs(diff.total_seconds()) <= slack:
            return _SAME, weight
        if nearest_offset(diff, slack) is not None:
            return _ZONE, 0.5 * weight
        return _DIFFERENT, 1.0
    if a.local_known and b.local_known and a.local is not None and b.local is not None:
        diff = a.local - b.local
        if abs(diff.total_seconds()) <= slack:
            return _SAME, weight
        if nearest_offset(diff, slack) is not None:
            return _ZONE, 0.5 * weight
        return _DIFFERENT, 1.0
    # One knows the wall clock, the other the instant: a real offset apart is agreement.
    loc, ins = (a, b) if a.local_known else (b, a)
    if loc.local is None or ins.utc is None:
        return _DIFFERENT, 1.0
    if nearest_offset(loc.local - ins.utc, slack) is not None:
        return _SAME, weight
    return _DIFFERENT, 1.0


def _names(labels: list[str]) -> str:
    if len(labels) == 1:
        return labels[0]
    return ", ".join(labels[:-1]) + " and " + labels[-1]


def _candidate(r: Raw) -> DateCandidate:
    assert r.local is not None
    return DateCandidate(
        source=r.source,
        value=r.local,
        precision=r.precision,
        utc_offset=r.offset,
        offset_source=r.offset_source if r.offset is not None else None,
        utc=r.utc if r.offset is not None or r.utc_known else None,
        confidence=round(r.trust, 3),
        note=r.note,
        detail=r.detail or None,
    )


def date_file(
    path: str,
    metadata: Mapping[str, Any],
    mtime: float | None,
    *,
    root: str | None = None,
    sidecars: Sequence[str] = (),
    options: DateOptions,
) -> DateVerdict:
    """The capture time of the file at ``path`` with its confidence and the reason.

    ``metadata`` is exiftool's ``-G1`` dict for the file; ``root`` the scanned source root
    (the folder names between it and the file are read; without it folders are not used);
    ``sidecars`` absolute paths of its paired ``.json``/``.xmp`` files. Never raises for bad
    input: a source that cannot be read is skipped and named in the reason.
    """
    return date_evidence(path, metadata, mtime, root=root, sidecars=sidecars, options=options)[1]


def date_evidence(
    path: str,
    metadata: Mapping[str, Any],
    mtime: float | None,
    *,
    root: str | None = None,
    sidecars: Sequence[str] = (),
    options: DateOptions,
) -> tuple[Evidence | None, DateVerdict]:
    """``date_file`` that also returns the evidence it judged (None when it could not be
    gathered), for storing: ``judge(evidence, new_options)`` re-dates without the file."""
    try:
        evidence = collect(path, metadata, mtime, root=root, sidecars=sidecars, options=options)
    except Exception as exc:  # the promise: a bad file is a row with a reason, not a crash
        log.exception("collecting dates failed for %r", path)
        return None, none_verdict(f"the dates could not be read ({type(exc).__name__}: {exc})")
    return evidence, judge(evidence, options)


def judge(evidence: Evidence, options: DateOptions, *, hint: ZoneHint | None = None) -> DateVerdict:
    """The verdict from stored evidence: clocks and offsets, sentinels, the winner, the
    confidence and the reason. ``hint`` is the zone the file's neighbours show; it comes
    after the file's own offsets and its GPS position, before the home zone."""
    try:
        return _judge(evidence, options, hint)
    except Exception as exc:  # a bad stored row is a reason, not a crashed re-date
        log.exception("judging dates failed")
        return none_verdict(f"the dates could not be judged ({type(exc).__name__}: {exc})")


def _judge(evidence: Evidence, options: DateOptions, hint: ZoneHint | None) -> DateVerdict:
    now_local, now_utc = now_of(options)
    ctx = Context(
        options,
        now_local,
        now_utc,
        evidence.position,
        evidence.duration,
        list(evidence.ignored),
        hint,
    )
    raws = [r.copy() for r in evidence.raws]  # judging fills them in; the evidence stays
    local_time_headers(raws, evidence, options)
    localize_instants(raws, ctx)
    _confirm_suspects(raws, ctx)
    raws = [r for r in raws if r.suspect is None and r.local is not None]
    candidates = tuple(_candidate(r) for r in _ranked(raws))
    if not raws:
        reason = "no date found in the metadata, the name, the folders or the file times"
        return none_verdict(_with_ignored(reason, ctx), candidates)
    return _verdict(_ranked(raws)[0], raws, ctx, candidates)


def _ranked(raws: list[Raw]) -> list[Raw]:
    return sorted(raws, key=lambda r: (-r.trust, TRUST_ORDER[r.source]))


def _confirm_suspects(raws: list[Raw], ctx: Context) -> None:
    """A factory-clock value stays only when an independent source confirms it."""
    for r in raws:
        clock = r.local if r.local_known else r.utc
        if fine(r) and clock is not None:
            r.suspect = factory_clock(clock)
    confirmed = {
        id(r)
        for r in raws
        if r.suspect is not None
        and any(
            o.family != r.family
            and o.source != "file:mtime"
            and o.local is not None
            and _compare(r, o)[0] == _SAME
            for o in raws
        )
    }
    for r in raws:
        if r.suspect is None:
            continue
        if id(r) in confirmed:
            r.suspect = None
            r.note = "; ".join(x for x in (r.note, "confirmed despite a reset-clock look") if x)
        else:
            assert r.local is not None
            ctx.ignored.append(f"{label_of(r)} {show_date(r.local, r.precision)} ({r.suspect})")


def _with_ignored(reason: str, ctx: Context) -> str:
    if ctx.ignored:
        reason += "; ignored " + "; ".join(dict.fromkeys(ctx.ignored))
    return reason


def _verdict(
    w: Raw, raws: list[Raw], ctx: Context, candidates: tuple[DateCandidate, ...]
) -> DateVerdict:
    assert w.local is not None
    confidence = w.trust
    agree: list[str] = []
    zone_only: list[str] = []
    disagree: list[str] = []
    families: dict[str, list[Raw]] = {}
    for r in raws:
        if r is not w and r.family != w.family:
            families.setdefault(r.family, []).append(r)
    for members in families.values():
        relations = [(r, *_compare(w, r)) for r in members]
        agreeing = [(r, rel, wt) for r, rel, wt in relations if rel != _DIFFERENT]
        if agreeing:
            r, rel, weight = max(agreeing, key=lambda x: x[0].trust * x[2])
            confidence += (1 - confidence) * AGREE_GAIN * r.trust * weight
            (zone_only if rel == _ZONE else agree).append(label_of(r))
            continue
        r = max(members, key=lambda x: x.row.contradicts * x.trust)
        if r.row.contradicts > 0:
            confidence *= 1 - r.row.contradicts * r.trust
            assert r.local is not None
            disagree.append(f"{label_of(r)} disagrees ({show_date(r.local, r.precision)})")

    # A day-precision winner borrows the time of day from a finer source on that day.
    taken_at = w.local
    borrowed = ""
    clock = w  # the candidate whose time of day taken_at shows
    if w.precision is Precision.DAY:
        finer = [
            r
            for r in _ranked(raws)
            if r is not w and fine(r) and r.local is not None and r.local.date() == w.local.date()
        ]
        if finer:
            clock = finer[0]
            assert clock.local is not None
            taken_at = clock.local
            borrowed = f"time of day from {label_of(clock)}"

    if w.precision in VERDICT_CAP:
        confidence = min(confidence, VERDICT_CAP[w.precision])
    if w.source == "file:mtime":
        confidence = min(confidence, MTIME_CAP)
    confidence = round(max(0.05, min(confidence, 0.99)), 3)

    # The offset: the winner's own, or the best other knowledge, saying which.
    offset: int | None = None
    offset_source: str | None = None
    utc: datetime | None = None
    how = ""
    if fine(clock):
        if clock.offset is not None:
            offset, offset_source = clock.offset, clock.offset_source
            how = "with its offset" if clock.explicit_offset and clock.local_known else clock.how
        else:
            offset, offset_source, how = offset_for_local(clock, raws, ctx)
        utc = taken_at - timedelta(minutes=offset)
        if clock is not w:
            how = ""  # the borrowed clock's offset is a detail of a guess
    if offset_source == NEIGHBOURS and not clock.local_known:
        # The wall clock itself rests on the neighbours' zone: a good guess, not a fact.
        confidence = min(confidence, NEIGHBOUR_CAP)

    label = _describe(w)
    parts = [label + (f" {how}" if how.startswith("with ") else "")]
    if how and not how.startswith("with "):
        parts.append(how)
    if borrowed:
        parts.append(borrowed)
        agree = [a for a in agree if a != label_of(clock)]
    if agree:
        parts.append(f"{_names(agree)} {'agrees' if len(agree) == 1 else 'agree'}")
    if zone_only:
        verb = "agrees" if len(zone_only) == 1 else "agree"
        parts.append(f"{_names(zone_only)} {verb} up to the time zone")
    parts.extend(disagree)
    if not agree and not zone_only and not disagree and len(raws) == 1:
        parts.append("no other date found")
    reason = _with_ignored("; ".join(parts), ctx)
    return DateVerdict(
        taken_at=taken_at,
        utc_offset=offset,
        offset_source=offset_source,
        taken_at_utc=utc,
        confidence=confidence,
        level=level_for(confidence),
        source=w.source,
        reason=reason,
        precision=w.precision,
        candidates=candidates,
        instant_only=not clock.local_known,
    )


def _describe(w: Raw) -> str:
    label = label_of(w)
    if w.source == "filename":
        label = "the file name"
        if w.precision.rank >= Precision.DAY.rank:
            label += " (a date only)"
    elif w.source == "folder":
        label = f"the folder name ({w.note})" if w.note else "the folder name"
    elif w.source == "file:mtime":
        label = "only the file's modification time"
    if w.utc_known and not w.local_known and w.source != "file:mtime":
        label += " (UTC)"
    elif w.camera_note:
        label += f" (local time: {w.camera_note})"
    return label
