"""Opening the database: engines per dialect, SQLite pragmas, sessions, schema upgrades, backups.

This module imports only SQLAlchemy (not SQLModel, Alembic or the models) on the common path, so a
quick command pays for what it uses. Alembic is imported only when a database is created or upgraded.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# Re-exported: callers import these from pycrm.db.
from pycrm.dbfile import (  # noqa: F401
    BUSY_TIMEOUT_MS,
    KNOWN_REVISIONS,
    LOCK_NOTICE_AFTER_MS,
    SCHEMA_HEAD,
    SQLITE_HEADER,
    DatabaseError,
    NewerSchema,
    NotPycrmDatabase,
    ReadOnlyDatabase,
    _check_sqlite_file,
    _connect_read_only,
    _create_private_file,
    _probe_sqlite_schema,
    _read_only_uri,
    display_url,
    execute_waiting,
    is_lock_error,
    is_url,
    resolve_url,
)


def _install_sqlite_pragmas(engine: sa.Engine, *, readonly: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN so writes can use BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(
            "PRAGMA cache_size=-65536"
        )  # 64 MiB: random-key index inserts (UUIDs) thrash the 2 MiB default
        if not readonly:
            _use_wal(cur)
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        if conn.get_execution_options().get("pycrm_write", False):
            _begin_immediate(conn.connection.driver_connection)
        else:
            conn.exec_driver_sql("BEGIN")


def _use_wal(cur: Any) -> None:
    """Put the file in WAL mode (readers never wait for a writer), unless a first import is
    writing it with the rollback journal right now (``io/csv_write_ahead.py``: an empty contact
    book's pages written once): that import puts WAL back when it ends; meanwhile this
    connection works without it rather than wait for the import to end."""
    if cur.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
        return
    cur.execute("PRAGMA busy_timeout=0")
    try:
        cur.execute("PRAGMA journal_mode=WAL")
    except sqlite3.OperationalError as exc:
        if not is_lock_error(exc):
            raise
    finally:
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


# Front ends may set this to tell the user why a write is waiting (the CLI prints to stderr).
lock_wait_notice: Callable[[str], None] | None = None


def _begin_immediate(dbapi_conn: Any) -> None:
    """Take the write lock; after a second of waiting say so, then keep waiting up to the timeout."""
    try:
        execute_waiting(
            dbapi_conn,
            "BEGIN IMMEDIATE",
            lock_wait_notice,
            "another program is writing to the database; waiting for it…",
        )
    except sqlite3.OperationalError as exc:
        if not is_lock_error(exc):
            raise
        raise DatabaseError(
            f"the database stayed locked for {BUSY_TIMEOUT_MS // 1000} s by another program; "
            "nothing was changed, try again"
        ) from exc


@dataclass
class Database:
    """An open pycrm database: the engine plus how to get read and write sessions."""

    url: str
    engine: sa.Engine
    path: Path | None = None
    readonly: bool = False
    upgraded_from: str | None = None
    backup_path: Path | None = None
    _write_engine: sa.Engine | None = field(default=None, repr=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def where(self) -> str:
        """The file, or the URL with its password hidden: what messages name."""
        return str(self.path) if self.path is not None else display_url(self.url)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries; rolled back at the end."""
        from sqlalchemy.orm import Session

        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def connect(self) -> Iterator[sa.Connection]:
        """A Core connection for read-only queries, rolled back at the end.

        Quick commands (``find``) use it so they never import the ORM (~0.1 s of start-up).
        """
        with self.engine.connect() as connection:
            yield connection

    @contextmanager
    def write(
        self, label: str, *, source: str = "cli", batch_id: str | None = None
    ) -> Iterator[Session]:
        """One write transaction (``BEGIN IMMEDIATE`` on SQLite), committed at the end.

        Every change a service records inside it shares one ChangeLog batch, named by
        ``session.info["batch_id"]``, so the whole command can be undone together.
        """
        if self.readonly:
            raise ReadOnlyDatabase(
                f"{self.where} is read-only: nothing was changed (check the file's permissions)"
            )
        from sqlalchemy.orm import Session

        engine = self._write_engine or self.engine
        with Session(engine, expire_on_commit=False) as session:
            session.info["batch_id"] = batch_id or str(uuid.uuid4())
            session.info["batch_label"] = label
            session.info["batch_source"] = source
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()
        if self._write_engine is not None:
            self._write_engine.dispose()

    def backup(self, target: Path) -> Path:
        """Copy the database to ``target`` consistently (SQLite online backup API), mode 0600."""
        if self.path is None:
            raise DatabaseError("backup works on SQLite files; use pg_dump for PostgreSQL")
        target = Path(target).expanduser()
        if target.is_dir():
            target = target / default_backup_name(self.path)
        if target.exists():
            raise DatabaseError(f"{target} already exists; choose another name")
        _create_private_file(target)
        return sqlite_backup(self.path, target)


def default_backup_name(path: Path, reason: str = "backup") -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{path.stem}.{reason}-{stamp}{path.suffix or '.db'}"


def sqlite_backup(source: Path, target: Path) -> Path:
    """Online-backup ``source`` into ``target`` (created 0600 if missing)."""
    if not target.exists():
        _create_private_file(target)
    os.chmod(target, 0o600)
    src = _connect_read_only(source)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    finally:
        src.close()
    os.chmod(target, 0o600)
    return target


def _sqlite_engine(path: Path, *, readonly: bool) -> sa.Engine:
    url = ("sqlite:///" + _read_only_uri(path) + "&uri=true") if readonly else f"sqlite:///{path}"
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        pool_size=5,
        max_overflow=10,
    )
    _install_sqlite_pragmas(engine, readonly=readonly)
    return engine


