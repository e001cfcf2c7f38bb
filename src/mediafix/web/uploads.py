"""Uploads streamed to disk: a browser's files and folders, never held in memory.

How a file travels: werkzeug's multipart parser asks the request for a stream per file
part; :class:`UploadRequest` hands it an open file in ``DATA_DIR/uploads/.staging/<upload>``
(the same disk as the destination), counting bytes against the per-file limit as they
arrive. Once the part is complete it is moved (a rename, never a copy) to its sanitized
relative path under ``DATA_DIR/uploads/.incoming/<upload>``. When the last batch of an
upload arrives, that folder becomes ``DATA_DIR/uploads/<job id>`` and an import job for it
is enqueued.

Names come from the browser and are not trusted (:func:`safe_relpath`): ``..``, ``.``,
empty parts, drive letters, backslashes and control characters are dropped, parts are cut to
a safe length, and an existing file is never overwritten (``name (2).jpg``).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import tempfile
import unicodedata
from pathlib import Path, PurePosixPath
from typing import IO, Any

from flask import Request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

__all__ = [
    "INCOMING",
    "STAGING",
    "InsufficientStorage",
    "UploadRequest",
    "discard_staging",
    "place_file",
    "safe_relpath",
    "upload_folders",
]

STAGING = ".staging"
INCOMING = ".incoming"
MAX_PART_BYTES = 200  # a file or folder name, in UTF-8 bytes (file systems allow 255)
MAX_DEPTH = 32
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:$")
UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")


class InsufficientStorage(HTTPException):
    """507: the upload could not be stored (a full disk, a read-only data folder)."""

    code = 507
    description = "not enough space to store the upload"


def _cut(part: str, limit: int = MAX_PART_BYTES) -> str:
    """``part`` shortened to ``limit`` UTF-8 bytes, keeping its extension."""
    if len(part.encode("utf-8")) <= limit:
        return part
    stem, dot, ext = part.rpartition(".")
    if not dot or len(ext) > 16 or not stem:
        stem, ext, dot = part, "", ""
    room = limit - len((dot + ext).encode("utf-8"))
    cut = stem.encode("utf-8")[:room].decode("utf-8", "ignore").rstrip()
    return cut + dot + ext


def safe_relpath(name: str | None) -> PurePosixPath | None:
    """A relative path that stays inside the upload folder, or None if nothing usable is left.

    >>> safe_relpath("../../etc/passwd")
    PurePosixPath('etc/passwd')
    >>> safe_relpath("C:\\\\Users\\\\Anna\\\\IMG_1.JPG")
    PurePosixPath('Users/Anna/IMG_1.JPG')
    """
    if not name:
        return None
    text = unicodedata.normalize("NFC", name).replace("\\", "/")
    parts: list[str] = []
    for raw in text.split("/"):
        part = _CONTROL.sub("", raw).strip()
        if part in ("", ".", ".."):
            continue
        if not parts and _DRIVE.match(part):
            continue
        part = part.rstrip(". ") or "_"
        parts.append(_cut(part))
    if not parts:
        return None
    if len(parts) > MAX_DEPTH:
        parts = parts[: MAX_DEPTH - 1] + parts[-1:]
    return PurePosixPath(*parts)


def _numbered(path: Path, n: int) -> Path:
    stem, dot, ext = path.name.rpartition(".")
    if not dot or not stem:
        stem, dot, ext = path.name, "", ""
    return path.with_name(f"{stem} ({n}){dot}{ext}")


def place_file(tmp: Path, folder: Path, rel: PurePosixPath) -> Path:
    """Move ``tmp`` to ``folder/rel`` without overwriting anything; returns where it went.

    A taken name gets a number: ``IMG_1.jpg``, ``IMG_1 (2).jpg``, ... A folder part that is
    an existing *file* is numbered the same way, so a path never changes kind.
    """
    parent = folder
    for part in rel.parts[:-1]:
        candidate = parent / part
        n = 1
        while candidate.exists() and not candidate.is_dir():
            n += 1
            candidate = parent / f"{part} ({n})"
        candidate.mkdir(exist_ok=True)
        parent = candidate
    if parent.resolve() != folder.resolve() and not parent.resolve().is_relative_to(
        folder.resolve()
    ):
        raise ValueError(f"refusing to write outside the upload folder: {rel}")
    target = parent / rel.name
    n = 1
    while True:
        try:
            os.link(tmp, target)  # fails if the name exists: no race can overwrite
            os.unlink(tmp)
            return target
        except FileExistsError:
            n += 1
            target = _numbered(parent / rel.name, n)
        except OSError:
            # A file system without hard links: check, then rename (one uploader per folder).
            if target.exists():
                n += 1
                target = _numbered(parent / rel.name, n)
                continue
            os.replace(tmp, target)
            return target


class _CountingFile(io.FileIO):
    """A staging file that refuses to grow past the per-file limit."""

    def __init__(self, path: str, limit: int | None) -> None:
        super().__init__(path, "w+")
        self.limit = limit
        self.written = 0

    def write(self, data: Any) -> int:
        self.written += len(data)
        if self.limit is not None and self.written > self.limit:
            raise RequestEntityTooLarge(
                f"a file is larger than the {self.limit // 1_000_000:,} MB limit per file"
            )
        return super().write(data)


class UploadRequest(Request):
    """Flask's request, with file parts streamed into a staging folder when one is set."""

    upload_staging: Path | None = None
    upload_file_limit: int | None = None

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        if self.upload_staging is None:
            return super()._get_file_stream(
                total_content_length, content_type, filename, content_length
            )
        fd, path = tempfile.mkstemp(dir=self.upload_staging, prefix="part-")
        os.close(fd)
        return _CountingFile(path, self.upload_file_limit)


def upload_folders(uploads: Path, upload_id: str) -> tuple[Path, Path]:
    """(staging, incoming) folders of one upload."""
    return uploads / STAGING / upload_id, uploads / INCOMING / upload_id


def discard_staging(staging: Path) -> None:
    """Remove a staging folder: it only ever holds parts of files still being received."""
    with contextlib.suppress(OSError):
        shutil.rmtree(staging)


def count_files(folder: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))
