"""Hostile files for the "nothing is lost" suites, generated on the spot (nothing is shipped).

``CASES`` is the list ``tests/integration/test_hostile.py`` parametrizes over and
``docs/reliability.md`` tabulates (``tests/unit/test_reliability_doc.py`` keeps the two equal).
Each case puts one entry (a file, a link, a pipe...) into an import folder and says what must
become of it:

* ``expect``: ``ok`` (probed without error, and the camera date written into it reads back,
  which proves exiftool read *this* file) or ``error`` (a row whose error is one line and
  says ``says``);
* ``apply``: what ``mediafix apply --include-review`` does with it: ``written`` (metadata
  corrected), ``as-is`` (copied byte for byte: a damaged photo is still the user's photo),
  ``sidecar`` (copied byte for byte, dates in an XMP sidecar) or ``ignored`` (not a photo or
  video, not written).
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import stat
import struct
import subprocess
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from tests.helpers.media import scene

__all__ = [
    "CASES",
    "OUTSIDE",
    "Case",
    "build_folder",
    "case_path",
    "photo_bytes",
    "snapshot",
    "year_of",
]

# A folder next to the import folder that a symlink points into (never to be read).
OUTSIDE = "outside"


@dataclass(frozen=True)
class Case:
    id: str
    name: bytes  # path of the entry inside the import folder (bytes: any name is possible)
    what: str  # for the doc table
    build: Callable[[bytes, int], None]  # (absolute path, case number) -> creates the entry
    expect: str  # "ok" | "error"
    says: str = ""  # a word the error must contain (expect == "error")
    apply: str = "written"  # written | as-is | sidecar | ignored
    dated: bool = True  # an ok case carries a camera date whose year must read back
    nested: bool = False  # the entry is a folder: its one row is somewhere under it


def year_of(number: int) -> int:
    return 1960 + number  # every photo case has its own year: a mix-up would show


def photo_bytes(number: int, fmt: str = "JPEG", size: tuple[int, int] = (160, 120)) -> bytes:
    """A small distinct photo with a camera date (DateTimeOriginal) in its EXIF."""
    exif = Image.Exif()
    exif[0x010F] = "HostileCam"
    exif[0x0110] = f"Model {number}"
    exif.get_ifd(0x8769)[0x9003] = f"{year_of(number)}:03:04 05:06:07"
    buf = io.BytesIO()
    scene(1000 + number, size).save(buf, fmt, exif=exif.tobytes())
    return buf.getvalue()


def _write(path: bytes, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)


def _photo(path: bytes, number: int) -> None:
    _write(path, photo_bytes(number))


def _png_photo(path: bytes, number: int) -> None:
    _write(path, photo_bytes(number, "PNG"))


def _empty(path: bytes, number: int) -> None:
    _write(path, b"")


def _truncated_jpeg(path: bytes, number: int) -> None:
    data = photo_bytes(number, size=(640, 480))
    _write(path, data[: len(data) * 2 // 5])


def _truncated_heic(path: bytes, number: int) -> None:
    import pillow_heif

    buf = io.BytesIO()
    pillow_heif.from_pillow(scene(2000 + number, (512, 384))).save(buf, quality=60)
    data = buf.getvalue()
    _write(path, data[: len(data) // 2])


def _truncated_mp4(path: bytes, number: int) -> None:
    from tests.helpers.videogen import make_video

    whole = Path(os.fsdecode(path) + ".whole.mp4")
    make_video(whole, seed=number, seconds=1.0)
    data = whole.read_bytes()
    whole.unlink()
    _write(path, data[: len(data) // 2])


def _random_bytes(path: bytes, number: int) -> None:
    _write(path, random.Random(number).randbytes(20_000))


def _jpeg_named_png(path: bytes, number: int) -> None:
    _photo(path, number)


def _png_bomb(path: bytes, number: int) -> None:
    """A PNG that declares 50000 x 50000 grey pixels (2.5 GB decoded); only the first rows'
    data is there (zlib of zeros): a decoder that trusts the header allocates gigabytes."""
    width = height = 50_000

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    rows = zlib.compress(b"\x00" * ((width + 1) * 400), 9)  # 400 rows of filter 0 + zeros
    _write(
        path,
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", rows)
        + chunk(b"IEND", b""),
    )


def broken_exif_segments() -> bytes:
    """About 1 MB of APP1 EXIF segments whose IFDs point everywhere but at valid data.

    The first segment's IFD0 has an entry count of 0xFFFF (far more than it holds), value
    offsets past the end of the segment, a huge ASCII count, an ExifIFD pointer back to
    IFD0 (a loop), a GPS pointer to 0xFFFFFF00 and a next-IFD pointer to itself; fifteen
    more segments repeat the damage with other offsets. A JPEG segment holds at most 64 KB,
    so 1 MB of EXIF is necessarily many segments.
    """
    segments = []
    for n in range(16):
        tiff = bytearray(b"MM\x00\x2a" + struct.pack(">I", 8))
        entries = [
            (0x010F, 2, 1_000_000, 0x7FFFFFF0),  # Make: 1 MB of text, far away
            (0x0110, 2, 20, 0xFFFFFFFF),  # Model: offset -1
            (0x0112, 3, 0xFFFF, 12),  # Orientation: 65535 values
            (0x0132, 2, 20, 65_000 + n),  # DateTime: runs off the end
            (0x8769, 4, 1, 8),  # ExifIFD -> IFD0 again: a loop
            (0x8825, 4, 1, 0xFFFFFF00),  # GPS IFD beyond the file
            (0x9003, 2, 20, 30),  # DateTimeOriginal inside the entry table (garbage)
        ]
        tiff += struct.pack(">H", 0xFFFF if n == 0 else len(entries) + n)
        for tag, kind, count, value in entries:
            tiff += struct.pack(">HHII", tag, kind, count, value)
        tiff += struct.pack(">I", 8)  # next IFD: IFD0 itself
        body = b"Exif\x00\x00" + bytes(tiff)
        body += random.Random(n).randbytes(65_533 - len(body))
        segments.append(b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body)
    return b"".join(segments)


def _jpeg_broken_exif(path: bytes, number: int) -> None:
    buf = io.BytesIO()
    scene(3000 + number, (320, 240)).save(buf, "JPEG", quality=85)
    data = buf.getvalue()
    assert data[:2] == b"\xff\xd8"
    _write(path, data[:2] + broken_exif_segments() + data[2:])


def _jpeg_dated_broken_exif(path: bytes, number: int) -> None:
    """A dated camera JPEG (its own EXIF first) followed by the 1 MB of broken segments:
    the date must be read, and writing the corrected date must not cost the photo."""
    data = photo_bytes(number, size=(320, 240))
    end = _after_app_segments(data)
    _write(path, data[:end] + broken_exif_segments() + data[end:])


def _after_app_segments(data: bytes) -> int:
    """Offset just after the APPn segments that follow a JPEG's SOI."""
    pos = 2
    while data[pos] == 0xFF and 0xE0 <= data[pos + 1] <= 0xEF:
        pos += 2 + struct.unpack(">H", data[pos + 2 : pos + 4])[0]
    return pos


