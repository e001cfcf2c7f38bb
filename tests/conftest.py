"""Shared fixtures: an exiftool session, settings in a temp folder, databases.

Plain helpers (generated media, free ports, paths) live in ``tests/helpers/``."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mediafix.config import get_settings
from mediafix.media.exiftool import ExifTool

IN_CI = os.environ.get("CI") == "true"
PG_ADMIN_URL = os.environ.get(
    "MEDIAFIX_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def exiftool() -> Iterator[ExifTool]:
    with ExifTool() as et:
        yield et


@pytest.fixture
def settings_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """MEDIAFIX_* pointing into a temp folder; returns the data folder."""
    data = tmp_path / "data"
    monkeypatch.setenv("MEDIAFIX_DATA_DIR", str(data))
    monkeypatch.setenv("MEDIAFIX_OUTPUT_DIR", str(tmp_path / "output"))
    monkeypatch.setenv("MEDIAFIX_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("MEDIAFIX_WORKERS", "2")
    for var in ("MEDIAFIX_DATABASE_URL", "MEDIAFIX_QUEUE_URL", "MEDIAFIX_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    yield data
    get_settings.cache_clear()


def _pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=postgres", connect_timeout=3
        ):
            return True
    except Exception:
        return False


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the local server, dropped afterwards."""
    if not _pg_available():
        if IN_CI:
            pytest.fail("PostgreSQL at 127.0.0.1:5432 is not reachable (CI needs it)")
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")
    import psycopg

    name = f"mediafix_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(
        "host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    yield url
    from mediafix.store.db import _ENGINES

    engine = _ENGINES.pop(url, None)
    if engine is not None:
        engine.dispose()
    with psycopg.connect(
        "host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
