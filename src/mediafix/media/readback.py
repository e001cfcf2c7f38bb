"""Read back, in-process, what apply wrote into a plain JPEG: EXIF, XMP and IPTC tags.

Apply's batched path (:mod:`mediafix.media.apply`) checks each written file here instead of
asking exiftool to read it again (an exiftool read costs about as much as the write: issue
#20). It covers the tags apply writes into a JPEG and reads them the way ``exiftool -G1 -a
-n`` reports them, so the check is the same as ``apply._verify_tags``:

* EXIF: ASCII tags of IFD0 and the Exif IFD (``DateTimeOriginal``, ``OffsetTime``...), and
  ``XPKeywords`` (UCS-2, IFD0);
* XMP: every property of the standard XMP packet, by namespace URI and name (attribute or
  element form; a list as its ``rdf:li`` items);
* IPTC: the datasets of record 2 in the Photoshop APP13 resource ``0x0404``.

Anything it does not understand fully (a second EXIF or XMP segment, extended XMP, an
offset out of range, XML it cannot parse) raises :class:`Unreadable`, and apply falls back
to exiftool for that file: this module never guesses.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from xml.etree import ElementTree

__all__ = ["JpegTags", "Unreadable", "read_jpeg_tags"]

_EXIF_HEADER = b"Exif\x00\x00"
_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
_PHOTOSHOP_HEADER = b"Photoshop 3.0\x00"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

# EXIF tag ids of IFD0 and the Exif IFD that apply writes or checks, by exiftool's names.
EXIF_TAGS: dict[int, str] = {
    0x0132: "ModifyDate",
    0x9003: "DateTimeOriginal",
    0x9004: "CreateDate",
    0x9010: "OffsetTime",
    0x9011: "OffsetTimeOriginal",
    0x9012: "OffsetTimeDigitized",
    0x9290: "SubSecTime",
    0x9291: "SubSecTimeOriginal",
    0x9292: "SubSecTimeDigitized",
    0x9C9E: "XPKeywords",
}
# IPTC record 2 datasets, by exiftool's names.
IPTC_TAGS: dict[int, str] = {
    25: "Keywords",
    55: "DateCreated",
    60: "TimeCreated",
    62: "DigitalCreationDate",
    63: "DigitalCreationTime",
}
# exiftool's XMP group names (``XMP-<prefix>``) -> namespace URI.
XMP_NAMESPACES: dict[str, str] = {
    "XMP-dc": "http://purl.org/dc/elements/1.1/",
    "XMP-xmp": "http://ns.adobe.com/xap/1.0/",
    "XMP-exif": "http://ns.adobe.com/exif/1.0/",
    "XMP-photoshop": "http://ns.adobe.com/photoshop/1.0/",
}


class Unreadable(ValueError):
    """This file's metadata is not laid out the simple way this module reads."""


@dataclass
class JpegTags:
    """What one JPEG carries: ``exif`` by (IFD name, tag name), ``xmp`` by (namespace URI,
    property name) -> list of values, ``iptc`` by dataset name -> list of raw values;
    ``has_xmp``/``has_iptc`` whether those blocks exist at all."""

    exif: dict[tuple[str, str], str] = field(default_factory=dict)
    xmp: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    iptc: dict[str, list[bytes]] = field(default_factory=dict)
    has_xmp: bool = False
    has_iptc: bool = False


def read_jpeg_tags(data: bytes) -> JpegTags:
    """The tags of the JPEG ``data`` (its metadata segments; the image data is not read)."""
    if data[:2] != b"\xff\xd8":
        raise Unreadable("not a JPEG")
    tags = JpegTags()
    seen_exif = False
    pos = 2
    while True:
        if pos + 4 > len(data) or data[pos] != 0xFF:
            raise Unreadable("damaged JPEG marker")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no metadata after this
            return tags
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 2
            continue
        (length,) = struct.unpack_from(">H", data, pos + 2)
        body = data[pos + 4 : pos + 2 + length]
        if length < 2 or len(body) != length - 2:
            raise Unreadable("truncated JPEG segment")
        if marker == 0xE1 and body.startswith(_EXIF_HEADER):
            if seen_exif:
                raise Unreadable("two EXIF segments")
            seen_exif = True
            _read_exif(body[len(_EXIF_HEADER) :], tags)
        elif marker == 0xE1:
            if tags.has_xmp or not body.startswith(_XMP_HEADER):
                raise Unreadable("extended or second XMP, or an unknown APP1")
            tags.has_xmp = True
            _read_xmp(body[len(_XMP_HEADER) :], tags)
        elif marker == 0xED:
            if tags.has_iptc or not body.startswith(_PHOTOSHOP_HEADER):
                raise Unreadable("a second or unknown APP13")
            tags.has_iptc = True
            _read_photoshop(body[len(_PHOTOSHOP_HEADER) :], tags)
        pos += 2 + length


