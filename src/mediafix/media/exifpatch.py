"""Write EXIF dates into a plain JPEG in process, over the old values' own bytes.

Nearly all of apply's CPU went to exiftool writing each copy (issue #20), yet for most
camera photos the write changes a handful of text values that are already there, at a
fixed size: EXIF dates are ASCII of count 20 (``YYYY:MM:DD HH:MM:SS`` and a NUL), UTC
offsets ASCII of count 7 (``+02:00`` and a NUL). When every tag a write sets is already in
the file, in the IFD exiftool writes it to, as ASCII with the very count exiftool would
give the new value (its length and a NUL), :func:`patch_exif_text` puts the new value over
the old bytes of a copy of the file and changes nothing else: no entry, offset, length or
segment moves, so the image data, the thumbnail and the maker notes are untouched by
construction. exiftool reads back the same tags with the same values as after its own write
(tests/unit/test_exifpatch.py compares the two on real files).

Anything else gives None, and the caller has exiftool write the file as before: a tag that
is missing, of another type or count, found twice or in another IFD than the one exiftool
writes (which one would a program read?), a value not in the exact form above (exiftool
would convert it), a second EXIF segment, any IFD or value out of bounds, an entry pointing
at data not mapped here (SubIFDs, an uncompressed thumbnail's strips), or a patch that
would touch a byte that is not the old value's alone: the TIFF header, an IFD table,
another entry's value, the thumbnail, or another written value (two entries pointing at the
same bytes).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Mapping
from typing import Any

__all__ = ["PATCHABLE", "patch_exif_text"]

# exiftool's name -> (tag id, the IFD exiftool writes it in, the exact form of a value it
# stores as given). ModifyDate (IFD0) is not here: apply never writes it.
_DATE = re.compile(r"\d{4}:\d{2}:\d{2} \d{2}:\d{2}:\d{2}")
_OFFSET = re.compile(r"[+-]\d{2}:\d{2}")
_SUBSEC = re.compile(r"\d{1,9}")
PATCHABLE: dict[str, tuple[int, str, re.Pattern[str]]] = {
    "DateTimeOriginal": (0x9003, "ExifIFD", _DATE),
    "CreateDate": (0x9004, "ExifIFD", _DATE),
    "OffsetTime": (0x9010, "ExifIFD", _OFFSET),
    "OffsetTimeOriginal": (0x9011, "ExifIFD", _OFFSET),
    "OffsetTimeDigitized": (0x9012, "ExifIFD", _OFFSET),
    "SubSecTime": (0x9290, "ExifIFD", _SUBSEC),
    "SubSecTimeOriginal": (0x9291, "ExifIFD", _SUBSEC),
    "SubSecTimeDigitized": (0x9292, "ExifIFD", _SUBSEC),
}
_PATCHABLE_IDS = frozenset(tag for tag, _ifd, _form in PATCHABLE.values())

_ASCII = 2
_TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_EXIF_HEADER = b"Exif\x00\x00"
# Pointers to sub-IFDs, by the IFD they hang off: the ones walked here.
_SUB_IFDS = {0x8769: "ExifIFD", 0x8825: "GPS", 0xA005: "InteropIFD"}
_THUMB_OFFSET, _THUMB_LENGTH = 0x0201, 0x0202
# Entries pointing at data this module does not map (SubIFDs, strips of an uncompressed
# thumbnail): a file with one is left to exiftool.
_UNMAPPED = frozenset({0x014A, 0x0111, 0x0117})


class _Refused(Exception):
    """Not exactly patchable: exiftool writes this file."""


# (tag, type, count) of an entry, where its value lies in the TIFF block, and how long it is
_Entry = tuple[int, int, int, int, int]


def patch_exif_text(data: bytes, write: Mapping[str, Any]) -> bytes | None:
    """``data`` (a whole JPEG) with ``write``'s values (``"EXIF:Name": "text"``, as
    exiftool's JSON import takes them) put over the old ones in place, or None when that
    cannot give exactly what exiftool's write would (the caller then asks exiftool)."""
    if not write:
        return None
    try:
        return _patch(data, write)
    except (_Refused, struct.error, IndexError, ValueError):
        return None


