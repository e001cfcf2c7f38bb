"""Tags for a file: from its folder names, from ``{tag1,tag2}`` in its name, and from the user.

Folder tags: the folders of the file's path relative to its source root are read from the
file outwards; names that say nothing about the content (camera roll and app folders,
years, dates, export folders, file-type folders such as ``jpg`` or ``mp4``, generic words
such as ``sub_folder`` or ``sidecar``, backup and copy folders such as ``Backup 2019``: the
``GENERIC_FOLDERS`` rows) are passed over, and the ``depth`` nearest remaining names become
tags (outer first). So ``Italy 2019/DCIM/100APPLE/IMG_1.JPG`` is tagged ``Italy 2019``. The
source root's own name is never a tag (the path is relative to it; for a web upload the
plan drops the folder the person dropped, see ``output._inputs``).

Name tags: the original PhotoTimeFixer syntax, ``IMG_1234 {Anna,Birthday}.jpg``; the braces are
removed from the name the file keeps (undated files keep their own name).

Every tag is cleaned the same way (``clean_tag``) so it fits all three places it is written:
XMP ``dc:subject``, IPTC ``Keywords`` (at most 64 bytes) and Windows ``XPKeywords`` (``;``
separates tags there, so a tag never contains one).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePosixPath

from mediafix.media.keeper import COPY_MARKS
from mediafix.media.kinds import MEDIA_EXTENSIONS, SIDECAR_EXTENSIONS

__all__ = [
    "DEFAULT_DEPTH",
    "GENERIC_FOLDERS",
    "MAX_TAG_BYTES",
    "Generic",
    "TagOrigin",
    "clean_tag",
    "file_tag_origins",
    "file_tags",
    "folder_tags",
    "is_generic_folder",
    "merge_origins",
    "merge_tags",
    "name_tags",
]

DEFAULT_DEPTH = 2
MAX_TAG_BYTES = 64  # IPTC Keywords' limit; the strictest of the three places a tag goes


@dataclass(frozen=True)
class Generic:
    """A kind of folder name that is no tag; ``example`` must match ``pattern`` (tested)."""

    name: str
    pattern: str  # matched against the whole folder name, case-insensitively
    example: str


_MONTHS = (
    "jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sep(t(ember)?)?"
    "|oct(ober)?|nov(ember)?|dec(ember)?"
)

_FILE_TYPES = "|".join(
    sorted(
        {e.lstrip(".") for e in MEDIA_EXTENSIONS | SIDECAR_EXTENSIONS} | {"jp2", "jpegs", "raws"},
        key=lambda e: (-len(e), e),
    )
)

# Order does not matter (any row makes a name generic); each row carries its own example.
GENERIC_FOLDERS: tuple[Generic, ...] = (
    Generic("camera folder", r"dcim|camera|camera roll|kamera|appareil photo|100media", "DCIM"),
    Generic("DCF numbered folder", r"\d{3}[a-z0-9_]{5}", "100APPLE"),
    Generic(
        "WhatsApp folder",
        r"whatsapp( (images|video|animated gifs|documents|audio|"
        r"stickers|voice notes|profile photos))?",
        "WhatsApp Images",
    ),
    Generic(
        "messenger folder",
        r"(telegram|signal|viber|messenger) ?(images|video|photos)?",
        "Telegram Images",
    ),
    Generic("sent or received", r"sent|private|received|shared", "Sent"),
    Generic(
        "picture library",
        r"(my )?(pictures|photos|images|fotos|bilder|videos|movies|"
        r"video|media|gallery|camera uploads)",
        "Pictures",
    ),
    Generic(
        "screenshots",
        r"screenshots?|screen ?recordings?|screen ?shots|bildschirmfotos",
        "Screenshots",
    ),
    Generic("downloads", r"downloads?", "Download"),
    Generic(
        "export or backup",
        r"takeout|google photos|google fotos|icloud photos|"
        r"photos library|onedrive|dropbox|backups?|exports?|imports?|uploads?|"
        r"new folder|neuer ordner|untitled folder|unsorted|misc|all photos|recents?",
        "Takeout",
    ),
    Generic("Takeout year folder", r"photos from \d{4}", "Photos from 2019"),
    Generic("year", r"(19|20)\d{2}", "2019"),
    Generic(
        "year-month or date", r"(19|20)\d{2}([-_. ]?\d{2}){1,2}([-_. ]?\d{2}){0,3}", "2019-09-19"
    ),
    Generic("day-month-year", r"\d{1,2}[-_. ]\d{1,2}[-_. ](19|20)?\d{2}", "19.09.2019"),
    Generic(
        "month and year",
        rf"({_MONTHS})[-_. ]*(19|20)\d{{2}}|(19|20)\d{{2}}[-_. ]*({_MONTHS})",
        "September 2019",
    ),
    Generic(
        "numbered copy of a generic name",
        r"(camera|pictures|photos|images|dcim) ?\(\d+\)",
        "Camera (1)",
    ),
    Generic("file-type folder", rf"({_FILE_TYPES})s?( files)?", "mp4"),
    Generic(
        "generic word",
        r"(sub[ _-]?)?(folders?|dirs?|directory)( ?\d+)?|files?|sidecars?|"
        r"others?|temp|tmp|new|old|raw|originals?|edited|thumbnails?|previews?|cache",
        "sub_folder",
    ),
    *(
        Generic(f"backup or copy ({m.name})", m.pattern, m.example)
        for m in COPY_MARKS
        if m.where != "name"
    ),
)
_GENERIC_RE = re.compile("|".join(f"(?:{g.pattern})" for g in GENERIC_FOLDERS), re.IGNORECASE)
_BRACES = re.compile(r"\s*\{([^{}]*)\}\s*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def is_generic_folder(name: str) -> bool:
    """True when a folder name says nothing about what is in it (``DCIM``, ``2019``...)."""
    text = " ".join(name.split())
    if not text or text.startswith("."):  # hidden folders (.thumbnails, .trash) carry no topic
        return True
    return _GENERIC_RE.fullmatch(text) is not None


def clean_tag(text: str) -> str:
    """One tag as written: NFC, single spaces, no control characters or ``;``, <= 64 bytes.

    Returns "" for a tag that is empty once cleaned.
    """
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub(" ", text).replace(";", ",")
    text = " ".join(text.split()).strip(" ,")
    encoded = text.encode("utf-8")
    if len(encoded) > MAX_TAG_BYTES:
        text = encoded[:MAX_TAG_BYTES].decode("utf-8", "ignore").rstrip(" ,")
    return text


def merge_tags(*groups: Iterable[str]) -> tuple[str, ...]:
    """Cleaned tags of all groups in order, without repeats (case-insensitive, first wins)."""
    seen: set[str] = set()
    merged: list[str] = []
    for group in groups:
        for raw in group:
            tag = clean_tag(raw)
            if tag and tag.casefold() not in seen:
                seen.add(tag.casefold())
                merged.append(tag)
    return tuple(merged)


def name_tags(filename: str) -> tuple[tuple[str, ...], str]:
    """(tags, name without them) for ``IMG_1 {Anna,Birthday}.jpg`` -> ((Anna, Birthday), IMG_1.jpg).

    Only the stem is searched, so the extension is kept as it was.
    """
    stem, dot, ext = filename.rpartition(".")
    if not dot or not stem:  # no extension (or a dot-file): the whole name is the stem
        stem, ext = filename, ""
    found: list[str] = []
    for match in _BRACES.finditer(stem):
        found.extend(match.group(1).split(","))
    if not found and "{" not in stem:
        return (), filename
    cleaned = " ".join(_BRACES.sub(" ", stem).split())
    name = f"{cleaned}.{ext}" if ext else cleaned
    return merge_tags(found), name


@dataclass(frozen=True)
class TagOrigin:
    """One tag of a file and where it came from, for people: ``source`` is ``folder`` (a
    folder of its path), ``name`` (``{...}`` in its file name), ``user`` (tagged in the
    library) or ``copy`` (a folder of a left-out copy, only when asked for); ``detail``
    says which folder, name or copy."""

    tag: str
    source: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"tag": self.tag, "source": self.source, "from": self.detail}


def folder_tags(rel_path: str, depth: int = DEFAULT_DEPTH) -> tuple[str, ...]:
    """Tags from the folders in ``rel_path`` (relative to the source root; the last part is
    the file's name): the ``depth`` nearest non-generic folder names, outer first."""
    return _tags_of_folders(PurePosixPath(rel_path.replace("\\", "/")).parts[:-1], depth)


def _tags_of_folders(parts: tuple[str, ...], depth: int) -> tuple[str, ...]:
    return tuple(tag for tag, _ in _folder_origins(parts, depth))


def _folder_origins(parts: tuple[str, ...], depth: int) -> tuple[tuple[str, str], ...]:
    """(tag, the folder path it is the name of) of the ``depth`` nearest meaningful folders,
    outer first, merged."""
    if depth <= 0:
        return ()
    picked: list[tuple[str, str]] = []
    for n in range(len(parts) - 1, -1, -1):
        folder = parts[n]
        if folder in ("", ".", "..") or is_generic_folder(folder):
            continue
        picked.append((folder, "/".join(parts[: n + 1])))
        if len(picked) == depth:
            break
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for folder, where in reversed(picked):
        tag = clean_tag(folder)
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            out.append((tag, where))
    return tuple(out)


@lru_cache(maxsize=4096)
def _origins_in_folder(folder: str, depth: int) -> tuple[tuple[str, str], ...]:
    return _folder_origins(PurePosixPath(folder).parts, depth)


@lru_cache(maxsize=4096)
def _folder_tag_origins(folder: str, depth: int) -> tuple[TagOrigin, ...]:
    return tuple(TagOrigin(t, "folder", where) for t, where in _origins_in_folder(folder, depth))


@lru_cache(maxsize=4096)
def _tags_in_folder(folder: str, depth: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``folder_tags`` of a file directly in ``folder`` (a relative path up to and with its
    last "/", or ""), and those tags merged on their own. A library holds hundreds of files
    per folder and plans ask for all of them, so each folder is worked out once."""
    tags = _tags_of_folders(PurePosixPath(folder).parts, depth)
    return tags, merge_tags(tags)


def _split(rel_path: str) -> tuple[str, str, str]:
    """``rel_path`` with "/" only, its folder part (up to and with its last "/") and the
    file's name ("" when the path ends in no file's name: "a/", "a/..")."""
    rel = rel_path.replace("\\", "/")
    cut = rel.rfind("/") + 1
    name = rel[cut:]
    return rel, rel[:cut], "" if name in (".", "..") else name


def file_tags(
    rel_path: str, user_tags: Iterable[str] = (), depth: int = DEFAULT_DEPTH
) -> tuple[str, ...]:
    """All tags of one file: folders, then ``{...}`` in its name, then the user's own."""
    rel, folder, name = _split(rel_path)
    if not name:  # not a file's name: its folders are not those of ``folder``
        from_name, _ = name_tags(PurePosixPath(rel).name)
        return merge_tags(folder_tags(rel, depth), from_name, user_tags)
    folders, merged = _tags_in_folder(folder, depth)
    from_name = name_tags(name)[0] if "{" in name else ()
    user = tuple(user_tags)
    if not from_name and not user:  # most files: their folders' tags alone
        return merged
    return merge_tags(folders, from_name, user)


def file_tag_origins(
    rel_path: str, user_tags: Iterable[str] = (), depth: int = DEFAULT_DEPTH
) -> tuple[TagOrigin, ...]:
    """``file_tags`` with where each tag came from (the same tags, in the same order)."""
    rel, folder, name = _split(rel_path)
    if not name:
        parts = PurePosixPath(rel).parts[:-1]
        folders = _folder_origins(parts, depth)
        name = PurePosixPath(rel).name
    else:
        folders = _origins_in_folder(folder, depth)
        if "{" not in name and not user_tags:  # most files: their folders' tags alone
            return _folder_tag_origins(folder, depth)
    candidates = [TagOrigin(t, "folder", where) for t, where in folders]
    candidates += [TagOrigin(t, "name", name) for t in (name_tags(name)[0] if "{" in name else ())]
    candidates += [TagOrigin(clean_tag(t), "user", "the library") for t in user_tags]
    return merge_origins(candidates)


def merge_origins(*groups: Iterable[TagOrigin]) -> tuple[TagOrigin, ...]:
    """Origins of all groups in order, one per tag (case-insensitive, first wins)."""
    seen: set[str] = set()
    out: list[TagOrigin] = []
    for group in groups:
        for origin in group:
            tag = clean_tag(origin.tag)
            if tag and tag.casefold() not in seen:
                seen.add(tag.casefold())
                out.append(
                    origin if tag == origin.tag else TagOrigin(tag, origin.source, origin.detail)
                )
    return tuple(out)
