"""Cameras that write their local clock into QuickTime header dates, known or detected."""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from mediafix.media.dates.evidence import Evidence, Raw, fine, label_of
from mediafix.media.dates.model import DateOptions
from mediafix.media.dates.trust import NO_DERIVE
from mediafix.media.dates.zones import offset_at_utc

__all__ = [
    "QUICKTIME_LOCAL_CAMERAS",
    "Clip",
    "LocalTimeCamera",
    "Shot",
    "detect_local_cameras",
    "local_time_headers",
]

# --- cameras that write local time into QuickTime ------------------------------------------
#
# The QuickTime spec says movie and track header dates are UTC, and phones follow it. Many
# cameras do not know their zone and write their local clock there instead (exiftool's
# QuickTimeUTC documentation), so read as UTC their videos are off by the zone's offset:
# the commonest video complaint in the peers' trackers. The table ships the makers the
# evidence names; a person may add models in the settings; the library detects the rest.


@dataclass(frozen=True)
class LocalTimeCamera:
    """Cameras known to write their local clock into QuickTime header dates."""

    name: str  # words for the reason: "GoPro cameras"
    make: re.Pattern[str] | None  # matched against Make (search, case-insensitive)
    model: re.Pattern[str] | None  # or against Model
    evidence: str  # where it was shown (peers' issues, exiftool's documentation)

    def matches(self, make: str | None, model: str | None) -> bool:
        return bool(
            (self.make and make and self.make.search(make))
            or (self.model and model and self.model.search(model))
        )


QUICKTIME_LOCAL_CAMERAS: tuple[LocalTimeCamera, ...] = (
    LocalTimeCamera(
        "GoPro cameras",
        re.compile(r"\bgopro\b", re.I),
        re.compile(r"^\s*(?:HERO\d*|GoPro\b|MAX\b)", re.I),
        "GoPro firmware has no time zone, the clock is set to local time (gopro/labs#5); "
        "HERO11 videos shifted by the zone in immich (immich-app/immich#28059); a GoPro MP4's "
        "CreateDate equal to the local recording time (pulsejet/memories#1256)",
    ),
    LocalTimeCamera(
        "Nikon cameras",
        re.compile(r"\bnikon\b", re.I),
        re.compile(r"^\s*nikon\b", re.I),
        "Z 30 videos 8 hours ahead when read as UTC (immich-app/immich#13009, #13623), Z50II "
        "MOV times shifted by the offset (#17495), Nikon mirrorless MOV dates wrong (#18516); "
        "Nikon's own CreateDate in the MOV holds the local time (pulsejet/memories#1256)",
    ),
)
_HEADER_AGREE = 120.0  # seconds a header may be from a local clock and still "be" it


def _local_camera_reason(evidence: Evidence, options: DateOptions) -> str | None:
    """Words saying why this file's QuickTime headers are local time, if they are."""
    camera = evidence.camera
    if camera is not None:
        if camera in {m.strip().casefold() for m in options.quicktime_local_models}:
            return "this camera model is set to write local time into QuickTime"
        detected = options.detected_local_cameras.get(camera)
        if detected:
            return f"this camera writes local time into QuickTime: {detected}"
    for row in QUICKTIME_LOCAL_CAMERAS:
        if row.matches(evidence.make, evidence.model):
            return f"{row.name} write local time into QuickTime"
    return None


