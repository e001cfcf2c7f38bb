"""Candidates: each source a file offers -> at most one working candidate (``Raw``).

EXIF, XMP and IPTC tags, QuickTime/RIFF/H.264/Matroska video dates, GPS time, the file name
and its folders, a Google Takeout JSON and an XMP sidecar, the file's mtime. Sentinels
(zero dates, 1904/1970 epochs, the future, before 1826) are dropped and named in the reason.
``collect`` gathers them all into a file's ``Evidence``.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from mediafix.media.dates.evidence import Evidence, Raw, make_raw
from mediafix.media.dates.filenames import NameDate, parse_filename
from mediafix.media.dates.folders import parse_folder
from mediafix.media.dates.model import Context, DateOptions, now_of
from mediafix.media.dates.parsing import (
    Parsed,
    as_text,
    date_only_midnight,
    parse_datetime,
    parse_offset,
    parse_time,
    show_date,
    subsec_micro,
)
from mediafix.media.dates.trust import impossible
from mediafix.media.sidecars import read_takeout, read_xmp_dates
from mediafix.media.values import Precision, TimeMeaning

__all__ = ["Collector", "collect"]

_L, _U = TimeMeaning.LOCAL, TimeMeaning.UTC

_QT_GROUPS = frozenset({"quicktime", "keys", "userdata", "itemlist", "microsoft"})
_NOT_EXIF_GROUPS = (
    frozenset(
        {
            "composite",
            "file",
            "system",
            "riff",
            "h264",
            "png",
            "json",
            "m2ts",
            "gps",
            "iptc",
            "iptc2",
            "photoshop",
            "jfif",
            "icc_profile",
            "mpf0",
            "exiftool",
            # other containers whose tags exiftool names like EXIF's (Matroska's DateUTC is
            # "DateTimeOriginal"): never "exif:"
            "matroska",
            "flashpix",
            "app12",
            "plist",
            "mie",
            "xisf",
            "openexr",
            "lytro",
            "moi",
            "red",
            "dpx",
            "fits",
            "pdf",
            "id3",
            "vorbis",
            "asf",
            "mxf",
        }
    )
    | _QT_GROUPS
)
# The standard EXIF directories (-G1 names, -G0 and none); any other EXIF-kind group is a
# camera maker's notes (Canon, Nikon, Kodak, FLIR, CanonRaw...).
_EXIF_IFDS = ("ExifIFD", "IFD0", "SubIFD", "EXIF", "")


def _index(metadata: Mapping[str, Any]) -> dict[str, list[tuple[str, Any]]]:
    """tag name -> [(group, value)] in the metadata's order; ungrouped keys get group ""."""
    idx: dict[str, list[tuple[str, Any]]] = {}
    for key, value in metadata.items():
        if not isinstance(key, str):
            continue
        group, _, tag = key.rpartition(":")
        idx.setdefault(tag, []).append((group, value))
    return idx


def _group_kind(group: str) -> str:
    g = group.lower()
    if g.startswith("xmp"):
        return "xmp"
    if g in _QT_GROUPS or re.fullmatch(r"track\d+", g):
        return "quicktime"
    if g in ("riff", "h264", "composite", "gps", "matroska"):
        return g
    if g.startswith("iptc"):
        return "iptc"
    if g in _NOT_EXIF_GROUPS:
        return "other"
    return "exif"  # ExifIFD, IFD0, "" and maker-note groups (Canon, FLIR, CIFF...)


def _first(
    idx: dict[str, list[tuple[str, Any]]], tag: str, kind: str, prefer: Sequence[str] = ()
) -> tuple[str, Any] | None:
    """The first non-blank value of ``tag`` in a group of ``kind``, preferred groups first."""
    found = [(g, v) for g, v in idx.get(tag, ()) if _group_kind(g) == kind and as_text(v)]
    for group in prefer:
        for g, v in found:
            if g.lower() == group.lower():
                return g, v
    return found[0] if found else None


