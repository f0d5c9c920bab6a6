"""contact.last_touch_at: kept by the database's triggers whoever writes interactions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from pycrm import tables as t
from pycrm.db import Database
from pycrm.services import changelog, contacts, interactions, privacy, search

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def last_touch(database: Database, contact_id: int) -> datetime | None:
    with database.engine.connect() as conn:
        value: datetime | None = conn.scalar(
            sa.select(t.contact.c.last_touch_at).where(t.contact.c.id == contact_id)
        )
    return value


def log(database: Database, contact_id: int, days_ago: int) -> int:
    with database.write("log") as s:
        logged = interactions.log_interaction(
            s,
            type="call",
            summary=f"{days_ago} days ago",
            contact_id=contact_id,
            occurred_at=NOW - timedelta(days=days_ago),
        )
        assert logged.id is not None
        return logged.id


def test_last_touch_follows_inserts_edits_deletes_and_undo(database: Database) -> None:
    with database.write("setup") as s:
        ana = contacts.create_contact(s, "Ana").id
    assert last_touch(database, ana) is None
    newest = log(database, ana, 3)
    assert last_touch(database, ana) == NOW - timedelta(days=3)
    log(database, ana, 10)  # older: the date does not move back
    assert last_touch(database, ana) == NOW - timedelta(days=3)
    with database.write("edit") as s:
        interactions.update_interaction(s, newest, occurred_at=NOW - timedelta(days=20))
    assert last_touch(database, ana) == NOW - timedelta(days=10)
    with database.write("delete") as s:
        interactions.delete_interaction(s, newest)
        batch = s.info["batch_id"]
    assert last_touch(database, ana) == NOW - timedelta(days=10)
    with database.write("undo") as s:
        changelog.revert_batch(s, batch)
    assert last_touch(database, ana) == NOW - timedelta(days=10)
    with database.read() as s:
        assert interactions.last_interaction_at(s, ana) == last_touch(database, ana)


def test_merging_moves_the_last_touch_with_the_history(database: Database) -> None:
    with database.write("setup") as s:
        keep = contacts.create_contact(s, "Ana Silva").id
        other = contacts.create_contact(s, "Ana S.").id
    log(database, keep, 30)
    log(database, other, 2)
    with database.write("merge") as s:
        privacy.merge_contacts(s, keep, other)
    assert last_touch(database, keep) == NOW - timedelta(days=2)


def test_a_new_interaction_leaves_the_search_index_alone_but_a_rename_updates_it(
    database: Database,
) -> None:
    with database.write("setup") as s:
        ana = contacts.create_contact(s, "Ana Zimmermann", notes="likes jazz").id
    log(database, ana, 1)
    with database.write("rename") as s:
        contacts.update_contact(s, ana, display_name="Ana Quintana")
    with database.read() as s:
        assert [h.id for h in search.search(s, "quintana") if h.kind == "contact"] == [ana]
        assert not [h for h in search.search(s, "zimmermann") if h.kind == "contact"]
        assert [h.id for h in search.search(s, "jazz") if h.kind == "contact"] == [ana]


def test_contact_lists_read_an_index_in_order_on_sqlite(sqlite_db: Database) -> None:
    """By name and by last touch, the first page comes straight from an index: no sort of
    everyone (ix_contact_touch must not lead with ``archived``, or the planner picks it)."""
    from pycrm.services import views

    with sqlite_db.write("setup") as s:
        ids = [contacts.create_contact(s, f"Person {i}").id for i in range(5)]
    for days_ago, cid in enumerate(ids[:3]):
        log(sqlite_db, cid, days_ago + 1)
    plans: list[str] = []

    @sa.event.listens_for(sqlite_db.engine, "before_cursor_execute")
    def explain(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        page = "FROM contact \n" in statement or "FROM contact WHERE" in statement
        if page and "LIMIT" in statement:
            rows = cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
            plans.append(" / ".join(r[-1] for r in rows))

    with sqlite_db.connect() as connection:
        recent = views.list_contacts(connection, sort="recent", limit=4)
        views.list_contacts(connection, sort="name", limit=4)
    with sqlite_db.read() as s:
        orm_recent = contacts.list_contacts(s, sort="recent", limit=4)
    assert [v.contact.id for v in recent] == [v.contact.id for v in orm_recent]
    assert [v.contact.id for v in recent] == [ids[0], ids[1], ids[2], ids[3]]
    by_recent, by_name = plans[:2]
    assert "ix_contact_touch" in by_recent and "TEMP B-TREE" not in by_recent, plans
    assert "ix_contact_name_key" in by_name and "TEMP B-TREE" not in by_name, plans
