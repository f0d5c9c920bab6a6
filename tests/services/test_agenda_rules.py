"""Today's stale-deal and due-touch answers equal a plain Python reading of their rules.

Random people, deals, tags and interactions (seeded), on SQLite and PostgreSQL; the SQL in
pycrm.services.agenda (per dialect, through the indexes of migrations 0005 and 0006) must give
the same ids, order, day counts and totals as the rules computed here row by row.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from pycrm import tables as t
from pycrm.db import Database
from pycrm.services import agenda, contacts, deals, followups, interactions, views
from tests.conftest import PG_URL

NOW = datetime(2026, 11, 22, 15, 30, 17, tzinfo=UTC)


def _ago(rng: random.Random, most_days: int) -> datetime:
    # Never a whole number of days before NOW: the SQL counts days in floating point, so a
    # difference of exactly N days may come out as N - 1e-9 (unchanged behaviour, not tested).
    return NOW - timedelta(days=rng.randrange(most_days), seconds=rng.randrange(1, 86_400))


def _random_book(database: Database, seed: int) -> None:
    rng = random.Random(seed)
    with database.write("setup") as s:
        people = [
            contacts.create_contact(
                s,
                f"person {i:03d}",
                cadence_days=rng.choice([None, None, 7, 14, 30, 60]),
                tags=["vip"] if rng.random() < 0.15 else [],
                do_not_contact=rng.random() < 0.05,
            ).id
            for i in range(160)
        ]
        deal_ids = [
            deals.create_deal(s, f"deal {i:03d}", contact_id=rng.choice(people), amount=100).id
            for i in range(90)
        ]
        for _ in range(300):
            deal_id = rng.choice(deal_ids) if rng.random() < 0.4 else None
            interactions.log_interaction(
                s, type="call", summary="x", contact_id=rng.choice(people), deal_id=deal_id,
                occurred_at=_ago(rng, 200),
            )  # fmt: skip
    stage_ids = [sid for (sid,) in _rows(database, sa.select(t.stage.c.id))]
    with database.engine.begin() as conn:
        for cid in people:
            conn.execute(
                t.contact.update()
                .where(t.contact.c.id == cid)
                .values(created_at=_ago(rng, 300), archived=rng.random() < 0.05)
            )
        # A few people created at the same moment and never touched: ranked by name.
        same = _ago(rng, 300)
        for cid in people[:6]:
            conn.execute(t.interaction.delete().where(t.interaction.c.contact_id == cid))
            conn.execute(
                t.contact.update()
                .where(t.contact.c.id == cid)
                .values(created_at=same, cadence_days=14, archived=False, do_not_contact=False)
            )
        for did in deal_ids:
            entered = _ago(rng, 120)
            conn.execute(
                t.deal.update()
                .where(t.deal.c.id == did)
                .values(
                    stage_id=rng.choice(stage_ids),
                    stage_entered_at=entered,
                    updated_at=entered + timedelta(days=rng.choice([0, 0, 3, 40])),
                )
            )


def _rows(database: Database, query: Any) -> list[Any]:
    with database.engine.connect() as conn:
        return list(conn.execute(query).all())


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _expected_stale(database: Database) -> list[int]:
    limits = {
        sid: days
        for sid, kind, days in _rows(
            database, sa.select(t.stage.c.id, t.stage.c.kind, t.stage.c.idle_days)
        )
        if kind == t.OPEN and days is not None
    }
    newest: dict[int, datetime] = {}
    for deal_id, at in _rows(
        database, sa.select(t.interaction.c.deal_id, t.interaction.c.occurred_at)
    ):
        if deal_id is not None:
            newest[deal_id] = max(newest.get(deal_id, _aware(at)), _aware(at))
    stale = []
    for did, sid, entered, updated in _rows(
        database,
        sa.select(t.deal.c.id, t.deal.c.stage_id, t.deal.c.stage_entered_at, t.deal.c.updated_at),
    ):
        if sid not in limits:
            continue
        entered, updated = _aware(entered), _aware(updated)
        last = max(entered, updated, newest.get(did, entered))
        if last < NOW - timedelta(days=limits[sid]):
            stale.append((last, -did))
    return [-neg_id for _, neg_id in sorted(stale)]


def _expected_due(database: Database) -> list[tuple[int, int | None, int]]:
    """(contact id, days since the last touch, days overdue), most overdue first, then name."""
    c_t = t.contact
    open_stages = {
        sid for sid, kind in _rows(database, sa.select(t.stage.c.id, t.stage.c.kind))
        if kind == t.OPEN
    }  # fmt: skip
    with_open_deal = {
        cid
        for cid, sid in _rows(database, sa.select(t.deal.c.contact_id, t.deal.c.stage_id))
        if sid in open_stages
    }
    vip = {
        cid
        for cid, key in _rows(
            database,
            sa.select(t.contact_tag.c.contact_id, t.tag.c.name_key).join(
                t.tag, t.tag.c.id == t.contact_tag.c.tag_id
            ),
        )
        if key == "vip"
    }
    last: dict[int, datetime] = {}
    for cid, at in _rows(
        database, sa.select(t.interaction.c.contact_id, t.interaction.c.occurred_at)
    ):
        if cid is not None:
            last[cid] = max(last.get(cid, _aware(at)), _aware(at))
    due = []
    for cid, name, cadence, created, archived, dnc in _rows(
        database,
        sa.select(
            c_t.c.id, c_t.c.display_name, c_t.c.cadence_days, c_t.c.created_at, c_t.c.archived,
            c_t.c.do_not_contact,
        ),
    ):  # fmt: skip
        if archived or dnc or (cadence is None and cid not in with_open_deal | vip):
            continue
        days = cadence or agenda.DEFAULT_CADENCE_DAYS
        since = last.get(cid, _aware(created))
        if since >= NOW - timedelta(days=days):
            continue
        elapsed = (NOW - since).total_seconds() / 86_400
        touched = int(elapsed) if cid in last else None
        due.append((since + timedelta(days=days), name, (cid, touched, int(elapsed - days))))
    return [row for _, _, row in sorted(due)]


@pytest.mark.parametrize("seed", [1, 2])
def test_stale_deals_and_people_due_a_touch_follow_the_rules(database: Database, seed: int) -> None:
    _random_book(database, seed)
    stale = _expected_stale(database)
    assert len(stale) > 5
    with database.connect() as conn:
        assert agenda.stale_deal_ids(conn, NOW) == stale
        assert agenda.first_stale_deal_ids(conn, NOW, 4) == (stale[:4], len(stale))
        assert agenda.first_stale_deal_ids(conn, NOW, len(stale) + 10) == (stale, len(stale))
    due = _expected_due(database)
    assert len(due) > 20
    assert any(touched is None for _, touched, _ in due[:10])  # the same-moment people
    for limit in (5, len(due), len(due) + 1, 1000):
        with database.connect() as conn:
            found, total = agenda.due_touch(conn, NOW, limit=limit)
        assert total == len(due), limit
        assert [(d.contact_id, d.days_since, d.overdue_days) for d in found] == due[:limit]


def test_open_follow_ups_by_due_date_follow_the_rule(database: Database) -> None:
    rng = random.Random(3)
    with database.write("setup") as s:
        ana = contacts.create_contact(s, "Ana").id
        made = [
            followups.create_followup(
                s, f"promise {i}", contact_id=ana, priority=rng.choice([0, 0, 1, 2]),
                due_at=NOW + timedelta(hours=rng.randrange(-24 * 3, 24 * 3)),
            ).id
            for i in range(120)
        ]  # fmt: skip
    with database.engine.begin() as conn:
        conn.execute(t.followup.update().where(t.followup.c.id.in_(made[::4])).values(done_at=NOW))
    rows = _rows(
        database,
        sa.select(t.followup.c.id, t.followup.c.due_at, t.followup.c.priority).where(
            t.followup.c.done_at.is_(None)
        ),
    )
    start, end = NOW - timedelta(hours=5), NOW + timedelta(hours=19)
    for since, until in ((None, start), (start, end), (None, None)):
        expected = [
            fid
            for due, neg_priority, fid in sorted((_aware(d), -(p or 0), i) for i, d, p in rows)
            if (since is None or due >= since) and (until is None or due < until)
        ]
        assert len(expected) > 8
        with database.connect() as conn:
            assert views.count_open_followups(conn, since=since, until=until) == len(expected)
            for limit in (3, None):
                found = views.list_followups(conn, since=since, until=until, limit=limit)
                assert [f.followup.id for f in found] == expected[:limit]


def test_one_persons_open_follow_ups_keep_their_index_on_sqlite(sqlite_db: Database) -> None:
    """ix_followup_open_due must not be taken for ``contact show``'s follow-ups (it would read
    every open follow-up instead of the person's few)."""
    f_t = t.followup
    query = (
        sa.select(f_t.c.id)
        .where(f_t.c.done_at.is_(None), f_t.c.contact_id == 1)
        .order_by(f_t.c.due_at, f_t.c.priority.desc(), f_t.c.id)
    )
    with sqlite_db.engine.connect() as conn:
        compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
        plan = " / ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
    assert "ix_followup_contact_id" in plan, plan


