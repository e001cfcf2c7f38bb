"""Sidecar files: which ``.json`` / ``.xmp`` / ``.aae`` belongs to which media file, and
what the Takeout JSON and XMP sidecars say.

Google Takeout is the hard part. Its JSON names are not simply ``<media name>.json``:

* ``IMG_1234.JPG.json``, or ``IMG_1234.JPG.supplemental-metadata.json`` in newer exports,
  with the ``supplemental-metadata`` part cut to any prefix (``.supplemental-metad.json``,
  ``.suppl.json``, ``.s.json``) when the name grows too long; when both forms are there the
  newer one is listed first (the date engine names the older one if it disagrees);
* names are cut to 51 UTF-16 units in all (an emoji counts two), so the JSON name may hold
  only the start of the media name (even a part of its extension: ``name.jp.json``), and a
  media name that was cut may end in part of an edit suffix (``..._001-ha edi.JPG``);
* a duplicate's ``(1)`` counter moves behind the extension: ``IMG_1234(1).JPG`` pairs with
  ``IMG_1234.JPG(1).json``, ``IMG_1234.JPG.supplemental-metadata(1).json`` or
  ``IMG_1234.JPG(1).supplemental-metadata.json``; a cut name keeps its counter
  (``..._n.j(1).json``); a ``(38)`` that is part of the name stays in front of the
  extension (``Urlaub ... (38).JPG`` <-> ``Urlaub ... (38).JP.json``);
* an edited copy (``IMG_1234-edited.JPG``, a localized ``-bearbeitet``, ``-modifié``, ``-ha
  editado``..., or ``-edited(1)``) has no JSON of its own and uses the original's (with the
  same counter when there is one, else the plain one);
* the MOV/MP4 half of a Live Photo uses the JSON of its HEIC/JPG, a Pixel ``.MP`` the JSON
  of its ``.MP.jpg``; a file renamed to its real type (``IMG_1.HEIC.jpg``) keeps its JSON.

XMP sidecars are ``IMG_1.jpg.xmp`` (darktable, digiKam) or ``IMG_1.xmp`` (Lightroom); the
short form is only paired when it points at one file (or one RAW among RAW+JPEG).
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mediafix.media.kinds import IMAGE_EXTENSIONS, RAW_EXTENSIONS, VIDEO_EXTENSIONS

__all__ = [
    "EDIT_SUFFIXES",
    "TakeoutInfo",
    "is_supplemental",
    "pair_sidecars",
    "read_takeout",
    "read_xmp_dates",
]

_SUPPLEMENTAL = "supplemental-metadata"
# Google Photos' "edited" suffix in the languages Takeout is exported in.
EDIT_SUFFIXES: tuple[str, ...] = (
    "-edited",
    "-bearbeitet",
    "-modifié",
    "-ha editado",
    "-editado",
    "-modificato",
    "-bewerkt",
    "-redigerad",
    "-redigeret",
    "-redigert",
    "-muokattu",
    "-edytowane",
    "-upraveno",
    "-upravené",
    "-szerkesztett",
    "-editat",
    "-düzenlendi",
    "-изменено",
    "-відредаговано",
    "-編集済み",
    "-已编辑",
    "-已編輯",
    "-编辑",
    "-편집됨",
    "-diedit",
    "-đã chỉnh sửa",
    "-แก้ไขแล้ว",
    # Google Photos' own creations from one photo
    "-effects",
    "-smile",
    "-mix",
    "-collage",
    "-animation",
    "-motion",
)
_EDIT_SUFFIXES_FOLDED = tuple(unicodedata.normalize("NFC", s).casefold() for s in EDIT_SUFFIXES)
_COUNTER = re.compile(r"\((\d{1,3})\)$")
# Takeout cuts names to 51 UTF-16 units; a little slack either way.
_TRUNCATED_LENGTHS = range(44, 54)
_CUT_EDIT_MIN = 3  # "-ed", "-ha": a shorter remnant of an edit suffix is too common a tail
# A Pixel motion photo's video part: PXL_1.MP uses the JSON of PXL_1.MP.jpg.
_MOTION_EXTENSIONS = (".mp", ".mv")
_MAX_SIDECAR_BYTES = 16 * 1024 * 1024


def _split(name: str) -> tuple[str, str]:
    """(stem, extension with dot); a leading dot is part of the stem."""
    stem, ext = os.path.splitext(name)
    return stem, ext


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def _u16(text: str) -> int:
    """The length Takeout counts when it cuts a name: UTF-16 units (an emoji is two)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _cut(name: str) -> bool:
    """``name`` has the length of a name Takeout cut short."""
    return _u16(name) in _TRUNCATED_LENGTHS


