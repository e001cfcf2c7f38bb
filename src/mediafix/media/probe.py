"""Probe: one file -> the facts mediafix needs about it (a ``Probe`` value).

A probe never raises for a bad file: what could not be read is said in ``error`` (one line)
and the rest of the facts that could be read are still there. The user's file is only
ever opened for reading.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mediafix.media import fingerprint, video
from mediafix.media.exiftool import ExifTool
from mediafix.media.kinds import MEDIA_EXTENSIONS, FileType, sniff

__all__ = ["MAX_IN_MEMORY", "Probe", "meta_value", "probe_batch", "probe_file"]

# Images up to this size are read into memory once (hash + decode from the same bytes);
# larger files are hashed as a stream and not fingerprinted.
MAX_IN_MEMORY = 256 * 1024 * 1024
_CHUNK = 1024 * 1024
_DECODABLE = frozenset({"jpeg", "png", "gif", "webp", "heic", "heif", "avif", "tiff", "bmp", "mpo"})

# Where a tag is looked for first: the file's own EXIF before XMP copies or maker notes.
_GROUP_ORDER = (
    "IFD0",
    "ExifIFD",
    "Keys",
    "QuickTime",
    "UserData",
    "ItemList",
    "XMP-tiff",
    "XMP-exif",
    "Track1",
    "Track2",
    "RIFF",
    "H264",
    "File",
    "PNG",
    "RIFF",
    "IFD1",
)


def meta_value(metadata: Mapping[str, Any], tag: str) -> Any:
    """The value of ``tag`` in exiftool ``-G1`` output, preferring the primary groups."""
    for group in _GROUP_ORDER:
        value = metadata.get(f"{group}:{tag}")
        if value not in (None, ""):
            return value
    suffix = f":{tag}"
    for key, value in metadata.items():
        if key.endswith(suffix) and value not in (None, ""):
            return value
    return None


@dataclass
class Probe:
    """Facts about one file.

    Filled in one pass by ``probe_file``: stat (size, mtime), content sniff (kind, format,
    canonical extension), sha256, decode (width, height, orientation, phash) and the
    exiftool metadata read in batches by ``probe_batch``. The date engine reads
    ``metadata``; the duplicate finder reads ``sha256`` and ``phash``.
    """

    path: str
    kind: str = "other"
    format: str = "unknown"
    ext: str = ""  # canonical extension for the real type
    ext_mismatch: bool = False  # the name's extension lies about the content
    size: int | None = None
    mtime: float | None = None
    sha256: str | None = None
    width: int | None = None
    height: int | None = None
    orientation: int | None = None
    phash: str | None = None  # hex
    make: str | None = None
    model: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def fail(self, message: str) -> None:
        """Keep the first error: it is the cause, later ones are consequences."""
        if self.error is None:
            self.error = message


def _ext_matches(name_ext: str, real: FileType) -> bool:
    name_ext = name_ext.lower()
    if not real.ext:
        return True
    same = {
        ".jpg": {".jpg", ".jpeg", ".jpe", ".jfif"},
        ".tif": {".tif", ".tiff"},
        ".heic": {".heic", ".heif", ".hif"},
        ".heif": {".heic", ".heif", ".hif"},
        ".mp4": {".mp4", ".m4v", ".mov", ".3gp"},  # containers phones mislabel harmlessly
        ".mov": {".mov", ".qt", ".mp4"},
        ".mts": {".mts", ".m2ts", ".ts", ".m2t"},
        ".mpo": {".mpo", ".jpg", ".jpeg"},
        ".m4v": {".m4v", ".mp4"},
    }.get(real.ext, {real.ext})
    if real.format == "raw":
        return True
    return name_ext in same


def probe_file(path: str | os.PathLike[str], metadata: Mapping[str, Any] | None = None) -> Probe:
    """Probe one file. ``metadata`` is its exiftool record when the caller read it in a batch."""
    p = os.path.abspath(os.fspath(path))
    probe = Probe(path=p)
    try:
        st = os.stat(p)
    except OSError as exc:
        probe.fail(f"cannot read the file: {exc.strerror or exc}")
        return probe
    if not stat.S_ISREG(st.st_mode):
        probe.fail("not a regular file (a folder, pipe or device)")
        return probe
    probe.size, probe.mtime = st.st_size, st.st_mtime
    if st.st_size == 0:
        probe.fail("the file is empty (0 bytes)")
        probe.sha256 = hashlib.sha256(b"").hexdigest()
        return probe

    data: bytes | None = None
    try:
        with open(p, "rb") as fh:
            head = fh.read(4096)
            ftype = sniff(head, Path(p).suffix)
            digest = hashlib.sha256(head)
            if ftype.kind == "image" and st.st_size <= MAX_IN_MEMORY:
                rest = fh.read()
                digest.update(rest)
                data = head + rest
            else:
                while chunk := fh.read(_CHUNK):
                    digest.update(chunk)
    except OSError as exc:
        probe.fail(f"cannot read the file: {exc.strerror or exc}")
        return probe
    probe.sha256 = digest.hexdigest()
    probe.kind, probe.format, probe.ext = ftype.kind, ftype.format, ftype.ext
    probe.ext_mismatch = not _ext_matches(Path(p).suffix, ftype)

    md = dict(metadata or {})
    probe.metadata = {k: v for k, v in md.items() if k != "SourceFile"}
    probe.make = _text(meta_value(md, "Make"))
    probe.model = _text(meta_value(md, "Model"))
    name_ext = Path(p).suffix.lower()
    if ftype.kind == "other" and name_ext in MEDIA_EXTENSIONS:
        probe.fail(f"named {name_ext} but the content is not a photo or video mediafix can read")

    if ftype.kind == "image":
        _image_facts(probe, data, md)
    elif ftype.kind == "video":
        _video_facts(probe, md)
    if "Error" in md and probe.error is None and ftype.kind != "other":
        probe.fail(f"metadata unreadable: {md['Error']}")
    return probe


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _int(value: Any) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _image_facts(probe: Probe, data: bytes | None, md: Mapping[str, Any]) -> None:
    orientation = _int(meta_value(md, "Orientation"))
    probe.orientation = orientation if orientation and 1 <= orientation <= 8 else None
    width = _int(meta_value(md, "ImageWidth")) or _int(meta_value(md, "ExifImageWidth"))
    height = _int(meta_value(md, "ImageHeight")) or _int(meta_value(md, "ExifImageHeight"))
    if width and height and probe.orientation in (5, 6, 7, 8) and probe.format != "heic":
        width, height = height, width
    probe.width, probe.height = width, height
    if probe.format not in _DECODABLE:
        return  # RAW and friends: metadata only (their previews are a later step)
    if data is None:
        probe.fail("too large to fingerprint (over 256 MB)")
        return
    try:
        facts = fingerprint.image_facts(data)
    except fingerprint.FingerprintError as exc:
        probe.fail(str(exc))
        return
    probe.width, probe.height = facts.width, facts.height
    probe.orientation = facts.orientation
    if facts.phash is not None:
        probe.phash = format(facts.phash, f"0{max(facts.hash_bits // 4, 1)}x")


def _video_facts(probe: Probe, md: Mapping[str, Any]) -> None:
    width = _int(meta_value(md, "ImageWidth"))
    height = _int(meta_value(md, "ImageHeight"))
    rotation = _int(meta_value(md, "Rotation")) or 0
    if width and height and rotation % 180 == 90:
        width, height = height, width
    probe.width, probe.height = width, height
    if not video.AVAILABLE:
        return  # exact copies are still found by hash; the README says how to add PyAV
    try:
        vprint = video.video_fingerprint(probe.path)
    except video.VideoError:
        # Still a video to keep: it just cannot be matched against re-encoded copies.
        return
    if not any(vprint.hashes):
        return  # blank frames only: nothing to compare
    probe.phash = vprint.hex()
    if not meta_value(md, "Duration"):
        probe.metadata["Composite:Duration"] = round(vprint.duration, 3)


def probe_batch(paths: Sequence[str | os.PathLike[str]], exiftool: ExifTool) -> list[Probe]:
    """Probe many files with one exiftool round trip for their metadata."""
    readable = []
    for p in paths:
        try:
            if stat.S_ISREG(os.stat(p).st_mode) and os.path.getsize(p) > 0:
                readable.append(os.path.abspath(os.fspath(p)))
        except OSError:
            pass
    records = dict(zip(readable, exiftool.read_metadata(readable), strict=True)) if readable else {}
    return [probe_file(p, records.get(os.path.abspath(os.fspath(p)))) for p in paths]
