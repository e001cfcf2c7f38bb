"""The table of file-name date patterns, each with its clock and the trust it deserves.

A name is evidence, not truth: cameras write their local clock into ``IMG_20190919_053857``,
Pixels write UTC into ``PXL_...``, WhatsApp keeps only the day it received a file, and a
13-digit number is at best the instant a picture was downloaded. Each row of ``PATTERNS``
says which, and carries a real-looking example with the value it must give, so a new camera
format is one row and its test comes with it. ``NEVER`` lists names that look dated but are
not (counters, ids, a peer's over-eager guess), each with the reason it must stay undated.

Rules of the table:

* rows are tried in order against the whole name with ``regex.match`` and the **first row
  that matches decides**: if its digits are impossible (month 13, 25 o'clock, a date in the
  future) the name gives no date at all, rather than a weaker guess from a later row;
* rows that may find their date anywhere in the name start with ``{ANY}`` (see ``_PARTS``);
* named groups: ``Y M D`` date (``Y`` may be two digits: the latest past century), ``yy`` a
  two-digit year of the digital era (1990-2089), ``h m s`` time, ``f`` milliseconds,
  ``ampm``/``ampm_pre`` a 12-hour marker after/before the time, ``tz`` a UTC offset written
  beside the time, ``ms``/``sec`` an epoch in milliseconds/seconds;
* ``meaning`` is the clock the digits are on: ``local`` (the wall clock where the picture
  was taken; the zone is not in the name and is never guessed without saying so), ``utc``,
  ``offset`` (the wall clock with its offset, both known) or ``epoch_ms`` (an instant).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import itemgetter

from mediafix.media.values import Precision, TimeMeaning

__all__ = [
    "FUTURE_SLACK",
    "MIN_YEAR",
    "NEVER",
    "PATTERNS",
    "NameDate",
    "Pattern",
    "Undated",
    "parse_filename",
    "strip_copy_suffix",
]

_FLAGS = re.IGNORECASE | re.DOTALL
MIN_YEAR = 1826  # the oldest surviving photograph; anything earlier is a wrong clock
_EPOCH = datetime(1970, 1, 1)
_MIN_EPOCH = datetime(2000, 1, 1)  # an epoch name is a download/app time: digital era only
FUTURE_SLACK = timedelta(days=1)  # names a few hours "ahead" are time zones, not the future
_DIGITAL_ERA = 1990  # a two-digit year in an app's time stamp: 90-99 are 199x, the rest 20xx

# Building blocks, written into rows as {Y}, {M}... (plain str.replace, so regex braces
# such as \d{1,2} stay as they are).
_PARTS = {
    "{Y}": r"(?P<Y>(?:18|19|20)\d\d)",  # separated dates: a scan may be from the 1890s
    "{YC}": r"(?P<Y>(?:19|20)\d\d)",  # compact digit runs: 18xx is far likelier an id
    "{M}": r"(?P<M>\d\d)",
    "{D}": r"(?P<D>\d\d)",
    "{h}": r"(?P<h>\d\d)",
    "{h12}": r"(?P<h>\d{1,2})",
    "{m}": r"(?P<m>\d\d)",
    "{s}": r"(?P<s>\d\d)",
    "{f}": r"(?P<f>\d{3})",
    # A UTC offset written beside the time: only real ones (whole, half and quarter hours).
    "{TZ}": r"(?P<tz>[+-](?:0\d|1[0-4]):?(?:00|15|30|45))",
    # 12-hour marker after the time: "AM", "pm", "a. m.", "p.m." (not the "am" of "amazing").
    "{AMPM}": r"(?:\s*(?P<ampm>[ap])\.?\s?m(?![^\W\d_])\.?)?",
    "{B}": r"(?<![^\W_])",  # not glued to a letter or digit ("_" and "-" are fine)
    "{ND}": r"(?!\d)",  # not the start of a longer digit run
    # "anywhere": hop from one digit run to the next (only runs can start a date), atomically,
    # so a miss costs one attempt per run instead of one per character.
    "{ANY}": r"(?>\D*)(?:(?>\d+)(?>\D+))*?",
}


def _rx(template: str) -> re.Pattern[str]:
    for token, part in _PARTS.items():
        template = template.replace(token, part)
    return re.compile(template, _FLAGS)


@dataclass(frozen=True)
class Pattern:
    """One family of dated names: how to read it, on which clock, and how far to trust it.

    ``precision`` is what the row's ``example`` gives; a name of the same row may be finer
    (an optional millisecond part) and a ``NameDate`` always states its own.
    ``expected`` is ISO: ``2019-09-19`` for a day, ``...T05:38:57`` for seconds,
    ``...T05:38:57.123`` with milliseconds and ``...T07:38:57+02:00`` with a written offset.
    ``peers`` names the peers whose tests date this family (immich-go, GPTH, PhotoPrism).
    """

    name: str
    regex: re.Pattern[str]
    meaning: TimeMeaning
    precision: Precision
    confidence: float
    example: str
    expected: str
    peers: str = ""


@dataclass(frozen=True)
class Undated:
    """A name that looks dated but must give no date, and why (a peer may date it)."""

    example: str
    why: str
    peers: str = ""


@dataclass(frozen=True)
class NameDate:
    """A date read from a name (or folders): naive wall clock if LOCAL, naive UTC if UTC or
    EPOCH_MS, and for OFFSET the wall clock as written with ``offset`` (minutes east)."""

    value: datetime
    precision: Precision
    meaning: TimeMeaning
    pattern: str
    confidence: float
    offset: int | None = None


_L, _U, _E, _O = TimeMeaning.LOCAL, TimeMeaning.UTC, TimeMeaning.EPOCH_MS, TimeMeaning.OFFSET
_SUB, _SEC, _MIN, _DAY = Precision.SUBSECOND, Precision.SECOND, Precision.MINUTE, Precision.DAY
_IG, _GP, _PP = "immich-go", "GPTH", "PhotoPrism"

# fmt: off
PATTERNS: tuple[Pattern, ...] = (
    # Google Pixel writes UTC with milliseconds, then .MP/.NIGHT/.PORTRAIT/.RAW-01.COVER/~2.
    Pattern("pixel", _rx(r"PXL_{YC}{M}{D}_{h}{m}{s}{f}?{ND}"), _U, _SUB, 0.85,
            "PXL_20210304_101532123.MP.jpg", "2021-03-04T10:15:32.123", f"{_IG}"),
    # Nexus/Nothing/Xperia/GCam bursts: the local time sits inside BURST<14 or 17 digits>
    # after a frame counter (00055IMG_00055_, IMG_1_, DSC_0001_, 00100lrPORTRAIT_00100_).
    Pattern("burst", _rx(r"(?>[^_]*_)*?BURST{YC}{M}{D}{h}{m}{s}{f}?{ND}"), _L, _SUB, 0.8,
            "00000IMG_00000_BURST20190919053857123_COVER.jpg", "2019-09-19T05:38:57.123",
            f"{_IG}, {_GP}"),
    # Nothing Phone bursts: BURST<13-digit epoch milliseconds>, the capture instant.
    Pattern("burst_epoch", _rx(r"(?>[^_]*_)*?BURST(?P<ms>1\d{12}){ND}"), _E, _SUB, 0.7,
            "00001IMG_00001_BURST1723801037429_COVER.jpg", "2024-08-16T09:37:17.429",
            f"{_IG}"),
    # OneDrive camera upload from an iPhone: UTC with milliseconds.
    Pattern("onedrive_ios", _rx(r"{YC}{M}{D}_{h}{m}{s}{f}?_iOS"), _U, _SUB, 0.75,
            "20190919_053857000_iOS.jpg", "2019-09-19T05:38:57.000"),
    # PhotoPrism's own import name: its UTC "taken at" and a CRC32. That time may itself have
    # come from the file's mtime, so it is trusted little (PhotoPrism refuses to read it back).
    Pattern("photoprism",
            _rx(r"{YC}{M}{D}_{h}{m}{s}_[0-9A-F]{8}(?![0-9A-Z])"), _U, _SEC, 0.35,
            "20130518_142022_3D657EBD.jpg", "2013-05-18T14:20:22"),
    # Android camera apps (Huawei, Xiaomi, older Pixel, Motorola's glued milliseconds,
    # Insta360...); anything may follow: _HDR, _1, ~2, _BURST001_COVER, (1), -edited.
    Pattern("camera_app",
            _rx(r"(?:IMG|VID|PANO|MVIMG|TRIM|LMC)[_-]{YC}{M}{D}[_-]{h}{m}{s}(?:_?{f})?{ND}"),
            _L, _SEC, 0.8, "IMG_20190919_053857.jpg", "2019-09-19T05:38:57", f"{_IG}, {_GP}"),
    # Oppo, Realme, OnePlus: no separators at all.
    Pattern("oppo", _rx(r"(?:IMG|VID)_?{YC}{M}{D}{h}{m}{s}{ND}"), _L, _SEC, 0.8,
            "IMG20210304101532.jpg", "2021-03-04T10:15:32"),
    # Samsung and LG: bare date_time, then (0), _001 burst counters or " - Copy".
    Pattern("samsung", _rx(r"{YC}{M}{D}_{h}{m}{s}{ND}"), _L, _SEC, 0.8,
            "20190919_053857.jpg", "2019-09-19T05:38:57", f"{_IG}, {_GP}"),
    # DJI drones and Osmo (new style; the old DJI_0001 carries no date).
    Pattern("dji", _rx(r"DJI_{YC}{M}{D}_?{h}{m}{s}{ND}"), _L, _SEC, 0.8,
            "DJI_20210304101532_0001_D.JPG", "2021-03-04T10:15:32"),
    # Windows Camera app and Windows Phone.
    Pattern("windows_camera", _rx(r"(?:WIN|WP)_{YC}{M}{D}_{h}_?{m}_?{s}{ND}"), _L, _SEC, 0.8,
            "WIN_20210304_10_15_32_Pro.jpg", "2021-03-04T10:15:32"),
    # Other apps that name by local capture time with a word in front.
    Pattern("camera_word",
            _rx(r"(?:Camera|CAM|Photo|Picture|Video|Movie|Snapshot|Foto)[_-]{YC}{M}{D}[_-]"
                r"{h}{m}{s}{ND}"),
            _L, _SEC, 0.7, "Camera_20190919_053857.jpg", "2019-09-19T05:38:57"),
    # A "P" (photo) glued to date-dash-time: a phone camera's local clock.
    Pattern("p_prefix", _rx(r"P{YC}{M}{D}-{h}{m}{s}{ND}"), _L, _SEC, 0.6,
            "P20260105-205639.jpg", "2026-01-05T20:56:39"),
    # Android screenshots (Samsung/Pixel/KDE): Screenshot_20190919-053857_AppName.
    Pattern("screenshot_android",
            _rx(r"Screen(?:shot|_?Recording)_{YC}{M}{D}[-_]{h}{m}{s}{ND}"), _L, _SEC, 0.8,
            "Screenshot_20190919-053857_WhatsApp.jpg", "2019-09-19T05:38:57", f"{_GP}"),
    # Xiaomi and older stock Android: all dashes, optional milliseconds, then the app id.
    Pattern("screenshot_android_dashed",
            _rx(r"Screen(?:shot|_?Recording)_{Y}-{M}-{D}-{h}-{m}-{s}(?:-{f})?{ND}"),
            _L, _SUB, 0.8,
            "Screenshot_2019-09-19-05-38-57-123_com.whatsapp.jpg", "2019-09-19T05:38:57.123",
            f"{_GP}"),
    # macOS (English): 24-hour, or 12-hour with a one-digit hour and AM/PM; older releases
    # (and some locales) write the date with underscores.
    Pattern("screenshot_macos",
            _rx(r"(?:Screen ?Shot|Screen Recording)\s+{Y}[-_]{M}[-_]{D}\s+at\s+"
                r"{h12}\.{m}\.{s}{ND}{AMPM}"),
            _L, _SEC, 0.8, "Screen Shot 2019-09-19 at 5.38.57 AM.png", "2019-09-19T05:38:57",
            f"{_PP}"),
    # Windows 11 Snipping Tool (screenshots and recordings).
    Pattern("screenshot_windows",
            _rx(r"Screen(?:shot| Recording)\s+{Y}-{M}-{D}\s+{h}{m}{s}{ND}"),
            _L, _SEC, 0.75, "Screenshot 2021-03-04 101532.png", "2021-03-04T10:15:32"),
    # GNOME screenshots and screencasts (and "Screenshot From" in newer releases).
    Pattern("screenshot_gnome",
            _rx(r"Screen(?:shot|cast)\s+from\s+{Y}-{M}-{D}\s+{h}[-:.]{m}[-:.]{s}{ND}"),
            _L, _SEC, 0.8,
            "Screenshot from 2021-03-04 10-15-32.png", "2021-03-04T10:15:32", f"{_IG}"),
    # Nextcloud auto-upload ("yy-MM-dd HH-mm-ss" and a random number): a two-digit year of
    # the digital era, so 90-99 are the 1990s and 88 is no date at all.
    Pattern("nextcloud", _rx(r"(?P<yy>\d\d)-{M}-{D} {h}-{m}-{s}{ND}"), _L, _SEC, 0.6,
            "22-04-06 15-21-03 2160.jpg", "2022-04-06T15:21:03", f"{_PP}"),
    # WhatsApp on the phone: only the day the file was received.
    Pattern("whatsapp", _rx(r"(?:IMG|VID|AUD|PTT|STK|DOC)-{YC}{M}{D}-WA\d"), _L, _DAY, 0.5,
            "IMG-20190919-WA0001.jpg", "2019-09-19", f"{_PP}"),
    # WhatsApp Web/Desktop in any language: "WhatsApp <words> date <word> H.MM.SS [AM|p. m.]".
    Pattern("whatsapp_web",
            _rx(r"WhatsApp[\s_-]\D{0,24}?{Y}-{M}-{D}\D{1,12}?{h12}[.:_]{m}[.:_]{s}{ND}{AMPM}"),
            _L, _SEC, 0.6,
            "WhatsApp Video 2021-03-04 at 10.15.32 PM.mp4", "2021-03-04T22:15:32"),
    # Signal Desktop and Android.
    Pattern("signal",
            _rx(r"signal(?:-attachment)?-{Y}-{M}-{D}-{h}-?{m}-?{s}(?:-{f})?{ND}"),
            _L, _SEC, 0.55, "signal-2021-03-04-101532.jpg", "2021-03-04T10:15:32", f"{_GP}"),
    # Telegram Desktop.
    Pattern("telegram",
            _rx(r"(?:photo|video|file|sticker|audio|voice|round|animation|image)_"
                r"{Y}-{M}-{D}[_ ]{h}[-.]{m}[-.]{s}{ND}"),
            _L, _SEC, 0.55, "photo_2021-03-04_10-15-32.jpg", "2021-03-04T10:15:32"),
    # Dropbox camera uploads (named from the photo's own EXIF time), -1 on collisions.
    Pattern("dropbox", _rx(r"{Y}-{M}-{D} {h}\.{m}\.{s}{ND}{AMPM}"), _L, _SEC, 0.7,
            "2019-09-19 05.38.57.jpg", "2019-09-19T05:38:57"),
    # Facebook saves with epoch seconds (only behind its own prefix: 10 digits are common).
    Pattern("epoch_seconds", _rx(r"FB_IMG_(?P<sec>1\d{9}){ND}"), _E, _SEC, 0.3,
            "FB_IMG_1568871537.jpg", "2019-09-19T05:38:57"),
    # WhatsApp chat export from iOS: a message counter, the kind, then the time sent.
    Pattern("whatsapp_export",
            _rx(r"\d+-(?:PHOTO|VIDEO|AUDIO|GIF|STICKER|DOC)-{Y}-{M}-{D}-{h}-{m}-{s}{ND}"),
            _L, _SEC, 0.6, "00000012-PHOTO-2021-03-04-10-15-32.jpg", "2021-03-04T10:15:32"),
    # iOS "share as file" in dotted-date locales: "Foto 04.03.21, 10 15 32" (day first).
    Pattern("ios_share",
            _rx(r"{ANY}(?<!\d){D}\.{M}\.(?P<Y>\d\d(?:\d\d)?),?\s+{h}[ .]{m}[ .]{s}{ND}"),
            _L, _SEC, 0.45, "Foto 04.03.21, 10 15 32.jpg", "2021-03-04T10:15:32"),
    # ISO 8601 with Z or an offset: the wall clock and its offset (Z: a UTC instant).
    Pattern("iso_offset",
            _rx(r"{ANY}{B}{Y}-?{M}-?{D}T{h}[:-]?{m}[:-]?{s}(?:[.,]{f}\d*)?"
                r"(?:Z|{TZ})(?![^\W\d_])"),
            _O, _SEC, 0.6, "2019-09-19T07:38:57+02:00.jpg", "2019-09-19T07:38:57+02:00"),
    # Compact date-time with the offset glued on (Parrot drones: Bebop2_20180719194940+0200).
    Pattern("compact_offset", _rx(r"{ANY}{B}{YC}{M}{D}{h}{m}{s}{TZ}{ND}"), _O, _SEC, 0.65,
            "Bebop2_20180719194940+0200.mp4", "2018-07-19T19:49:40+02:00", f"{_IG}"),
    # Compact date and time anywhere: date_20170101_010101, Lightroom 20190919-053857,
    # 20190919053857, 20190919T053857, AR_EFFECT_20141126193511, with optional glued
    # milliseconds (an "_001" after the time is a counter, not milliseconds).
    Pattern("compact_datetime",
            _rx(r"{ANY}{B}{YC}{M}{D}[ T_-]?{h}{m}{s}(?:\.?{f})?{ND}"),
            _L, _SEC, 0.6, "date_20170101_010101.jpg", "2017-01-01T01:01:01",
            f"{_IG}, {_GP}"),
    # Fourteen digits and four more (201801261147521000): the four are not a known fraction,
    # so the name gives seconds.
    Pattern("compact_datetime_4", _rx(r"{ANY}{B}{YC}{M}{D}{h}{m}{s}\d{4}{ND}"), _L, _SEC, 0.5,
            "201801261147521000.jpg", "2018-01-26T11:47:52", f"{_GP}"),
    # Separated date and time anywhere: 2019_09_19_05_38_57, 2019-09-19T05:38:57,
    # 2019-09-19-05h38m57, Sony/Canon "2019-09-19 05-38-57", "Photo 2021-03-04 10 15 32",
    # NVIDIA "Game 2021.03.04 - 10.15.32.12", ChromeOS "Screenshot 2021-03-04 10.15.32 PM".
    Pattern("separated_datetime",
            _rx(r"{ANY}{B}{Y}[-_.:]{M}[-_.:]{D}(?: - |[ T_.-]){h}[-_.: h]?{m}[-_.: m]?{s}s?"
                r"(?:[-.,]{f})?{ND}{AMPM}"),
            _L, _SEC, 0.6, "2019-09-19_05-38-57.jpg", "2019-09-19T05:38:57",
            f"{_IG}, {_GP}, {_PP}"),
    # Localized screenshots and the like: date, any connecting word, H.MM.SS, 12-hour
    # markers after ("p. m.") or before (下午, 午後, 오후) the time.
    Pattern("date_at_time",
            _rx(r"{ANY}(?<!\d){Y}-{M}-{D}\D{1,16}?"
                r"(?P<ampm_pre>上午|下午|午前|午後|오전|오후)?\s*{h12}\.{m}\.{s}{ND}{AMPM}"),
            _L, _SEC, 0.65,
            "Bildschirmfoto 2021-03-04 um 10.15.32.png", "2021-03-04T10:15:32"),
    # Dash cams and action cams (Viofo, Garmin, Akaso): 2021_0304_101532_001F.MP4.
    Pattern("dashcam", _rx(r"{ANY}{B}{YC}_{M}{D}_{h}{m}{s}{ND}"), _L, _SEC, 0.6,
            "2021_0304_101532_001F.MP4", "2021-03-04T10:15:32"),
    # A separated date alone (a Snapchat memory "2021-05-27_overlay~zip-<uuid>" too).
    Pattern("date", _rx(r"{ANY}{B}{Y}[-_.]{M}[-_.]{D}{ND}"), _L, _DAY, 0.5,
            "2019-09-19.jpg", "2019-09-19", f"{_IG}, {_PP}"),
    # A dotted day-first date alone (German/Dutch/... custom).
    Pattern("date_dmy", _rx(r"{ANY}{B}{D}\.{M}\.{Y}{ND}"), _L, _DAY, 0.4,
            "Geburtstag 19.09.2019.jpg", "2019-09-19"),
    # A compact date alone: IMG_20190919, WP_20140304_001, Blackberry IMG-20190919-00123.
    Pattern("compact_date", _rx(r"{ANY}{B}{YC}{M}{D}{ND}"), _L, _DAY, 0.4,
            "IMG_20190919.jpg", "2019-09-19", f"{_IG}"),
    # Epoch milliseconds: Facebook, Messenger received_, WeChat mmexport, bare numbers.
    Pattern("epoch_ms", _rx(r"{ANY}(?:(?<=mmexport)|{B})(?P<ms>1\d{12}){ND}"), _E, _SUB, 0.3,
            "FB_IMG_1568871537123.jpg", "2019-09-19T05:38:57.123"),
)

# Names that look dated and must stay undated. A peer that dates one is named: where the
# peers and mediafix disagree, this says why.
NEVER: tuple[Undated, ...] = (
    Undated("IMG_2019.JPG", "a four-digit camera counter, not a year"),
    Undated("Holidays 2004.jpg",
            "a year in a title names an occasion, not the moment (folders may give a year)"),
    Undated("2024.png", "a year alone in a file name", f"{_IG}"),
    Undated("2024-05.png", "a year and month alone: a title, not a capture time", f"{_IG}"),
    Undated("991231-125200.jpg",
            "a two-digit year in a compact run is as likely a counter or an id", f"{_IG}"),
    Undated("88-04-06 15-21-03 2160.jpg",
            "no app wrote two-digit-year time stamps before 1990", f"{_PP}"),
    Undated("20223112-125200.jpg", "month 31: the first row that matches decides", f"{_IG}"),
    Undated("Snapchat-20190919.jpg", "a Snapchat id; its digits only look like a date",
            f"{_IG} dates it"),
    Undated("2019091905385712.jpg", "16 digits: an id with a date-like run inside",
            f"{_IG} and {_GP} date it"),
    Undated("120190919053857.jpg", "15 digits: the date-like run is inside a longer id",
            f"{_IG} and {_GP} date it"),
    Undated("x20190919053857.jpg", "a digit run glued to a letter is an id",
            f"{_IG} and {_GP} date it"),
    Undated("received_201912311234567.jpeg", "a Messenger object id, not a time",
            f"{_IG} and {_GP} date it"),
    Undated("IMG_20190919_253857.jpg", "hour 25: an impossible stamp gives no date at all",
            f"{_IG} keeps the day"),
    Undated("6F9619FF-8B86-D011-B42D-00C04FC964FF.jpg", "a UUID never becomes a date"),
    Undated("1568871537.jpg", "a bare ten-digit number is not trusted as epoch seconds"),
    Undated("05.21.2019.jpg", "month 21: a US-order date is not guessed", f"{_PP}"),
    Undated("2020-01-30_09-87-18-23.jpg", "minute 87: the stamp is impossible", f"{_PP}"),
)
# fmt: on

# Every dated name has a year followed closely by a month-like pair, a 10+ digit epoch, a
# dotted dd.mm.yy or a Nextcloud yy-mm-dd: most undated names (IMG_1234, DSC_0001,
# P1200042, "Holidays 2004") stop here after one cheap search. (A test checks that no row's
# match is ever filtered out.)
_PREFILTER = re.compile(
    r"(?:1[89]|20)\d\d\D{0,3}[01]\d|1\d{9}|\d\d\.\d\d\.\d\d|\d\d-[01]\d-[0-3]\d "
)
# Apps whose digits are ids that can look like dates.
_UNDATED = re.compile(r"Snapchat-\d+(?!\d)", _FLAGS)
# Android keeps trashed/pending files as .trashed-<epoch>-<original name>.
_TRASH_PREFIX = re.compile(r"\.(?:trashed|pending)-\d+-")


# The named groups a row may use, in the order ``_value`` takes them.
_FIELDS = ("Y", "yy", "M", "D", "h", "m", "s", "f", "ampm", "ampm_pre", "tz", "ms", "sec")
_Digits = tuple[str | None, ...]
_Reader = Callable[[tuple[str | None, ...]], _Digits]


def _reader(regex: re.Pattern[str]) -> _Reader:
    """A C-speed getter: ``match.groups() + (None,)`` -> the row's groups in ``_FIELDS`` order
    (a field the row lacks reads the appended None)."""
    missing = regex.groups  # index of the appended None
    return itemgetter(*(regex.groupindex.get(name, missing + 1) - 1 for name in _FIELDS))


def _combine(patterns: Sequence[Pattern]) -> re.Pattern[str]:
    """One alternation of all rows, so the first matching row is found in a single C call.

    Alternatives are tried in order at position 0 (every row is anchored by ``match``), which
    is exactly "first row wins"; group ``i + 1`` is row ``i``. Rows' own groups become
    non-capturing here (many groups make the engine's backtracking slower); the winning row's
    own regex then reads the digits.
    """
    flags = patterns[0].regex.flags
    alternatives = []
    for p in patterns:
        if p.regex.flags != flags:
            raise ValueError(f"row {p.name!r}: every row must use the same flags")
        if p.regex.groups != len(p.regex.groupindex) or not set(p.regex.groupindex) <= set(_FIELDS):
            raise ValueError(f"row {p.name!r}: groups must be named, from {_FIELDS}")
        alternatives.append("(" + re.sub(r"\(\?P<\w+>", "(?:", p.regex.pattern) + ")")
    return re.compile("|".join(alternatives), flags)


_COMBINED = _combine(PATTERNS)
_READERS = tuple(_reader(p.regex) for p in PATTERNS)
_NONE = (None,)

_AM_WORDS = frozenset({"上午", "午前", "오전"})


def _hour24(hour: int, marker: str) -> int | None:
    """12-hour clock to 24: 12 AM is 0, 12 PM is 12; None for hours a 12-hour clock lacks."""
    if not 1 <= hour <= 12:
        return None
    am = marker[0] in "aA" or marker in _AM_WORDS
    return hour % 12 if am else hour % 12 + 12


_Found = tuple[datetime, Precision, int | None]


def _epoch(ms: str | None, sec: str | None, limit: datetime) -> _Found | None:
    if ms is not None:
        value, precision = _EPOCH + timedelta(milliseconds=int(ms)), _SUB
    else:
        value, precision = _EPOCH + timedelta(seconds=int(sec or 0)), _SEC
    return (value, precision, None) if _MIN_EPOCH <= value <= limit else None


def _year(y: str | None, yy: str | None, now: datetime) -> int | None:
    """The year a name states: four digits; a two-digit ``Y`` in the latest past century;
    a two-digit ``yy`` of the digital era (1990-2089) and not in the future."""
    if yy is not None:
        year = int(yy) + (1900 if int(yy) >= _DIGITAL_ERA % 100 else 2000)
        return year if year <= now.year else None
    if y is None:
        return None
    year = int(y)
    if len(y) == 2:  # dd.mm.yy: the most recent century that is not in the future
        year += 2000 if 2000 + year <= now.year else 1900
    return year


def _offset(tz: str) -> int:
    """ "+02:00" / "-0530" / "Z" -> minutes east of UTC."""
    off = tz.replace(":", "")
    if off.upper() == "Z":
        return 0
    minutes = int(off[1:3]) * 60 + int(off[3:5])
    return -minutes if off[0] == "-" else minutes


def _value(digits: _Digits, now: datetime) -> _Found | None:
    """The groups of one match (in ``_FIELDS`` order) -> (value, precision, offset), or None
    when they are not a possible date."""
    y, yy, mo, d, h, mi, s, f, ampm, ampm_pre, tz, ms, sec = digits
    limit = now + FUTURE_SLACK
    if (y is None and yy is None) or mo is None or d is None:
        return _epoch(ms, sec, limit) if ms is not None or sec is not None else None
    year = _year(y, yy, now)
    if year is None or year < MIN_YEAR:
        return None
    try:
        if s is None:
            value, precision = datetime(year, int(mo), int(d)), _DAY
        else:
            hour = int(h or 0)
            marker = ampm or ampm_pre
            if marker:
                hour24 = _hour24(hour, marker)
                if hour24 is None:
                    return None
                hour = hour24
            micro = 0 if f is None else int(f) * 1000
            value = datetime(year, int(mo), int(d), hour, int(mi or 0), int(s), micro)
            precision = _SEC if f is None else _SUB
    except ValueError:
        return None
    offset = _offset(tz) if tz else None
    utc = value - timedelta(minutes=offset or 0)
    return (value, precision, offset) if utc <= limit else None


def _parse_with(index: int, name: str, now: datetime) -> NameDate | None:
    """Read ``name`` with row ``index`` alone (the tests also use it to check the order)."""
    pattern = PATTERNS[index]
    match = pattern.regex.match(name)
    if match is None:
        return None
    found = _value(_READERS[index](match.groups() + _NONE), now)
    if found is None:
        return None
    value, precision, offset = found
    meaning = pattern.meaning
    if meaning is TimeMeaning.OFFSET and offset is None:  # "...Z": an instant
        offset = 0
    return NameDate(value, precision, meaning, pattern.name, pattern.confidence, offset)


def _clean(name: str) -> str:
    """Drop Android's ``.trashed-<epoch>-`` in front of the original name."""
    return _TRASH_PREFIX.sub("", name, count=1) if name[:1] == "." else name


def parse_filename(name: str, *, now: datetime | None = None) -> NameDate | None:
    """The date a file's base name carries, per the first row of ``PATTERNS`` that matches.

    ``now`` (naive local) bounds the future; it defaults to the clock at call time.
    """
    name = _clean(name)
    if _PREFILTER.search(name) is None:
        return None
    match = _COMBINED.match(name)
    if match is None or match.lastindex is None or _UNDATED.match(name):
        return None
    return _parse_with(match.lastindex - 1, name, now or datetime.now())


# --- copy suffixes -------------------------------------------------------------------------

_COPY_SUFFIX = re.compile(
    r"(?:"
    r"\s*-\s*(?:copy|kopie|copie|copia|kopia|kopio|kopi)(?:\s*\(\d+\))?"  # Windows " - Copy (2)"
    r"|\s+(?:copy|kopie)(?:\s+\d+)?"  # macOS "name copy 2"
    r"|-(?:edited|bearbeitet|editado|modifié|modificato|bewerkt|edytowane|redigeret"
    r"|redigerad|muokattu|COLLAGE|ANIMATION|EFFECTS)"  # Google Photos / Takeout
    r"|\s*\(\d{1,3}\)"  # " (1)", "(1)"
    r"|~\d+"  # "~2"
    r"|[-_]\d"  # "-2", "_1": one digit is never part of a time
    r"|(?<=\d\d\d\d\d\d)[-_]\d\d"  # "_12" after a compact time, not the "-57" of 05-38-57
    r")$",
    re.IGNORECASE,
)


def strip_copy_suffix(stem: str) -> str:
    """``stem`` without the marks copies and edits add, so a copy finds its original.

    Two-digit counters are removed only after a six-digit run (``_053857_12``), so the
    seconds of ``2019-09-19-05-38-57`` and the month of ``Trip 2019-09`` stay; three digits
    (milliseconds, burst frames) always stay.
    """
    while True:
        shorter = _COPY_SUFFIX.sub("", stem, count=1)
        if shorter == stem or not shorter.strip():
            return stem
        stem = shorter