# -- EXIF ------------------------------------------------------------------------------


def _read_exif(tiff: bytes, tags: JpegTags) -> None:
    if tiff[:4] == b"II*\x00":
        end = "<"
    elif tiff[:4] == b"MM\x00*":
        end = ">"
    else:
        raise Unreadable("bad TIFF header")
    (ifd0,) = struct.unpack_from(end + "I", tiff, 4)
    exif_ifd = _read_ifd(tiff, end, ifd0, "IFD0", tags)
    if exif_ifd is not None:
        _read_ifd(tiff, end, exif_ifd, "ExifIFD", tags)


def _read_ifd(tiff: bytes, end: str, offset: int, name: str, tags: JpegTags) -> int | None:
    """Read the tags we know of one IFD; return the Exif IFD's offset (from IFD0)."""
    if offset < 8 or offset + 2 > len(tiff):
        raise Unreadable("IFD out of range")
    (count,) = struct.unpack_from(end + "H", tiff, offset)
    if offset + 2 + 12 * count > len(tiff):
        raise Unreadable("IFD out of range")
    exif_pointer = None
    start = offset + 2
    for tag, kind, n, value in struct.iter_unpack(end + "HHI4s", tiff[start : start + 12 * count]):
        if name == "IFD0" and tag == 0x8769:
            (exif_pointer,) = struct.unpack_from(end + "I", value)
            continue
        known = EXIF_TAGS.get(tag)
        if known is None:
            continue
        if kind not in (1, 2, 7):  # BYTE, ASCII, UNDEFINED: what these tags are stored as
            raise Unreadable(f"{known} has an unexpected type")
        if n <= 4:
            raw = value[:n]
        else:
            (where,) = struct.unpack_from(end + "I", value)
            if where + n > len(tiff):
                raise Unreadable(f"{known} out of range")
            raw = tiff[where : where + n]
        if known == "XPKeywords":
            text = raw.decode("utf-16-le", "strict").rstrip("\x00")
        else:
            text = raw.split(b"\x00", 1)[0].decode("ascii").strip()
        if (name, known) in tags.exif:
            raise Unreadable(f"{known} twice")
        tags.exif[(name, known)] = text
    return exif_pointer


# -- XMP -------------------------------------------------------------------------------


def _read_xmp(packet: bytes, tags: JpegTags) -> None:
    try:
        root = ElementTree.fromstring(packet.strip(b"\x00 \r\n\t"))
    except ElementTree.ParseError as exc:
        raise Unreadable(f"XMP does not parse: {exc}") from exc
    for desc in root.iter(f"{{{_RDF}}}Description"):
        for attr, value in desc.attrib.items():
            if attr.startswith("{") and not attr.startswith(f"{{{_RDF}}}"):
                ns, _, local = attr[1:].partition("}")
                tags.xmp.setdefault((ns, local), []).append(value)
        for prop in desc:
            if not prop.tag.startswith("{"):
                continue
            ns, _, local = prop.tag[1:].partition("}")
            items = [li.text or "" for li in prop.iter(f"{{{_RDF}}}li")]
            values = items if items else [prop.text or ""]
            tags.xmp.setdefault((ns, local), []).extend(values)


# -- IPTC ------------------------------------------------------------------------------


def _read_photoshop(data: bytes, tags: JpegTags) -> None:
    pos = 0
    while pos + 12 <= len(data):
        if data[pos : pos + 4] != b"8BIM":
            raise Unreadable("bad Photoshop resource")
        (rid,) = struct.unpack_from(">H", data, pos + 4)
        name_len = data[pos + 6]
        pos += 6 + ((name_len + 2) & ~1)  # the Pascal name, padded to even
        (size,) = struct.unpack_from(">I", data, pos)
        pos += 4
        block = data[pos : pos + size]
        if len(block) != size:
            raise Unreadable("truncated Photoshop resource")
        if rid == 0x0404:
            _read_iptc(block, tags)
        pos += size + (size & 1)


def _read_iptc(block: bytes, tags: JpegTags) -> None:
    pos = 0
    while pos + 5 <= len(block):
        if block[pos] != 0x1C:
            if not block[pos:].strip(b"\x00"):
                return
            raise Unreadable("bad IPTC dataset")
        record, dataset, size = block[pos + 1], block[pos + 2], block[pos + 3 : pos + 5]
        (n,) = struct.unpack(">H", size)
        if n & 0x8000:
            raise Unreadable("extended IPTC dataset")
        value = block[pos + 5 : pos + 5 + n]
        if len(value) != n:
            raise Unreadable("truncated IPTC dataset")
        if record == 2 and dataset in IPTC_TAGS:
            tags.iptc.setdefault(IPTC_TAGS[dataset], []).append(value)
        pos += 5 + n
