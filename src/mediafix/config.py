"""Settings: one object, read from ``MEDIAFIX_*`` environment variables.

``SETTINGS`` is the table of every setting with its default and its help text; the
``Settings`` class is built from it, and ``docs/configuration.md`` documents it (a test
checks that the two agree). Some settings a person may also change in the web page
(``PAGE_SETTINGS``), which stores them in the library; :func:`effective` is the one place
the two are merged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The data folder's helpers live where ``db upgrade`` reaches them without pydantic; they
# are re-exported here, where the rest of mediafix has always found them.
from mediafix.datadir import DEFAULT_DATA_DIR, default_database_url, ensure_data_dir
from mediafix.datadir import DataDirError as DataDirError
from mediafix.datadir import data_dir_message as data_dir_message
from mediafix.homezone import LOCALTIME_LINK as LOCALTIME_LINK
from mediafix.homezone import SERVER_DEFAULT_ZONES as _SERVER_DEFAULT_ZONES
from mediafix.homezone import TIMEZONE_FILE as TIMEZONE_FILE
from mediafix.homezone import system_timezone as system_timezone
from mediafix.homezone import system_timezone_origin as system_timezone_origin
from mediafix.homezone import valid_zone as _valid_zone


@dataclass(frozen=True)
class Setting:
    """One documented setting: environment name (without prefix), default, help."""

    name: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATA_DIR",
        "~/.local/share/mediafix",
        "Where mediafix keeps its database, queue, thumbnails, uploads and journals.",
    ),
    Setting(
        "OUTPUT_DIR",
        "~/Pictures/mediafix-output",
        "Where the archive is written (OUTPUT/YYYY/YYYYMMDD_HHMMSS.ext).",
    ),
    Setting(
        "DATABASE_URL",
        "sqlite:///DATA_DIR/mediafix.db",
        "SQLAlchemy URL of the library database; postgresql://... to scale out.",
    ),
    Setting(
        "QUEUE_URL",
        "sqlite:///DATA_DIR/queue.db",
        "Where the job queue lives: a SQLite file, redis://... or postgresql://...",
    ),
    Setting("WORKERS", "number of CPU cores", "Worker processes for scans and the job consumer."),
    Setting(
        "TIMEZONE",
        "the system's zone",
        "Home time zone (IANA name such as Europe/Berlin) for files that carry no UTC offset. "
        "Unset, the machine's zone (TZ, /etc/localtime); when that is a server's UTC, the web "
        "page offers the browser's zone to confirm. Changing it re-dates the library.",
    ),
    Setting(
        "DUPLICATE_THRESHOLD",
        "8",
        "Largest perceptual-hash distance (in bits of 64) at which two photos are near duplicates.",
    ),
    Setting(
        "REVIEW_CONFIDENCE", "0.6", "Files whose date confidence is below this are sent to review."
    ),
    Setting(
        "PASSWORD",
        "(none)",
        "When set, every web page and API call needs a login with this password.",
    ),
    Setting(
        "IMPORT_ROOTS",
        "(none)",
        "Server folders the web app may import from, separated by ':' (os.pathsep).",
    ),
    Setting(
        "OUTPUT_ROOTS",
        "(none)",
        "When set, the folders (separated by ':') under which the web page may choose the "
        "output folder.",
    ),
    Setting(
        "ALLOWED_HOSTS",
        "(none)",
        "Host names, besides localhost, the machine's name and IP addresses, that the web app "
        "answers to (comma-separated; '.example.org' admits its sub-domains, '*' any name).",
    ),
    Setting(
        "TAGS_FROM_COPIES",
        "false",
        "Also tag a written file with the folder names of its left-out duplicates.",
    ),
    Setting(
        "UPLOAD_RETENTION_DAYS",
        "7",
        "Days an upload is kept after all its files were written to the output.",
    ),
)


class FolderError(ValueError):
    """A folder setting that mediafix refuses; ``str(exc)`` is one line for a person."""


# Folders of the operating system: never an archive, never a source for the web page (the
# web could otherwise be pointed at /etc and read it back, issue 15).
SYSTEM_FOLDERS = (
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/proc",
    "/sbin",
    "/snap",
    "/sys",
    "/usr",
)
# System folders that some systems use for people's files: refused too, except below the
# server user's home (root's /root, a service's /var/lib/mediafix) or in one of
# ``USER_FOLDERS`` (Fedora Atomic keeps homes in /var/home, udisks mounts USB disks in
# /run/media).
SYSTEM_UNLESS_HOME = ("/root", "/run", "/var")
USER_FOLDERS = ("/run/media", "/var/home", "/var/media", "/var/mnt", "/var/srv", "/var/tmp")


def is_inside(path: str, folder: str) -> bool:
    """``path`` is ``folder`` or lies below it (both absolute and normalised)."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _home() -> str | None:
    """The server user's home folder (real path), unless it is ``/`` or unknown."""
    try:
        home = os.path.realpath(Path.home())
    except (RuntimeError, KeyError):  # no HOME and no passwd entry
        return None
    return None if home == os.sep else home


