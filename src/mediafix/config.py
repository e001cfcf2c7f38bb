"""Settings: one object, read from ``MEDIAFIX_*`` environment variables.

``SETTINGS`` is the table of every setting with its default and its help text; the
``Settings`` class is built from it, and ``docs/configuration.md`` documents it (a test
checks that the two agree).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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
        "Home time zone (IANA name such as Europe/Berlin) for files that carry no UTC offset.",
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
        "UPLOAD_RETENTION_DAYS",
        "7",
        "Days an upload is kept after all its files were written to the output.",
    ),
)


def system_timezone() -> str:
    """The machine's IANA zone name, or ``UTC`` when it cannot be told."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz and _valid_zone(tz):
        return tz
    try:
        name = Path("/etc/timezone").read_text().strip()
        if _valid_zone(name):
            return name
    except OSError:
        pass
    try:
        link = os.readlink("/etc/localtime")
        if "zoneinfo/" in link:
            name = link.split("zoneinfo/", 1)[1]
            if _valid_zone(name):
                return name
    except OSError:
        pass
    return "UTC"


def _valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


class Settings(BaseSettings):
    """All of mediafix's configuration; see ``SETTINGS`` for the meaning of each field."""

    model_config = SettingsConfigDict(env_prefix="MEDIAFIX_", extra="ignore")

    data_dir: Path = Field(default_factory=lambda: Path("~/.local/share/mediafix"))
    output_dir: Path = Field(default_factory=lambda: Path("~/Pictures/mediafix-output"))
    database_url: str = ""
    queue_url: str = ""
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, le=64)
    timezone: str = Field(default_factory=system_timezone)
    duplicate_threshold: int = Field(default=8, ge=0, le=64)
    review_confidence: float = Field(default=0.6, ge=0.0, le=1.0)
    password: str = ""
    import_roots: str = ""
    upload_retention_days: float = Field(default=7.0, ge=0)

    @field_validator("data_dir", "output_dir", mode="after")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("timezone", mode="after")
    @classmethod
    def _zone(cls, value: str) -> str:
        if not _valid_zone(value):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name like Europe/Berlin)")
        return value

    def model_post_init(self, __context: Any) -> None:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'mediafix.db'}"
        if not self.queue_url:
            self.queue_url = f"sqlite:///{self.data_dir / 'queue.db'}"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def import_root_paths(self) -> list[Path]:
        return [Path(p).expanduser().resolve() for p in self.import_roots.split(os.pathsep) if p]

    def ensure_dirs(self) -> None:
        """Create the data folder and its parts (idempotent)."""
        for sub in ("", "thumbnails", "uploads", "journals", "scratch"):
            (self.data_dir / sub).mkdir(parents=True, exist_ok=True)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once; tests call ``get_settings.cache_clear()``)."""
    return Settings()
