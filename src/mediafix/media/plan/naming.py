"""Names in the output: the ``NAMING`` table (one row per date precision) and names
that are safe on every file system a share may be.

Folder and base name come from one row of ``NAMING`` per date precision: a full time names
the file ``YYYYMMDD_HHMMSS``; a day, month or year names it ``YYYYMMDD_``/``YYYYMM_``/
``YYYY_`` + its own name, because inventing a time of day in the name would be a lie
(DESIGN: precision is stated); undated files go to ``OUTPUT/undated/`` under their own
(sanitized) names. The extension comes from the content, lower-case (``kinds.sniff``): a
JPEG named ``.png`` becomes ``.jpg``; RAW files keep their own extension, lower-cased.
"""

from __future__ import annotations

import os
import re
import sys
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from mediafix.media.kinds import RAW_EXTENSIONS
from mediafix.media.plan.model import PlanInput
from mediafix.media.tags import name_tags

__all__ = [
    "EXT_SPELLINGS",
    "NAMING",
    "Naming",
    "canonical_ext",
    "naming_for",
    "own_stem",
    "sanitize_stem",
    "sanitize_tail",
    "sidecar_name",
    "split_name",
]

# Other spellings of a canonical extension (for the reason's words only).
EXT_SPELLINGS = {
    ".jpeg": ".jpg",
    ".jpe": ".jpg",
    ".jfif": ".jpg",
    ".tiff": ".tif",
    ".hif": ".heif",
    ".qt": ".mov",
    ".m2ts": ".mts",
    ".mpeg": ".mpg",
}

_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*\ud800-\udfff]')
_RESERVED = frozenset(
    {
        "con",
        "prn",
        "aux",
        "nul",
        *(f"com{i}" for i in range(1, 10)),
        *(f"lpt{i}" for i in range(1, 10)),
    }
)
_MAX_STEM_BYTES = 150


def sanitize_stem(stem: str) -> str:
    """A file name stem that is safe on Linux, macOS and SMB/Windows shares.

    Control and reserved characters become ``_``, spaces are single, leading dots and
    trailing dots/spaces go (no hidden files, nothing looking like our temporary names),
    and the stem is cut to 150 bytes. Never empty.
    """
    text = unicodedata.normalize("NFC", stem)
    text = " ".join(_UNSAFE_NAME.sub("_", text).split()).strip(" .")
    encoded = text.encode("utf-8")
    if len(encoded) > _MAX_STEM_BYTES:
        text = encoded[:_MAX_STEM_BYTES].decode("utf-8", "ignore").rstrip(" .")
    if not text:
        return "untitled"
    if text.casefold() in _RESERVED:
        return f"{text}_"
    return text


def split_name(name: str) -> tuple[str, str]:
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        return name, ""
    return stem, f".{ext}"


def canonical_ext(inp: PlanInput) -> str:
    own = split_name(os.path.basename(inp.path))[1].lower()
    if inp.format == "raw" and own in RAW_EXTENSIONS:
        return own  # TIFF-based RAW files are told apart by their own extension only
    ext = inp.ext.lower()
    if ext and not ext.startswith("."):
        ext = f".{ext}"
    return sys.intern(ext or own)  # a plan holds one per file: a few strings in all


def own_stem(inp: PlanInput) -> str:
    """The file's own name without ``{tags}`` and extension, sanitized."""
    _, cleaned = name_tags(os.path.basename(inp.path))
    return sanitize_stem(split_name(cleaned)[0])


def sidecar_name(media: str, sidecar: str, base: str, ext: str) -> str:
    """Target name of a travelling sidecar, keeping how it relates to its media file:
    ``IMG_1.JPG.xmp`` -> ``BASE.jpg.xmp``, ``IMG_1.AAE`` -> ``BASE.aae``, anything else
    (a Takeout name cut short) -> ``BASE.ext.<its extension>``."""
    name = os.path.basename(sidecar)
    media_stem = split_name(media)[0]
    if name.casefold().startswith(media.casefold()) and len(name) > len(media):
        head, rest = base + ext, name[len(media) :]
    elif name.casefold().startswith(media_stem.casefold() + "."):
        head, rest = base, name[len(media_stem) :]
    else:
        head, rest = base + ext, split_name(name)[1]
    rest_stem, rest_ext = split_name(rest)
    rest = (rest_stem + rest_ext.lower()) if rest_ext else rest.lower()
    return head + sanitize_tail(rest)


