"""SQL text with ``:name`` parameters, run alike on every connection pycrm reads through.

The quick commands (`find`, `contact list`, `contact show`, `today`) read a SQLite file through a
plain ``sqlite3`` connection (:func:`pycrm.dbfile.open_sqlite_reader`): importing SQLAlchemy is
~0.4 s of a one-shot command on a 2-core laptop, most of the 0.5 s each may take (issue 8,
figure 3). The app and PostgreSQL read the same statements through an ORM ``Session`` or a Core
``Connection``. So the read services (:mod:`pycrm.services.search`, ``views``, ``agenda``,
``refs``) are written once, as SQL text, and this module runs it on any of them.

What SQLAlchemy's column types did is done here by column name (:data:`DATETIME_COLUMNS`…): a
datetime comes back aware in UTC, a date as a ``date``, a flag as a ``bool`` and JSON decoded; a
test checks those names against the types of :mod:`pycrm.tables`. Parameters are bound the way
the columns store them (:func:`bind_time`, :func:`bind_day`).
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3
from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    Queryable = Session | sa.Connection | sqlite3.Connection | psycopg.Connection[Any]

# A row with attribute access by column name (a namedtuple per column list).
Record = Any

DATETIME_COLUMNS = frozenset(
    {
        "created_at", "updated_at", "stage_entered_at", "closed_at", "entered_at",
        "occurred_at", "due_at", "done_at", "snoozed_until", "starts_at", "ends_at",
        "last_touch_at",
    }
)  # fmt: skip
DATE_COLUMNS = frozenset({"expected_close", "original_close", "next_step_date"})
BOOL_COLUMNS = frozenset({"all_day", "do_not_contact", "archived"})
JSON_COLUMNS = frozenset({"exdates", "custom_fields"})


def is_psycopg(db: object) -> bool:
    """A plain psycopg connection (:func:`pycrm.dbfile.open_postgres_reader`), told apart
    without importing psycopg."""
    return type(db).__module__.startswith("psycopg")


def dialect(db: Queryable) -> str:
    """``sqlite`` or ``postgresql``."""
    if isinstance(db, sqlite3.Connection):
        return "sqlite"
    if is_psycopg(db):
        return "postgresql"
    import sqlalchemy as sa

    if isinstance(db, sa.Connection):
        return db.dialect.name
    return db.get_bind().dialect.name


def rows(db: Queryable, sql: str, params: Mapping[str, object] | None = None) -> list[Any]:
    """The raw rows (tuples) of one statement with ``:name`` parameters."""
    if isinstance(db, sqlite3.Connection):
        return db.execute(sql, params or {}).fetchall()
    if is_psycopg(db):
        cursor = db.execute(psycopg_sql(sql), params or {})  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []
    import sqlalchemy as sa

    result = db.execute(sa.text(sql), params or {})  # type: ignore[union-attr]
    return list(result.all()) if result.returns_rows else []


def scalar(db: Queryable, sql: str, params: Mapping[str, object] | None = None) -> Any:
    """The first column of the first row, or None."""
    found = rows(db, sql, params)
    return found[0][0] if found else None


def records(db: Queryable, sql: str, params: Mapping[str, object] | None = None) -> list[Record]:
    """The rows of one statement as records: attributes named after the columns, values typed
    as :mod:`pycrm.tables` types them."""
    if isinstance(db, sqlite3.Connection) or is_psycopg(db):
        kind = dialect(db)
        text = sql if kind == "sqlite" else psycopg_sql(sql)
        cursor = db.execute(text, params or {})  # type: ignore[arg-type]
        names = tuple(d[0] for d in cursor.description)
        raw: Iterable[Sequence[Any]] = cursor.fetchall()
    else:
        import sqlalchemy as sa

        result = db.execute(sa.text(sql), params or {})  # type: ignore[union-attr]
        names = tuple(result.keys())
        raw = result.all()
        kind = dialect(db)
    make, convert = _record_type(names, kind)
    if not convert:
        return [make._make(row) for row in raw]
    return [
        make._make(
            [
                f(v) if f is not None and v is not None else v
                for f, v in zip(convert, row, strict=True)
            ]
        )
        for row in raw
    ]


_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@functools.lru_cache(maxsize=512)
def psycopg_sql(sql: str) -> str:
    """``:name`` parameters as psycopg's ``%(name)s`` (a literal ``%`` doubled; ``::`` casts
    kept)."""
    return _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))


@functools.lru_cache(maxsize=256)
def _record_type(
    names: tuple[str, ...], kind: str
) -> tuple[Any, tuple[Callable[[Any], Any] | None, ...] | None]:
    """The record class for these column names, and a converter per column (None: as read)."""
    make = namedtuple("Record", names)  # type: ignore[misc]
    convert = tuple(_converter(name, kind) for name in names)
    return make, convert if any(convert) else None


def _converter(name: str, kind: str) -> Callable[[Any], Any] | None:
    if name in DATETIME_COLUMNS:
        return _utc
    if kind != "sqlite":
        return None  # psycopg gives dates, flags and JSON typed already
    if name in DATE_COLUMNS:
        return _day
    if name in BOOL_COLUMNS:
        return bool
    if name in JSON_COLUMNS:
        return json.loads
    return None


def _utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _day(value: Any) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def bind_time(kind: str, value: datetime) -> datetime | str:
    """An aware datetime as a parameter compared with a datetime column: SQLite keeps naive UTC
    text (``2026-11-22 09:30:00.000000``, SQLAlchemy's format), PostgreSQL a timestamptz."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given where an aware one is required")
    if kind != "sqlite":
        return value
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def bind_day(kind: str, value: date) -> date | str:
    """A date as a parameter compared with a date column (ISO text on SQLite)."""
    return value.isoformat() if kind == "sqlite" else value


def false(kind: str) -> str:
    """The literal a flag column is compared with (as SQLAlchemy writes it, so SQLite matches
    partial indexes declared with ``= 0``)."""
    return "0" if kind == "sqlite" else "false"


def in_list(name: str, values: Sequence[Any], params: dict[str, Any]) -> str:
    """``:name_0, :name_1, …`` for an ``IN (…)`` list, adding the values to ``params``
    (keep lists under :data:`CHUNK` for old SQLite's 999-parameter limit)."""
    if not values:
        return "NULL"  # IN (NULL) matches nothing
    for i, value in enumerate(values):
        params[f"{name}_{i}"] = value
    return ", ".join(f":{name}_{i}" for i in range(len(values)))


CHUNK = 900  # ids per IN (…) list: under SQLite's old 999-parameter limit