def _schema_state(conn: sa.Connection) -> tuple[str | None, bool]:
    """(alembic revision or None, whether any user tables exist)."""
    inspector = sa.inspect(conn)
    tables = [t for t in inspector.get_table_names() if not t.startswith("sqlite_")]
    if "alembic_version" not in tables:
        return None, bool(tables)
    row = conn.execute(sa.text("SELECT version_num FROM alembic_version")).first()
    return (row[0] if row else None), True


def _server_engine_options(url: str) -> dict[str, Any]:
    """Engine options for a server database.

    psycopg's dialect looks up the ``hstore`` type on every new connection (a catalog query, a
    round trip a one-shot command pays at start-up); pycrm has no hstore column, so it is off.
    """
    driver = url.split("://", 1)[0]
    if driver in ("postgresql+psycopg", "postgresql+psycopg2"):
        return {"use_native_hstore": False}
    return {}


# SQLSTATE of "relation does not exist" (PostgreSQL).
_UNDEFINED_TABLE = "42P01"


def _server_schema_state(conn: sa.Connection) -> tuple[str | None, bool]:
    """:func:`_schema_state` for a server database, in one query when it is a pycrm database.

    Reflecting the table names first (a catalog query SQLAlchemy compiles in Python) cost every
    command ~10-15 ms at start-up. The version table is read directly, as the inspection found it
    (the one visible on the search path); when no revision is found that way, the schema is
    inspected as before.
    """
    try:
        row = conn.execute(_SERVER_REVISION).first()
    except sa.exc.ProgrammingError as exc:
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        if code != _UNDEFINED_TABLE:
            raise
        conn.rollback()
        row = None
    return (row[0], True) if row else _schema_state(conn)


_SERVER_REVISION = sa.text("SELECT version_num FROM alembic_version")


def open_database(db: str, *, create: bool = True, upgrade: bool = True) -> Database:
    """Open (creating or upgrading when needed) the pycrm database at a path or URL.

    Refuses, without modifying anything, a file that is not a pycrm database and a schema newer
    than this version knows. An older schema is first copied to a timestamped backup beside it.
    """
    url = resolve_url(db)
    path: Path | None = None
    readonly = False
    fresh = False
    probed: tuple[str | None, bool] | None = None
    if url.startswith("sqlite") and not url.startswith("sqlite:///"):
        # SQLAlchemy's sqlite:// is a database in memory, gone when the command ends; it used
        # to become a file named "sqlite:" in the working directory.
        raise DatabaseError(
            f"cannot use database URL {url!r}: give a file path or sqlite:///PATH "
            "(a database in memory would keep nothing)"
        )
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        if path.exists() and path.stat().st_size > 0:
            _check_sqlite_file(path)
            # A read-only look first: a foreign file is never modified. Its answer is the schema
            # state, so the engine need not ask again (a quick command saves a round of queries).
            probed = _probe_sqlite_schema(path)
            readonly = not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK)
        elif path.exists():
            fresh = True
        else:
            if not create:
                raise DatabaseError(f"no database at {path} (run `pycrm init` to create one)")
            try:
                _create_private_file(path)
            except OSError as exc:
                raise DatabaseError(f"cannot create {path}: {exc.strerror}") from exc
            fresh = True
        engine = _sqlite_engine(path, readonly=readonly)
    else:
        try:
            engine = sa.create_engine(url, pool_pre_ping=True, **_server_engine_options(url))
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise DatabaseError(f"cannot use database URL {display_url(url)!r}: {exc}") from exc
    database = Database(url=url, engine=engine, path=path, readonly=readonly)
    if path is not None and not readonly:
        database._write_engine = engine.execution_options(pycrm_write=True)
    if probed is not None:
        revision, has_tables = probed
    else:
        try:
            with engine.connect() as conn:
                revision, has_tables = (
                    _server_schema_state(conn)
                    if engine.dialect.name == "postgresql"
                    else _schema_state(conn)
                )
        except sa.exc.DatabaseError as exc:
            engine.dispose()
            where = path or display_url(url)
            if path is not None and "not a database" in str(exc.orig):
                raise NotPycrmDatabase(f"{where} is not a pycrm database; left untouched") from exc
            raise DatabaseError(f"cannot open {where}: {exc.orig}") from exc
    if revision is None:
        if has_tables:
            engine.dispose()
            raise NotPycrmDatabase(
                f"{database.where} is not a pycrm database (it has other tables); left untouched"
            )
        fresh = True
    elif revision not in KNOWN_REVISIONS:
        engine.dispose()
        raise NewerSchema(
            f"{database.where} was written by a newer pycrm (schema {revision}); "
            "upgrade pycrm to open it. The file was left untouched."
        )
    if fresh:
        if readonly:
            raise ReadOnlyDatabase(f"{path} is empty and read-only")
        _create_schema(database)
        _seed_defaults(database)
    elif revision != SCHEMA_HEAD:
        if not upgrade:
            raise DatabaseError(f"{database.where} needs `pycrm db upgrade` (schema {revision})")
        if readonly:
            raise ReadOnlyDatabase(f"{path} needs a schema upgrade but is read-only")
        if path is not None:
            database.backup_path = sqlite_backup(
                path, path.with_name(default_backup_name(path, f"pre-{SCHEMA_HEAD}"))
            )
        _run_migrations(database)
        database.upgraded_from = revision
    return database


