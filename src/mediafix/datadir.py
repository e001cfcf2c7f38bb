"""The data folder and the library database's URL, read from the environment without pydantic.

``mediafix db upgrade`` is the first command ``make run`` and the Docker entrypoint run; all
it needs of the settings is where the library lives. Loading :class:`mediafix.config.Settings`
costs pydantic and pydantic-settings (~0.15-0.25 CPU-s) for that; :func:`library_location`
reads the two variables the way ``Settings`` does, and says so only when it can tell
exactly (else None: the caller loads ``Settings``). ``tests/unit/test_config.py`` checks the
two agree. ``config`` re-exports what is defined here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEFAULT_DATA_DIR",
    "DataDirError",
    "LibraryLocation",
    "data_dir_message",
    "default_database_url",
    "ensure_data_dir",
    "library_location",
]

DEFAULT_DATA_DIR = "~/.local/share/mediafix"
_SUBFOLDERS = ("", "thumbnails", "uploads", "journals", "scratch", "sessions")


class DataDirError(RuntimeError):
    """The data folder cannot be created or written; ``str(exc)`` names it and the remedy."""


def data_dir_message(data_dir: Path, exc: BaseException | str) -> str:
    """One line: the data folder cannot be written, why, and what to do."""
    import getpass

    reason = exc if isinstance(exc, str) else (getattr(exc, "strerror", None) or str(exc))
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return (
        f"the data folder {data_dir} cannot be created or written ({reason}): make it writable for "
        f"the user {user}, or set MEDIAFIX_DATA_DIR to another folder"
    )


def ensure_data_dir(data_dir: Path) -> None:
    """Create the data folder and its parts (idempotent), and make sure it can be written.

    Raises :class:`DataDirError` (one line: the folder and what to do) otherwise.
    """
    import tempfile

    try:
        for sub in _SUBFOLDERS:
            (data_dir / sub).mkdir(parents=True, exist_ok=True)
        # mkdir succeeds on a folder that exists read-only: a file written and removed
        # proves the folder (and its file system) takes writes.
        with tempfile.TemporaryFile(dir=data_dir, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise DataDirError(data_dir_message(data_dir, exc)) from exc


def default_database_url(data_dir: Path) -> str:
    """The library database when ``MEDIAFIX_DATABASE_URL`` is not set."""
    return f"sqlite:///{data_dir / 'mediafix.db'}"


@dataclass(frozen=True)
class LibraryLocation:
    """Where the library lives: the data folder (absolute, resolved) and the database URL."""

    data_dir: Path
    database_url: str


def library_location(environ: dict[str, str] | None = None) -> LibraryLocation | None:
    """``MEDIAFIX_DATA_DIR`` and ``MEDIAFIX_DATABASE_URL`` as ``Settings`` reads them; None
    when only ``Settings`` can tell (a ``MEDIAFIX_*`` name in another case, which
    pydantic-settings also reads; an empty or odd data folder value)."""
    env = os.environ if environ is None else environ
    for key in env:
        if key.upper().startswith("MEDIAFIX_") and key != key.upper():
            return None
    raw = env.get("MEDIAFIX_DATA_DIR", DEFAULT_DATA_DIR)
    if not raw.strip() or raw != raw.strip() or "\x00" in raw:
        return None
    data_dir = Path(raw).expanduser().resolve()
    url = env.get("MEDIAFIX_DATABASE_URL", "") or default_database_url(data_dir)
    return LibraryLocation(data_dir, url)
