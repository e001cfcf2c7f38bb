"""Plain JPEG EXIF read in process: exiftool's answer without asking exiftool.

Most of a small JPEG's scan went to exiftool (about half the CPU: a Perl process parsing
every file and printing JSON), yet a plain JPEG's EXIF (IFD0, the EXIF and GPS IFDs, the
thumbnail's IFD1) is a few dozen bytes of TIFF anyone can read. ``read_plain_jpeg`` gives
the record ``exiftool -j -G1 -a -n`` gives for ``exiftool.READ_TAGS`` — same keys, same
values, same JSON types — for the JPEGs whose every byte of metadata it understands, and
``None`` for any other, which then go to exiftool as before: maker notes (Apple's Live Photo
identifier, Canon's time zone), XMP, IPTC, ICC or MPF segments, comments, odd types or
counts, anything out of bounds. tests/unit/test_jpegexif.py compares it with exiftool's answer.
"""

from __future__ import annotations

import json
import re
import struct
from typing import Any

__all__ = ["HEAD_BYTES", "read_plain_jpeg"]

# How much of a file to read: the APP1 segment (at most 64 KB) and the frame header after
# the tables. A JPEG whose frame header lies further is left to exiftool.
HEAD_BYTES = 96 * 1024

# Tag ids of exiftool's EXIF table whose names ``READ_TAGS`` asks for, and the TIFF types
# each may have here (anything else: left to exiftool). The table is shared by IFD0, the
# EXIF IFD and IFD1, and exiftool names the group after the IFD the tag was found in.
_ASCII = 2
_SHORT, _LONG, _SSHORT = 3, 4, 8
_RATIONAL = 5
_EXIF_TAGS: dict[int, tuple[str, frozenset[int]]] = {
    0x0100: ("ImageWidth", frozenset({_SHORT, _LONG})),
    0x0101: ("ImageHeight", frozenset({_SHORT, _LONG})),
    0x010F: ("Make", frozenset({_ASCII})),
    0x0110: ("Model", frozenset({_ASCII})),
    0x0112: ("Orientation", frozenset({_SHORT})),
    0x0131: ("Software", frozenset({_ASCII})),
    0x0132: ("ModifyDate", frozenset({_ASCII})),
    0x882A: ("TimeZoneOffset", frozenset({_SSHORT})),
    0x9003: ("DateTimeOriginal", frozenset({_ASCII})),
    0x9004: ("CreateDate", frozenset({_ASCII})),
    0x9010: ("OffsetTime", frozenset({_ASCII})),
    0x9011: ("OffsetTimeOriginal", frozenset({_ASCII})),
    0x9012: ("OffsetTimeDigitized", frozenset({_ASCII})),
    0x9290: ("SubSecTime", frozenset({_ASCII})),
    0x9291: ("SubSecTimeOriginal", frozenset({_ASCII})),
    0x9292: ("SubSecTimeDigitized", frozenset({_ASCII})),
    0xA002: ("ExifImageWidth", frozenset({_SHORT, _LONG})),
    0xA003: ("ExifImageHeight", frozenset({_SHORT, _LONG})),
    0xA420: ("ImageUniqueID", frozenset({_ASCII})),
    0xA431: ("SerialNumber", frozenset({_ASCII})),
    0xA434: ("LensModel", frozenset({_ASCII})),
}
# Tags whose presence means exiftool would read more than this module does.
_EXIF_IFD, _GPS_IFD, _INTEROP_IFD = 0x8769, 0x8825, 0xA005
_REFUSE = frozenset(
    {
        0x927C,  # MakerNote: Apple's ContentIdentifier, Canon's TimeZone, ...
        0x83BB,  # IPTC-NAA inside EXIF
        0x02BC,  # XMP inside EXIF
        0x8773,  # ICC profile inside EXIF
        0x014A,  # SubIFDs
        0xC612,  # DNGVersion
        0x9C9B,  # XPTitle .. XPSubject (Windows' own tags: a written-to file)
        0x9C9C,
        0x9C9D,
        0x9C9E,
        0x9C9F,
    }
)
_GPS_TAGS = {0x0001, 0x0002, 0x0003, 0x0004, 0x0007, 0x001D}
_TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}
# exiftool prints a value as a JSON number when it looks like this (its EscapeJSON)
_JSON_NUMBER = re.compile(r"-?(\d|[1-9]\d{1,14})(\.\d{1,16})?([eE][-+]?\d{1,3})?")
_PRINTABLE = re.compile(r"[\x20-\x7e]*")
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


class _NotPlain(Exception):
    """This file holds something exiftool would read differently: ask exiftool."""