def _patch(data: bytes, write: Mapping[str, Any]) -> bytes:
    wanted: dict[int, tuple[str, bytes]] = {}
    for key, value in write.items():
        group, _, name = key.partition(":")
        known = PATCHABLE.get(name)
        if group != "EXIF" or known is None or not isinstance(value, str):
            raise _Refused
        tag, ifd, form = known
        if not form.fullmatch(value):
            raise _Refused  # exiftool would convert it its own way
        wanted[tag] = (ifd, value.encode("ascii") + b"\x00")
    start, end = _exif_block(data)
    tiff = data[start:end]
    order = {b"II*\x00": "<", b"MM\x00*": ">"}.get(tiff[:4])
    if order is None:
        raise _Refused
    ifds, tables = _walk(tiff, order)
    homes: dict[int, list[tuple[str, _Entry]]] = {}
    for name, entries in ifds.items():
        for entry in entries:
            homes.setdefault(entry[0], []).append((name, entry))
    out = bytearray(tiff)
    patched: list[tuple[int, int]] = []  # where bytes are written
    mine: set[tuple[str, int]] = set()  # by which entries (IFD, tag)
    inline: set[tuple[int, int]] = set()  # of those, the values inside their own entry
    for tag, (ifd, new) in wanted.items():
        found = homes.get(tag, [])
        if len(found) != 1 or found[0][0] != ifd:
            raise _Refused  # missing, twice, or in another IFD than exiftool's
        _tag, kind, count, at, size = found[0][1]
        if kind != _ASCII or count != len(new) or size != count:
            raise _Refused  # a structure change: exiftool's job
        if size <= 4:  # inline: exiftool zero-fills the rest of the 4-byte field
            new = new.ljust(4, b"\x00")
            inline.add((at, at + 4))
        out[at : at + len(new)] = new
        patched.append((at, at + len(new)))
        mine.add((ifd, tag))
    # Each byte written must be its value's alone: not the TIFF header, an IFD table (but
    # an inline value's own field), another entry's value or the thumbnail, nor another
    # written value (two entries pointing at the same bytes).
    others = [(0, 8), *_values(tiff, order, ifds, mine)]
    for i, (at, stop) in enumerate(patched):
        against = others + patched[:i] + patched[i + 1 :]
        if (at, stop) not in inline:
            against += tables
        if any(at < o_stop and o_start < stop for o_start, o_stop in against):
            raise _Refused
    return data[:start] + bytes(out) + data[end:]


def _exif_block(data: bytes) -> tuple[int, int]:
    """Where the TIFF block of the JPEG's only EXIF segment starts and ends."""
    if data[:2] != b"\xff\xd8":
        raise _Refused
    pos, found = 2, None
    while True:
        if pos + 4 > len(data) or data[pos] != 0xFF:
            raise _Refused
        marker = data[pos + 1]
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no metadata after this
            break
        if marker == 0xFF or 0xD0 <= marker <= 0xD8 or marker == 0x01:
            raise _Refused  # fill bytes, stray markers: left to exiftool
        (length,) = struct.unpack_from(">H", data, pos + 2)
        if length < 2 or pos + 2 + length > len(data):
            raise _Refused
        if marker == 0xE1 and data[pos + 4 : pos + 10] == _EXIF_HEADER:
            if found is not None:
                raise _Refused  # two EXIF segments: which one would a program read?
            found = (pos + 10, pos + 2 + length)
        pos += 2 + length
    if found is None:
        raise _Refused
    return found


