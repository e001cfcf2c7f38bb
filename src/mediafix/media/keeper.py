"""Which copy of a duplicate group to keep, and why, in words.

Every member is scored on the criteria of an ordered list; the first criterion that tells two
members apart decides between them, the file path breaks a complete tie (so the choice never
depends on the order in which files were found). Each criterion is one row of
:class:`Criterion`, carrying its score function and the words its win reads as; the rows'
order is the default order:

0. UNEDITED: the picture itself over an edited copy of it found in the same group (a crop,
   a screenshot, a framed or captioned version: ``media.copycheck`` tells which is which).
1. ORIGINAL: a file with camera metadata (Make/Model/DateTimeOriginal) is the original; a
   copy that lost it (WhatsApp, a screenshot, a web download) is not.
2. RESOLUTION: more pixels.
2b. NOT_SQUEEZED, group-relative: a file whose bytes per pixel (weighed by its format's
   efficiency: HEIC/AVIF do with half of JPEG's) are far below the group's best loses, so a
   0.1 MB HEIC conversion carrying the camera EXIF does not beat the 2.1 MB camera JPEG.
3. FORMAT: the camera's own format (RAW, HEIC) over a lossless copy (TIFF, PNG) over a
   re-encoded JPEG/AVIF over web formats (WebP, GIF, BMP).
4. QUALITY: more bytes per pixel, which only means something between files of one format.
5. RICHER_METADATA: more useful tags (GPS, lens, time offset...).
6. WITH_PARTNERS: the copy in the folder that holds its bundle partners (the still beside its
   Live Photo video, the JPEG beside its RAW) over a lone copy of it elsewhere.
7. NOT_A_COPY: a path without a backup or copy mark (``Backup 2019/``, ``Copy of``,
   ``IMG_1 (1).jpg``...: the ``COPY_MARKS`` rows) over one with.
7b. WITH_EXTENSION: a name with an extension (``x.jpeg``) over one without (``x``).
8. EARLIER: the earlier capture time.

Byte-identical copies tie on the first five, so for them where a copy lies decides (6, 7,
7b), before "first by name". A group-relative criterion (``far`` set) compares each member
with the group's best on it, not with an absolute scale.

:func:`classify_group` tells a burst (different shots seconds apart, to keep by default)
from near duplicates (copies of one shot); its rule is in :func:`classify_pair`.
"""

from __future__ import annotations

import math
import posixpath
import re
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Literal

from mediafix.media.values import Labelled

__all__ = [
    "BURST_GAP",
    "COPY_MARKS",
    "DEFAULT_ORDER",
    "FORMAT_EFFICIENCY",
    "FORMAT_RANK",
    "CopyMark",
    "Criterion",
    "KeeperInput",
    "choose_keeper",
    "classify_group",
    "classify_pair",
    "has_camera_metadata",
    "is_copy_folder",
    "is_copy_path",
    "keeper_ranks",
    "keeper_score",
]


@dataclass(frozen=True)
class KeeperInput:
    """What the keeper choice needs to know about one member of a group.

    ``format`` is a lower-case name ("jpeg", "heic", "png", "webp", "raw", "avif", "tiff"...);
    ``has_camera_metadata`` means Make/Model/DateTimeOriginal are present; ``taken_at`` keeps
    sub-seconds when the file has them; ``metadata_count`` counts useful tags; ``camera`` is
    "Make Model" when known (used to tell bursts from copies); ``partners`` counts the
    bundle partners in its folder (a Live Photo's video, a RAW's JPEG).
    """

    index: int
    path: str
    format: str
    width: int | None
    height: int | None
    size: int
    has_camera_metadata: bool
    taken_at: datetime | None
    metadata_count: int
    camera: str | None = None
    partners: int = 0
    edited: str = ""  # how it is an edited copy of another member ("cropped 6 % left")