def read_plain_jpeg(head: bytes, tail: bytes) -> dict[str, Any] | None:
    """exiftool's ``-j -G1 -a -n`` record of ``READ_TAGS`` for the JPEG that starts with
    ``head`` (at least its first ``HEAD_BYTES``) and ends with ``tail`` (its last bytes), or
    None when it is not a plain JPEG."""
    if not tail.endswith(b"\xff\xd9"):
        return None  # data after the image: a trailer exiftool reads (AFCP, FotoStation...)
    try:
        return _read(head)
    except (_NotPlain, struct.error, IndexError, ValueError, UnicodeDecodeError):
        return None


def _read(head: bytes) -> dict[str, Any]:
    if head[:2] != b"\xff\xd8":
        raise _NotPlain
    record: dict[str, Any] = {
        "File:FileType": "JPEG",
        "File:FileTypeExtension": "JPG",
        "File:MIMEType": "image/jpeg",
    }
    pos, exif_seen = 2, False
    while True:
        if head[pos] != 0xFF:
            raise _NotPlain  # garbage between segments: exiftool warns
        marker = head[pos + 1]
        if marker == 0xFF:
            raise _NotPlain  # fill bytes: rare, left to exiftool
        (length,) = struct.unpack(">H", head[pos + 2 : pos + 4])
        body = head[pos + 4 : pos + 2 + length]
        if length < 2 or len(body) != length - 2:
            raise _NotPlain  # runs past what was read
        if marker in _SOF:
            height, width = struct.unpack(">HH", body[1:5])
            record["File:ImageWidth"] = width
            record["File:ImageHeight"] = height
            return record
        if marker == 0xE0:
            if not body.startswith(b"JFIF\0"):
                raise _NotPlain  # JFXX thumbnails, other APP0s
        elif marker == 0xE1:
            if not body.startswith(b"Exif\0\0") or exif_seen:
                raise _NotPlain  # XMP (or a second EXIF)
            exif_seen = True
            _tiff(body[6:], record)
        elif marker in (0xDB, 0xC4, 0xDD):  # quantisation, Huffman tables, restart interval
            pass
        else:
            raise _NotPlain  # APP2 (ICC, MPF), APP13 (IPTC), APP14, comments, SOS first...
        pos += 2 + length


def _tiff(tiff: bytes, record: dict[str, Any]) -> None:
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None or struct.unpack(order + "H", tiff[2:4])[0] != 42:
        raise _NotPlain
    (ifd0,) = struct.unpack(order + "I", tiff[4:8])
    entries, next_ifd = _ifd(tiff, order, ifd0)
    sub = _walk(tiff, order, entries, "IFD0", record)
    if _EXIF_IFD in sub:
        exif_entries, _ = _ifd(tiff, order, sub[_EXIF_IFD])
        inner = _walk(tiff, order, exif_entries, "ExifIFD", record)
        if _INTEROP_IFD in inner:
            interop, _ = _ifd(tiff, order, inner[_INTEROP_IFD])
            if any(tag in _EXIF_TAGS or tag in _REFUSE for tag, *_ in interop):
                raise _NotPlain
        if set(inner) - {_INTEROP_IFD}:
            raise _NotPlain
    if _GPS_IFD in sub:
        gps_entries, _ = _ifd(tiff, order, sub[_GPS_IFD])
        _gps(tiff, order, gps_entries, record)
    if set(sub) - {_EXIF_IFD, _GPS_IFD}:
        raise _NotPlain
    if next_ifd:
        ifd1, after = _ifd(tiff, order, next_ifd)
        if after or _walk(tiff, order, ifd1, "IFD1", record):
            raise _NotPlain  # a third IFD, or sub-IFDs hanging off the thumbnail's


def _ifd(tiff: bytes, order: str, offset: int) -> tuple[list[tuple[int, int, int, bytes]], int]:
    """The entries (tag, type, count, value bytes) of the IFD at ``offset`` and the offset
    of the next one."""
    if offset < 8 or offset + 2 > len(tiff):
        raise _NotPlain
    (n,) = struct.unpack(order + "H", tiff[offset : offset + 2])
    entries = []
    seen = set()
    for i in range(n):
        at = offset + 2 + 12 * i
        tag, typ, count = struct.unpack(order + "HHI", tiff[at : at + 8])
        if typ not in _TYPE_SIZE or tag in seen:
            raise _NotPlain
        seen.add(tag)
        size = _TYPE_SIZE[typ] * count
        if size <= 4:
            value = tiff[at + 8 : at + 8 + size]
        else:
            (where,) = struct.unpack(order + "I", tiff[at + 8 : at + 12])
            value = tiff[where : where + size]
            if where < 8 or len(value) != size:
                raise _NotPlain
        entries.append((tag, typ, count, value))
    end = offset + 2 + 12 * n
    if end + 4 > len(tiff):
        raise _NotPlain
    (next_ifd,) = struct.unpack(order + "I", tiff[end : end + 4])
    return entries, next_ifd


