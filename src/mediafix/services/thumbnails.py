"""Thumbnails: the small upright JPEG previews the web pages show, built by the workers.

The web process never decodes a photo: ``GET /thumbs/<id>`` serves what is cached here, or
a placeholder while the ``make_thumbnails`` task (which calls :func:`build_missing`) makes it.

* :func:`thumb_path` names the cache file: ``DATA_DIR/thumbnails/ab/<sha256>.jpg`` (``ab``
  are the hash's first two digits), so copies of one picture share one thumbnail and a
  rescan that re-creates rows finds them again. A file with no content hash yet is keyed
  by its id (``thumbnails/id/<nn>/<id>.jpg``).
* :func:`make_thumbnail` decodes as little as it can: JPEG through ``Image.draft`` (libjpeg
  scales by 1/2, 1/4 or 1/8 while decoding), HEIC/HEIF through pillow-heif, the other
  formats through Pillow; EXIF orientation is applied (libheif already turns a HEIC). A
  video gives a frame from its first half second, decoded with PyAV.
* A file that has no decodable picture gets a ``.none`` marker beside where its thumbnail
  would be, so it is not tried again and the page shows the kind's placeholder at once.

Every write goes to a temporary name first and is renamed into place: a reader never sees
half a thumbnail, and two workers making the same one is harmless.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

import pillow_heif
from PIL import Image, ImageOps, JpegImagePlugin
from sqlalchemy import select
from sqlalchemy.engine import Engine

from mediafix.config import Settings
from mediafix.media.fingerprint import MAX_DECODE_PIXELS, MAX_SOURCE_PIXELS
from mediafix.media.safe_open import Refused, open_scanned
from mediafix.media.values import one_line
from mediafix.store.db import session_scope
from mediafix.store.models import File

__all__ = [
    "THUMB_SIZE",
    "ThumbnailError",
    "build_missing",
    "make_thumbnail",
    "marker_path",
    "thumb_path",
]

pillow_heif.register_heif_opener()

log = logging.getLogger("mediafix.thumbnails")

THUMB_SIZE = 320  # longest side, in pixels
JPEG_QUALITY = 82
# Videos: the first frame is often black (a fade in); take the first one at or after this.
VIDEO_FRAME_AT = 0.5  # seconds
VIDEO_MAX_FRAMES = 45  # ... but never decode more frames than this to find it
THREADS = 4  # decoders release the GIL: a few threads keep a worker's cores busy
_JPEG_MAGIC = b"\xff\xd8\xff"


class ThumbnailError(Exception):
    """A file from which no thumbnail can be made; ``str(exc)`` is one line."""


def thumb_path(settings: Settings, key: int | str) -> Path:
    """Where the thumbnail of a file lives: by content hash (``str``) or by file id (``int``)."""
    return cache_path(settings.data_dir / "thumbnails", key)


def cache_path(root: Path, key: int | str) -> Path:
    """A picture cached under ``root`` by content hash (``str``, shared by copies) or by file
    id (``int``); thumbnails and renditions keep the same layout."""
    if isinstance(key, str):
        sha = key.lower()
        if len(sha) < 8 or any(c not in "0123456789abcdef" for c in sha):
            raise ValueError(f"not a sha256 hex digest: {key!r}")
        return root / sha[:2] / f"{sha}.jpg"
    if key < 0:
        raise ValueError(f"not a file id: {key!r}")
    return root / "id" / f"{key % 256:02x}" / f"{key}.jpg"


def marker_path(thumb: Path) -> Path:
    """The ``.none`` marker that says "this file has no picture to show"."""
    return thumb.with_suffix(".none")


def make_thumbnail(
    src_path: str | os.PathLike[str] | BinaryIO, dest: Path, size: int = THUMB_SIZE
) -> None:
    """Write an upright JPEG of at most ``size`` x ``size`` pixels of ``src_path`` (a path,
    or a file open for reading, which is read from and not closed) to ``dest``.

    Raises :class:`ThumbnailError` when the file holds no picture that can be decoded
    safely (too large, corrupt, not an image or video).
    """
    if not isinstance(src_path, str | os.PathLike):
        _make(src_path, dest, size)
        return
    try:
        fh = open(os.fspath(src_path), "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise ThumbnailError(f"cannot read the file: {exc.strerror or exc}") from exc
    with fh:
        _make(fh, dest, size)


def _make(fh: BinaryIO, dest: Path, size: int) -> None:
    try:
        head = fh.read(16)
    except OSError as exc:
        raise ThumbnailError(f"cannot read the file: {exc.strerror or exc}") from exc
    try:
        with _reader(fh) as image_file:
            picture = _decode_image(image_file, head, size)
    except ThumbnailError:
        if _looks_like_image(head):
            raise
        with _reader(fh) as video_file:  # raises ThumbnailError when it is no video either
            picture = _video_frame(video_file, size)
    picture.thumbnail((size, size), Image.Resampling.BICUBIC, reducing_gap=2.0)
    _save_jpeg(_to_rgb(picture), dest)


def _reader(fh: BinaryIO) -> BinaryIO:
    """A file of its own on the same open file (a duplicated descriptor, at the start), for
    one decoder: a decoder that gives up may close what it was given (pillow-heif does), and
    the next one must still read - the same file, never the path again."""
    copy = os.fdopen(os.dup(fh.fileno()), "rb")
    copy.seek(0)
    return copy


def _looks_like_image(head: bytes) -> bool:
    return head.startswith(_JPEG_MAGIC) or head.startswith(b"\x89PNG") or head[:4] == b"GIF8"


def _decode_image(src: BinaryIO, head: bytes, size: int) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sizes are checked here; EXIF complaints don't matter
        try:
            if head.startswith(_JPEG_MAGIC):
                # The plugin directly: Image.open would refuse a 200 MP photo that we only
                # ever decode at 1/8 of its size.
                image: Image.Image = JpegImagePlugin.JpegImageFile(src)
                cap = MAX_SOURCE_PIXELS
            else:
                image = Image.open(src)
                cap = MAX_DECODE_PIXELS
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise ThumbnailError("not an image that can be decoded") from exc
        try:
            width, height = image.size
            if width <= 0 or height <= 0 or width * height > cap:
                raise ThumbnailError(f"image too large to decode safely ({width}x{height})")
            if image.format in ("JPEG", "MPO", "HEIF"):
                image.draft("RGB", (size, size))
            if image.size[0] * image.size[1] > MAX_DECODE_PIXELS:
                raise ThumbnailError(f"image too large to decode safely ({width}x{height})")
            image.load()
            upright = ImageOps.exif_transpose(image)
            return upright if upright is not None else image
        except ThumbnailError:
            image.close()
            raise
        except (OSError, SyntaxError, ValueError, MemoryError, EOFError) as exc:
            image.close()
            raise ThumbnailError(f"image data cannot be decoded ({one_line(exc, 120)})") from exc


def _video_frame(src: BinaryIO, size: int) -> Image.Image:
    # PyAV through media.video, which imports it once and keeps FFmpeg's log out of Python.
    from mediafix.media import video

    if not video.AVAILABLE:  # the optional "video" extra is not installed
        raise ThumbnailError("video previews need PyAV (pip install 'mediafix[video]')")
    try:
        with video.av.open(src, mode="r") as container:
            if not container.streams.video:
                raise ThumbnailError("no picture in this file")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            chosen = None
            for n, frame in enumerate(container.decode(stream)):
                chosen = frame
                if (frame.time is not None and frame.time >= VIDEO_FRAME_AT) or (
                    n >= VIDEO_MAX_FRAMES
                ):
                    break
            if chosen is None:
                raise ThumbnailError("the video has no frame that can be decoded")
            picture = chosen.to_image()
            rotation = int(getattr(chosen, "rotation", 0) or 0)
    except ThumbnailError:
        raise
    except Exception as exc:  # PyAV raises many kinds (FFmpegError, ValueError, ...)
        raise ThumbnailError(
            f"not a picture or a video that can be decoded ({one_line(exc, 120)})"
        ) from exc
    picture.thumbnail((size * 2, size * 2), Image.Resampling.BILINEAR)
    if rotation % 360:
        # The display matrix' angle is counterclockwise, as PIL's rotate turns.
        picture = picture.rotate(rotation, expand=True)
    return picture


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return image.convert("F").point(lambda v: v / 256).convert("L").convert("RGB")
    if image.mode != "RGB":
        return image.convert("RGB")
    return image


def _save_jpeg(image: Image.Image, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-", suffix=".jpg")
    try:
        with os.fdopen(fd, "wb") as fh:
            image.save(fh, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _write_marker(thumb: Path, reason: str) -> None:
    marker = marker_path(thumb)
    marker.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=marker.parent, prefix=".tmp-", suffix=".none")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(reason + "\n")
    os.replace(tmp, marker)


_Source = tuple[str, str, int | None, float | None]  # path, root, size, mtime as scanned


def _key(file_id: int, sha256: str | None) -> int | str:
    return sha256 if sha256 else file_id


def build_missing(engine: Engine, settings: Settings, job_id: int | None = None) -> int:
    """Make every missing thumbnail of a job's files (or of the whole library).

    Returns how many were made. A file that cannot give one gets a ``.none`` marker with
    the reason; nothing here raises for a bad file.
    """
    with session_scope(engine) as s:
        query = select(File.id, File.sha256, File.path, File.root, File.size, File.mtime).where(
            File.kind.in_(("image", "video")), File.status.not_in(("new", "probing"))
        )
        if job_id is not None:
            query = query.where(File.job_id == job_id)
        rows = s.execute(query.order_by(File.id)).all()
    todo: dict[int | str, _Source] = {}
    for file_id, sha, path, root, size, mtime in rows:
        key = _key(file_id, sha)
        thumb = thumb_path(settings, key)
        if key not in todo and not thumb.exists() and not marker_path(thumb).exists():
            todo[key] = (path, root, size, mtime)
    if not todo:
        return 0

    def one(item: tuple[int | str, _Source]) -> bool:
        key, (path, root, size, mtime) = item
        thumb = thumb_path(settings, key)
        try:
            # The file as it was scanned, inside its root, never through a link swapped in
            # since (issue 15): the same rule as serving the original.
            try:
                fh, _st = open_scanned(path, root, size, mtime)
            except Refused as exc:
                raise ThumbnailError(str(exc)) from exc
            with fh:
                make_thumbnail(fh, thumb)
            return True
        except ThumbnailError as exc:
            _write_marker(thumb, str(exc))
        except Exception as exc:  # a bug must not stop the other thumbnails
            log.warning("thumbnail of %s failed: %s", path, one_line(exc, 120))
        return False

    with ThreadPoolExecutor(max_workers=max(1, min(THREADS, len(todo)))) as pool:
        made = sum(pool.map(one, todo.items()))
    log.info("made %d thumbnails (%d without a picture)", made, len(todo) - made)
    return made
