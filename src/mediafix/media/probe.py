"""Probe: one file -> the facts mediafix needs about it (a ``Probe`` value).

A probe never raises for a bad file: what could not be read is said in ``error`` (one line)
and the rest of the facts that could be read are still there. The user's file is only
ever opened for reading.
"""

from __future__ import annotations

import hashlib
import os
import stat
import struct
import zlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mediafix.media import fingerprint
from mediafix.media.exiftool import ExifTool
from mediafix.media.jpegexif import HEAD_BYTES, read_plain_jpeg
from mediafix.media.kinds import MEDIA_EXTENSIONS, FileType, sniff

__all__ = [
    "MAX_INFLATED_METADATA",
    "MAX_IN_MEMORY",
    "Probe",
    "boxed_video_damage",
    "meta_value",
    "metadata_bomb",
    "probe_batch",
    "probe_file",
]

# Images up to this size are read into memory once (hash + decode from the same bytes);
# larger files are hashed as a stream and not fingerprinted.
MAX_IN_MEMORY = 256 * 1024 * 1024
_CHUNK = 1024 * 1024
# Image facts are a pure function of the bytes, so a byte-for-byte copy (a backup, a
# forwarded photo, a second Takeout export) reuses the first copy's decode. Batches come
# ordered by size, which puts copies side by side; a small memo per process is enough.
_FACTS_MEMO: OrderedDict[str, fingerprint.ImageFacts] = OrderedDict()
_FACTS_MEMO_SIZE = 1024
_DECODABLE = frozenset({"jpeg", "png", "gif", "webp", "heic", "heif", "avif", "tiff", "bmp", "mpo"})
# Videos in ISO base media files (boxes), whose top level is checked for a cut-short file.
_BOXED_VIDEO = frozenset({"mp4", "mov", "3gp", "3g2"})

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
    detail_hash: str | None = None  # hex, 256 bits: confirms a near-duplicate match
    copy_keys: str | None = None  # "t:<hex> m:<hex> c:<hex>": fingerprint.copy_keys
    make: str | None = None
    model: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def content_id(self) -> str | None:
        """Apple's ContentIdentifier (or MediaGroupUUID): what pairs a Live Photo's halves."""
        value = meta_value(self.metadata, "ContentIdentifier") or meta_value(
            self.metadata, "MediaGroupUUID"
        )
        return str(value) if value else None

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
        facts = _facts_of(data, probe.sha256)
    except fingerprint.FingerprintError as exc:
        probe.fail(str(exc))
        return
    probe.width, probe.height = facts.width, facts.height
    probe.orientation = facts.orientation
    if facts.phash is not None:
        probe.phash = format(facts.phash, f"0{max(facts.hash_bits // 4, 1)}x")
    if facts.detail is not None:
        probe.detail_hash = format(facts.detail, f"0{fingerprint.DETAIL_BITS // 4}x")
    # "" (not None) when there are none: the row is up to date, only without keys.
    probe.copy_keys = " ".join(f"{name}:{value:016x}" for name, value in facts.copies)


def _facts_of(data: bytes, digest: str | None) -> fingerprint.ImageFacts:
    if digest is None:
        return fingerprint.image_facts(data)
    facts = _FACTS_MEMO.get(digest)
    if facts is None:
        facts = fingerprint.image_facts(data)
        _FACTS_MEMO[digest] = facts
        if len(_FACTS_MEMO) > _FACTS_MEMO_SIZE:
            _FACTS_MEMO.popitem(last=False)
    else:
        _FACTS_MEMO.move_to_end(digest)
    return facts


def _video_facts(probe: Probe, md: Mapping[str, Any]) -> None:
    from mediafix.media import video  # PyAV: loaded with the first video, not for photos

    if probe.format in _BOXED_VIDEO and probe.size is not None:
        # Found by the hostile-file suite: a video cut short (an interrupted copy or
        # download) read as a healthy file, because exiftool only warns and a failed frame
        # decode is not an error (codecs PyAV lacks). The box structure says it plainly.
        damage = boxed_video_damage(probe.path, probe.size)
        if damage:
            probe.fail(damage)
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


def boxed_video_damage(path: str, size: int) -> str | None:
    """Why an MP4/MOV/3GP file is structurally incomplete (one line), or None.

    Walks the top-level boxes only (a few small reads, whatever the file's size): a box
    that runs past the end of the file means the file was cut short; a file without its
    index (``moov``) cannot be played. Independent of codecs, so it works without PyAV.
    """
    kinds: set[bytes] = set()
    pos = 0
    try:
        with open(path, "rb") as fh:
            while pos + 8 <= size:
                fh.seek(pos)
                head = fh.read(16)
                box_size, kind = struct.unpack(">I4s", head[:8])
                if box_size == 1:  # 64-bit size follows
                    if len(head) < 16:
                        return "the video is truncated (its last box header is cut off)"
                    box_size = struct.unpack(">Q", head[8:16])[0]
                elif box_size == 0:  # the box runs to the end of the file
                    box_size = size - pos
                name = kind.decode("latin-1")
                if box_size < 8:
                    return f"the video is damaged (box {name!r} at byte {pos} has no size)"
                if pos + box_size > size:
                    missing = pos + box_size - size
                    return (
                        f"the video is truncated ({missing:,} bytes of its {name!r} box "
                        "are missing)"
                    )
                kinds.add(kind)
                pos += box_size
    except (OSError, struct.error):
        return None  # the hash pass read this file: leave the verdict to the other checks
    if b"moov" not in kinds:
        return "the video has no index ('moov' box): it cannot be played"
    return None