def system_folder(real: str) -> str | None:
    """The system folder ``real`` (a real path) is or lies in, or None."""
    for folder in SYSTEM_FOLDERS:
        if is_inside(real, folder):
            return folder
    home = _home()
    for folder in SYSTEM_UNLESS_HOME:
        if not is_inside(real, folder):
            continue
        if home is not None and real != home and is_inside(real, home):
            return None  # a folder of the server user's own
        if any(is_inside(real, f) for f in USER_FOLDERS):
            return None
        return folder
    return None


def check_source_folder(raw: str) -> Path:
    """A folder the web page may import from (or under which it may choose the output):
    absolute, and neither ``/`` nor a system folder. Returns its real path."""
    if "\x00" in raw or not os.path.isabs(os.path.expanduser(raw)):
        raise FolderError(f"{raw!r} is not an absolute folder path")
    real = os.path.realpath(os.path.expanduser(raw))
    if real == os.sep:
        raise FolderError("/ is the whole system: name the folders that hold the photos")
    system = system_folder(real)
    if system is not None:
        raise FolderError(f"{raw} is a system folder ({system}): name a folder of photos")
    return Path(real)


def _relation(real: str, other: str) -> str | None:
    if is_inside(real, other):
        return "is" if real == other else "is inside"
    if is_inside(other, real):
        return "holds"
    return None


def check_output_dir(
    raw: str | os.PathLike[str],
    *,
    data_dir: Path,
    sources: list[str] | tuple[str, ...] = (),
    allowed: list[Path] | None = None,
    writable: bool = True,
) -> Path:
    """The real folder the archive may be written to, or :class:`FolderError` saying why not.

    Refused (issue 15): ``/`` and system folders; a folder that is, holds or lies inside the
    server user's home folder's parents (``/home``) or the home itself; mediafix's data
    folder (database, uploads, thumbnails, secret key); a source folder (``sources``: the
    import roots and the folders the library was scanned from; the archive would be mixed
    with the photos it is made from, and rescanned as new ones); a folder outside
    ``allowed`` (``MEDIAFIX_OUTPUT_ROOTS``, for the web page); and, with ``writable``, a
    folder that cannot be created or written. Every check is made on the real path, so a
    symbolic link cannot hide where the archive would go.
    """
    text = os.fspath(raw)
    if not text or "\x00" in text or not os.path.isabs(os.path.expanduser(text)):
        raise FolderError("the output folder must be an absolute folder path (starting with /)")
    real = os.path.realpath(os.path.expanduser(text))
    if real == os.sep:
        raise FolderError(
            "/ is the whole system: choose a folder of its own for the archive, "
            "such as /srv/photos/archive"
        )
    system = system_folder(real)
    if system is not None:
        raise FolderError(f"{text} is a system folder ({system}): choose a folder of its own")
    home = _home()
    if home is not None and is_inside(home, real):
        raise FolderError(
            f"{text} is or holds the home folder {home}: choose a folder of its own inside it, "
            "such as ~/Pictures/archive"
        )
    data = os.path.realpath(data_dir)
    relation = _relation(real, data)
    if relation is not None:
        raise FolderError(
            f"{text} {relation} mediafix's data folder {data} (database, uploads, thumbnails)"
        )
    for source in sources:
        source_real = os.path.realpath(source)
        relation = _relation(real, source_real)
        if relation is not None:
            which = "" if relation == "holds" else "the source folder "
            raise FolderError(
                f"{text} {relation} {which}{source_real}"
                + (" (a source folder)" if relation == "holds" else "")
                + ": the archive must not be mixed with the photos it is made from"
            )
    if allowed is not None and not any(is_inside(real, os.fspath(a)) for a in allowed):
        raise FolderError(
            f"{text} is outside the folders the web page may write the archive to "
            f"(MEDIAFIX_OUTPUT_ROOTS: {', '.join(os.fspath(a) for a in allowed)})"
        )
    if writable:
        problem = _cannot_write(real)
        if problem is not None:
            raise FolderError(f"{text} cannot be created or written: {problem}")
    return Path(real)