def _zeros_zlib(size: int) -> bytes:
    """A zlib stream of ``size`` zero bytes (a multiple of 16 MiB), made in well under a
    second: one fully flushed block of 16 MiB repeated (a flush makes blocks independent)."""
    block = 16 * 2**20
    assert size % block == 0
    co = zlib.compressobj(9)
    body = (co.compress(b"\0" * block) + co.flush(zlib.Z_FULL_FLUSH))[2:]  # no zlib header
    adler = ((size % 65521) << 16) | 1  # adler32 of zeros: a stays 1, b counts the bytes
    return b"\x78\xda" + body * (size // block) + b"\x03\x00" + struct.pack(">I", adler)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def _png_text_bomb(kind: bytes) -> Callable[[bytes, int], None]:
    """A small real PNG photo with one compressed text chunk of 1 MB that inflates to
    1 GiB (zTXt: a comment; iTXt: an XMP packet)."""

    def build(path: bytes, number: int) -> None:
        png = photo_bytes(number, "PNG")
        stream = _zeros_zlib(2**30)
        if kind == b"zTXt":
            body = b"Comment\0\0" + stream
        else:
            body = b"XML:com.adobe.xmp\0\1\0\0\0" + stream
        _write(path, png[:33] + _png_chunk(kind, body) + png[33:])  # right after IHDR

    return build


def _jpeg_pixel_bomb(path: bytes, number: int) -> None:
    """A small JPEG whose frame header declares 65500 x 65500 pixels (4.3 gigapixels)."""
    data = bytearray(photo_bytes(number))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 65500, 65500)
    _write(path, bytes(data))


