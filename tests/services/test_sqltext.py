"""The read services' SQL text gives the same answers on a plain sqlite3 connection (the quick
commands, no SQLAlchemy) as through SQLAlchemy, and types values as pycrm.tables does."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from pycrm import tables
from pycrm.db import Database, open_database
from pycrm.dbfile import open_postgres_reader, open_sqlite_reader
from pycrm.dbtypes import UTCDateTime
from pycrm.demo import seed_demo
from pycrm.services import agenda, contacts, meetings, refs, search, views
from pycrm.services.sqltext import (
    BOOL_COLUMNS,
    DATE_COLUMNS,
    DATETIME_COLUMNS,
    JSON_COLUMNS,
    bind_time,
    records,
)

NOW = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=7)


def test_typed_column_names_agree_with_the_tables() -> None:
    """A value is typed by its column's name, so a name must mean one type in every table."""
    kinds = {
        UTCDateTime: DATETIME_COLUMNS,
        sa.Date: DATE_COLUMNS,
        sa.Boolean: BOOL_COLUMNS,
        sa.JSON: JSON_COLUMNS,
    }
    seen: set[str] = set()
    for table in tables.metadata.tables.values():
        for column in table.c:
            for kind, names in kinds.items():
                typed = isinstance(column.type, kind)
                assert typed == (column.name in names), (table.name, column.name, column.type)
            seen.add(column.name)
    assert seen >= (DATETIME_COLUMNS | DATE_COLUMNS | BOOL_COLUMNS | JSON_COLUMNS)


def test_view_columns_are_the_tables_columns() -> None:
    for name, names in views.COLUMNS.items():
        assert names == tuple(c.name for c in tables.metadata.tables[name].c), name


def _seed(database: Database) -> None:
    seed_demo(database, contacts=120, seed=5)
    with database.write("odd ones") as s:
        odd = contacts.create_contact(
            s, "[bold]Zé[/bold] Ünal", notes="x", custom_fields={"shoe": "42", "é": "ü"}
        )
        odd.archived = True
        start = NOW - timedelta(days=14)
        meetings.create_meeting(
            s, "Weekly", starts_at=start, repeat="FREQ=WEEKLY", attendees=[1, 2],
            exdates=[(start + timedelta(days=7)).isoformat()],
        )  # fmt: skip


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("sqltext") / "crm.db"
    database = open_database(str(path))
    _seed(database)
    database.close()
    yield path


def _plain(database: Database) -> Any:
    """The plain connection the quick commands read ``database`` through."""
    if database.path is not None:
        return open_sqlite_reader(str(database.path))
    return open_postgres_reader(database.url)


READS: dict[str, Callable[[Any], object]] = {
    "today": lambda db: agenda.today(db, NOW.astimezone(), limit=10),
    "list name": lambda db: views.list_contacts(db, limit=30, offset=5),
    "list recent": lambda db: views.list_contacts(db, sort="recent", limit=30),
    "list value": lambda db: views.list_contacts(db, sort="value", limit=40),
    "list vip": lambda db: views.list_contacts(db, tag="VIP"),
    "show": lambda db: (
        views.contact_view(db, 1),
        views.list_deals(db, contact_id=1),
        views.list_followups(db, contact_id=1),
        views.meeting_occurrences(db, NOW, NOW + timedelta(days=365), contact_id=1),
        views.list_interactions(db, contact_id=1, limit=10),
    ),
    "archived": lambda db: views.list_contacts(db, include_archived=True, sort="recent"),
    "find": lambda db: search.search(db, "zé unal") + search.search(db, "gonsalves"),
    "refs": lambda db: [refs.resolve_contact(db, r) for r in ("1", "Zé Ünal")],
}


def test_the_same_views_on_the_plain_connection(database: Database) -> None:
    """What the quick commands read without SQLAlchemy equals what SQLAlchemy reads."""
    _seed(database)
    with database.connect() as connection:
        via_sqlalchemy = {name: read(connection) for name, read in READS.items()}
    plain = _plain(database)
    assert plain is not None and "sqlalchemy" not in type(plain).__module__
    try:
        for name, read in READS.items():
            search._TERMS_CACHE.clear()
            got = read(plain)
            assert got == via_sqlalchemy[name], name
            # The same types too (1 == True, but not in repr).
            assert repr(got) == repr(via_sqlalchemy[name]), name
    finally:
        plain.close()


PROBE = """
import sys
from pycrm.cli.quick import run_quick
code = run_quick(sys.argv[1:])
sys.stdout.flush()
sys.stderr.write("sqlalchemy imported: %s\\n" % ("sqlalchemy" in sys.modules))
sys.exit(code)
"""


def test_quick_commands_never_import_sqlalchemy(database: Database) -> None:
    _seed(database)
    where = str(database.path) if database.path is not None else database.url
    for args in (("today",), ("contact", "list", "--limit", "5"), ("contact", "show", "1"),
                 ("find", "zé")):  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-c", PROBE, "--db", where, *args],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip()
        assert "sqlalchemy imported: False" in done.stderr, args


def test_values_come_back_typed(book: Path) -> None:
    plain = open_sqlite_reader(str(book))
    assert plain is not None
    try:
        [odd] = [
            v.contact
            for v in views.list_contacts(plain, include_archived=True)
            if v.contact.archived
        ]
        day = agenda.today(plain, NOW.astimezone(), limit=5)
        deal = views.list_deals(plain, limit=1)[0].deal
    finally:
        plain.close()
    assert odd.archived is True and odd.do_not_contact is False
    assert odd.custom_fields == {"shoe": "42", "é": "ü"}
    assert odd.created_at.tzinfo is UTC
    weekly = [o for o in day.meetings if o.meeting.title == "Weekly"]
    assert weekly and isinstance(weekly[0].meeting.exdates, list)
    assert isinstance(deal.expected_close, date | None) and isinstance(deal.created_at, datetime)


def test_times_are_bound_as_sqlalchemy_stores_them(book: Path) -> None:
    """A cut-off compares with stored text: the two must have one format."""
    conn = sqlite3.connect(book)
    try:
        stored = conn.execute("SELECT created_at FROM contact LIMIT 1").fetchone()[0]
        [row] = records(conn, "SELECT created_at FROM contact WHERE id = 1")
        again = bind_time("sqlite", row.created_at)
    finally:
        conn.close()
    assert len(again) == len(stored) and again[10] == stored[10] == " "
    assert bind_time("sqlite", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == (
        "2026-01-02 03:04:05.000000"
    )
    with pytest.raises(ValueError):
        bind_time("sqlite", datetime(2026, 1, 2))