def test_the_stale_rule_reads_indexes_only_on_sqlite(sqlite_db: Database) -> None:
    """No wide deal row is read: dates from ix_deal_stage_activity, the newest interaction per
    deal from ix_interaction_deal_occurred (migration 0006)."""
    limits = [(1, 14), (2, 21)]
    query = agenda.stale_deal_sql(limits, NOW, "sqlite", counted=True)
    assert query is not None
    sql, params = query
    with sqlite_db.engine.connect() as conn:
        plan = " / ".join(
            row[-1] for row in conn.execute(sa.text(f"EXPLAIN QUERY PLAN {sql}"), params)
        )
    assert "COVERING INDEX ix_deal_stage_activity" in plan, plan
    assert "COVERING INDEX ix_interaction_deal_occurred" in plan, plan
    assert "SCAN deal" not in plan and "USING INDEX ix_deal_stage_id" not in plan, plan


def test_migration_0006_adds_and_removes_its_indexes(database: Database) -> None:
    from alembic import command

    from pycrm.db import _alembic_config

    ours = {"ix_deal_stage_activity", "ix_followup_open_due"}

    def indexes() -> set[str]:
        with database.engine.connect() as conn:
            inspector = sa.inspect(conn)
            return {
                ix["name"]
                for table in ("deal", "followup")
                for ix in inspector.get_indexes(table)
                if ix["name"]
            }

    assert ours <= indexes()
    try:
        with database.engine.connect() as conn:
            command.downgrade(_alembic_config(conn), "0005")
            conn.commit()
        assert not ours & indexes()
    finally:
        with database.engine.connect() as conn:
            command.upgrade(_alembic_config(conn), "head")
            conn.commit()
    assert ours <= indexes()