def current_revision(database: Database) -> str | None:
    """The schema revision stored in the database."""
    with database.engine.connect() as conn:
        return _schema_state(conn)[0]


def _alembic_config(connection: sa.Connection) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.attributes["connection"] = connection
    return cfg


def _create_schema(database: Database) -> None:
    """The current schema on a new database: on SQLite from the one script the migrations add up
    to (``migrations/sqlite_head.py``, kept equal by a test; Alembic is never imported), else by
    running the migrations."""
    if database.is_sqlite:
        from pycrm.migrations import sqlite_head

        if sqlite_head.REVISION == SCHEMA_HEAD:
            with database.engine.begin() as conn:
                sqlite_head.apply(conn.exec_driver_sql)
            return
    _run_migrations(database)


def _run_migrations(database: Database) -> None:
    """Bring the schema to head; on SQLite with foreign keys off, then checked."""
    from alembic import command

    with database.engine.connect() as conn:
        if database.is_sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        command.upgrade(_alembic_config(conn), "head")
        conn.commit()
        if database.is_sqlite:
            problems = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            if problems:
                raise DatabaseError(f"schema upgrade left {len(problems)} broken references")


def _seed_defaults(database: Database) -> None:
    """Insert the default pipeline stages into a new database."""
    from pycrm.services import stages

    with database.write("create database", source="system") as session:
        stages.ensure_default_stages(session)


def integrity_problems(database: Database) -> list[str]:
    """Run SQLite's integrity and foreign-key checks; an empty list means healthy."""
    problems: list[str] = []
    if not database.is_sqlite:
        with database.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return problems
    with database.engine.connect() as conn:
        for (msg,) in conn.exec_driver_sql("PRAGMA integrity_check").fetchall():
            if msg != "ok":
                problems.append(f"integrity: {msg}")
        for row in conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall():
            problems.append(f"foreign key: table {row[0]} rowid {row[1]} → {row[2]}")
        try:
            conn.exec_driver_sql(
                "INSERT INTO search_index(search_index, rank) VALUES('integrity-check', 0)"
            )
        except sa.exc.DatabaseError as exc:
            # A read-only file cannot run the check (it is an INSERT); a damaged index raises
            # "database disk image is malformed" (it used to end `db check` in a traceback).
            if not (database.readonly or "readonly" in str(exc.orig)):
                problems.append(f"search index: {exc.orig}")
    return problems


def table_counts(database: Database) -> dict[str, int]:
    """Row counts per pycrm table."""
    counts: dict[str, int] = {}
    with database.engine.connect() as conn:
        inspector = sa.inspect(conn)
        for name in sorted(inspector.get_table_names()):
            if name.startswith("sqlite_") or name.startswith("search_"):
                continue
            counts[name] = conn.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one()
    return counts


def restore_backup(database_path: Path, backup: Path) -> Path:
    """Replace ``database_path`` with a copy of ``backup``; the old file is kept beside it."""
    _check_sqlite_file(backup)
    probe = open_database(str(backup), create=False, upgrade=False)
    problems = integrity_problems(probe)
    probe.close()
    if problems:
        raise DatabaseError(f"{backup} fails its integrity check: {problems[0]}")
    keep = database_path.with_name(default_backup_name(database_path, "before-restore"))
    if database_path.exists():
        sqlite_backup(database_path, keep)
    tmp = database_path.with_name(database_path.name + ".restoring")
    if tmp.exists():
        tmp.unlink()
    sqlite_backup(backup, tmp)
    for suffix in ("-wal", "-shm"):
        side = Path(str(database_path) + suffix)
        if side.exists():
            side.unlink()
    os.replace(tmp, database_path)
    return keep


def copy_file_private(source: Path, target: Path) -> None:
    """Copy a file and make the copy 0600."""
    shutil.copyfile(source, target)
    os.chmod(target, 0o600)