def is_supplemental(json_name: str) -> bool:
    """``x.jpg.supplemental-metadata.json`` (or a cut of it): the newer export's format."""
    base = _SUPPLEMENTAL_TAIL.sub("", json_name[: -len(".json")])
    dot = base.rfind(".")
    return dot > 0 and len(base) - dot > 1 and _SUPPLEMENTAL.startswith(base[dot + 1 :].casefold())


_SUPPLEMENTAL_TAIL = re.compile(r"\(\d{1,3}\)$")


def _core(name: str) -> tuple[str, int | None]:
    """A media name without its ``(n)`` counter, and the counter: IMG(1).JPG -> IMG.JPG, 1."""
    stem, ext = _split(name)
    m = _COUNTER.search(stem)
    if m is None:
        return name, None
    return stem[: m.start()] + ext, int(m.group(1))


def _edit_original(core: str, *, cut: bool = False) -> str | None:
    """The name an edited copy was made from (IMG_1-edited.JPG -> IMG_1.JPG), if edited.

    With ``cut`` (the media name has the length of a name Takeout cut), the stem may end in
    only the start of an edit suffix: ``..._001-ha edi.JPG`` -> ``..._001.JPG``.
    """
    stem, ext = _split(core)
    stem = unicodedata.normalize("NFC", stem)
    folded = stem.casefold()
    for suffix in _EDIT_SUFFIXES_FOLDED:
        if folded.endswith(suffix) and len(folded) > len(suffix):
            return stem[: len(stem) - len(suffix)] + ext
    if cut:
        for suffix in _EDIT_SUFFIXES_FOLDED:
            for n in range(len(suffix) - 1, _CUT_EDIT_MIN - 1, -1):
                if folded.endswith(suffix[:n]) and len(folded) > n:
                    return stem[: len(stem) - n] + ext
    return None


def _json_key(json_name: str) -> tuple[str, int | None]:
    """What a Takeout JSON names: (media name or its cut-off start, counter).

    The counter may stand at the very end (``x.jpg(1).json``,
    ``x.jpg.supplemental-metadata(1).json``) or before the suffix
    (``x.jpg(1).supplemental-metadata.json``).
    """
    base = json_name[: -len(".json")]
    counter = None
    m = _COUNTER.search(base)
    if m is not None:
        counter = int(m.group(1))
        base = base[: m.start()]
    dot = base.rfind(".")
    if dot > 0:
        tail = base[dot + 1 :].casefold()
        head = base[:dot]
        inner = _COUNTER.search(head) if counter is None else None
        if inner is not None and _SUPPLEMENTAL.startswith(tail) and tail:
            # x.jpg(1).supplemental-metadata: the counter went in front of the suffix
            counter, head = int(inner.group(1)), head[: inner.start()]
            return head.rstrip("."), counter
        if tail == "" or (_SUPPLEMENTAL.startswith(tail) and _split(head)[1]):
            # ".supplemental-metadata" or any cut of it, after a real extension
            base = head
        elif _SUPPLEMENTAL.startswith(tail) and _cut(base + ".json"):
            base = head
    return base.rstrip("."), counter


class _Folder:
    """The media names of one folder, indexed the ways sidecar names refer to them."""

    def __init__(self, media: Sequence[str]) -> None:
        self.media = list(media)
        self.by_fold: dict[str, list[str]] = {}
        self.by_core: dict[tuple[str, int | None], list[str]] = {}
        self.by_stem: dict[tuple[str, int | None], list[str]] = {}
        for name in self.media:
            self.by_fold.setdefault(_fold(name), []).append(name)
            core, counter = _core(name)
            self.by_core.setdefault((_fold(core), counter), []).append(name)
            self.by_stem.setdefault((_fold(_split(core)[0]), counter), []).append(name)
        self.names = set(self.media)

    def exact(self, name: str) -> str | None:
        if name in self.names:
            return name
        found = self.by_fold.get(_fold(name), [])
        return found[0] if len(found) == 1 else None

    def core(self, core: str, counter: int | None) -> str | None:
        found = self.by_core.get((_fold(core), counter), [])
        if len(found) == 1:
            return found[0]
        return next((n for n in found if n == _insert_counter(core, counter)), None)

    def stem(self, stem: str, counter: int | None = None) -> list[str]:
        return self.by_stem.get((_fold(stem), counter), [])

    def prefixed(self, start: str, counter: int | None) -> list[str]:
        """Media whose name (without its counter) starts with ``start``; with no counter in
        the JSON, a "(38)" that is part of the media name counts as name, not counter."""
        start = _fold(start)
        found = [
            n for n in self.media if _core(n)[1] == counter and _fold(_core(n)[0]).startswith(start)
        ]
        if counter is None:  # the JSON's cut name reaches into the "(38)": part of the name
            found += [
                n
                for n in self.media
                if n not in found
                and _core(n)[1] is not None
                and _fold(n).startswith(start)
                and len(start) > _split(n)[0].rfind("(")
            ]
        return found

    def double_extension(self, key: str, counter: int | None) -> str | None:
        """IMG_1.HEIC.jpg for the JSON of IMG_1.HEIC: a file renamed to its real type."""
        found = [n for n in self.stem(key, counter) if _has_media_ext(n)]
        return found[0] if len(found) == 1 else None