def _tiff_ifd_loop(path: bytes, number: int) -> None:
    """A dated TIFF whose last IFD points back to the first (a loop)."""
    data = bytearray(photo_bytes(number, "TIFF"))
    order = "<" if data[:2] == b"II" else ">"
    first = offset = struct.unpack(order + "I", data[4:8])[0]
    while True:  # follow the chain to its end, then point that end back at the start
        count = struct.unpack(order + "H", data[offset : offset + 2])[0]
        link = offset + 2 + 12 * count
        following = struct.unpack(order + "I", data[link : link + 4])[0]
        if following == 0:
            data[link : link + 4] = struct.pack(order + "I", first)
            break
        offset = following
    _write(path, bytes(data))


def _deep_path(path: bytes, number: int) -> None:
    """A photo at the bottom of 22 folders of 200-byte names: its absolute path is longer
    than PATH_MAX (4096), which no system call accepts; created folder by folder."""
    os.mkdir(path)
    fd = os.open(path, os.O_RDONLY)
    try:
        for level in range(22):
            name = b"%02d" % level + b"d" * 198
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        out = os.open(b"photo.jpg", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        with os.fdopen(out, "wb") as f:
            f.write(photo_bytes(number))
    finally:
        os.close(fd)


def _sparse_2gb(path: bytes, number: int) -> None:
    _write(path, b"")
    subprocess.run(["truncate", "-s", "2G", os.fsdecode(path)], check=True)


def _fifo(path: bytes, number: int) -> None:
    os.mkfifo(path)


def _dangling(path: bytes, number: int) -> None:
    os.symlink(b"nowhere/gone.jpg", path)


def _self_loop(path: bytes, number: int) -> None:
    os.symlink(os.path.basename(path), path)


def _outside_file(path: bytes, number: int) -> None:
    folder = os.path.dirname(path)
    target = os.path.join(os.path.dirname(folder), os.fsencode(OUTSIDE), b"secret.jpg")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    _write(target, photo_bytes(number))
    os.symlink(target, path)


def _outside_dir(path: bytes, number: int) -> None:
    folder = os.path.dirname(path)
    target = os.path.join(os.path.dirname(folder), os.fsencode(OUTSIDE))
    os.makedirs(target, exist_ok=True)
    os.symlink(target, path)


def _content(
    id_: str,
    name: bytes,
    what: str,
    build: Callable[[bytes, int], None],
    expect: str,
    says: str = "",
    apply: str = "written",
    dated: bool = True,
) -> Case:
    return Case(id_, name, what, build, expect, says, apply, dated)


def _named(id_: str, name: bytes, what: str, build: Callable[[bytes, int], None] = _photo) -> Case:
    return Case(id_, name, what, build, "ok")


CASES: list[Case] = [
    # -- content -------------------------------------------------------------------------
    _content(
        "zero-byte", b"empty.jpg", "0-byte file named .jpg", _empty, "error", "empty", "ignored"
    ),
    _content(
        "truncated-jpeg",
        b"truncated.jpg",
        "JPEG cut at 40 %",
        _truncated_jpeg,
        "error",
        "truncated",
        "as-is",
    ),
    _content(
        "truncated-heic",
        b"truncated.heic",
        "HEIC (pillow-heif) cut at 50 %",
        _truncated_heic,
        "error",
        "truncated",
        "as-is",
    ),
    _content(
        "truncated-mp4",
        b"truncated.mp4",
        "MP4 (PyAV) cut at 50 %",
        _truncated_mp4,
        "error",
        "truncated",
        "as-is",
    ),
    _content(
        "random-jpg",
        b"noise.jpg",
        "20 kB of random bytes named .jpg",
        _random_bytes,
        "error",
        "not a photo or video",
        "ignored",
    ),
    _content(
        "random-png",
        b"noise.png",
        "random bytes named .png",
        _random_bytes,
        "error",
        "not a photo or video",
        "ignored",
    ),
    _content(
        "random-heic",
        b"noise.heic",
        "random bytes named .heic",
        _random_bytes,
        "error",
        "not a photo or video",
        "ignored",
    ),
    _content(
        "random-tif",
        b"noise.tif",
        "random bytes named .tif",
        _random_bytes,
        "error",
        "not a photo or video",
        "ignored",
    ),
    _content("jpeg-named-png", b"really-a-jpeg.png", "a JPEG named .png", _jpeg_named_png, "ok"),
    _content(
        "png-bomb",
        b"bomb.png",
        "PNG declaring 50000x50000 pixels (2.5 GB decoded)",
        _png_bomb,
        "error",
        "too large",
        "as-is",
    ),
    _content(
        "jpeg-pixel-bomb",
        b"pixel-bomb.jpg",
        "JPEG declaring 65500x65500 pixels",
        _jpeg_pixel_bomb,
        "error",
        "too large",
        "as-is",
    ),
    _content(
        "png-ztxt-bomb",
        b"ztxt-bomb.png",
        "PNG photo with a 1 MB zTXt chunk inflating to 1 GiB",
        _png_text_bomb(b"zTXt"),
        "error",
        "decompression bomb",
        "as-is",
    ),
    _content(
        "png-itxt-xmp-bomb",
        b"xmp-bomb.png",
        "PNG photo with a 1 MB compressed XMP iTXt chunk inflating to 1 GiB",
        _png_text_bomb(b"iTXt"),
        "error",
        "decompression bomb",
        "as-is",
    ),
    _content(
        "tiff-ifd-loop",
        b"ifd-loop.tif",
        "dated TIFF whose last IFD points to the first",
        _tiff_ifd_loop,
        "ok",
    ),
    _content(
        "jpeg-broken-exif-1mb",
        b"broken-exif.jpg",
        "JPEG with 1 MB of APP1 EXIF: IFD loops, offsets past the end, 0xFFFF entries",
        _jpeg_broken_exif,
        "ok",
        "",
        "as-is",
        dated=False,
    ),
    _content(
        "jpeg-date-then-broken-exif",
        b"dated-broken-exif.jpg",
        "dated camera JPEG followed by the same 1 MB of broken EXIF segments",
        _jpeg_dated_broken_exif,
        "ok",
        "",
        "sidecar",
    ),
    _content(
        "sparse-2gb",
        b"huge.mov",
        "2 GB sparse file (truncate) named .mov",
        _sparse_2gb,
        "error",
        "not a photo or video",
        "ignored",
    ),
    # -- not regular files -----------------------------------------------------------------
    _content(
        "fifo",
        b"pipe.jpg",
        "a FIFO named .jpg (opening it would block)",
        _fifo,
        "error",
        "not a regular file",
        "ignored",
    ),
    _content(
        "dangling-symlink",
        b"dangling.jpg",
        "symlink to nothing",
        _dangling,
        "error",
        "No such file",
        "ignored",
    ),
    _content(
        "symlink-loop",
        b"loop.jpg",
        "symlink to itself",
        _self_loop,
        "error",
        "symbolic links",
        "ignored",
    ),
    _content(
        "symlink-file-outside",
        b"outside-link.jpg",
        "symlink to a photo outside the folder",
        _outside_file,
        "error",
        "outside",
        "ignored",
    ),
    _content(
        "symlink-dir-outside",
        b"outside-dir",
        "symlink to a folder outside",
        _outside_dir,
        "error",
        "outside",
        "ignored",
    ),
    Case(
        "path-over-path-max",
        b"deep",
        "photo under 22 folders of 200-byte names (path > 4096 bytes)",
        _deep_path,
        "error",
        "too long",
        "ignored",
        nested=True,
    ),
    # -- names -------------------------------------------------------------------------------
    _named("name-spaces", b"  two  spaces .jpg", "leading and double spaces"),
    _named("name-trailing-space", b"trailing.jpg ", "a space after the extension"),
    _named("name-newline", b"new\nline.jpg", "a newline in the name"),
    _named("name-cr-tab", b"cr\r\ttab.jpg", "carriage return and tab"),
    _named("name-leading-dash", b"-leading-dash.jpg", "leading '-'"),
    _named("name-dash", b"-", "named `-` (exiftool: standard input)"),
    _named("name-extension-only", b".jpg", "named `.jpg` (no stem)"),
    _named("name-rtl-override", "photo\u202egpj.exe".encode(), "right-to-left override"),
    _named("name-option-o", b"-o", "named `-o` (exiftool: write output to the next arg)"),
    _named("name-option-delete-original", b"-delete_original", "named `-delete_original`"),
    _named("name-option-at", b"-@", "named `-@` (exiftool: read arguments from a file)"),
    _named("name-option-execute", b"-execute", "named `-execute` (ends a stay-open command)"),
    _named(
        "name-option-overwrite",
        b"-overwrite_original_in_place",
        "named `-overwrite_original_in_place`",
    ),
    _named("name-option-in-dir", b"--/-o", "`-o` inside a folder named `--`"),
    _named("name-hash", b"#comment.jpg", "leading '#' (an argument-file comment)"),
    _named("name-glob", b"*.jpg", "`*.jpg`"),
    _named("name-shell", b"$(touch pwned);`id`.jpg", "shell syntax"),
    _named("name-percent", b"%d%f.%e.jpg", "exiftool %-codes"),
    _named("name-non-utf8", b"caf\xe9 \xff.jpg", "bytes that are not UTF-8"),
    _named("name-nfd-emoji", "Cafe\u0301 \U0001f4f7.jpg".encode(), "NFD accent and an emoji"),
    _named("name-255-ascii", b"a" * 251 + b".jpg", "255-byte ASCII name"),
    _named("name-255-utf8", "\u00e9".encode() * 125 + b".jpeg", "255-byte name of 2-byte chars"),
    _named("name-windows-con", b"CON.jpg", "Windows-reserved CON.jpg"),
    _named("name-windows-aux", b"aux.png", "Windows-reserved aux.png (a PNG)", _png_photo),
    _named("name-windows-chars", b"a:b?.jpg", "`a:b?.jpg` (illegal on Windows)"),
    _named(
        "name-mediafix-tmp",
        b".mediafix-tmp-holiday.jpg",
        "looks like mediafix's own temporary files",
    ),
]


def case_path(root: bytes, case: Case) -> bytes:
    return os.path.join(root, case.name)


def build_folder(root: Path) -> bytes:
    """Create every case under ``root`` (the import folder); return it as bytes."""
    broot = os.fsencode(root)
    os.makedirs(broot, exist_ok=True)
    for number, case in enumerate(CASES):
        path = case_path(broot, case)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        case.build(path, number)
    return broot


def snapshot(root: Path | bytes) -> dict[bytes, tuple[object, ...]]:
    """Every entry under ``root`` without following links: type and content (sha256 of a
    file's bytes; size, blocks and mtime of a file over 64 MB; a link's target).

    Walks with folder descriptors, so paths longer than PATH_MAX are seen too, and never
    opens anything but regular files (a FIFO would block).
    """
    found: dict[bytes, tuple[object, ...]] = {}
    if not os.path.lexists(root):
        return found

    def walk(fd: int, rel: bytes) -> None:
        for name in sorted(os.listdir(fd)):
            key = os.path.join(rel, os.fsencode(name)) if rel else os.fsencode(name)
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                found[key] = ("link", os.readlink(name, dir_fd=fd))
            elif stat.S_ISDIR(st.st_mode):
                found[key] = ("dir",)
                inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
                try:
                    walk(inner, key)
                finally:
                    os.close(inner)
            elif stat.S_ISREG(st.st_mode) and st.st_size > 64 * 1024 * 1024:
                found[key] = ("big", st.st_size, st.st_blocks, st.st_mtime_ns)
            elif stat.S_ISREG(st.st_mode):
                with os.fdopen(os.open(name, os.O_RDONLY, dir_fd=fd), "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
                found[key] = ("file", digest, st.st_mtime_ns)
            else:
                found[key] = ("special", stat.S_IFMT(st.st_mode), st.st_mtime_ns)

    top = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        walk(top, b"")
    finally:
        os.close(top)
    return found