# Higher is better; every format has its own value so that a FORMAT tie means one format.
FORMAT_RANK: dict[str, float] = {
    "raw": 9.0,
    "dng": 8.9,
    "heic": 8.0,
    "heif": 7.9,
    "tiff": 7.0,
    "png": 6.9,
    "jxl": 6.0,
    "jpeg": 5.0,
    "avif": 4.9,
    "webp": 4.0,
    "gif": 3.0,
    "bmp": 2.9,
}
_FORMAT_ALIASES = {
    "jpg": "jpeg",
    "tif": "tiff",
    "hif": "heif",
    "cr2": "raw",
    "cr3": "raw",
    "nef": "raw",
    "arw": "raw",
    "orf": "raw",
    "rw2": "raw",
    "raf": "raw",
}


@dataclass(frozen=True)
class CopyMark:
    """A sign in a path that a file is a backup or a copy; ``example`` must match (tested).

    ``pattern`` is matched against a whole folder name (``where`` "folder"), a whole file
    name without its extension ("name"), or either ("both"), case-insensitively.
    """

    name: str
    pattern: str
    where: Literal["folder", "name", "both"]
    example: str


_COPY_WORD = r"(copy|kopie|copie|copia|kopia)"
COPY_MARKS: tuple[CopyMark, ...] = (
    CopyMark(
        "backup folder",
        r"(.*[^a-z])?(backups?|sicherung(en)?|sauvegardes?)([^a-z].*)?",
        "folder",
        "Backup 2019",
    ),
    CopyMark("copy of", rf"{_COPY_WORD} (of|von|de|di) .+", "both", "Copy of IMG_0001"),
    CopyMark(
        "copy suffix", rf".+( - |[ _-]){_COPY_WORD}( ?\(\d+\)| \d+)?", "both", "IMG_0001 - Copy"
    ),
    CopyMark("numbered copy", r".*[^\s(] ?\(\d{1,3}\)", "both", "IMG_0001 (1)"),
)
_FOLDER_MARKS = re.compile(
    "|".join(f"(?:{m.pattern})" for m in COPY_MARKS if m.where != "name"), re.IGNORECASE
)
_NAME_MARKS = re.compile(
    "|".join(f"(?:{m.pattern})" for m in COPY_MARKS if m.where != "folder"), re.IGNORECASE
)


def is_copy_folder(name: str) -> bool:
    """True for a folder name that says its files are a backup or a copy (``Backup 2019``)."""
    return _FOLDER_MARKS.fullmatch(" ".join(name.split())) is not None


def is_copy_path(path: str) -> bool:
    """True when a folder of ``path`` or the file's own name marks it as a backup or copy."""
    folder, _, name = path.replace("\\", "/").rpartition("/")
    stem = name.rpartition(".")[0] or name
    return _NAME_MARKS.fullmatch(" ".join(stem.split())) is not None or _copy_folders(folder)


# Tags that say a file still carries what the camera wrote.
_CAMERA_TAGS = ("Make", "Model", "DateTimeOriginal", "CreationDate")


def has_camera_metadata(metadata: Mapping[str, object]) -> bool:
    """Whether exiftool's ``-G1`` metadata still has what the camera wrote (Make, Model,
    DateTimeOriginal, CreationDate): a copy that lost it is no original."""
    return any(k.split(":", 1)[-1] in _CAMERA_TAGS for k in metadata)


@lru_cache(maxsize=8192)
def _copy_folders(folder: str) -> bool:
    """Whether any folder of a path (``a/b/c``) is a backup or copy folder; a library has
    many files per folder, so each is looked at once."""
    return any(is_copy_folder(part) for part in folder.split("/") if part)


# -- the criteria: how a member scores on each (higher is better) and how a win reads --


# How many bytes a format needs for the same picture, relative to JPEG's (rough, measured
# on camera photos): lossless formats are never "squeezed" and are left out (None).
FORMAT_EFFICIENCY: dict[str, float | None] = {
    "jpeg": 1.0,
    "heic": 0.5,
    "heif": 0.5,
    "avif": 0.5,
    "jxl": 0.6,
    "webp": 0.7,
    "png": None,
    "tiff": None,
    "raw": None,
    "dng": None,
    "gif": None,
    "bmp": None,
}
# A member squeezed this many times harder than the group's best loses NOT_SQUEEZED.
SQUEEZED = 4.0


