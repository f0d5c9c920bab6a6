"""The database file and its URL, without SQLAlchemy: names, errors, and a plain read-only look.

``pycrm.db`` opens databases through SQLAlchemy; importing it costs a one-shot command ~0.4 s on
a 2-core laptop. What can be decided before that (is this a file, is it pycrm's, which schema)
lives here, and so does :func:`open_sqlite_reader`, the plain ``sqlite3`` connection `pycrm find`
searches through when the file needs nothing done to it first.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

# The Alembic revisions this version knows, oldest first. A test checks it against migrations/.
KNOWN_REVISIONS: tuple[str, ...] = (
    "0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009",
)  # fmt: skip
SCHEMA_HEAD = KNOWN_REVISIONS[-1]
BUSY_TIMEOUT_MS = 30_000
SQLITE_HEADER = b"SQLite format 3\x00"


class DatabaseError(Exception):
    """A problem opening or using the database, with a message a person can act on."""


class NotPycrmDatabase(DatabaseError):
    """The file or server database exists but was not made by pycrm."""


class NewerSchema(DatabaseError):
    """The database was written by a newer pycrm than this one."""


class ReadOnlyDatabase(DatabaseError):
    """A write was attempted on a database opened read-only."""


def is_url(db: str) -> bool:
    """True when ``db`` is a SQLAlchemy URL rather than a file path."""
    return "://" in db


def resolve_url(db: str) -> str:
    """A file path becomes a ``sqlite:///`` URL; URLs pass through."""
    if is_url(db):
        if db.startswith("postgresql://") or db.startswith("postgres://"):
            return "postgresql+psycopg://" + db.split("://", 1)[1]
        return db
    return "sqlite:///" + str(Path(db).expanduser().resolve())


def display_url(url: str) -> str:
    """``url`` with its password hidden, for messages (``postgresql://ana:***@host/crm``)."""
    scheme, sep, rest = url.partition("://")
    credentials, at, place = rest.rpartition("@")
    if not sep or not at or ":" not in credentials:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{place}"


def _create_private_file(path: Path) -> None:
    """Create an empty file readable only by its owner (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)


def _check_sqlite_file(path: Path) -> None:
    if path.is_dir():
        raise NotPycrmDatabase(f"{path} is a directory, not a pycrm database")
    try:
        with path.open("rb") as fh:
            header = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise DatabaseError(f"cannot read {path}: {exc.strerror}") from exc
    if header != SQLITE_HEADER:
        raise NotPycrmDatabase(
            f"{path} is not a pycrm database (not an SQLite file); left untouched"
        )


def _read_only_uri(path: Path) -> str:
    """A read-only URI for the file. A WAL database whose folder we cannot write (no -shm file
    can be made) opens only as immutable; that is what a read-only copy needs anyway."""
    uri = f"file:{path}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:
        if "readonly" not in str(exc) and "unable to open" not in str(exc):
            raise
        uri += "&immutable=1"
    return uri


# Front ends may set this to tell the user why opening the file waits (the CLI prints it).
open_wait_notice: Callable[[str], None] | None = None
LOCK_NOTICE_AFTER_MS = 1_000


def is_lock_error(exc: sqlite3.OperationalError) -> bool:
    """Whether sqlite3 failed because another connection holds a lock."""
    return "locked" in str(exc) or "busy" in str(exc)


def execute_waiting(
    conn: sqlite3.Connection, statement: str, notice: Callable[[str], None] | None, why: str
) -> None:
    """Run ``statement``; when another program's lock has kept it waiting a second, call
    ``notice(why)`` and keep waiting up to the busy timeout (then sqlite3's "database is locked"
    error is raised)."""
    conn.execute(f"PRAGMA busy_timeout={LOCK_NOTICE_AFTER_MS}")
    try:
        try:
            conn.execute(statement).fetchall()
            return
        except sqlite3.OperationalError as exc:
            if not is_lock_error(exc):
                raise
        if notice is not None:
            notice(why)
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS - LOCK_NOTICE_AFTER_MS}")
        conn.execute(statement).fetchall()
    finally:
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def _first_read(conn: sqlite3.Connection) -> None:
    """Read the schema once, saying why after a second of waiting. In WAL mode readers never
    wait: only a first import writing with the rollback journal (``io/csv_write_ahead.py``)
    keeps them out, until it ends."""
    execute_waiting(
        conn,
        "SELECT count(*) FROM sqlite_master",
        open_wait_notice,
        "an import is writing the database; waiting for it to finish…",
    )


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection, as :func:`_read_only_uri` decides, but opened once: the connection
    that proves ``mode=ro`` works is the one returned."""
    uri = f"file:{path}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            _first_read(conn)
        except BaseException:
            conn.close()
            raise
        return conn
    except sqlite3.OperationalError as exc:
        if "readonly" not in str(exc) and "unable to open" not in str(exc):
            raise
    return sqlite3.connect(uri + "&immutable=1", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)