def sanitize_tail(text: str) -> str:
    """The part of a sidecar name after the base: same character rules as a stem."""
    return _UNSAFE_NAME.sub("_", unicodedata.normalize("NFC", text))


@dataclass(frozen=True)
class Naming:
    """How a file whose date has one precision is named and dated: one row per precision.

    ``folder`` and ``base`` are strftime patterns (``{name}`` is the file's own sanitized
    name, ``{undated}`` the undated folder); ``stamp`` is what DateTimeOriginal/CreateDate
    (QuickTime dates for videos) get; ``kept`` is the precision kept in XMP
    ``photoshop:DateCreated`` ("" when the full time is written). ``example`` is the target
    of a file named ``example_name`` taken at ``example_taken`` (a test checks it, and the
    README's table prints these rows).
    """

    precision: str  # a values.Precision value, or "none" for no date at all
    folder: str
    base: str
    stamp: str
    kept: str
    example_name: str
    example_taken: datetime | None
    example: str

    @property
    def coarse(self) -> bool:
        return bool(self.kept)

    def name(self, taken: datetime | None, own: str, undated_dir: str) -> tuple[str, str]:
        """(folder under the output, base name) of a file taken at ``taken`` (local wall
        clock; None when undated) whose own sanitized name is ``own``."""
        stamp = taken if taken is not None else datetime(2000, 1, 1)
        base = self.base
        if "{name}" in base:  # a name is not a strftime pattern: its "%" stay
            base = base.replace("{name}", own.replace("%", "%%"))
        if self.folder == "%Y":  # nearly every file: no strftime, and years < 1000 padded
            folder = f"{stamp.year:04d}"
        else:
            folder = stamp.strftime(
                self.folder.replace("{undated}", undated_dir.replace("%", "%%"))
            )
        return folder, stamp.strftime(base)


_EXAMPLE = datetime(2019, 9, 19, 5, 38, 57)
NAMING: tuple[Naming, ...] = (
    Naming(
        "subsecond",
        "%Y",
        "%Y%m%d_%H%M%S",
        "%Y:%m:%d %H:%M:%S",
        "",
        "IMG_0001.HEIC",
        _EXAMPLE.replace(microsecond=120000),
        "2019/20190919_053857.heic",
    ),
    Naming(
        "second",
        "%Y",
        "%Y%m%d_%H%M%S",
        "%Y:%m:%d %H:%M:%S",
        "",
        "IMG_0001.JPG",
        _EXAMPLE,
        "2019/20190919_053857.jpg",
    ),
    Naming(
        "minute",
        "%Y",
        "%Y%m%d_%H%M%S",
        "%Y:%m:%d %H:%M:%S",
        "",
        "20190919_0538.jpg",
        _EXAMPLE.replace(second=0),
        "2019/20190919_053800.jpg",
    ),
    Naming(
        "day",
        "%Y",
        "%Y%m%d_{name}",
        "%Y:%m:%d 12:00:00",
        "%Y:%m:%d",
        "IMG-20190919-WA0001.jpg",
        _EXAMPLE.replace(hour=0, minute=0, second=0),
        "2019/20190919_IMG-20190919-WA0001.jpg",
    ),
    Naming(
        "month",
        "%Y",
        "%Y%m_{name}",
        "%Y:%m:01 12:00:00",
        "%Y:%m",
        "scan 07.jpg",
        datetime(2019, 9, 1),
        "2019/201909_scan 07.jpg",
    ),
    Naming(
        "year",
        "%Y",
        "%Y_{name}",
        "%Y:01:01 12:00:00",
        "%Y",
        "scan 01.jpg",
        datetime(2019, 1, 1),
        "2019/2019_scan 01.jpg",
    ),
    Naming("none", "{undated}", "{name}", "", "", "scan 02.jpg", None, "undated/scan 02.jpg"),
)
_NAMING = {row.precision: row for row in NAMING}


def naming_for(precision: str | None, dated: bool = True) -> Naming:
    """The ``NAMING`` row for a date of this precision (an unknown one counts as seconds)."""
    if not dated:
        return _NAMING["none"]
    return _NAMING.get(precision or "second", _NAMING["second"])