# exiftool inflates a PNG's compressed text and ICC chunks whole, with no limit: found by
# the hostile-file suite, a 1 MB PNG whose zTXt inflates to 1 GiB cost exiftool 8-12 s and
# 2-3 GB of memory (on a small NAS, the OOM killer). No real metadata is this large.
MAX_INFLATED_METADATA = 64 * 1024 * 1024
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_COMPRESSED = frozenset({b"zTXt", b"iTXt", b"iCCP"})


def metadata_bomb(path: str) -> str | None:
    """Why the file at ``path`` must not be handed to exiftool (one line), or None.

    Only PNG files are looked at (by content): their compressed chunks are inflated here,
    in pieces, just far enough to know whether they stay under ``MAX_INFLATED_METADATA``.
    """
    try:
        with open(path, "rb") as fh:
            if fh.read(8) != _PNG_SIGNATURE:
                return None
            inflated = 0
            while len(head := fh.read(8)) == 8:
                length, kind = struct.unpack(">I4s", head)
                end = fh.tell() + length + 4  # data and CRC
                if kind == b"IEND":
                    break
                if kind in _PNG_COMPRESSED:
                    inflated += _inflated_size(fh, kind, length, MAX_INFLATED_METADATA - inflated)
                    if inflated > MAX_INFLATED_METADATA:
                        name = kind.decode("latin-1")
                        return (
                            f"metadata not read: its compressed PNG {name} data inflates to "
                            f"over {MAX_INFLATED_METADATA // 2**20} MB (a decompression bomb)"
                        )
                fh.seek(end)
    except (OSError, struct.error):
        return None  # the probe reports an unreadable file itself
    return None


def _inflated_size(fh: Any, kind: bytes, length: int, budget: int) -> int:
    """Bytes the zlib stream in this chunk inflates to, counted up to ``budget + 1``."""
    head = fh.read(min(length, 65536))
    keyword_end = head.find(b"\0")
    if keyword_end < 0:
        return 0
    start = keyword_end + 2  # keyword, NUL, compression method (zTXt, iCCP)
    if kind == b"iTXt":  # keyword NUL flag method language NUL translated-keyword NUL text
        if head[keyword_end + 1 : keyword_end + 2] != b"\1":
            return 0  # not compressed
        lang_end = head.find(b"\0", keyword_end + 3)
        translated_end = head.find(b"\0", lang_end + 1) if lang_end >= 0 else -1
        if translated_end < 0:
            return 0
        start = translated_end + 1
    inflater = zlib.decompressobj()
    total = 0
    pending = head[start:]
    left = length - len(head)
    try:
        while True:
            while pending:
                total += len(inflater.decompress(pending, budget + 1 - total))
                if total > budget or inflater.eof:
                    return total
                pending = inflater.unconsumed_tail
            if left <= 0:
                return total
            pending = fh.read(min(left, _CHUNK))
            if not pending:
                return total
            left -= len(pending)
    except zlib.error:
        return total  # a broken stream: exiftool stops at the same place


def _plain_jpeg_record(path: str) -> dict[str, Any] | None:
    """exiftool's record of a plain JPEG, read here (``media.jpegexif``), or None."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(HEAD_BYTES)
            if head[:2] != b"\xff\xd8":
                return None
            fh.seek(-2, os.SEEK_END)
            tail = fh.read(2)
    except OSError:
        return None
    return read_plain_jpeg(head, tail)


def probe_batch(paths: Sequence[str | os.PathLike[str]], exiftool: ExifTool) -> list[Probe]:
    """Probe many files with one exiftool round trip for their metadata (none at all for
    plain JPEGs, whose EXIF is read here)."""
    readable = []
    refused: dict[str, str] = {}
    records: dict[str, dict[str, Any]] = {}
    for p in paths:
        try:
            if stat.S_ISREG(os.stat(p).st_mode) and os.path.getsize(p) > 0:
                path = os.path.abspath(os.fspath(p))
                bomb = metadata_bomb(path)
                if bomb:
                    refused[path] = bomb
                elif (plain := _plain_jpeg_record(path)) is not None:
                    records[path] = plain
                else:
                    readable.append(path)
        except OSError:
            pass
    if readable:
        records.update(zip(readable, exiftool.read_metadata(readable), strict=True))
    probes = []
    for p in paths:
        path = os.path.abspath(os.fspath(p))
        probe = probe_file(p, records.get(path))
        if path in refused:
            probe.error = refused[path]  # the cause; a decode failure would be its consequence
        probes.append(probe)
    return probes
