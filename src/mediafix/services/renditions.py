"""Display renditions: a photo at screen size for the compare view and the lightbox.

A thumbnail (320 px) is too small to see which copy is sharper; the original is often too
large to send whole (a 20 MB camera file) or in a format no browser shows (HEIC, TIFF).
A *rendition* is an upright JPEG of the picture:

* ``display``: at most :data:`DISPLAY_SIZE` pixels on its long side, what a screen shows
  at "fit";
* ``full``: at the picture's own size, only for formats a browser cannot show by itself
  (a JPEG, PNG or WebP original is sent as it is, see :func:`browser_shows`).

Renditions are made on demand, the first time a page asks, by the web process (a person
waits for that one picture; queueing it behind a long import would keep them waiting for
minutes), at most :data:`PARALLEL` at a time so a burst of requests cannot exhaust memory.
They are cached like thumbnails, by content hash: ``DATA_DIR/renditions/<variant>/ab/<sha256>.jpg``
(by id when the file has no hash yet), so copies of one picture share one rendition and a
rescan finds them again. A picture that cannot be decoded gets a ``.none`` marker with the
reason, so it is not tried again on every request.

The source is read only through :func:`~mediafix.media.safe_open.open_scanned` (inside its
root, no link, still the size and mtime that were scanned): :class:`Refused` reaches the
caller with its HTTP status.

"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from mediafix.config import Settings
from mediafix.media.safe_open import open_scanned
from mediafix.services.thumbnails import (
    ThumbnailError,
    cache_path,
    make_thumbnail,
    marker_path,
)

__all__ = [
    "BROWSER_IMAGE_FORMATS",
    "DISPLAY_SIZE",
    "VARIANTS",
    "RenditionError",
    "RenditionSource",
    "browser_shows",
    "ensure_rendition",
    "rendition_path",
]

DISPLAY_SIZE = 2048  # long side, in pixels: sharp at "fit" on a 2x screen half as wide
FULL_SIZE = 1 << 16  # "no limit": the decoder's own pixel caps still apply
VARIANTS = {"display": DISPLAY_SIZE, "full": FULL_SIZE}
PARALLEL = 2  # decodes at once in one web process (a 50 MP photo takes ~150 MB to decode)
# Image formats every current browser shows in an <img> by itself (and orients by EXIF):
# the original is the full-size view. HEIC, HEIF, TIFF... need a JPEG rendition.
BROWSER_IMAGE_FORMATS = frozenset({"jpeg", "png", "gif", "webp", "bmp", "avif"})

_slots = threading.BoundedSemaphore(PARALLEL)


class RenditionError(ThumbnailError):
    """A file that gives no picture; ``str(exc)`` is one line saying why."""


@dataclass(frozen=True)
class RenditionSource:
    """What making a rendition needs to know of a file row."""

    id: int
    sha256: str | None
    path: str
    root: str
    size: int | None
    mtime: float | None


def browser_shows(kind: str | None, fmt: str | None) -> bool:
    """True when a browser shows this image's original at full size by itself."""
    return kind == "image" and (fmt or "").lower() in BROWSER_IMAGE_FORMATS


def rendition_path(settings: Settings, key: int | str, variant: str = "display") -> Path:
    """Where a rendition lives: by content hash (``str``) or by file id (``int``)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown rendition {variant!r}")
    return cache_path(settings.data_dir / "renditions" / variant, key)


def ensure_rendition(settings: Settings, source: RenditionSource, variant: str) -> Path:
    """The cached rendition of ``source``, made first when missing.

    Raises :class:`~mediafix.media.safe_open.Refused` when the file may not be read (moved,
    changed, a link) and :class:`RenditionError` when it holds no picture (remembered by a
    marker).
    """
    dest = rendition_path(settings, source.sha256 or source.id, variant)
    if dest.is_file():
        return dest
    marker = marker_path(dest)
    if marker.exists():
        raise RenditionError(_reason(marker))
    with _slots:
        if dest.is_file():  # made by another request while this one waited
            return dest
        fh, _st = open_scanned(source.path, source.root, source.size, source.mtime)
        with fh:
            try:
                make_thumbnail(fh, dest, VARIANTS[variant])
            except ThumbnailError as exc:
                _write_marker(marker, str(exc))
                raise RenditionError(str(exc)) from exc
    return dest


def _reason(marker: Path) -> str:
    try:
        return marker.read_text(encoding="utf-8").strip() or "no picture in this file"
    except OSError:
        return "no picture in this file"


def _write_marker(marker: Path, reason: str) -> None:
    marker.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=marker.parent, prefix=".tmp-", suffix=".none")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(reason + "\n")
        os.replace(tmp, marker)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