def _cannot_write(real: str) -> str | None:
    """Why the folder ``real`` cannot be created or written, or None (no side effects)."""
    folder = real
    while not os.path.lexists(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    if not os.path.isdir(folder):
        return f"{folder} is a file, not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"no permission to write in {folder}"
    return None


def _paths(value: str) -> list[str]:
    return [p for p in value.split(os.pathsep) if p.strip()]


class Settings(BaseSettings):
    """All of mediafix's configuration; see ``SETTINGS`` for the meaning of each field.

    The folder settings are declared before ``output_dir``, which is checked against them.
    """

    model_config = SettingsConfigDict(env_prefix="MEDIAFIX_", extra="ignore")

    data_dir: Path = Field(default_factory=lambda: Path(DEFAULT_DATA_DIR))
    import_roots: str = ""
    output_roots: str = ""
    output_dir: Path = Field(default_factory=lambda: Path("~/Pictures/mediafix-output"))
    database_url: str = ""
    queue_url: str = ""
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, le=64)
    timezone: str = Field(default_factory=system_timezone)
    duplicate_threshold: int = Field(default=8, ge=0, le=64)
    review_confidence: float = Field(default=0.6, ge=0.0, le=1.0)
    password: str = ""
    allowed_hosts: str = ""
    upload_retention_days: float = Field(default=7.0, ge=0)
    tags_from_copies: bool = False

    @field_validator("data_dir", mode="after")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("import_roots", "output_roots", mode="after")
    @classmethod
    def _roots(cls, value: str) -> str:
        for raw in _paths(value):
            check_source_folder(raw.strip())  # a FolderError is a ValueError: one line
        return value

    @field_validator("output_dir", mode="after")
    @classmethod
    def _output(cls, value: Path, info: ValidationInfo) -> Path:
        value = value.expanduser().resolve()
        data_dir = info.data.get("data_dir")
        if data_dir is not None:
            # Where the archive may go, as far as can be told without the library: the
            # page, ``plan`` and ``apply`` check again with the library's folders.
            roots = _paths(info.data.get("import_roots") or "")
            check_output_dir(value, data_dir=data_dir, sources=roots, writable=False)
        return value

    @field_validator("timezone", mode="after")
    @classmethod
    def _zone(cls, value: str) -> str:
        if not value.strip():  # MEDIAFIX_TIMEZONE= (compose passes it empty when unset)
            return system_timezone()
        if not _valid_zone(value):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name like Europe/Berlin)")
        return value

    @property
    def timezone_origin(self) -> str:
        """Where the home zone came from: ``MEDIAFIX_TIMEZONE``, ``TZ``, ``/etc/timezone``,
        ``/etc/localtime`` or ``""`` (nothing said: a placeholder)."""
        if os.environ.get("MEDIAFIX_TIMEZONE", "").strip():
            return "MEDIAFIX_TIMEZONE"
        zone, origin = system_timezone_origin()
        return origin if zone == self.timezone else "MEDIAFIX_TIMEZONE"

    @property
    def timezone_known(self) -> bool:
        """The home zone was said by someone: MEDIAFIX_TIMEZONE or TZ, or a machine set to
        a zone other than a server's default UTC. Otherwise the web page asks."""
        origin = self.timezone_origin
        if origin in ("MEDIAFIX_TIMEZONE", "TZ"):
            return True
        return bool(origin) and self.timezone not in _SERVER_DEFAULT_ZONES

    def model_post_init(self, __context: Any) -> None:
        if not self.database_url:
            self.database_url = default_database_url(self.data_dir)
        if not self.queue_url:
            self.queue_url = f"sqlite:///{self.data_dir / 'queue.db'}"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def import_root_paths(self) -> list[Path]:
        return [Path(p).expanduser().resolve() for p in _paths(self.import_roots)]

    @property
    def output_root_paths(self) -> list[Path] | None:
        """``MEDIAFIX_OUTPUT_ROOTS`` as real paths; None when it is not set."""
        roots = [Path(p.strip()).expanduser().resolve() for p in _paths(self.output_roots)]
        return roots or None

    @property
    def allowed_host_names(self) -> tuple[str, ...]:
        """``MEDIAFIX_ALLOWED_HOSTS``, lower-case, without ports or trailing dots."""
        names = self.allowed_hosts.replace(" ", ",").split(",")
        return tuple(n.strip().lower().rstrip(".") for n in names if n.strip())

    def check_output(
        self,
        raw: str | os.PathLike[str],
        sources: list[str] | tuple[str, ...] = (),
        *,
        web: bool = False,
        writable: bool = True,
    ) -> Path:
        """:func:`check_output_dir` with this configuration's data folder and import roots
        (plus ``sources``, the library's folders); ``web`` adds ``MEDIAFIX_OUTPUT_ROOTS``."""
        return check_output_dir(
            raw,
            data_dir=self.data_dir,
            sources=[*map(os.fspath, self.import_root_paths), *sources],
            allowed=self.output_root_paths if web else None,
            writable=writable,
        )

    def ensure_dirs(self) -> None:
        """Create the data folder and its parts (idempotent), and make sure it can be written.

        Raises :class:`DataDirError` (one line: the folder and what to do) otherwise.
        """
        ensure_data_dir(self.data_dir)