def local_time_headers(raws: list[Raw], evidence: Evidence, options: DateOptions) -> None:
    """Read QuickTime header dates as the camera's local clock when the camera is known to
    write it, or when the file itself shows it: the header equals a local wall clock the
    file states elsewhere (its name, a maker's note) to the second, not an offset apart."""
    headers = [r for r in raws if r.header and r.utc is not None]
    if not headers:
        return
    why = _local_camera_reason(evidence, options)
    if why is None:
        clocks = [
            r
            for r in raws
            if r.local_known
            and not r.utc_known
            and fine(r)
            and r.source not in NO_DERIVE
            and not r.header
        ]
        for h in headers:
            assert h.utc is not None
            same = [
                c
                for c in clocks
                if c.local is not None
                and abs((c.local - h.utc).total_seconds()) <= max(c.slack, h.slack)
            ]
            if same:
                c = max(same, key=lambda x: x.trust)
                other = "the local time in the file name" if c.source == "filename" else label_of(c)
                why = f"it equals {other}, so this camera writes local time into QuickTime"
                break
    if why is None:
        return
    for h in headers:
        h.local, h.local_known = h.utc, True
        h.utc, h.utc_known = None, False
        h.note = "read as local time"
        h.camera_note = why


def detect_local_cameras(
    clips: Sequence[Clip], shots: Sequence[Shot], home_zone: ZoneInfo
) -> dict[str, str]:
    """Camera models whose videos' QuickTime header time is the local wall clock of the same
    camera's photos, seconds before or after (model -> the evidence, in words).

    A video votes "local" when its header, read as a wall clock, lies within two minutes
    (plus its length) of one of the camera's photos while read as UTC it is half an hour or
    more from all of them; it votes "UTC" the other way round. A camera is detected with at
    least one local vote and three times as many as UTC votes. Where the zone's offset is
    zero the two readings are the same moment and nobody votes.
    """
    by_camera: dict[str, list[datetime]] = {}
    for shot in shots:
        by_camera.setdefault(shot.camera, []).append(shot.local)
    for listed in by_camera.values():
        listed.sort()
    votes: dict[str, list[tuple[Clip, Shot | None, float]]] = {}
    against: dict[str, int] = {}
    shot_at = {(s.camera, s.local): s for s in shots}
    for clip in clips:
        times = by_camera.get(clip.camera)
        if not times:
            continue
        offset = offset_at_utc(home_zone, clip.header)
        if offset == 0:
            continue
        reach = _HEADER_AGREE + clip.duration
        as_local = _nearest(times, clip.header)
        as_utc = _nearest(times, clip.header + timedelta(minutes=offset))
        d_local = abs((as_local - clip.header).total_seconds())
        d_utc = abs((as_utc - clip.header - timedelta(minutes=offset)).total_seconds())
        if d_local <= reach and d_utc >= 1800:
            votes.setdefault(clip.camera, []).append(
                (
                    clip,
                    shot_at.get((clip.camera, as_local)),
                    (as_local - clip.header).total_seconds(),
                )
            )
        elif d_utc <= reach and d_local >= 1800:
            against[clip.camera] = against.get(clip.camera, 0) + 1
    detected: dict[str, str] = {}
    for camera, local_votes in votes.items():
        if len(local_votes) < 3 * against.get(camera, 0):
            continue
        clip, photo, gap = min(local_votes, key=lambda v: abs(v[2]))
        when = "before" if gap < 0 else "after"
        words = (
            f"{clip.name}'s QuickTime time {clip.header:%H:%M:%S} is the local time of "
            f"{photo.name if photo else 'a photo'}, taken {abs(gap):.0f} s {when}"
        )
        if len(local_votes) > 1:
            words += f" ({len(local_votes)} videos agree"
            words += f", {against[camera]} do not)" if against.get(camera) else ")"
        detected[camera] = words
    return detected


def _nearest(times: list[datetime], when: datetime) -> datetime:
    i = bisect.bisect_left(times, when)
    near = times[max(0, i - 1) : i + 1]
    return min(near, key=lambda t: abs((t - when).total_seconds()))


@dataclass(frozen=True)
class Clip:
    """A video for ``detect_local_cameras``: its camera model and QuickTime header time."""

    camera: str
    header: datetime  # as written, no offset
    duration: float
    name: str


@dataclass(frozen=True)
class Shot:
    """A photo for ``detect_local_cameras``: its camera model and local wall-clock time."""

    camera: str
    local: datetime
    name: str
