"""Keeping the SQLite FTS5 search index current during bulk writes.

Row triggers keep ``search_index`` in step with single edits. Bulk writers (imports, demo data,
reverting an import) instead switch the triggers off inside their own transaction, write, and then
rebuild the affected documents set-wise: the same result, about eight times faster at 100k rows.
Other connections never see the switch: it is part of the uncommitted transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.orm import Session

# entity → (table, a column whose self-assignment fires the table's "after update" trigger)
_TOUCH = {
    "contact": ("contact", "display_name"),
    "company": ("company", "name"),
    "deal": ("deal", "title"),
}


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


@contextmanager
def triggers_paused(session: Session) -> Iterator[None]:
    """Switch the search triggers off for the rest of this block (SQLite; no-op elsewhere)."""
    if not _is_sqlite(session):
        yield
        return
    session.flush()
    session.execute(sa.text("UPDATE search_sync SET enabled = 0 WHERE id = 1"))
    try:
        yield
    finally:
        session.flush()
        session.execute(sa.text("UPDATE search_sync SET enabled = 1 WHERE id = 1"))


# The contact document, as the triggers build it (a test checks both give the same index).
_CONTACT_DOCS = """
INSERT INTO search_index(rowid, name, emails, phones, tags, notes)
SELECT c.id * 4, c.display_name,
  (SELECT group_concat(e.email, ' ') FROM contact_email e WHERE e.contact_id = c.id),
  (SELECT group_concat(p.number || ' ' || coalesce(p.raw, ''), ' ')
     FROM contact_phone p WHERE p.contact_id = c.id),
  (SELECT group_concat(t.name, ' ') FROM contact_tag ct JOIN tag t ON t.id = ct.tag_id
     WHERE ct.contact_id = c.id),
  coalesce(c.notes, '') || ' ' || coalesce(c.title, '')
FROM contact c WHERE c.id IN (SELECT value FROM json_each(:ids))
"""


def refresh(session: Session, entity: str, ids: Iterable[int], *, new: bool = True) -> None:
    """Rebuild the search documents of these records (call with the triggers on).

    ``new`` says the records have no document yet (just inserted), so contacts can be indexed
    with one set-based statement instead of a trigger per row.
    """
    if not _is_sqlite(session) or entity not in _TOUCH:
        return
    table, column = _TOUCH[entity]
    id_list = list(ids)
    for start in range(0, len(id_list), 50_000):
        chunk = json.dumps(id_list[start : start + 50_000])
        if entity == "contact" and new:
            session.execute(sa.text(_CONTACT_DOCS), {"ids": chunk})
            continue
        session.execute(
            sa.text(
                f"UPDATE {table} SET {column} = {column} "
                "WHERE id IN (SELECT value FROM json_each(:ids))"
            ),
            {"ids": chunk},
        )


def refresh_range(session: Session, entity: str, low: int, high: int) -> None:
    """Build the search documents of the new records with ids ``low..high`` (triggers on).

    For a streamed import's contacts, whose ids are one contiguous run: one set-based statement
    over a primary-key range instead of a list of ids.
    """
    if not _is_sqlite(session) or entity not in _TOUCH:
        return
    if entity != "contact":
        refresh(session, entity, range(low, high + 1))
        return
    statement = _CONTACT_DOCS.replace(
        "c.id IN (SELECT value FROM json_each(:ids))", "c.id BETWEEN :low AND :high"
    )
    session.execute(sa.text(statement), {"low": low, "high": high})


@contextmanager
def insert_triggers_dropped(session: Session, tables: Iterable[str]) -> Iterator[None]:
    """Drop these tables' after-insert search triggers for the rest of this block (SQLite).

    Even with the triggers paused, SQLite runs each row trigger's program for every row, and one
    that writes to the FTS5 table costs about as much as the insert itself (20,000 contacts:
    0.72 s with the trigger, 0.33 s without). So bulk writers drop them inside their own
    transaction and re-create them from their stored SQL before the block ends: DDL is
    transactional in SQLite, so other connections never see them missing, and a rollback or a
    crash brings them back with everything else. The caller rebuilds the documents set-wise.
    """
    if not _is_sqlite(session):
        yield
        return
    names = [f"{table}_ai" for table in tables]
    session.flush()
    saved = session.execute(
        sa.text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN :names"
        ).bindparams(sa.bindparam("names", expanding=True)),
        {"names": names},
    ).all()
    for name, _sql in saved:
        session.connection().exec_driver_sql(f'DROP TRIGGER "{name}"')
    try:
        yield
    finally:
        session.flush()
        present = {
            name
            for (name,) in session.execute(
                sa.text(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name IN :names"
                ).bindparams(sa.bindparam("names", expanding=True)),
                {"names": names},
            )
        }
        for name, sql in saved:
            if name not in present:
                session.connection().exec_driver_sql(sql)
