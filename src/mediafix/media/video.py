"""Video fingerprints: a perceptual hash of a few frames, for re-encoded copies.

A phone video sent through a messenger comes back re-encoded, smaller and without its
metadata; its bytes share nothing with the original, but its frames look the same. The
fingerprint is the 64-bit pHash of the frames at 20 %, 40 %, 60 % and 80 % of the
duration, concatenated (256 bits), plus the duration. Two videos are near copies when
their durations agree within a few percent and every frame pair is within the threshold.

Decoding needs PyAV (``pip install av``, wheels bundle FFmpeg). Without it, videos are
still found as exact duplicates by their SHA-256, and ``AVAILABLE`` says so.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
from PIL import Image

from mediafix.media.fingerprint import phash_dct
from mediafix.media.values import first_line
from mediafix.media.videoprint import VideoPrint, video_groups

__all__ = [
    "AVAILABLE",
    "FRAMES",
    "UNAVAILABLE_REASON",
    "VideoError",
    "VideoPrint",
    "video_fingerprint",
    "video_groups",
]

try:  # PyAV is optional: the archive works without it, minus re-encoded video matching
    import av
    import av.logging

    # FFmpeg's log lines must never call into Python: a decoder thread that logs (a damaged
    # H.264 frame) would wait for the GIL while the thread freeing that decoder holds it
    # and waits for the decoder threads - a deadlock. PyAV's default (None) logs nothing.
    av.logging.set_level(None)
    AVAILABLE = True
    UNAVAILABLE_REASON = ""
except ImportError:  # pragma: no cover - exercised only where the wheel does not install
    av = None  # type: ignore[assignment]
    AVAILABLE = False
    UNAVAILABLE_REASON = "re-encoded video copies are not detected: install PyAV (pip install av)"

FRAMES = (0.2, 0.4, 0.6, 0.8)


class VideoError(Exception):
    """A video whose frames cannot be decoded (one line for a person)."""


def _undecodable(exc: BaseException) -> VideoError:
    """The one-line error for frames PyAV could not decode (it raises many error types)."""
    return VideoError(f"video frames cannot be decoded ({first_line(exc)[:120]})")


def _grey(frame: object, rotation: int) -> np.ndarray:
    image: Image.Image = frame.to_image()  # type: ignore[attr-defined]
    image.draft("L", (128, 128))
    image = image.convert("L")
    image.thumbnail((256, 256))
    if rotation % 360:
        # The stream says how to turn the stored pixels for display (counter-clockwise).
        image = image.rotate(rotation, expand=True)
    return np.asarray(image, dtype=np.float32)


def video_fingerprint(path: str) -> VideoPrint:
    """Fingerprint of the video at ``path``; raises VideoError when it cannot be decoded."""
    if not AVAILABLE:
        raise VideoError(UNAVAILABLE_REASON)
    try:
        with av.open(path, metadata_errors="ignore") as container:
            if not container.streams.video:
                raise VideoError("no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            duration = _duration(container, stream)
            hashes = []
            for fraction in FRAMES:
                frame = _frame_at(container, stream, duration * fraction)
                if frame is None:
                    break
                rotation = int(getattr(frame, "rotation", 0) or 0)
                value = phash_dct(_grey(frame, rotation))
                hashes.append(value if value is not None else 0)
    except VideoError:
        raise
    except Exception as exc:  # PyAV raises many error types for broken files
        raise _undecodable(exc) from None
    if not hashes:
        raise VideoError("video frames cannot be decoded (no frame found)")
    return VideoPrint(duration, tuple(hashes))


def _duration(container: object, stream: object) -> float:
    if getattr(stream, "duration", None) and getattr(stream, "time_base", None):
        return float(stream.duration * stream.time_base)  # type: ignore[attr-defined]
    if getattr(container, "duration", None):
        return float(container.duration) / 1_000_000  # type: ignore[attr-defined]
    return 0.0


def _frame_at(container: object, stream: object, seconds: float) -> object | None:
    tb = stream.time_base  # type: ignore[attr-defined]
    if seconds > 0 and tb:
        with contextlib.suppress(Exception):
            container.seek(int(seconds / tb), stream=stream, any_frame=False, backward=True)  # type: ignore[attr-defined]
    target = seconds / tb if tb else 0
    last = None
    for n, frame in enumerate(container.decode(stream)):  # type: ignore[attr-defined]
        last = frame
        if frame.pts is None or frame.pts >= target or n > 240:
            return frame
    return last


def thumbnail_frame(path: str) -> Image.Image:
    """The first frame of a video as an RGB image (for the review pages)."""
    if not AVAILABLE:
        raise VideoError(UNAVAILABLE_REASON)
    try:
        with av.open(path, metadata_errors="ignore") as container:
            stream = container.streams.video[0]
            for frame in container.decode(stream):
                image: Image.Image = frame.to_image()
                rotation = int(getattr(frame, "rotation", 0) or 0)
                return image.rotate(rotation, expand=True) if rotation % 360 else image
    except Exception as exc:
        raise _undecodable(exc) from None
    raise VideoError("no video frame found")


def to_jpeg(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, "JPEG", quality=85)
    return buf.getvalue()