def _unedited(member: KeeperInput) -> float:
    return 0.0 if member.edited else 1.0


def _camera_metadata(member: KeeperInput) -> float:
    return 1.0 if member.has_camera_metadata else 0.0


def _more_pixels(member: KeeperInput) -> float:
    return float(_pixels(member))


def _format_rank(member: KeeperInput) -> float:
    return FORMAT_RANK.get(_format(member), 0.0)


def _bytes_per_pixel(member: KeeperInput) -> float:
    pixels = _pixels(member)
    return member.size / pixels if pixels else 0.0


def _jpeg_bytes_per_pixel(member: KeeperInput) -> float:
    """Bytes per pixel as JPEG would need them; infinite for a lossless format."""
    efficiency = FORMAT_EFFICIENCY.get(_format(member), 1.0)
    if efficiency is None:
        return math.inf
    return _bytes_per_pixel(member) / efficiency


def _with_extension(member: KeeperInput) -> float:
    return 1.0 if posixpath.splitext(_name(member))[1] not in ("", ".") else 0.0


def _metadata_count(member: KeeperInput) -> float:
    return float(member.metadata_count)


def _beside_partners(member: KeeperInput) -> float:
    return 1.0 if member.partners else 0.0


def _not_a_copy(member: KeeperInput) -> float:
    return 0.0 if is_copy_path(member.path) else 1.0


def _earlier(member: KeeperInput) -> float:
    return -_instant(member.taken_at) if member.taken_at else -math.inf


Beaten = Sequence[KeeperInput]  # the members a keeper beat on one criterion


def _says_unedited(keeper: KeeperInput, closest: KeeperInput, beaten: Beaten) -> str:
    shown = "; ".join(f"{_name(other)} is {other.edited}" for other in beaten[:3])
    more = f" and {len(beaten) - 3} more" if len(beaten) > 3 else ""
    return f"the picture itself, not an edited copy: {shown}{more}"


def _says_squeezed(keeper: KeeperInput, closest: KeeperInput, beaten: Beaten) -> str:
    return (
        f"far less compressed: {_megabytes(keeper)} {_format(keeper).upper()} over "
        f"{_megabytes(closest)} {_format(closest).upper()} at "
        f"{_jpeg_bytes_per_pixel(closest) / _jpeg_bytes_per_pixel(keeper) * 100:.0f} % "
        "of its bytes per pixel (format weighed)"
    )


def _says_extension(keeper: KeeperInput, closest: KeeperInput, beaten: Beaten) -> str:
    verb = "has" if len(beaten) == 1 else "have"
    return f"a name with an extension, where {_names(beaten)} {verb} none"


def _says_original(keeper: KeeperInput, closest: KeeperInput, beaten: Beaten) -> str:
    names = ", ".join(_name(other) for other in beaten[:3])
    more = f" and {len(beaten) - 3} more" if len(beaten) > 3 else ""
    verb = "lacks" if len(beaten) == 1 else "lack"
    return f"original camera metadata, which {names}{more} {verb}"


def _says_resolution(keeper: KeeperInput, closest: KeeperInput, beaten: Beaten) -> str:
    return f"{_size(keeper)} over {_size(closest)}"


def _says_format(keeper: KeeperInput, closest: KeeperInput, beaten: Beaten) -> str:
    return f"original format {_format(keeper).upper()} over {_format(closest).upper()}"


def _apart(a: float, b: float) -> tuple[str, str]:
    """Two numbers with as many decimals as it takes to tell them apart (at most 4): a
    reason never reads "0.06 over 0.06"."""
    for digits in range(2, 5):
        left, right = f"{a:.{digits}f}", f"{b:.{digits}f}"
        if left != right:
            break
    return left, right


def _says_quality(keeper: KeeperInput, closest: KeeperInput, beaten: Beaten) -> str:
    more, less = _bytes_per_pixel(keeper), _bytes_per_pixel(closest)
    left, right = _apart(more, less)
    share = f", {(more / less - 1) * 100:.0f} % more" if less and more / less >= 1.005 else ""
    same = " in the same format" if _format(keeper) == _format(closest) else ""
    return f"more bytes per pixel ({left} over {right}{share}){same}"


