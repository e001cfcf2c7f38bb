"""Time zones: which UTC offset a wall clock or an instant had, and where that is known from.

In order: an offset the file states for the same moment, a local clock another source
gives (a real offset apart), the zone at the GPS position, the zone the file's neighbours
in time recorded (a camera without a zone setting, on a trip), and only then the home zone,
saying which.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from mediafix.media.dates.evidence import Raw, fine, label_of
from mediafix.media.dates.model import Context, ZoneHint
from mediafix.media.dates.trust import NO_DERIVE
from mediafix.media.values import format_offset

__all__ = [
    "GPS_CLOCK_SLACK",
    "NEIGHBOURS",
    "NEIGHBOUR_CAP",
    "VALID_OFFSETS",
    "ZoneAnchor",
    "ZoneAnchors",
    "ZoneQuestion",
    "fallback_offset",
    "localize_instants",
    "nearest_offset",
    "offset_at_local",
    "offset_at_utc",
    "offset_for_local",
]

log = logging.getLogger("mediafix.media.dates")

# Real UTC offsets: whole and half hours, and the few :45 zones (Nepal, Eucla, Chatham).
VALID_OFFSETS = frozenset(
    {h * 60 for h in range(-12, 15)} | {h * 60 + 30 for h in range(-12, 14)} | {345, 525, 765, 825}
)
GPS_CLOCK_SLACK = 300.0  # a GPS fix may be minutes old; still fine to read a zone from


# --- zone from neighbours -------------------------------------------------------------------
#
# A camera without a zone setting, on a trip abroad: its photos carry the local wall clock
# but no offset, so the home zone gives them a wrong UTC instant (and a phone video, which
# knows the instant, a wrong wall clock). Files that record their offset (a phone's
# OffsetTimeOriginal, Apple's CreationDate, a GPS position) taken around the same time show
# the zone the trip was in.

NEIGHBOURS = "neighbours"  # the offset_source of a zone the neighbours showed
_ZONE_REACH = timedelta(hours=6)  # neighbours further away say nothing about this moment
_ZONE_NEAR = timedelta(hours=3)  # at least one neighbour this close
NEIGHBOUR_CAP = 0.79  # a wall clock that rests on the neighbours' zone stays medium


@dataclass(frozen=True)
class ZoneAnchor:
    """A file that records its UTC offset: its instant, offset and name."""

    utc: datetime
    offset: int
    name: str
    camera: str | None = None

    @property
    def local(self) -> datetime:
        return self.utc + timedelta(minutes=self.offset)


@dataclass(frozen=True)
class ZoneQuestion:
    """A file whose offset is the home zone's guess: its instant if known, else its wall
    clock (a camera's local time), and the home zone's offset."""

    key: Hashable
    utc: datetime | None
    local: datetime | None
    home_offset: int


class ZoneAnchors:
    """Files that record their offset, sorted for ``hint_for`` (instants and wall clocks)."""

    def __init__(self, anchors: Sequence[ZoneAnchor]) -> None:
        self.by_utc = sorted(anchors, key=lambda a: a.utc)
        self.utcs = [a.utc for a in self.by_utc]
        self.by_local = sorted(anchors, key=lambda a: a.local)
        self.locals = [a.local for a in self.by_local]

    def hint_for(self, q: ZoneQuestion) -> ZoneHint | None:
        """The offset the neighbours show for ``q``: every recorded offset within six hours
        is the same, one is within three hours, and it is not the home zone's."""
        if q.utc is not None:
            when, keys, items = q.utc, self.utcs, self.by_utc
        elif q.local is not None:
            when, keys, items = q.local, self.locals, self.by_local
        else:
            return None
        lo = bisect.bisect_left(keys, when - _ZONE_REACH)
        hi = bisect.bisect_right(keys, when + _ZONE_REACH)
        near = items[lo:hi]
        if not near:
            return None
        offsets = {a.offset for a in near}
        if len(offsets) != 1:
            return None  # a zone change (a flight, a border): no guess
        offset = offsets.pop()
        if offset == q.home_offset:
            return None
        gaps = [
            (abs((k - when).total_seconds()), a) for k, a in zip(keys[lo:hi], near, strict=True)
        ]
        closest_gap, closest = min(gaps, key=lambda g: g[0])
        if closest_gap > _ZONE_NEAR.total_seconds():
            return None
        minutes = round(closest_gap / 60)
        words = (
            f"the zone of its neighbours ({format_offset(offset)}, recorded by "
            f"{closest.name} {minutes} min away"
            + (f" and {len(near) - 1} more within 6 hours" if len(near) > 1 else "")
            + ")"
        )
        return ZoneHint(offset, words)


# --- time zones -----------------------------------------------------------------------------

_finder: Any = None
_finder_lock = threading.Lock()
_finder_failed = False


@lru_cache(maxsize=4096)
def _zone_name_at(lat: float, lon: float) -> str | None:
    """The IANA zone at a position (timezonefinder loads lazily: it takes a while)."""
    global _finder, _finder_failed
    if _finder is None:
        with _finder_lock:
            if _finder is None and not _finder_failed:
                try:
                    from timezonefinder import TimezoneFinder

                    _finder = TimezoneFinder()
                except Exception as exc:  # a missing or broken data package is not fatal
                    log.warning("timezonefinder is unavailable: %s", exc)
                    _finder_failed = True
    if _finder is None:
        return None
    try:
        name = _finder.timezone_at(lng=lon, lat=lat)
    except Exception:
        return None
    return name if isinstance(name, str) else None


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except Exception:
        return None


def _zone_at(position: tuple[float, float] | None) -> tuple[ZoneInfo, str] | None:
    if position is None:
        return None
    name = _zone_name_at(round(position[0], 3), round(position[1], 3))
    zone = _zone(name) if name else None
    return (zone, name) if zone is not None and name is not None else None


def offset_at_utc(zone: ZoneInfo, utc: datetime) -> int:
    off = utc.replace(tzinfo=UTC).astimezone(zone).utcoffset()
    return int(off.total_seconds() // 60) if off is not None else 0


def offset_at_local(zone: ZoneInfo, local: datetime) -> int:
    off = local.replace(tzinfo=zone).utcoffset()
    return int(off.total_seconds() // 60) if off is not None else 0


def _zone_label(zone: ZoneInfo) -> str:
    return getattr(zone, "key", None) or str(zone)


def nearest_offset(diff: timedelta, slack: float) -> int | None:
    """``diff`` (local - utc) as a real UTC offset in minutes, if it is one within ``slack``."""
    seconds = diff.total_seconds()
    quarter = round(seconds / 900) * 15
    if quarter in VALID_OFFSETS and abs(seconds - quarter * 60) <= slack:
        return quarter
    return None


_ANCHOR_REACH = 86400.0  # seconds within which another tag's offset still tells the zone


def fallback_offset(
    ctx: Context, *, utc: datetime | None = None, local: datetime | None = None
) -> tuple[int, str, str]:
    """(offset, offset_source, words) from the GPS position's zone, else the zone the
    file's neighbours show, else the home zone."""
    found = _zone_at(ctx.position)
    if found is not None:
        zone, name = found
        source, words = "gps-position", f"the time zone at the GPS position ({name})"
    elif ctx.hint is not None:
        return ctx.hint.offset, NEIGHBOURS, ctx.hint.words
    else:
        zone = ctx.options.home_zone
        source, words = "home-zone", f"the home zone ({_zone_label(zone)})"
    if utc is not None:
        return offset_at_utc(zone, utc), source, words
    assert local is not None
    return offset_at_local(zone, local), source, words


def localize_instants(raws: list[Raw], ctx: Context) -> None:
    """Give UTC-only candidates a wall clock: from an offset stated for the same moment, from
    a local-clock source that differs by a real offset, else the GPS zone or home zone."""
    # An offset the file states for another moment of the same day still tells the zone the
    # device was set to (Voice Memos: a local ContentCreateDate beside a later UTC header).
    anchors = [r for r in raws if r.explicit_offset]
    locals_ = [
        r
        for r in raws
        if r.local_known and not r.utc_known and fine(r) and r.source not in NO_DERIVE
    ]
    for r in raws:
        if r.local is not None or r.utc is None:
            continue
        utc = r.utc
        if not fine(r):  # a UTC day: shifting it by an offset would only move the date
            r.local = utc
            continue
        offset: int | None = None
        how = ""
        near = []
        for a in anchors:
            assert a.utc is not None and a.offset is not None
            gap = abs((a.utc - utc).total_seconds())
            if gap <= _ANCHOR_REACH:  # the same moment first, then the most trusted
                near.append((gap > max(a.slack, r.slack), -a.trust, a.offset, a))
        if near:
            _, _, offset, a = min(near, key=lambda x: x[:3])
            r.offset_source = a.offset_source
            how = f"local time with the offset of {label_of(a)}"
        if offset is None and r.source not in NO_DERIVE:
            for loc in sorted(locals_, key=lambda x: -x.trust):
                assert loc.local is not None
                found = nearest_offset(loc.local - utc, max(loc.slack, r.slack))
                if found is not None:
                    offset, r.offset_source = found, loc.source
                    how = f"offset from the difference to {label_of(loc)}"
                    break
        if offset is None:
            offset, r.offset_source, words = fallback_offset(ctx, utc=utc)
            how = f"shown in {words}"
        r.offset = offset
        r.local = utc + timedelta(minutes=offset)
        r.how = how
        r.note = "; ".join(x for x in (r.note, how) if x)


def offset_for_local(w: Raw, raws: list[Raw], ctx: Context) -> tuple[int, str, str]:
    """(offset, offset_source, words) for a winner read on a wall clock without an offset."""
    assert w.local is not None
    for a in sorted((r for r in raws if r.explicit_offset and r is not w), key=lambda a: -a.trust):
        assert a.local is not None and a.offset is not None and a.offset_source is not None
        if abs((a.local - w.local).total_seconds()) <= max(a.slack, w.slack):
            return a.offset, a.offset_source, f"offset from {label_of(a)}"
    for g in raws:
        if g.source == "gps:GPSDateTime" and g.utc_known and g.utc is not None and fine(g):
            found = nearest_offset(w.local - g.utc, GPS_CLOCK_SLACK)
            if found is not None:
                return found, "gps", "offset from the GPS time"
    for u in sorted(raws, key=lambda x: -x.trust):
        if (
            u is w
            or not u.utc_known
            or u.utc is None
            or u.source in NO_DERIVE
            or u.source == "gps:GPSDateTime"
            or not fine(u)
        ):
            continue
        found = nearest_offset(w.local - u.utc, max(u.slack, w.slack))
        if found is not None:
            return found, u.source, f"offset from the difference to {label_of(u)}"
    offset, source, words = fallback_offset(ctx, local=w.local)
    return offset, source, f"offset from {words}"