def _insert_counter(core: str, counter: int | None) -> str:
    if counter is None:
        return core
    stem, ext = _split(core)
    return f"{stem}({counter}){ext}"


def _is_video(name: str) -> bool:
    return _split(name)[1].lower() in VIDEO_EXTENSIONS


def _is_image(name: str) -> bool:
    return _split(name)[1].lower() in IMAGE_EXTENSIONS


def _has_media_ext(name: str) -> bool:
    ext = _split(name)[1].lower()
    return ext in IMAGE_EXTENSIONS or ext in VIDEO_EXTENSIONS


def _one_still(names: list[str]) -> str | None:
    """The one file a stem-only sidecar means: the only file, else the only RAW, else the
    only still image (a Live Photo's MOV is not what a photo sidecar describes)."""
    if len(names) == 1:
        return names[0]
    for pick in (lambda n: _split(n)[1].lower() in RAW_EXTENSIONS, _is_image):
        chosen = [n for n in names if pick(n)]
        if len(chosen) == 1:
            return chosen[0]
    return None


def pair_sidecars(names: Sequence[str]) -> tuple[dict[str, list[str]], list[str]]:
    """One folder's file names -> (media name -> its sidecar names, orphan sidecar names).

    Only media that have sidecars appear in the mapping (use ``.get(name, [])``). A media
    file's list holds Takeout JSON first, then XMP, then AAE. A sidecar may serve several
    files (a Live Photo pair, an original and its edited copy).
    """
    sidecars = [n for n in names if _split(n)[1].lower() in (".json", ".xmp", ".aae")]
    side_set = set(sidecars)
    folder = _Folder([n for n in names if n not in side_set])
    pairs: dict[str, list[str]] = {}
    used: set[str] = set()

    def attach(media: str, sidecar: str) -> None:
        lst = pairs.setdefault(media, [])
        if sidecar not in lst:
            lst.append(sidecar)
        used.add(sidecar)

    jsons = [n for n in sidecars if n.lower().endswith(".json")]
    # Takeout JSON, by what each names; json_by_core keeps even unmatched ones so an edited
    # copy or a Live Photo video can use a JSON whose own media file is absent.
    json_by_core: dict[tuple[str, int | None], list[str]] = {}
    leftovers: list[tuple[str, str, int | None]] = []
    for js in sorted(jsons):
        key, counter = _json_key(js)
        if not key:
            continue
        json_by_core.setdefault((_fold(key), counter), []).append(js)
        target = (
            folder.exact(_insert_counter(key, counter))
            or folder.core(key, counter)
            or (folder.exact(key + f"({counter})") if counter is not None else None)
        )
        if target is None and not _has_media_ext(key):
            target = _one_still(folder.stem(key, counter))
        if target is None and _has_media_ext(key):
            target = folder.double_extension(key, counter)
        if target is not None:
            attach(target, js)
        else:
            leftovers.append((js, key, counter))
    # Names cut short: the JSON holds the start of exactly one not yet paired file. Takeout
    # cuts the name before it adds the counter, so the length is measured without it.
    for js, key, counter in leftovers:
        if not _cut(_insert_counter_plain(js, counter)):
            continue
        found = [n for n in folder.prefixed(key, counter) if n not in pairs]
        if len(found) > 1:  # an edited copy shares the start of its original's name
            found = [n for n in found if _edit_original(_core(n)[0]) is None]
        if len(found) == 1:
            attach(found[0], js)
            json_by_core.setdefault((_fold(_core(found[0])[0]), counter), []).append(js)

    def jsons_of(core: str, counter: int | None, *, any_ext: bool = False) -> list[str]:
        found = json_by_core.get((_fold(core), counter), [])
        if not found and any_ext:  # the edit may have another extension (HEIC -> JPG)
            stem = _fold(_split(core)[0])
            found = [
                j
                for (k, c), js in json_by_core.items()
                if c == counter and _fold(_split(k)[0]) == stem
                for j in js
            ]
        return found

    # Edited copies, Live Photo videos and Pixel motion parts borrow the original's JSON.
    for media in folder.media:
        if any(s.lower().endswith(".json") for s in pairs.get(media, [])):
            continue
        core, counter = _core(media)
        original = _edit_original(core) or (_edit_original(core, cut=True) if _cut(media) else None)
        borrowed: list[str] = []
        if original is not None:
            borrowed = jsons_of(original, counter, any_ext=True)
            if not borrowed and counter is not None:  # "-edited(1)": an edit of the original
                borrowed = jsons_of(original, None, any_ext=True)
        elif _split(media)[1].lower() in _MOTION_EXTENSIONS:
            borrowed = [
                j for ext in (".jpg", ".jpeg", ".heic") for j in jsons_of(core + ext, counter)
            ]
        elif _is_video(media):
            stem = _fold(_split(core)[0])
            borrowed = [
                j
                for (k, c), js in json_by_core.items()
                if c == counter and _fold(_split(k)[0]) == stem and _is_image(k)
                for j in js
            ]
        for js in borrowed:
            attach(media, js)

    # XMP: IMG_1.jpg.xmp names its file; IMG_1.xmp only when one file has that stem.
    xmps = sorted(n for n in sidecars if n.lower().endswith(".xmp"))
    for xmp in xmps:
        key = xmp[: -len(".xmp")]
        target = folder.exact(key) if _has_media_ext(key) else None
        if target is None:
            target = _one_still(folder.stem(*_core_stem(key)))
        if target is not None:
            attach(target, xmp)

    # AAE: Apple's edit instructions for IMG_1234.HEIC (IMG_O1234.AAE in newer iOS).
    for aae in sorted(n for n in sidecars if n.lower().endswith(".aae")):
        stem = aae[: -len(".aae")]
        found = folder.stem(stem)
        if not found and re.match(r"(?i)IMG_O\d", stem):
            found = folder.stem(stem[:4] + stem[5:])
        target = _one_still(found)
        if target is not None:
            attach(target, aae)

    # Takeout JSON first (the newer export's supplemental-metadata name before the older
    # plain one), then XMP, then AAE.
    order = {".json": 0, ".xmp": 1, ".aae": 2}
    for media, lst in pairs.items():
        pairs[media] = [
            s
            for *_, s in sorted(
                (
                    order[_split(s)[1].lower()],
                    not (s.lower().endswith(".json") and is_supplemental(s)),
                    i,
                    s,
                )
                for i, s in enumerate(lst)
            )
        ]
    orphans = sorted(s for s in sidecars if s not in used)
    return pairs, orphans