def _says_metadata(keeper: KeeperInput, closest: KeeperInput, beaten: Beaten) -> str:
    return f"richer metadata ({keeper.metadata_count} tags over {closest.metadata_count})"


def _says_partners(keeper: KeeperInput, closest: KeeperInput, beaten: Beaten) -> str:
    verb = "is" if len(beaten) == 1 else "are"
    return f"beside its Live Photo or RAW+JPEG partner, where {_names(beaten)} {verb} not"


def _says_not_a_copy(keeper: KeeperInput, closest: KeeperInput, beaten: Beaten) -> str:
    verb = "is" if len(beaten) == 1 else "are"
    return f"not in a backup or copy, which {_names(beaten)} {verb}"


def _moment(value: datetime | None, other: datetime | None) -> str:
    """A capture time as a person reads it: to the second, with tenths or thousandths only
    when the two times differ by less than a second (a burst), never raw microseconds."""
    if value is None:
        return "no date"
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    if other is not None and value.replace(microsecond=0) == other.replace(microsecond=0):
        close = abs(value - other).total_seconds() < 0.1
        text += f".{value.microsecond // 1000:03d}" if close else f".{value.microsecond // 100000}"
    return text


def _says_earlier(keeper: KeeperInput, closest: KeeperInput, beaten: Beaten) -> str:
    later = _moment(closest.taken_at, keeper.taken_at)
    taken = _moment(keeper.taken_at, closest.taken_at)
    return f"taken earlier ({taken}, before {later})"


class Criterion(Labelled):
    """A reason to prefer one copy over another: one row each, in the default order.

    A row is its value, how it reads on screen (``text``), how a member scores on it
    (``score``: higher is better) and how the keeper's win on it reads in the group's
    reasons (``phrase(keeper, closest, beaten)``: ``closest`` is the best of the members
    it beat, ``beaten`` all of them). A new criterion is one row (and its two functions).
    """

    score: Callable[[KeeperInput], float]
    phrase: Callable[[KeeperInput, KeeperInput, Beaten], str]
    far: float | None

    def __new__(
        cls,
        value: str,
        text: str,
        score: Callable[[KeeperInput], float],
        phrase: Callable[[KeeperInput, KeeperInput, Beaten], str],
        far: float | None = None,
    ) -> Criterion:
        member = str.__new__(cls, value)
        member._value_ = value
        member.text = text
        member.score = score
        member.phrase = phrase
        # Group-relative: a member loses only when the group's best scores ``far`` times
        # its score (and it is left out of a library-wide ranking).
        member.far = far
        return member

    UNEDITED = (
        "unedited",
        "the picture itself over its crop, screenshot, framed or captioned copy",
        _unedited,
        _says_unedited,
    )
    ORIGINAL = (
        "original",
        "original with camera metadata over a copy without",
        _camera_metadata,
        _says_original,
    )
    RESOLUTION = "resolution", "more pixels", _more_pixels, _says_resolution
    NOT_SQUEEZED = (
        "not-squeezed",
        "not far harder compressed than the best copy (bytes per pixel, format weighed)",
        _jpeg_bytes_per_pixel,
        _says_squeezed,
        SQUEEZED,
    )
    FORMAT = (
        "format",
        "original format (HEIC/RAW) over a re-encoded JPEG",
        _format_rank,
        _says_format,
    )
    QUALITY = (
        "quality",
        "more bytes per pixel in the same format",
        _bytes_per_pixel,
        _says_quality,
    )
    RICHER_METADATA = "metadata", "richer metadata", _metadata_count, _says_metadata
    WITH_PARTNERS = (
        "partners",
        "the copy beside its bundle partners (Live Photo, RAW+JPEG)",
        _beside_partners,
        _says_partners,
    )
    NOT_A_COPY = (
        "not-a-copy",
        "not in a backup or copy folder, not named as a copy",
        _not_a_copy,
        _says_not_a_copy,
    )
    WITH_EXTENSION = (
        "extension",
        "a name with an extension over one without",
        _with_extension,
        _says_extension,
    )
    EARLIER = "earlier", "earlier capture time", _earlier, _says_earlier