class Collector:
    """Gathers candidates, dropping sentinels with a note for the reason."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.raws: list[Raw] = []

    def parse(self, label: str, value: Any) -> Parsed | None:
        parsed = parse_datetime(value)
        if parsed is None:
            text = as_text(value)
            if text is not None and not text.replace(":", "").replace(" ", "").strip("0"):
                self.ctx.ignored.append(f"{label} {str(value)!r} (blank)")
            elif text is not None and re.search(r"\d", text):
                self.ctx.ignored.append(f"{label} {text!r} (not a date)")
        return parsed

    def read(
        self,
        label: str,
        idx: dict[str, list[tuple[str, Any]]],
        tag: str,
        kind: str,
        prefer: Sequence[str] = (),
    ) -> Parsed | None:
        """The first value of ``tag`` in a group of ``kind`` (``_first``), parsed as
        :meth:`parse` does; None when there is none or it is no date."""
        found = _first(idx, tag, kind, prefer)
        return None if found is None else self.parse(label, found[1])

    def add(self, r: Raw) -> None:
        ctx = self.ctx
        label = r.row.label if r.source not in ("filename", "folder") else r.source
        check = r.local if r.local is not None else r.utc
        assert check is not None
        why = impossible(check, r.utc, ctx.now_local, ctx.now_utc)
        if why is not None:
            ctx.ignored.append(f"{label} {show_date(check, r.precision)} ({why})")
            return
        if any(x.source == r.source for x in self.raws):
            return  # one candidate per source: the first (preferred) one
        self.raws.append(r)


def _exif_candidates(col: Collector, idx: dict[str, list[tuple[str, Any]]]) -> None:
    """EXIF DateTimeOriginal, CreateDate, ModifyDate with sub-seconds and their OffsetTime*
    tags; when the standard tag is missing, a maker's notes or exiftool's composite, labelled
    as such (``exif:MakerNotes:DateTimeOriginal``, the maker in the candidate's ``detail``)."""
    specs = (
        (
            "DateTimeOriginal",
            "exif:DateTimeOriginal",
            "SubSecTimeOriginal",
            ("OffsetTimeOriginal", "OffsetTimeDigitized", "OffsetTime"),
        ),
        (
            "CreateDate",
            "exif:CreateDate",
            "SubSecTimeDigitized",
            ("OffsetTimeDigitized", "OffsetTimeOriginal", "OffsetTime"),
        ),
        ("ModifyDate", "exif:ModifyDate", "SubSecTime", ("OffsetTime",)),
    )
    for tag, source, subsec_tag, offset_tags in specs:
        found = _first(idx, tag, "exif", _EXIF_IFDS)
        from_exif = found is not None and found[0].lower() in {g.lower() for g in _EXIF_IFDS}
        if found is None and tag == "DateTimeOriginal":
            comp = _first(idx, "SubSecDateTimeOriginal", "composite")
            if comp is not None:
                parsed = col.parse("exiftool's composite SubSecDateTimeOriginal", comp[1])
                if parsed is not None:
                    col.add(
                        make_raw(
                            "exif:Composite:SubSecDateTimeOriginal",
                            parsed,
                            _L,
                            note="exiftool's composite: no EXIF DateTimeOriginal",
                            detail="Composite",
                        )
                    )
                    continue
        if found is None:
            continue
        group, value = found
        if tag == "ModifyDate" and group.lower() not in ("ifd0", "exif", ""):
            continue  # IFD1:ModifyDate is the thumbnail's, a maker's is no capture time
        parsed = col.parse(f"EXIF {tag}", value)
        if parsed is None:
            continue
        offset_source = None
        if from_exif:
            micro = subsec_micro((_first(idx, subsec_tag, "exif") or ("", None))[1])
            if micro is not None and parsed.precision is Precision.SECOND:
                parsed = Parsed(
                    parsed.value.replace(microsecond=micro), Precision.SUBSECOND, parsed.offset
                )
            if parsed.offset is None and tag == "DateTimeOriginal":
                # Maker notes (FLIR...) may repeat the time with the offset EXIF lacks.
                for g, v in idx.get(tag, ()):
                    other = parse_datetime(v) if g != group and _group_kind(g) == "exif" else None
                    if (
                        other is not None
                        and other.offset is not None
                        and other.value.replace(microsecond=0)
                        == parsed.value.replace(microsecond=0)
                    ):
                        parsed = Parsed(parsed.value, parsed.precision, other.offset)
                        offset_source = f"exif:{g}"
                        break
            if parsed.offset is None:
                for otag in offset_tags:
                    if (
                        otag == "OffsetTime"
                        and tag != "ModifyDate"
                        and not _same_second(
                            (_first(idx, "ModifyDate", "exif", ("IFD0",)) or ("", None))[1],
                            parsed.value,
                        )
                    ):
                        continue  # OffsetTime belongs to ModifyDate: an edit elsewhere later
                    off = _first(idx, otag, "exif")
                    minutes = parse_offset(off[1]) if off else None
                    if minutes is not None:
                        parsed = Parsed(parsed.value, parsed.precision, minutes)
                        offset_source = f"exif:{otag}"
                        break
            col.add(make_raw(source, parsed, _L, offset_source=offset_source))
        else:
            col.add(
                make_raw(
                    f"exif:MakerNotes:{tag}",
                    parsed,
                    _L,
                    note=f"from the {group} maker notes",
                    detail=group,
                )
            )


def _same_second(value: Any, when: datetime) -> bool:
    parsed = parse_datetime(value)
    return parsed is not None and parsed.value.replace(microsecond=0) == when.replace(microsecond=0)


_XMP_TAGS = (
    ("DateTimeOriginal", "xmp:DateTimeOriginal"),
    ("DateCreated", "xmp:DateCreated"),
    ("DateTimeDigitized", "xmp:DateTimeDigitized"),
    ("CreateDate", "xmp:CreateDate"),
    ("ModifyDate", "xmp:ModifyDate"),
    ("DateTime", "xmp:DateTime"),
)


def _xmp_candidates(col: Collector, idx: dict[str, list[tuple[str, Any]]]) -> None:
    for tag, source in _XMP_TAGS:
        parsed = col.read(f"XMP {tag}", idx, tag, "xmp")
        if parsed is None:
            continue
        if tag == "DateCreated":
            parsed = date_only_midnight(parsed)
        col.add(make_raw(source, parsed, _L))


def _iptc_candidates(col: Collector, idx: dict[str, list[tuple[str, Any]]]) -> None:
    for date_tag, time_tag, source in (
        ("DateCreated", "TimeCreated", "iptc:DateCreated"),
        ("DigitalCreationDate", "DigitalCreationTime", "iptc:DigitalCreationDate"),
    ):
        found = _first(idx, date_tag, "iptc", ("IPTC",))
        if found is None:
            continue
        parsed = col.parse(f"IPTC {date_tag}", found[1])
        if parsed is None:
            continue
        t = _first(idx, time_tag, "iptc", (found[0],))
        tm = parse_time(t[1]) if t else None
        offset_source = None
        if tm is not None and parsed.precision is Precision.DAY:
            h, mi, s, us, precision, offset = tm
            if offset == 0:
                offset = None  # IPTC "+00:00" is what most tools write when they do not know
            parsed = date_only_midnight(
                Parsed(
                    parsed.value.replace(hour=h, minute=mi, second=s, microsecond=us),
                    precision,
                    offset,
                )
            )
            offset_source = f"iptc:{time_tag}" if parsed.offset is not None else None
        col.add(make_raw(source, parsed, _L, offset_source=offset_source))


def _gps_candidate(col: Collector, idx: dict[str, list[tuple[str, Any]]]) -> None:
    """GPSDateStamp + GPSTimeStamp: a UTC instant from the satellite clock."""
    comp = _first(idx, "GPSDateTime", "composite")
    if comp is not None:
        parsed = col.parse("GPS time", comp[1])
        if parsed is not None:
            col.add(make_raw("gps:GPSDateTime", parsed, _U))
            return
    date = _first(idx, "GPSDateStamp", "gps") or _first(idx, "GPSDateStamp", "exif")
    if date is None:
        xmp = _first(idx, "GPSTimeStamp", "xmp")  # XMP holds the whole date-time
        parsed = parse_datetime(xmp[1]) if xmp else None
        if parsed is not None and parsed.precision.rank <= Precision.MINUTE.rank:
            col.add(make_raw("gps:GPSDateTime", parsed, _U))
        return
    parsed = col.parse("GPS date", date[1])
    if parsed is None:
        return
    t = _first(idx, "GPSTimeStamp", "gps") or _first(idx, "GPSTimeStamp", "exif")
    tm = parse_time(t[1]) if t else None
    if tm is not None and parsed.precision is Precision.DAY and tm[:4] != (0, 0, 0, 0):
        h, mi, s, us, precision, _ = tm
        parsed = Parsed(
            parsed.value.replace(hour=h, minute=mi, second=s, microsecond=us), precision, None
        )
    # (a time of exactly 00:00:00 is what receivers write when they have only the date)
    col.add(make_raw("gps:GPSDateTime", parsed, _U))


def _video_candidates(col: Collector, idx: dict[str, list[tuple[str, Any]]]) -> None:
    ctx = col.ctx
    # Apple Keys:CreationDate: the local time with its offset, the best a video has.
    found = _first(idx, "CreationDate", "quicktime", ("Keys", "UserData", "ItemList"))
    if found is not None:
        parsed = col.parse("QuickTime CreationDate", found[1])
        if parsed is not None:
            src = (
                "quicktime:Keys"
                if found[0].lower() in ("keys", "quicktime")
                else f"quicktime:{found[0]}"
            )
            col.add(make_raw("quicktime:CreationDate", parsed, _L, offset_source=src))
    for tag, source in (
        ("DateTimeOriginal", "quicktime:DateTimeOriginal"),
        ("ContentCreateDate", "quicktime:ContentCreateDate"),
    ):
        parsed = col.read(
            f"QuickTime {tag}", idx, tag, "quicktime", ("UserData", "Keys", "ItemList")
        )
        if parsed is not None:  # a wall clock, or an instant when written with "Z"
            col.add(make_raw(source, parsed, _L))
    # The movie and track headers: UTC by the QuickTime spec (1904 epoch when unset).
    for tag, source in (
        ("CreateDate", "quicktime:CreateDate"),
        ("MediaCreateDate", "quicktime:MediaCreateDate"),
        ("TrackCreateDate", "quicktime:TrackCreateDate"),
    ):
        parsed = col.read(
            f"QuickTime {tag}", idx, tag, "quicktime", ("QuickTime", "Track1", "Track2")
        )
        if parsed is None:
            continue
        r = make_raw(source, parsed, _U, note="stored as UTC")
        r.slack += ctx.duration  # written when the recording ends
        # Without an offset it may be a camera's local clock instead: ``_judge`` decides
        # (the camera tables and the library's evidence may change; the evidence stays).
        r.header = parsed.offset is None and not parsed.zulu
        col.add(r)
    parsed = col.read("Matroska DateUTC", idx, "DateTimeOriginal", "matroska")  # WebM too
    if parsed is not None:
        col.add(make_raw("matroska:DateTimeOriginal", parsed, _U, note="stored as UTC"))
    for tag, source, kind in (
        ("DateTimeOriginal", "riff:DateTimeOriginal", "riff"),
        ("DateCreated", "riff:DateCreated", "riff"),
        ("DateTimeOriginal", "h264:DateTimeOriginal", "h264"),
    ):
        parsed = col.read(f"{kind.upper()} {tag}", idx, tag, kind)
        if parsed is not None:
            col.add(make_raw(source, parsed, _L))


def _position(idx: dict[str, list[tuple[str, Any]]]) -> tuple[float, float] | None:
    """Signed latitude/longitude: Composite and XMP are signed; the GPS group alone is not
    (its hemisphere is in GPSLatitudeRef), so it is used only with its Ref tags."""
    for kind in ("composite", "xmp", "quicktime"):
        lat, lon = _first(idx, "GPSLatitude", kind), _first(idx, "GPSLongitude", kind)
        if lat and lon:
            return _valid_position(lat[1], lon[1])
    lat, lon = _first(idx, "GPSLatitude", "gps"), _first(idx, "GPSLongitude", "gps")
    if lat and lon:
        lat_ref = (as_text((_first(idx, "GPSLatitudeRef", "gps") or ("", None))[1]) or "").upper()
        lon_ref = (as_text((_first(idx, "GPSLongitudeRef", "gps") or ("", None))[1]) or "").upper()
        pos = _valid_position(lat[1], lon[1])
        if pos is None:
            return None
        la, lo = pos
        la = -abs(la) if lat_ref.startswith("S") else la
        lo = -abs(lo) if lon_ref.startswith("W") else lo
        return la, lo
    return None


def _valid_position(lat: Any, lon: Any) -> tuple[float, float] | None:
    try:
        la, lo = float(str(lat).split()[0]), float(str(lon).split()[0])
    except (ValueError, IndexError):
        return None
    if not (math.isfinite(la) and math.isfinite(lo)) or (la == 0 and lo == 0):
        return None  # 0,0 is "no fix"
    if not (-90 <= la <= 90 and -180 <= lo <= 180):
        return None
    return la, lo


def _name_candidate(col: Collector, source: str, nd: NameDate | None, note: str) -> None:
    if nd is None:
        return
    # An OFFSET name states its wall clock and offset: read like a UTC source with an
    # offset (both known; "Z" gives the instant alone).
    parsed = Parsed(nd.value, nd.precision, nd.offset)
    meaning = _L if nd.meaning is TimeMeaning.LOCAL else _U
    if nd.meaning is TimeMeaning.EPOCH_MS and nd.confidence <= 0.3:
        note += " (an epoch number: usually a download or app time)"
    col.add(make_raw(source, parsed, meaning, trust=nd.confidence, note=note.strip()))


def _folder_parts(path: str, root: str | None) -> list[str]:
    if not root:
        return []
    rel = os.path.relpath(os.path.dirname(os.path.abspath(path)), os.path.abspath(root))
    if rel in (".", "") or rel.startswith(".."):
        return []
    return [p for p in rel.split(os.sep) if p]


def _sidecar_candidates(col: Collector, sidecars: Sequence[str]) -> None:
    taken: tuple[str, datetime] | None = None  # the JSON that gave the Takeout candidate
    for car in sidecars:
        lower = car.lower()
        base = os.path.basename(car)
        if lower.endswith(".json"):
            info = read_takeout(car)
            if info is None:
                col.ctx.ignored.append(f"sidecar {base} (not a Takeout JSON)")
                continue
            if info.taken_utc is not None and taken is not None:
                if info.taken_utc != taken[1]:  # the first listed is the newer export's
                    col.ctx.ignored.append(
                        f"Takeout JSON {base} {info.taken_utc:%Y-%m-%d %H:%M:%S} UTC "
                        f"(disagrees with {taken[0]}, the newer export's format, which wins)"
                    )
            elif info.taken_utc is not None:
                taken = (base, info.taken_utc)
                col.add(
                    make_raw(
                        "sidecar:takeout",
                        Parsed(info.taken_utc, Precision.SECOND, 0),
                        _U,
                        note=f"photoTakenTime from {base}",
                    )
                )
            if (
                col.ctx.position is None
                and info.latitude is not None
                and info.longitude is not None
            ):
                col.ctx.position = (info.latitude, info.longitude)
        elif lower.endswith(".xmp"):
            dates = read_xmp_dates(car)
            for tag in (
                "exif:DateTimeOriginal",
                "photoshop:DateCreated",
                "xmp:CreateDate",
                "exif:DateTimeDigitized",
                "tiff:DateTime",
            ):
                if tag not in dates:
                    continue
                parsed = col.parse(f"XMP sidecar {tag}", dates[tag])
                if parsed is None:
                    continue
                if tag == "photoshop:DateCreated":
                    parsed = date_only_midnight(parsed)
                col.add(make_raw("sidecar:xmp", parsed, _L, note=f"{tag} in {base}"))
                break


def collect(
    path: str,
    metadata: Mapping[str, Any],
    mtime: float | None,
    *,
    root: str | None = None,
    sidecars: Sequence[str] = (),
    options: DateOptions,
) -> Evidence:
    """Every date the file offers (metadata, sidecars, name, folders, mtime), sentinels
    dropped and named. ``options`` only bounds the future."""
    now_local, now_utc = now_of(options)
    ctx = Context(options, now_local, now_utc)
    metadata = metadata if isinstance(metadata, Mapping) else {}
    idx = _index(metadata)
    ctx.position = _position(idx)
    try:
        ctx.duration = max(
            0.0, float(as_text((_first(idx, "Duration", "quicktime") or ("", 0))[1]) or 0)
        )
    except ValueError:
        ctx.duration = 0.0

    col = Collector(ctx)
    _exif_candidates(col, idx)
    _video_candidates(col, idx)
    _xmp_candidates(col, idx)
    _iptc_candidates(col, idx)
    _gps_candidate(col, idx)
    _sidecar_candidates(col, sidecars)
    name = os.path.basename(path)
    _name_candidate(col, "filename", parse_filename(name, now=now_local), "")
    parts = _folder_parts(path, root)
    if parts:
        stem = os.path.splitext(name)[0]
        _name_candidate(
            col, "folder", parse_folder(parts, name=stem, now=now_local), "/".join(parts)
        )
    if mtime is not None:
        try:
            when = datetime(1970, 1, 1) + timedelta(seconds=float(mtime))
        except (OverflowError, ValueError, TypeError):
            when = None
        if when is not None:
            col.add(make_raw("file:mtime", Parsed(when, Precision.SECOND, None), _U))
    return Evidence(
        col.raws,
        ctx.position,
        ctx.duration,
        list(ctx.ignored),
        _tag_text(idx, "Make"),
        _tag_text(idx, "Model"),
    )


def _tag_text(idx: dict[str, list[tuple[str, Any]]], tag: str) -> str | None:
    for _group, value in idx.get(tag, ()):
        text = as_text(value)
        if text:
            return text
    return None
