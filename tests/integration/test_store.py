"""The database: migrations on SQLite and PostgreSQL, pragmas, lossless paths."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select, text

from mediafix.store.db import (
    MIGRATIONS_DIR,
    SCHEMA_HEAD,
    current_revision,
    get_engine,
    session_scope,
    upgrade,
)
from mediafix.store.fresh import ensure_sqlite, migrated_statements, script_head, sqlite_path
from mediafix.store.models import Base, File, Job
from mediafix.store.schema_sqlite import HEAD, STATEMENTS


def _check_schema(url: str) -> None:
    upgrade(url)
    upgrade(url)  # idempotent: a second run changes nothing
    assert current_revision(url) == SCHEMA_HEAD
    with get_engine(url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"


def test_sqlite_migrations_match_models(tmp_path: Path) -> None:
    _check_schema(f"sqlite:///{tmp_path / 'lib.db'}")


@pytest.mark.postgres
def test_postgres_migrations_match_models(pg_url: str) -> None:
    _check_schema(pg_url)


def _reflected(url: str) -> dict[str, Any]:
    """Everything the database says about its tables, in comparable form."""
    from sqlalchemy import inspect

    with get_engine(url).connect() as conn:
        insp = inspect(conn)
        schema: dict[str, Any] = {}
        for table in sorted(insp.get_table_names()):
            schema[table] = {
                # by name: a migration adds a column at the end, the model lists it where it
                # reads best; every query names its columns
                "columns": sorted(
                    (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                    for c in insp.get_columns(table)
                ),
                "pk": insp.get_pk_constraint(table),
                "indexes": sorted(
                    (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                    for i in insp.get_indexes(table)
                ),
                "unique": sorted(
                    (u["name"], tuple(u["column_names"]))
                    for u in insp.get_unique_constraints(table)
                ),
                "foreign_keys": sorted(
                    (
                        f["name"],
                        tuple(f["constrained_columns"]),
                        f["referred_table"],
                        tuple(f["referred_columns"]),
                        tuple(sorted((f.get("options") or {}).items())),
                    )
                    for f in insp.get_foreign_keys(table)
                ),
            }
    return schema


def _fresh_equals_migrated(url: str, wipe: Any) -> None:
    upgrade(url, "0001")
    upgrade(url)  # every migration, one after the other
    migrated = _reflected(url)
    wipe()
    upgrade(url)  # an empty database: the models' schema, stamped at head
    assert current_revision(url) == SCHEMA_HEAD
    fresh = _reflected(url)
    assert set(fresh) == set(migrated) and "files" in fresh
    for table in migrated:
        assert fresh[table] == migrated[table], table


def test_fresh_schema_equals_the_migrated_one(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lib.db'}"

    def wipe() -> None:
        from mediafix.store.db import dispose_engines

        dispose_engines()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{tmp_path / 'lib.db'}{suffix}").unlink(missing_ok=True)

    _fresh_equals_migrated(url, wipe)
    # ... the same from the light way `db upgrade` takes (sqlite3 alone, no SQLAlchemy)
    migrated = _reflected(url)
    wipe()
    assert ensure_sqlite(url) == SCHEMA_HEAD
    assert _reflected(url) == migrated
    upgrade(url)  # and the full way finds it at head
    assert current_revision(url) == SCHEMA_HEAD
    # ... and a fresh database is made without loading alembic at all
    fresh = f"sqlite:///{tmp_path / 'other.db'}"
    probe = "import sys; from mediafix.store.db import upgrade; upgrade(sys.argv[1]); "
    probe += "print('alembic' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", probe, fresh], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"
    assert current_revision(fresh) == SCHEMA_HEAD


@pytest.mark.postgres
def test_postgres_fresh_schema_equals_the_migrated_one(pg_url: str) -> None:
    def wipe() -> None:
        with get_engine(pg_url).begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))

    _fresh_equals_migrated(pg_url, wipe)


def test_the_stored_sqlite_schema_is_what_the_migrations_leave() -> None:
    # A new SQLite database is made from these statements (mediafix.store.fresh): a
    # migration added without regenerating them would leave new databases behind.
    again = "run `python -m mediafix.store.fresh` after changing a migration"
    assert script_head() == HEAD, again
    assert tuple(migrated_statements()) == STATEMENTS, again


def test_the_light_way_leaves_alone_what_it_cannot_do_exactly(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lib.db'}"
    upgrade(url, "0001")  # an older library: alembic must migrate it
    assert ensure_sqlite(url) is None
    assert current_revision(url) == "0001"
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
    assert ensure_sqlite(f"sqlite:///{tmp_path / 'junk.db'}") is None
    for other in ("sqlite://", "sqlite:///:memory:", f"sqlite:///{tmp_path}/x.db?mode=ro"):
        assert sqlite_path(other) is None
    assert ensure_sqlite("postgresql://u@h/db") is None
    assert sqlite_path("sqlite:///rel/lib.db") == os.path.abspath("rel/lib.db")


def test_schema_head_is_the_newest_migration() -> None:
    # upgrade() skips alembic when the database holds SCHEMA_HEAD: a new migration that
    # forgets to move it would never run.
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(cfg).get_current_head() == SCHEMA_HEAD


def test_upgrade_runs_the_migrations_unless_the_database_is_at_head(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lib.db'}"
    upgrade(url)
    engine = get_engine(url)
    with engine.begin() as conn:  # a database left behind by an older mediafix
        conn.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    with pytest.raises(Exception, match="older"):
        upgrade(url)  # alembic ran (and does not know that revision)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
    with pytest.raises(Exception, match="already exists"):
        upgrade(url)  # no record: alembic tries to create the schema again
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        conn.execute(text("INSERT INTO alembic_version VALUES (:head)"), {"head": SCHEMA_HEAD})
    upgrade(url)  # at head: nothing to do, nothing fails
    assert current_revision(url) == SCHEMA_HEAD
    # ... and a process that finds the database at head never loads alembic.
    probe = "import sys; from mediafix.store.db import upgrade; upgrade(sys.argv[1]); "
    probe += "print('alembic' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", probe, url], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"


def test_upgrade_from_the_first_schema_keeps_the_files(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lib.db'}"
    upgrade(url, "0001")
    with get_engine(url).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO files (root, rel_path, path, name, kind, phash, status, "
                "ext_mismatch, candidates, sidecars, meta, tags) VALUES ('/p', 'a.jpg', "
                "'/p/a.jpg', 'a.jpg', 'image', 'ff00ff00ff00ff00', 'ready', 0, '[]', '[]', "
                "'{}', '[]')"
            )
        )
    upgrade(url)
    assert current_revision(url) == SCHEMA_HEAD
    with session_scope(get_engine(url)) as s:
        row = s.scalars(select(File)).one()
        assert (row.path, row.phash, row.detail_hash) == ("/p/a.jpg", "ff00ff00ff00ff00", None)


def test_sqlite_pragmas(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lib.db'}"
    upgrade(url)
    with get_engine(url).connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000


def _round_trip_paths(url: str) -> None:
    upgrade(url)
    weird = [
        "/photos/plain.jpg",
        os.fsdecode(b"/photos/caf\xe9\xff.jpg"),  # not UTF-8
        "/photos/line\nbreak.jpg",
        "\x01b64:looks-encoded",
    ]
    with session_scope(get_engine(url)) as s:
        for p in weird:
            s.add(File(root="/photos", rel_path=p, path=p, name=os.path.basename(p)))
    with session_scope(get_engine(url)) as s:
        got = sorted(s.scalars(select(File.path)))
        assert got == sorted(weird)
        # A lookup by path finds the undecodable one too.
        assert s.scalar(select(File.id).where(File.path == weird[1])) is not None


def test_paths_round_trip_sqlite(tmp_path: Path) -> None:
    _round_trip_paths(f"sqlite:///{tmp_path / 'lib.db'}")


@pytest.mark.postgres
def test_paths_round_trip_postgres(pg_url: str) -> None:
    _round_trip_paths(pg_url)


def test_foreign_keys_enforced(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lib.db'}"
    upgrade(url)
    with session_scope(get_engine(url)) as s:
        job = Job(type="import")
        s.add(job)
        s.flush()
        s.add(File(root="/r", rel_path="a.jpg", path="/r/a.jpg", name="a.jpg", job_id=job.id))
    with session_scope(get_engine(url)) as s:
        s.delete(s.scalars(select(Job)).one())
    with session_scope(get_engine(url)) as s:
        assert s.scalars(select(File)).one().job_id is None  # ON DELETE SET NULL ran


@pytest.mark.postgres
def test_concurrent_upgrades_of_a_fresh_postgres_database(pg_url: str, tmp_path: Path) -> None:
    """Compose starts web and worker together; both run `db upgrade` on an empty database."""
    import subprocess
    import sys

    env = {**os.environ, "MEDIAFIX_DATABASE_URL": pg_url, "MEDIAFIX_DATA_DIR": str(tmp_path)}
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "mediafix.cli", "db", "upgrade"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in runs]
    assert [code for code, _ in results] == [0, 0, 0], results
    _check_schema(pg_url)