def _walk(
    tiff: bytes,
    order: str,
    entries: list[tuple[int, int, int, bytes]],
    group: str,
    record: dict[str, Any],
) -> dict[int, int]:
    """Put the asked tags of one IFD in ``record``; returns its pointers to sub-IFDs."""
    pointers: dict[int, int] = {}
    for tag, typ, count, value in entries:
        if tag in (_EXIF_IFD, _GPS_IFD, _INTEROP_IFD):
            if typ not in (_LONG, 13) or count != 1:
                raise _NotPlain
            pointers[tag] = struct.unpack(order + "I", value)[0]
            continue
        if tag in _REFUSE:
            raise _NotPlain
        known = _EXIF_TAGS.get(tag)
        if known is None:
            continue  # a tag mediafix does not ask for
        name, types = known
        if typ not in types:
            raise _NotPlain
        record[f"{group}:{name}"] = _value(order, typ, count, value)
    return pointers


def _value(order: str, typ: int, count: int, value: bytes) -> Any:
    if typ == _ASCII:
        return _json_like(_ascii(value))
    if count != 1:
        raise _NotPlain
    code = {_SHORT: "H", _LONG: "I", _SSHORT: "h"}[typ]
    return struct.unpack(order + code, value)[0]


def _ascii(value: bytes) -> str:
    text = value.split(b"\0", 1)[0].decode("ascii")
    if not text or text != text.strip() or not _PRINTABLE.fullmatch(text):
        raise _NotPlain  # exiftool trims, decodes or drops these its own way
    return text


def _json_like(text: str) -> Any:
    """The value as exiftool's JSON carries it: a number when the text looks like one."""
    return json.loads(text) if _JSON_NUMBER.fullmatch(text) else text


def _rationals(order: str, value: bytes, count: int) -> list[float]:
    """Unsigned rationals as exiftool reads them: rounded to 10 significant digits."""
    nums = struct.unpack(f"{order}{2 * count}I", value)
    out = []
    for n, d in zip(nums[::2], nums[1::2], strict=True):
        if d == 0:
            raise _NotPlain  # exiftool prints inf or undef
        out.append(float(f"{n / d:.10g}"))
    return out


def _perl_number(x: float) -> Any:
    """A float as Perl prints it (15 significant digits), then as exiftool's JSON has it."""
    return _json_like(f"{x:.15g}")


def _gps(
    tiff: bytes, order: str, entries: list[tuple[int, int, int, bytes]], record: dict[str, Any]
) -> None:
    refs: dict[int, str] = {}
    coords: dict[int, float] = {}
    for tag, typ, count, value in entries:
        if tag not in _GPS_TAGS:
            if tag in (0x001B, 0x001C):  # processing method, area: encoded text
                raise _NotPlain
            continue
        if tag in (0x0001, 0x0003):
            if typ != _ASCII:
                raise _NotPlain
            ref = _ascii(value)
            if ref not in ("N", "S", "E", "W"):
                raise _NotPlain
            refs[tag] = ref
        elif tag in (0x0002, 0x0004):
            if typ != _RATIONAL or count != 3:
                raise _NotPlain
            d, m, s = _rationals(order, value, 3)
            coords[tag] = d + (m + s / 60) / 60  # exiftool's GPS::ToDegrees
            name = "GPSLatitude" if tag == 0x0002 else "GPSLongitude"
            record[f"GPS:{name}"] = _perl_number(coords[tag])
        elif tag == 0x0007:
            if typ != _RATIONAL or count != 3:
                raise _NotPlain
            record["GPS:GPSTimeStamp"] = _time_stamp(*_rationals(order, value, 3))
        elif tag == 0x001D:
            if typ != _ASCII:
                raise _NotPlain
            record["GPS:GPSDateStamp"] = _json_like(_ascii(value))
    for tag, ref_tag, name, negative in (
        (0x0002, 0x0001, "GPSLatitude", "S"),
        (0x0004, 0x0003, "GPSLongitude", "W"),
    ):
        if tag in coords:
            if ref_tag not in refs:
                raise _NotPlain  # exiftool's composite then guesses from other tags
            sign = -1 if refs[ref_tag] == negative else 1
            record[f"Composite:{name}"] = _perl_number(sign * coords[tag])


def _time_stamp(h: float, m: float, s: float) -> str:
    """exiftool's GPS::ConvertTimeStamp."""
    total = (h * 60 + m) * 60 + s
    hours = int(total // 3600)
    total -= hours * 3600
    minutes = int(total // 60)
    total -= minutes * 60
    seconds = f"{total:09.6f}"
    if float(seconds) >= 60 or hours >= 24:
        raise _NotPlain  # exiftool carries over; rare enough to leave to it
    seconds = re.sub(r"\.?0+$", "", seconds)
    return f"{hours:02d}:{minutes:02d}:{seconds}"