DEFAULT_ORDER: tuple[Criterion, ...] = tuple(Criterion)


# Two shots from one camera at most this far apart (and not at the same instant) are a burst.
BURST_GAP = timedelta(seconds=10)


def keeper_score(
    member: KeeperInput,
    order: Sequence[Criterion] = DEFAULT_ORDER,
    group: Sequence[KeeperInput] | None = None,
) -> tuple[float, ...]:
    """The member's value on each criterion of ``order``; a larger tuple is a better keeper.

    A group-relative criterion scores 1 (or 0 when ``far`` behind the best of ``group``);
    without a group it scores 0 for everyone: it cannot tell members apart library-wide.
    """
    return tuple(_score(criterion, member, group) for criterion in order)


def _score(criterion: Criterion, member: KeeperInput, group: Sequence[KeeperInput] | None) -> float:
    if criterion.far is None:
        return criterion.score(member)
    if not group:
        return 0.0
    best = max(criterion.score(other) for other in group)
    mine = criterion.score(member)
    return 0.0 if mine * criterion.far < best else 1.0


def keeper_ranks(
    members: Iterable[KeeperInput],
    order: Sequence[Criterion] = DEFAULT_ORDER,
    *,
    path_of: Callable[[int], str] | None = None,
) -> list[float]:
    """One number per member (same order as given), higher = better keeper.

    Ready to pass as ``rank`` to :func:`mediafix.media.similarity.group_near`; complete ties
    are broken by path, so no two members get the same number. ``members`` may be an
    iterator, read once: only their scores are kept (a library's 90,000 pictures as inputs
    and sort keys took ~55 MB, their scores as numbers ~6 MB), and their paths, unless
    ``path_of`` gives a member's path from its ``index``: then only the paths of members
    whose scores tie are asked for.
    """
    import numpy as np  # only where pictures are grouped (plan and apply never rank)

    scores: array[float] = array("d")
    paths: list[str] = []
    indexes: array[int] = array("q")  # no int objects left among the freed inputs' blocks
    for member in members:
        scores.extend(keeper_score(member, order))
        if path_of is None:
            paths.append(member.path)
        indexes.append(member.index)
    count = len(indexes)

    def path(n: int) -> str:
        return paths[n] if path_of is None else path_of(indexes[n])

    table = np.frombuffer(scores, dtype=np.float64).reshape(count, len(order))
    if np.isnan(table).any():  # not a number: compared as Python compares such tuples
        best = np.array(
            sorted(
                range(count),
                key=lambda n: (tuple(-value for value in table[n].tolist()), path(n), indexes[n]),
            ),
            dtype=np.int64,
        )
    else:
        # the best first: each score descending, the first criterion first (sorted as they
        # are, the order turned round), then by path and index where all scores are equal;
        # no copy of the scores, no Python int per member (~15 MB at 90,000 pictures)
        best = np.lexsort([table[:, column] for column in reversed(range(len(order)))])[::-1]
        tie = np.ones(max(0, count - 1), dtype=bool)
        for column in range(table.shape[1]):
            values = table[best, column]
            tie &= values[1:] == values[:-1]
        edges = np.flatnonzero(~tie) + 1
        starts, ends = np.concatenate(([0], edges)), np.concatenate((edges, [count]))
        for run in np.flatnonzero(ends - starts > 1).tolist():
            start, end = int(starts[run]), int(ends[run])
            best[start:end] = sorted(best[start:end].tolist(), key=lambda n: (path(n), indexes[n]))
    ranks = np.empty(count, dtype=np.float64)
    ranks[best] = np.arange(count, 0, -1, dtype=np.float64)
    return ranks.tolist()


