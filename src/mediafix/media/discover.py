"""Discover: walk source folders and yield the media files in them, with their sidecars.

Junk (``._*`` AppleDouble files, ``.DS_Store``, ``Thumbs.db``, Synology ``@eaDir``, Android
``.trashed-*``) is skipped, and so are mediafix's own folders the caller names (``OwnFolders``:
the data folder with its thumbnails, the archive), so a scan of a folder that holds them
never imports mediafix's own files as photos. A symlink is followed only when it stays
inside the source root, so a scan of ``/photos`` never wanders into ``/``. Special files
(pipes, sockets, devices) and dangling links are still yielded so they get a clear per-file
error from the probe.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mediafix.media.kinds import SIDECAR_EXTENSIONS
from mediafix.media.sidecars import pair_sidecars

__all__ = ["NONE_OWN", "OWN_FOLDER", "Found", "OwnFolders", "discover", "is_junk"]

JUNK_NAMES = frozenset(
    {
        ".DS_Store",
        "Thumbs.db",
        "thumbs.db",
        "desktop.ini",
        "Desktop.ini",
        ".picasa.ini",
        "Picasa.ini",
        ".nomedia",
        "ehthumbs.db",
        ".localized",
    }
)
JUNK_DIRS = frozenset(
    {
        "@eaDir",
        "#recycle",
        "#snapshot",
        "$RECYCLE.BIN",
        ".Trashes",
        ".thumbnails",
        ".Spotlight-V100",
        ".fseventsd",
        ".git",
        "System Volume Information",
        "lost+found",
        ".@__thumb",
        ".DocumentRevisions-V100",
    }
)


def is_junk(name: str, is_dir: bool = False) -> bool:
    """True for files and folders that hold no user photos (OS and NAS litter)."""
    if name.startswith("._") or name.startswith(".trashed-"):
        return True
    if is_dir:
        return name in JUNK_DIRS or name.startswith(".Trash-")
    return name in JUNK_NAMES


@dataclass
class Found:
    """One discovered file: where it is, and what belongs with it."""

    path: str  # absolute
    root: str  # the source root it was found under
    rel_path: str  # path relative to root
    size: int | None
    mtime: float | None
    sidecars: list[str] = field(default_factory=list)  # absolute paths of paired sidecars
    error: str | None = None  # set when the entry cannot be used (link out of root)


def _inside(path: str, root_real: str) -> bool:
    return path == root_real or path.startswith(root_real.rstrip(os.sep) + os.sep)


OWN_FOLDER = "mediafix's own folder (its data folder or the archive): not scanned"
# The error of a folder's entry when it cannot be listed (its files are not found, not gone).
UNREADABLE_FOLDER = "cannot read the folder"


@dataclass(frozen=True)
class OwnFolders:
    """mediafix's own folders, never walked as a source: ``skip`` (the data folder, the
    archive) except what lies in ``allow`` (the uploads, which are sources)."""

    skip: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()

    @classmethod
    def of(cls, skip: Iterable[str], allow: Iterable[str] = ()) -> OwnFolders:
        return cls(
            tuple(os.path.realpath(p) for p in skip), tuple(os.path.realpath(p) for p in allow)
        )

    def owns(self, real_path: str) -> bool:
        return any(_inside(real_path, p) for p in self.skip) and not any(
            _inside(real_path, p) for p in self.allow
        )


NONE_OWN = OwnFolders()


def discover(root: str | os.PathLike[str], own: OwnFolders = NONE_OWN) -> Iterator[Found]:
    """Yield every non-junk file under ``root`` (a file path yields itself), sorted by path.

    mediafix's ``own`` folders are not entered; a ``root`` inside one yields a single entry
    with ``OWN_FOLDER`` as its error.
    """
    root_abs = os.path.abspath(os.fspath(root))
    root_real = os.path.realpath(root_abs)
    if own.owns(root_real):
        yield Found(
            root_abs,
            os.path.dirname(root_abs),
            os.path.basename(root_abs),
            None,
            None,
            error=OWN_FOLDER,
        )
        return
    if os.path.isfile(root_abs) or (os.path.exists(root_abs) and not os.path.isdir(root_abs)):
        parent = os.path.dirname(root_abs)
        yield _found(root_abs, parent, os.path.basename(root_abs), [])
        return
    seen_dirs: set[tuple[int, int]] = set()
    stack = [root_abs]
    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder)
            if (st.st_dev, st.st_ino) in seen_dirs:
                continue  # a symlink loop inside the root
            seen_dirs.add((st.st_dev, st.st_ino))
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            rel = os.path.relpath(folder, root_abs)
            yield Found(
                folder,
                root_abs,
                rel,
                None,
                None,
                error=f"{UNREADABLE_FOLDER}: {exc.strerror or exc}",
            )
            continue
        files = []
        subdirs = []
        for entry in entries:
            try:
                is_link = entry.is_symlink()
                is_dir = entry.is_dir(follow_symlinks=True)
            except OSError:
                is_link, is_dir = True, False
            if is_junk(entry.name, is_dir):
                continue
            if is_link:
                target = os.path.realpath(entry.path)
                if os.path.exists(target) and not _inside(target, root_real):
                    rel = os.path.relpath(entry.path, root_abs)
                    yield Found(
                        entry.path,
                        root_abs,
                        rel,
                        None,
                        None,
                        error="a symlink that points outside the source folder (not followed)",
                    )
                    continue
            if is_dir:
                if own.skip and own.owns(os.path.realpath(entry.path)):
                    continue  # mediafix's own: its data folder, the archive
                subdirs.append(entry.path)
            else:
                files.append(entry.name)
        media_sidecars, _orphans = pair_sidecars(files)
        for name in files:
            if Path(name).suffix.lower() in SIDECAR_EXTENSIONS and name not in media_sidecars:
                continue  # a sidecar: it travels with its media file
            path = os.path.join(folder, name)
            cars = [os.path.join(folder, s) for s in media_sidecars.get(name, [])]
            yield _found(path, root_abs, os.path.relpath(path, root_abs), cars)
        stack.extend(reversed(subdirs))


def _found(path: str, root: str, rel: str, sidecars: list[str]) -> Found:
    try:
        st = os.stat(path)
        size, mtime = (st.st_size, st.st_mtime) if stat.S_ISREG(st.st_mode) else (None, None)
    except OSError:
        size = mtime = None
    return Found(path, root, rel, size, mtime, sidecars)