def _insert_counter_plain(json_name: str, counter: int | None) -> str:
    """A JSON name without its "(n)" counter, wherever Takeout put it."""
    if counter is None:
        return json_name
    marker = f"({counter})"
    at = json_name.rfind(marker)
    return json_name[:at] + json_name[at + len(marker) :] if at >= 0 else json_name


def _core_stem(key: str) -> tuple[str, int | None]:
    m = _COUNTER.search(key)
    if m is None:
        return key, None
    return key[: m.start()], int(m.group(1))


# --- Google Takeout JSON ---------------------------------------------------------------------


@dataclass(frozen=True)
class TakeoutInfo:
    """What a Google Takeout JSON says about one photo. Times are naive UTC."""

    taken_utc: datetime | None  # photoTakenTime: the capture instant as Google knows it
    created_utc: datetime | None  # creationTime: when it was uploaded
    title: str | None
    description: str | None
    latitude: float | None
    longitude: float | None
    people: tuple[str, ...]


_EPOCH = datetime(1970, 1, 1)
_TAKEOUT_KEYS = frozenset(
    {
        "photoTakenTime",
        "creationTime",
        "geoData",
        "geoDataExif",
        "imageViews",
        "googlePhotosOrigin",
        "photoLastModifiedTime",
    }
)


def _read_bytes(path: str) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            data = fh.read(_MAX_SIDECAR_BYTES + 1)
    except OSError:
        return None
    return None if len(data) > _MAX_SIDECAR_BYTES else data