# Settings a person may change in the web page (stored in the library's settings table,
# where they override the environment's); the page's own form lists them in this order.
PAGE_SETTINGS = ("duplicate_threshold", "review_confidence", "output_dir", "timezone", "move")


@dataclass(frozen=True)
class Effective:
    """The settings in force: each page setting as the page stored it, else the
    environment's (``MEDIAFIX_*``). ``stored`` is every stored key as stored, the page's
    settings and what the library keeps there itself (the cameras it found to write local
    time into QuickTime)."""

    duplicate_threshold: int
    review_confidence: float
    output_dir: Path
    timezone: str
    move: bool
    stored: Mapping[str, Any]

    def from_page(self, key: str) -> bool:
        """Whether the page set ``key`` (else the environment did)."""
        return key in self.stored

    def page_values(self) -> dict[str, Any]:
        """The ``PAGE_SETTINGS`` as the page and its JSON show them."""
        return {
            "duplicate_threshold": self.duplicate_threshold,
            "review_confidence": self.review_confidence,
            "output_dir": os.fspath(self.output_dir),
            "timezone": self.timezone,
            "move": self.move,
        }


def effective(settings: Settings, stored: Mapping[str, Any]) -> Effective:
    """The one merge of the environment's settings and the page's stored ones: a stored
    value wins when there is one."""

    def pick(key: str, default: Any) -> Any:
        value = stored.get(key)
        return default if value is None else value

    output = pick("output_dir", None)
    return Effective(
        duplicate_threshold=int(pick("duplicate_threshold", settings.duplicate_threshold)),
        review_confidence=float(pick("review_confidence", settings.review_confidence)),
        output_dir=(
            Path(os.path.abspath(os.path.expanduser(str(output))))
            if output
            else settings.output_dir
        ),
        timezone=str(pick("timezone", settings.timezone)),
        move=bool(pick("move", False)),
        stored=dict(stored),
    )


def zone_state(settings: Settings, now: Effective) -> dict[str, Any]:
    """The home zone, and whether someone said it: set in the page, ``MEDIAFIX_TIMEZONE``/
    ``TZ``, or a machine set to a real zone. Unconfirmed (a server's UTC), the pages offer
    the browser's zone for a person to confirm: it is never silently UTC."""
    if now.from_page("timezone"):
        return {"zone": now.stored["timezone"], "confirmed": True, "origin": "page"}
    return {
        "zone": settings.timezone,
        "confirmed": settings.timezone_known,
        "origin": settings.timezone_origin or "none",
    }


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once; tests call ``get_settings.cache_clear()``)."""
    return Settings()