def _probe_sqlite_schema(path: Path) -> tuple[str | None, bool]:
    """Refuse foreign or newer SQLite files using a read-only connection (no WAL switch).

    Returns what :func:`pycrm.db._schema_state` would: (alembic revision or None, whether tables
    exist).
    """
    conn = _open_checked(path)
    try:
        return _probe_connection(conn, path)
    finally:
        conn.close()


def _open_checked(path: Path) -> sqlite3.Connection:
    """:func:`_connect_read_only`, its failures told as a person can act on them."""
    try:
        return _connect_read_only(path)
    except sqlite3.OperationalError as exc:
        raise DatabaseError(f"cannot open {path}: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        raise NotPycrmDatabase(f"{path} is not a pycrm database ({exc}); left untouched") from exc


def _probe_connection(conn: sqlite3.Connection, path: Path) -> tuple[str | None, bool]:
    """:func:`_probe_sqlite_schema` on an open connection."""
    try:
        tables = {
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            if not r[0].startswith("sqlite_")
        }
        revision = None
        if "alembic_version" in tables:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = row[0] if row else None
    except sqlite3.OperationalError as exc:
        raise DatabaseError(f"cannot open {path}: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        raise NotPycrmDatabase(f"{path} is not a pycrm database ({exc}); left untouched") from exc
    if revision is None and tables:
        raise NotPycrmDatabase(
            f"{path} is not a pycrm database (it has other tables); left untouched"
        )
    if revision is not None and revision not in KNOWN_REVISIONS:
        raise NewerSchema(
            f"{path} was written by a newer pycrm (schema {revision}); "
            "upgrade pycrm to open it. The file was left untouched."
        )
    return revision, bool(tables)


def open_sqlite_reader(db: str) -> sqlite3.Connection | None:
    """A plain read-only connection to an existing pycrm SQLite file at the current schema, in a
    transaction (one snapshot for every query), or None when the database is anything else: a
    server URL, a missing or empty file, an older schema. The caller then opens it the usual
    way, which creates, upgrades or refuses it. A foreign or newer file is refused here with the
    same errors as :func:`pycrm.db.open_database`.
    """
    url = resolve_url(db)
    if not url.startswith("sqlite:///"):
        return None
    path = Path(url.removeprefix("sqlite:///"))
    if not path.is_file() or path.stat().st_size == 0:
        return None
    _check_sqlite_file(path)
    # A read-only look first, as open_database takes: a foreign file is never modified.
    revision, _tables = _probe_sqlite_schema(path)
    if revision != SCHEMA_HEAD:
        return None
    # Then a read-write connection refused every change to the file (temporary tables are
    # allowed: search builds one), where the file may be written: the last connection to
    # close a WAL database removes its -wal and -shm files, which a read-only one cannot do.
    writable = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000) if writable else None
    except sqlite3.OperationalError as exc:
        raise DatabaseError(f"cannot open {path}: {exc}") from exc
    conn = conn or _open_checked(path)
    try:
        conn.isolation_level = None
        if writable:
            conn.set_authorizer(_reads_only)
        conn.execute("BEGIN")
    except BaseException:
        conn.close()
        raise
    return conn


_CHANGES = frozenset(
    getattr(sqlite3, name)
    for name in dir(sqlite3)
    if name.startswith(("SQLITE_INSERT", "SQLITE_UPDATE", "SQLITE_DELETE", "SQLITE_CREATE_"))
    or name.startswith(("SQLITE_DROP_", "SQLITE_ALTER_TABLE", "SQLITE_REINDEX", "SQLITE_ANALYZE"))
)


def _reads_only(
    action: int, table: str | None, value: str | None, schema: str | None, _src: str | None
) -> int:
    """An authorizer refusing any change to the file. Changes to ``temp`` are allowed, and so is
    the schema table's own update (SQLite makes it internally when a temporary virtual table
    is created, naming it "main"; SQL cannot write that table unless a pragma is set, and
    setting pragmas is refused)."""
    if action in _CHANGES and schema not in ("temp", None) and table != "sqlite_master":
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_PRAGMA and value is not None:  # setting one (writable_schema)
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def open_postgres_reader(db: str) -> Any | None:
    """A plain psycopg connection in a read-only transaction to a pycrm PostgreSQL database at
    the current schema, or None when ``db`` is anything else or the look fails (no pycrm tables,
    another schema): the caller then opens it the usual way, which upgrades it or says what is
    wrong in its own words. A server that cannot be reached (down, a wrong password, no such
    database) raises :class:`DatabaseError` here, as the usual way would after trying again:
    an unreachable host then costs one connection timeout, not two.

    The quick commands read a server database through it: SQLAlchemy's import (~0.4 s) is most
    of a one-shot command's time, psycopg's alone ~0.25 s.
    """
    url = resolve_url(db)
    if not url.startswith("postgresql+psycopg://"):
        return None
    try:
        import psycopg
    except ImportError:
        return None
    try:
        conn = psycopg.connect("postgresql://" + url.split("://", 1)[1], connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise DatabaseError(f"cannot open {display_url(url)}: {exc}") from exc
    except psycopg.Error:
        return None
    try:
        conn.read_only = True
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        if row is not None and row[0] == SCHEMA_HEAD:
            return conn
    except psycopg.Error:
        pass
    conn.close()
    return None