def _epoch(value: Any) -> datetime | None:
    """{"timestamp": "1568864337", ...} -> naive UTC; 0 and nonsense are no date."""
    if isinstance(value, dict):
        value = value.get("timestamp")
    if isinstance(value, bool) or value is None:
        return None
    try:
        seconds = int(str(value).strip())
    except ValueError:
        return None
    if seconds <= 0 or seconds > 4_102_444_800:  # 0 is Takeout's "unknown"; cap at 2100
        return None
    return _EPOCH + timedelta(seconds=seconds)


def _coords(geo: Any) -> tuple[float, float] | None:
    if not isinstance(geo, dict):
        return None
    try:
        lat, lon = float(geo["latitude"]), float(geo["longitude"])
    except (KeyError, TypeError, ValueError):
        return None
    if (lat == 0.0 and lon == 0.0) or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None  # 0,0 is Takeout's "no location"
    return lat, lon


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def read_takeout(path: str) -> TakeoutInfo | None:
    """The Takeout JSON at ``path``; None for a broken file or JSON that is not Takeout's."""
    data = _read_bytes(path)
    if data is None:
        return None
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(doc, dict) or not (_TAKEOUT_KEYS & doc.keys()):
        return None
    coords = _coords(doc.get("geoData")) or _coords(doc.get("geoDataExif"))
    people_raw = doc.get("people")
    people: list[str] = []
    if isinstance(people_raw, list):
        for person in people_raw:
            name = _text(person.get("name")) if isinstance(person, dict) else None
            if name:
                people.append(name)
    return TakeoutInfo(
        taken_utc=_epoch(doc.get("photoTakenTime")),
        created_utc=_epoch(doc.get("creationTime")),
        title=_text(doc.get("title")),
        description=_text(doc.get("description")),
        latitude=coords[0] if coords else None,
        longitude=coords[1] if coords else None,
        people=tuple(people),
    )


# --- XMP sidecars ------------------------------------------------------------------------------

# Namespace URI -> the prefix mediafix reports (files may use other prefixes, e.g. "xap").
_XMP_NAMESPACES = {
    "http://ns.adobe.com/exif/1.0/": "exif",
    "http://ns.adobe.com/xap/1.0/": "xmp",
    "http://ns.adobe.com/photoshop/1.0/": "photoshop",
    "http://ns.adobe.com/tiff/1.0/": "tiff",
    "http://cipa.jp/exif/1.0/": "exifEX",
}
_XMP_DATE_NAMES = frozenset(
    {
        "DateTimeOriginal",
        "DateTimeDigitized",
        "CreateDate",
        "ModifyDate",
        "DateCreated",
        "DateTime",
        "MetadataDate",
        "GPSTimeStamp",
    }
)
_RDF_LI = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}li"
# XMP never needs a DTD; refusing any keeps entity expansion (and XXE) out entirely.
_DTD = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)


def _xmp_name(qualified: str) -> str | None:
    if not qualified.startswith("{"):
        return None
    uri, _, local = qualified[1:].partition("}")
    prefix = _XMP_NAMESPACES.get(uri)
    if prefix is None or local not in _XMP_DATE_NAMES:
        return None
    return f"{prefix}:{local}"


def read_xmp_dates(path: str) -> dict[str, str]:
    """The date fields of an XMP sidecar, ``{"exif:DateTimeOriginal": "2019-09-19T05:38:57"}``.

    Values are returned as written. Keys use the usual prefix for each namespace whatever
    prefix the file chose. A broken, empty or DTD-carrying file gives ``{}``.
    """
    data = _read_bytes(path)
    # (NULs dropped so a UTF-16 file cannot hide its DTD from the check)
    if not data or _DTD.search(data.replace(b"\x00", b"")):
        return {}
    try:
        root = ET.fromstring(data)
    except (ET.ParseError, ValueError):
        return {}
    found: dict[str, str] = {}
    for elem in root.iter():
        for attr, value in elem.attrib.items():
            name = _xmp_name(attr)
            if name and value.strip():
                found.setdefault(name, value.strip())
        name = _xmp_name(elem.tag) if isinstance(elem.tag, str) else None
        if name:
            text = (elem.text or "").strip()
            if not text:  # rdf:Seq / rdf:Alt: the first item
                li = next(elem.iter(_RDF_LI), None)
                text = (li.text or "").strip() if li is not None else ""
            if text:
                found.setdefault(name, text)
    return found