def _walk(tiff: bytes, order: str) -> tuple[dict[str, list[_Entry]], list[tuple[int, int]]]:
    """The entries of IFD0, its sub-IFDs and the IFD chain after it, by IFD, and where
    each IFD's table lies."""
    ifds: dict[str, list[_Entry]] = {}
    tables: list[tuple[int, int]] = []
    (offset,) = struct.unpack_from(order + "I", tiff, 4)
    chain = 0
    while offset:
        name = "IFD0" if chain == 0 else f"IFD{chain}"
        entries, offset = _ifd(tiff, order, offset, tables)
        ifds[name] = entries
        chain += 1
        if chain > 4:
            raise _Refused
        pending = [(e, name) for e in entries if e[0] in _SUB_IFDS]
        while pending:
            entry, parent = pending.pop()
            tag, kind, count, at, _size = entry
            sub = _SUB_IFDS[tag]
            if kind not in (4, 13) or count != 1 or sub in ifds:
                raise _Refused
            if (parent, sub) not in (
                ("IFD0", "ExifIFD"),
                ("IFD0", "GPS"),
                ("ExifIFD", "InteropIFD"),
            ):
                raise _Refused  # a pointer where none belongs
            (where,) = struct.unpack_from(order + "I", tiff, at)
            ifds[sub], _next = _ifd(tiff, order, where, tables)
            pending += [(e, sub) for e in ifds[sub] if e[0] in _SUB_IFDS]
    return ifds, tables


def _ifd(
    tiff: bytes, order: str, offset: int, tables: list[tuple[int, int]]
) -> tuple[list[_Entry], int]:
    """The entries of the IFD at ``offset`` and the offset of the next one; its table's
    place is added to ``tables`` (one seen before: a loop, refused)."""
    if offset < 8 or offset + 2 > len(tiff) or any(offset == t for t, _ in tables):
        raise _Refused
    (n,) = struct.unpack_from(order + "H", tiff, offset)
    stop = offset + 2 + 12 * n + 4
    if stop > len(tiff):
        raise _Refused
    tables.append((offset, stop))
    entries = []
    at = offset + 2
    for tag, kind, count, field in struct.iter_unpack(order + "HHI4s", tiff[at : stop - 4]):
        size = _TYPE_SIZE.get(kind, 0) * count
        if kind not in _TYPE_SIZE and tag in _PATCHABLE_IDS:
            raise _Refused
        if size > 4:
            where = int.from_bytes(field, "little" if order == "<" else "big")
            if where < 8 or where + size > len(tiff):
                if tag in _PATCHABLE_IDS:
                    raise _Refused
                where, size = at + 8, 4  # out of the block (a maker note's own offset...)
            entries.append((tag, kind, count, where, size))
        else:  # inline (or of a type not known here: its field left alone)
            entries.append((tag, kind, count, at + 8, min(size, 4)))
        at += 12
    (next_ifd,) = struct.unpack_from(order + "I", tiff, stop - 4)
    return entries, next_ifd


def _values(
    tiff: bytes, order: str, ifds: dict[str, list[_Entry]], mine: set[tuple[str, int]]
) -> list[tuple[int, int]]:
    """Where the value of every entry but ``mine`` (IFD, tag) lies when stored out of its
    entry, and the thumbnail."""
    out = []
    for name, entries in ifds.items():
        longs = {}
        for tag, kind, count, at, size in entries:
            if tag in _UNMAPPED:
                raise _Refused
            if tag in (_THUMB_OFFSET, _THUMB_LENGTH) and (kind != 4 or count != 1):
                raise _Refused
            if size > 4 and (name, tag) not in mine:
                out.append((at, at + size))
            if kind == 4 and count == 1:
                longs[tag] = struct.unpack_from(order + "I", tiff, at)[0]
        if (_THUMB_OFFSET in longs) != (_THUMB_LENGTH in longs):
            raise _Refused
        if _THUMB_OFFSET in longs:
            where = longs[_THUMB_OFFSET]
            out.append((where, where + longs[_THUMB_LENGTH]))
    return out