def _due_touch_statements(database: Database) -> list[tuple[str, Any]]:
    """The due-touch pass's two statements over contacts (the first few, the count), as sent
    to the driver, for four people due (three with a cadence, one vip)."""
    with database.write("setup") as s:
        for i in range(3):
            contacts.create_contact(s, f"cold {i}", cadence_days=7)
        contacts.create_contact(s, "vip", tags=["vip"])
    with database.engine.begin() as conn:
        conn.execute(t.contact.update().values(created_at=NOW - timedelta(days=90)))
    statements: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        statements.append((statement, params))

    sa.event.listen(database.engine, "before_cursor_execute", seen)
    try:
        with database.engine.connect() as conn:
            found, total = agenda.due_touch(conn, NOW, limit=2)
    finally:
        sa.event.remove(database.engine, "before_cursor_execute", seen)
    assert (len(found), total) == (2, 4)
    return [s for s in statements if "FROM contact" in s[0]][-2:]


def test_people_due_a_touch_are_read_from_their_index_on_sqlite(sqlite_db: Database) -> None:
    """Both due-touch statements (the first few, the count) read ix_contact_due and no contact
    row: the index's expression and WHERE must keep matching the query's text."""
    ranked, counted = _due_touch_statements(sqlite_db)
    with sqlite_db.engine.connect() as conn:
        for statement, params in (ranked, counted):
            plan = [
                row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            ]
            on_contact = [step for step in plan if " contact " in f"{step} "]
            assert on_contact, plan
            assert all("COVERING INDEX ix_contact_due" in step for step in on_contact), plan


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="PYCRM_TEST_DATABASE_URL is not set")
def test_people_due_a_touch_can_be_read_from_their_index_on_postgres() -> None:
    """Migration 0008 gives PostgreSQL ix_contact_due: its expression and WHERE must match the
    due-touch statements' text, or the planner could never take it (with sequential scans off,
    it must). Downgrading removes it; upgrading puts it back."""
    from alembic import command

    from pycrm.db import _alembic_config
    from tests.conftest import _fresh_pg

    database = _fresh_pg()
    ranked, counted = _due_touch_statements(database)
    with database.engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        for statement, params in (ranked, counted):
            plan = "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {statement}", params))
            assert "ix_contact_due" in plan, plan
        conn.rollback()

    def has_index() -> bool:
        with database.engine.connect() as conn:
            return "ix_contact_due" in {i["name"] for i in sa.inspect(conn).get_indexes("contact")}

    assert has_index()
    try:
        with database.engine.connect() as conn:
            command.downgrade(_alembic_config(conn), "0007")
            conn.commit()
        assert not has_index()
    finally:
        with database.engine.connect() as conn:
            command.upgrade(_alembic_config(conn), "head")
            conn.commit()
    assert has_index()
