"""What a file really is, from its first bytes (never from its extension)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MEDIA_EXTENSIONS", "RAW_EXTENSIONS", "SIDECAR_EXTENSIONS", "FileType", "sniff"]

RAW_EXTENSIONS = frozenset(
    [
        ".arw",
        ".cr2",
        ".cr3",
        ".crw",
        ".dng",
        ".erf",
        ".kdc",
        ".mrw",
        ".nef",
        ".nrw",
        ".orf",
        ".pef",
        ".raf",
        ".raw",
        ".rw2",
        ".rwl",
        ".sr2",
        ".srf",
        ".srw",
        ".x3f",
    ]
)
SIDECAR_EXTENSIONS = frozenset({".json", ".xmp", ".aae"})
IMAGE_EXTENSIONS = (
    frozenset(
        [
            ".jpg",
            ".jpeg",
            ".jpe",
            ".jfif",
            ".png",
            ".gif",
            ".webp",
            ".heic",
            ".heif",
            ".hif",
            ".avif",
            ".tif",
            ".tiff",
            ".bmp",
            ".jxl",
            ".mpo",
        ]
    )
    | RAW_EXTENSIONS
)
VIDEO_EXTENSIONS = frozenset(
    [
        ".mov",
        ".mp4",
        ".m4v",
        ".3gp",
        ".3g2",
        ".avi",
        ".mts",
        ".m2ts",
        ".ts",
        ".mkv",
        ".webm",
        ".wmv",
        ".mpg",
        ".mpeg",
        ".qt",
    ]
)
MEDIA_EXTENSIONS = IMAGE_EXTENSIONS | VIDEO_EXTENSIONS


@dataclass(frozen=True)
class FileType:
    """A file's real type: kind (image/video/other), short format name and canonical extension."""

    kind: str
    format: str
    ext: str  # canonical lower-case extension with the dot, "" when unknown

    @property
    def is_media(self) -> bool:
        return self.kind in ("image", "video")


UNKNOWN = FileType("other", "unknown", "")

# ISO base media (ftyp) brands -> type. Listed brands decide; unknown ones fall back below.
_FTYP: dict[bytes, FileType] = {
    b"heic": FileType("image", "heic", ".heic"),
    b"heix": FileType("image", "heic", ".heic"),
    b"heim": FileType("image", "heic", ".heic"),
    b"heis": FileType("image", "heic", ".heic"),
    b"hevc": FileType("image", "heic", ".heic"),
    b"hevx": FileType("image", "heic", ".heic"),
    b"mif1": FileType("image", "heif", ".heif"),
    b"msf1": FileType("image", "heif", ".heif"),
    b"avif": FileType("image", "avif", ".avif"),
    b"avis": FileType("image", "avif", ".avif"),
    b"crx ": FileType("image", "raw", ".cr3"),
    b"qt  ": FileType("video", "mov", ".mov"),
    b"3gp4": FileType("video", "3gp", ".3gp"),
    b"3gp5": FileType("video", "3gp", ".3gp"),
    b"3gp6": FileType("video", "3gp", ".3gp"),
    b"3g2a": FileType("video", "3g2", ".3g2"),
    b"M4A ": FileType("other", "m4a", ".m4a"),
    b"M4B ": FileType("other", "m4a", ".m4a"),
    b"M4V ": FileType("video", "mp4", ".m4v"),
}
_MP4_BRANDS = {
    b"isom",
    b"iso2",
    b"iso4",
    b"iso5",
    b"iso6",
    b"mp41",
    b"mp42",
    b"avc1",
    b"dash",
    b"MSNV",
    b"XAVC",
    b"mmp4",
    b"NDAS",
    b"f4v ",
    b"M4VH",
    b"M4VP",
}


def _sniff_ftyp(head: bytes) -> FileType:
    major = head[8:12]
    if major in _FTYP:
        return _FTYP[major]
    if major in _MP4_BRANDS:
        # Some HEIF files name "mif1" only among the compatible brands.
        size = int.from_bytes(head[0:4], "big")
        compat = head[16 : min(size, len(head))]
        brands = {compat[i : i + 4] for i in range(0, len(compat) - 3, 4)}
        if brands & {b"heic", b"heix"} and major not in (b"mp41", b"mp42", b"isom"):
            return _FTYP[b"heic"]
        return FileType("video", "mp4", ".mp4")
    size = int.from_bytes(head[0:4], "big")
    compat = head[16 : min(size, len(head))]
    for i in range(0, len(compat) - 3, 4):
        brand = compat[i : i + 4]
        if brand in _FTYP:
            return _FTYP[brand]
        if brand in _MP4_BRANDS:
            return FileType("video", "mp4", ".mp4")
    return FileType("video", "mp4", ".mp4")


def sniff(head: bytes, ext: str = "") -> FileType:
    """The real type of a file from its first bytes (64 or more); ``ext`` only tells apart
    formats that share a container (TIFF-based RAW files, MPO)."""
    ext = ext.lower()
    if len(head) < 4:
        return UNKNOWN
    if head[:3] == b"\xff\xd8\xff":
        if ext == ".mpo":
            return FileType("image", "mpo", ".mpo")
        return FileType("image", "jpeg", ".jpg")
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return FileType("image", "png", ".png")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return FileType("image", "gif", ".gif")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return FileType("image", "webp", ".webp")
    if head[:4] == b"RIFF" and head[8:12] in (b"AVI ", b"AVIX"):
        return FileType("video", "avi", ".avi")
    if head[4:8] == b"ftyp":
        return _sniff_ftyp(head)
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"):
        return FileType("video", "mov", ".mov")
    if head[:16] == b"FUJIFILMCCD-RAW ":
        return FileType("image", "raw", ".raf")
    if head[:4] in (b"IIRO", b"IIRS", b"MMOR"):
        return FileType("image", "raw", ".orf")
    if head[:4] == b"IIU\x00":
        return FileType("image", "raw", ".rw2")
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        if ext in RAW_EXTENSIONS:
            return FileType("image", "raw", ext)
        if head[8:10] == b"CR":
            return FileType("image", "raw", ".cr2")
        return FileType("image", "tiff", ".tif")
    if head[:2] == b"BM" and len(head) >= 14:
        return FileType("image", "bmp", ".bmp")
    if head[:2] == b"\xff\x0a" or head[:12] == b"\x00\x00\x00\x0cJXL \r\n\x87\n":
        return FileType("image", "jxl", ".jxl")
    if head[:4] == b"\x1aE\xdf\xa3":
        fmt, canon = ("webm", ".webm") if b"webm" in head[:64] else ("mkv", ".mkv")
        return FileType("video", fmt, canon)
    # MPEG transport streams: 188-byte packets (.ts) or 192-byte (.mts/.m2ts, 4-byte prefix).
    if len(head) >= 388 and head[4] == 0x47 and head[196] == 0x47 and head[388] == 0x47:
        return FileType("video", "mts", ".mts")
    if len(head) >= 377 and head[0] == 0x47 and head[188] == 0x47 and head[376] == 0x47:
        return FileType("video", "mts", ".mts")
    if head[:4] == b"\x00\x00\x01\xba":
        return FileType("video", "mpeg", ".mpg")
    if head[:4] == b"0&\xb2u":
        return FileType("video", "wmv", ".wmv")
    return UNKNOWN
