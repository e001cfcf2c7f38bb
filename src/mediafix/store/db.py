"""Engine, sessions and migrations for the library database.

SQLite (the one-machine default) gets WAL, a busy timeout and foreign keys on every
connection, so a web process and several workers can share the file. PostgreSQL is used
as it comes.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, exc, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from mediafix.store.schema_sqlite import HEAD, STATEMENTS

__all__ = [
    "MIGRATIONS_DIR",
    "ReadThenWrite",
    "current_revision",
    "database_label",
    "get_engine",
    "make_engine",
    "ping",
    "session_scope",
    "upgrade",
]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
BUSY_TIMEOUT_MS = 30_000
# The newest migration's revision. Every command, worker and web process upgrades at start;
# when the database is already here, a plain query says so and alembic (a quarter of a
# second to import) is never loaded. It is the revision of the stored SQLite schema
# (generated from the migrations); tests/integration/test_store.py checks it against the
# scripts.
SCHEMA_HEAD = HEAD


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # pysqlite's default deferred BEGIN lets two writers both read, then one fails to upgrade
    # its lock ("database is locked" without waiting). BEGIN IMMEDIATE takes the write lock
    # up front, so busy_timeout applies and writers queue instead of failing.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_begin_deferred(conn: Any) -> None:
    # A ``ReadThenWrite`` connection's write: the write lock up front, as above.
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get(_WRITING) else "BEGIN")


_WRITING = "mediafix.writing"


def make_engine(url: str, *, immediate: bool = True, **kwargs: Any) -> Engine:
    """An engine for ``url`` with mediafix's connection settings.

    ``immediate=False`` (SQLite only) gives an engine whose transactions BEGIN DEFERRED:
    for pages that only read, so they see a snapshot without waiting for the write lock.
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            **kwargs,
        )
        event.listen(engine, "connect", _sqlite_pragmas)

        @event.listens_for(engine, "connect")
        def _no_pysqlite_begin(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves

        event.listen(engine, "begin", _sqlite_begin if immediate else _sqlite_begin_deferred)
        return engine
    return create_engine(parsed, pool_pre_ping=True, **kwargs)


_ENGINES: dict[str, Engine] = {}
_READ_ENGINES: dict[str, Engine] = {}


def get_engine(url: str) -> Engine:
    """One engine per URL per process (after a fork, call ``dispose_engines``)."""
    engine = _ENGINES.get(url)
    if engine is None:
        engine = _ENGINES[url] = make_engine(url)
    return engine


def dispose_engines() -> None:
    """Forget pooled connections inherited across ``fork``: a child must open its own."""
    for engine in [*_ENGINES.values(), *_READ_ENGINES.values()]:
        engine.dispose(close=False)
    _ENGINES.clear()
    _READ_ENGINES.clear()


@contextlib.contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


_UPGRADE_LOCK = 0x6D656469  # any fixed number; "medi"


def _alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["url"] = url
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (idempotent, safe to run at each start).

    An empty database gets the newest schema in a few statements and is stamped at
    ``SCHEMA_HEAD``, without loading alembic or replaying each migration: on SQLite the
    statements the migrations leave (:mod:`mediafix.store.fresh`), elsewhere the models'
    (tests/integration/test_store.py proves each equal to the migrated schema); a database
    at an older revision is migrated.
    """
    engine = get_engine(url)
    if revision == "head" and _stored_revision(engine) == SCHEMA_HEAD:
        return
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Web and workers all upgrade at start; on a fresh database two CREATE TYPE/TABLE
            # runs would collide, so they take turns (the lock ends with the transaction).
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK})
        if revision == "head" and _create_fresh(conn):
            return
        from alembic import command

        cfg = _alembic_config(url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def _create_fresh(conn: Any) -> bool:
    """On a database without tables: create the newest schema and stamp it at head, as
    alembic would have left it. False (nothing done) when any table is there."""
    if inspect(conn).get_table_names():
        return False
    if conn.dialect.name == "sqlite":  # the migrations' own statements, no models needed
        for statement in STATEMENTS:
            conn.exec_driver_sql(statement)
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": HEAD})
        return True
    from mediafix.store.models import Base

    Base.metadata.create_all(conn)
    # alembic's own version table, with the primary key name alembic gives it
    conn.execute(
        text(
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
            "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
        )
    )
    conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": SCHEMA_HEAD})
    return True


def _stored_revision(engine: Engine) -> str | None:
    """The revision alembic recorded, or None when there is none (or no table yet)."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    except exc.DBAPIError:
        return None
    return rows[0][0] if len(rows) == 1 else None


def current_revision(url: str) -> str | None:
    stored = _stored_revision(get_engine(url))
    if stored is not None:  # the common case, without loading alembic
        return stored
    from alembic.runtime.migration import MigrationContext

    with get_engine(url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def has_tables(url: str) -> bool:
    return inspect(get_engine(url)).has_table("files")


def database_label(url: str) -> str:
    """The URL without its password, for messages."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return os.path.abspath(parsed.database or ":memory:")
    return parsed.render_as_string(hide_password=True)


def ping(session: Session) -> None:
    """Raise unless the database answers (the health check)."""
    session.execute(text("SELECT 1"))


class ReadThenWrite:
    """One connection for a long piece of work that reads, then writes in a short
    transaction (use it as a context manager: it holds the connection): :meth:`read` is a
    snapshot without the write lock (on SQLite, BEGIN DEFERRED), :meth:`write` a
    transaction that takes it up front (BEGIN IMMEDIATE) and commits; :meth:`unchanged`,
    inside the write, says whether no other connection committed anything since the read
    began (SQLite's ``data_version``, counted per connection; elsewhere it cannot tell and
    says False)."""

    def __init__(self, engine: Engine) -> None:
        self.sqlite = engine.url.get_backend_name() == "sqlite"
        if self.sqlite and engine.url.database not in (None, "", ":memory:"):
            # (a database in memory is the engine's own: it reads under the lock)
            url = engine.url.render_as_string(hide_password=False)
            reader = _READ_ENGINES.get(url)
            if reader is None:
                reader = _READ_ENGINES[url] = make_engine(url, immediate=False)
            engine = reader
        self.engine = engine
        self.version: int | None = None

    def __enter__(self) -> ReadThenWrite:
        self.conn = self.engine.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.close()

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A session that only reads (it must not write), rolled back at the end."""
        if self.sqlite:  # before the snapshot begins: any commit after it is seen
            self.version = self._data_version()
        with Session(bind=self.conn, expire_on_commit=False) as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A session holding the write lock from its start; commits on success."""
        self.conn.info[_WRITING] = True
        try:
            with Session(bind=self.conn, expire_on_commit=False) as session:
                try:
                    session.connection()  # BEGIN IMMEDIATE now: unchanged() holds the lock
                    yield session
                    session.commit()
                except BaseException:
                    session.rollback()
                    raise
        finally:
            self.conn.info.pop(_WRITING, None)

    def unchanged(self) -> bool:
        """Inside :meth:`write`: nothing committed by another connection since the last
        :meth:`read` began."""
        return self.sqlite and self.version is not None and self._data_version() == self.version

    def _data_version(self) -> int:
        cursor = self.conn.connection.driver_connection.execute("PRAGMA data_version")  # type: ignore[union-attr]
        try:
            return int(cursor.fetchone()[0])
        finally:
            cursor.close()