def choose_keeper(
    members: Sequence[KeeperInput], order: Sequence[Criterion] = DEFAULT_ORDER
) -> tuple[int, list[str]]:
    """The keeper's ``index`` and the reasons, in words, it beat the other members.

    The first reason names the kept file ("keeps IMG_1.HEIC"); each further one is a
    criterion on which it is better than at least one other member ("4032x3024 over
    1600x1200", "original camera metadata, which IMG_1-WA.jpg lacks").
    """
    if not members:
        raise ValueError("choose_keeper needs at least one member")
    ranked = _best_first(members, order, members)
    keeper, others = ranked[0], ranked[1:]
    reasons = [f"keeps {_name(keeper)}"]
    for criterion in order:
        mine = _score(criterion, keeper, members)
        beaten = [other for other in others if _score(criterion, other, members) < mine]
        if beaten:
            closest = max(beaten, key=criterion.score)
            reasons.append(criterion.phrase(keeper, closest, beaten))
    if len(reasons) == 1 and others:
        reasons.append("all copies are equal on every criterion; the first by file name is kept")
    return keeper.index, reasons


def classify_pair(
    a: KeeperInput, b: KeeperInput, gap: timedelta = BURST_GAP
) -> Literal["near", "burst"]:
    """ "burst" when two similar images are different shots, "near" when they are copies.

    The rule: both files still carry camera metadata, name the same camera, and were taken
    at different instants at most ``gap`` apart (sub-seconds count: 10:00:00.20 and
    10:00:00.45 are two shots). The same instant, a missing time or camera, or one file
    stripped of its metadata means a copy. Known limit: two frames of one second from a
    camera that writes no sub-seconds look like copies.
    """
    if not (a.has_camera_metadata and b.has_camera_metadata):
        return "near"
    if not a.camera or not b.camera or _norm(a.camera) != _norm(b.camera):
        return "near"
    if a.taken_at is None or b.taken_at is None:
        return "near"
    apart = abs(_instant(a.taken_at) - _instant(b.taken_at))
    if apart == 0 or apart > gap.total_seconds():
        return "near"
    return "burst"


def classify_group(
    members: Sequence[KeeperInput], gap: timedelta = BURST_GAP
) -> Literal["near", "burst"]:
    """ "burst" as soon as two members are different shots, else "near".

    One pair of distinct shots is enough: such a group is not offered for discarding by
    default, because nothing in it is certainly a redundant copy.
    """
    for position, first in enumerate(members):
        for second in members[position + 1 :]:
            if classify_pair(first, second, gap) == "burst":
                return "burst"
    return "near"


# --------------------------------------------------------------------------- internals


def _best_first(
    members: Sequence[KeeperInput],
    order: Sequence[Criterion],
    group: Sequence[KeeperInput] | None = None,
) -> list[KeeperInput]:
    return sorted(
        members,
        key=lambda member: (
            tuple(-value for value in keeper_score(member, order, group)),
            member.path,
            member.index,
        ),
    )


def _format(member: KeeperInput) -> str:
    name = member.format.lower().lstrip(".")
    return _FORMAT_ALIASES.get(name, name)


def _pixels(member: KeeperInput) -> int:
    return (member.width or 0) * (member.height or 0)


def _instant(moment: datetime) -> float:
    """Seconds since 1970; a time without zone is read as UTC (all are compared alike)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _name(member: KeeperInput) -> str:
    return posixpath.basename(member.path.replace("\\", "/")) or member.path


def _megabytes(member: KeeperInput) -> str:
    return f"{member.size / 1_000_000:.1f} MB"


def _size(member: KeeperInput) -> str:
    return f"{member.width}x{member.height}" if member.width and member.height else "unknown size"


def _names(members: Sequence[KeeperInput]) -> str:
    """Up to three members, each by its folder and name (copies often share a name)."""
    shown = [_where(member) for member in members[:3]]
    more = f" and {len(members) - 3} more" if len(members) > 3 else ""
    return ", ".join(shown) + more


def _where(member: KeeperInput) -> str:
    path = member.path.replace("\\", "/")
    folder = posixpath.basename(posixpath.dirname(path))
    return f"{folder}/{_name(member)}" if folder else _name(member)


def _norm(camera: str) -> str:
    return " ".join(camera.lower().split())
