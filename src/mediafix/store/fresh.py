"""A fresh SQLite library database from the stored schema, with the standard library alone.

The first thing a person runs (``make run`` and the Docker entrypoint start with ``mediafix
db upgrade``) creates the library database. Through SQLAlchemy that costs its import and
the models' (~0.3 CPU-s) before one table exists; here the tables are the statements the
migrations themselves leave in a database (:mod:`mediafix.store.schema_sqlite`, generated
by ``python -m mediafix.store.fresh``), run by :mod:`sqlite3`, and the database is stamped
at their revision as alembic would have stamped it. ``tests/integration/test_store.py``
regenerates the statements from the migrations and fails when they differ (a migration
added without running the generator), and compares the two schemas as SQLAlchemy reflects
them.

Only what this module can do exactly is done here: a plain ``sqlite:///PATH`` URL whose
database is empty (created) or already at the stored revision (nothing to do). Anything
else (PostgreSQL, an older revision to migrate) is left to :func:`mediafix.store.db.upgrade`.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterable

from mediafix.store.schema_sqlite import HEAD, STATEMENTS

__all__ = ["HEAD", "STATEMENTS", "create_statements", "ensure_sqlite", "sqlite_path"]

_BUSY_TIMEOUT_S = 30.0  # as mediafix.store.db's connections wait for a writer


def sqlite_path(url: str) -> str | None:
    """The file of a plain ``sqlite:///PATH`` URL (absolute, or relative to the current
    folder as SQLAlchemy reads it); None for any other URL (memory, query options, another
    database)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url or "#" in url:
        return None
    path = url[len(prefix) :]
    if not path or path == ":memory:" or "%" in path:
        return None
    return os.path.abspath(path)


def create_statements(statements: Iterable[str], conn: sqlite3.Connection) -> None:
    """Run the schema's statements on ``conn`` (inside the caller's transaction)."""
    for statement in statements:
        conn.execute(statement)


def ensure_sqlite(url: str) -> str | None:
    """Create the database of ``url`` from the stored schema if it has no table yet;
    return its revision when it is (now) at :data:`HEAD`, else None: not a plain SQLite
    URL, a database that alembic must migrate, or one SQLite cannot open (the caller's
    full way reports it as it always did)."""
    path = sqlite_path(url)
    if path is None:
        return None
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        return _ensure(path)
    except sqlite3.Error:
        return None


def _ensure(path: str) -> str | None:
    conn = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
    try:
        # The same settings as every connection of mediafix.store.db (WAL is kept in the
        # file; the others are per connection).
        conn.execute("PRAGMA journal_mode=WAL")
        # Several processes may start on one new database (web and worker): the write lock
        # is taken before looking, so one creates and the others then find it at head.
        conn.execute("BEGIN IMMEDIATE")
        try:
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            if not names:
                create_statements(STATEMENTS, conn)
                conn.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (HEAD,))
                conn.execute("COMMIT")
                return HEAD
            conn.execute("ROLLBACK")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        if "alembic_version" not in names:
            return None
        rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    finally:
        conn.close()
    return HEAD if rows == [(HEAD,)] else None


def migrated_statements() -> list[str]:
    """The schema statements a database migrated by alembic from nothing to head holds
    (what :mod:`mediafix.store.schema_sqlite` stores), in the order they were made."""
    import tempfile

    from mediafix.store.db import dispose_engines, upgrade

    with tempfile.TemporaryDirectory(prefix="mediafix-schema-") as tmp:
        path = os.path.join(tmp, "migrated.db")
        upgrade(f"sqlite:///{path}", "0001")  # below head: every migration runs in turn
        upgrade(f"sqlite:///{path}")
        dispose_engines()
        conn = sqlite3.connect(path)
        try:
            rows = conn.execute(
                "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid"
            ).fetchall()
        finally:
            conn.close()
    return canonical([r[0] for r in rows])


def canonical(statements: list[str]) -> list[str]:
    """``statements`` in one order whatever the run: a table alembic's batch mode rebuilds
    (SQLite's ALTER) gets its constraints and indexes in set order, which changes with
    Python's string hashing. Constraints are sorted after the columns, and each run of
    index statements by text; what the schema means does not change."""
    out: list[str] = []
    indexes: list[str] = []
    for statement in statements:
        if statement.startswith(("CREATE INDEX", "CREATE UNIQUE INDEX")):
            indexes.append(statement)
            continue
        out += sorted(indexes)
        indexes = []
        head, sep, rest = statement.partition("(\n")
        body, close, tail = rest.rpartition("\n)")
        if statement.startswith("CREATE TABLE") and sep and close:
            items = body.split(", \n")
            columns = [i for i in items if not i.lstrip().startswith("CONSTRAINT")]
            constraints = sorted(i for i in items if i.lstrip().startswith("CONSTRAINT"))
            statement = head + sep + ", \n".join(columns + constraints) + close + tail
        out.append(statement)
    return out + sorted(indexes)


def _pieces(statement: str, width: int = 72) -> list[str]:
    """``statement`` cut after its line breaks and spaces into pieces of at most about
    ``width`` characters (so the generated module keeps to the line length)."""
    pieces: list[str] = []
    for part in re.split(r"(?<=\n)|(?<= )", statement):
        if pieces and len(pieces[-1]) + len(part) <= width and not pieces[-1].endswith("\n"):
            pieces[-1] += part
        elif part:
            pieces.append(part)
    return pieces


def render(head: str, statements: list[str]) -> str:
    """The text of :mod:`mediafix.store.schema_sqlite` for ``statements`` at ``head``."""
    lines = [
        '"""The SQLite schema at the newest migration, as the migrations leave it.',
        "",
        "Generated by ``python -m mediafix.store.fresh``: do not edit; run it again after",
        "adding a migration (tests/integration/test_store.py fails until then).",
        '"""',
        "",
        f"HEAD = {json.dumps(head)}",
        "",
        "STATEMENTS: tuple[str, ...] = (",
    ]
    for statement in statements:
        pieces = [json.dumps(p) for p in _pieces(statement)]
        if len(pieces) == 1:
            lines.append(f"    {pieces[0]},")
        else:
            lines += ["    (", *(f"        {p}" for p in pieces), "    ),"]
    return "\n".join([*lines, ")", ""])


def script_head() -> str:
    """The newest revision among the migration scripts (alembic's word)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from mediafix.store.db import MIGRATIONS_DIR

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def main() -> None:
    """Write :mod:`mediafix.store.schema_sqlite` from the migrations."""
    target = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schema_sqlite.py")
    statements = migrated_statements()
    if not all(s.isascii() for s in statements):
        raise SystemExit("the schema holds non-ASCII text: render() writes ASCII JSON strings")
    text = render(script_head(), statements)
    with open(target, "w", encoding="utf-8") as f:
        f.write(text)
    # As ruff formats it (``make lint`` checks); the test compares values, not text.
    ruff = os.path.join(os.path.dirname(sys.executable), "ruff")
    if os.path.exists(ruff):
        subprocess.run([ruff, "format", "-q", target], check=True)
    print(f"wrote {target}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    main()
