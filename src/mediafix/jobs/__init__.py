"""The one Huey instance, built from settings (``MEDIAFIX_QUEUE_URL``).

* ``sqlite:///path/queue.db`` (default: ``DATA_DIR/queue.db``): ``SqliteHuey`` in WAL mode,
  in its own file so queue traffic never contends with the library's writes;
* ``redis://host:port/db``: Huey on Redis, to share work between machines;
* ``postgresql://user@host/db``: ``PostgresHuey``.

Tasks live in ``mediafix.jobs.tasks`` (imported by the consumer); work is put on the queue
through ``mediafix.jobs.enqueue``, the one door.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from huey import Huey, PostgresHuey, RedisHuey, SqliteHuey

from mediafix.config import Settings, get_settings

__all__ = ["huey", "make_huey", "queue_depth", "queue_label"]

QUEUE_NAME = "mediafix"


def make_huey(settings: Settings, **kwargs: Any) -> Huey:
    """A Huey instance for ``settings.queue_url``."""
    url = settings.queue_url
    scheme = urlparse(url).scheme.split("+")[0]
    common: dict[str, Any] = {"results": True, "utc": True, **kwargs}
    if scheme == "sqlite":
        path = (
            url.split("sqlite:///", 1)[1]
            if url.startswith("sqlite:///")
            else url[len("sqlite://") :]
        )
        from pathlib import Path

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(QUEUE_NAME, filename=path, journal_mode="wal", timeout=30, **common)
    if scheme in ("redis", "rediss"):
        return RedisHuey(QUEUE_NAME, url=url, **common)
    if scheme in ("postgresql", "postgres"):
        dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
        return PostgresHuey(QUEUE_NAME, dsn=dsn, **common)
    raise ValueError(
        f"MEDIAFIX_QUEUE_URL: unsupported queue {url!r} (use sqlite:///, redis:// or postgresql://)"
    )


def queue_label(settings: Settings) -> str:
    parsed = urlparse(settings.queue_url)
    if parsed.password:
        return settings.queue_url.replace(f":{parsed.password}@", ":***@")
    return settings.queue_url


def queue_depth() -> int:
    """How many tasks wait in the queue (the health check shows it)."""
    return int(huey.pending_count())


huey: Huey = make_huey(get_settings())
