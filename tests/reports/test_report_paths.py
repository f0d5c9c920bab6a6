"""The fast paths of the reports: their tables, indexes and SQL shortcuts give the same answers."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from pycrm.db import SCHEMA_HEAD, Database, open_database
from pycrm.reports import Period, run_report

NOW = datetime(2026, 11, 20, 13, tzinfo=UTC)
PG_URL = os.environ.get("PYCRM_TEST_DATABASE_URL")


@pytest.fixture
def demo(database: Database) -> Database:
    from pycrm.demo import seed_demo

    seed_demo(database, contacts=500, seed=3, now=NOW)
    return database


def test_report_tables_match_the_models(tmp_path: Path) -> None:
    """Every column the reports declare exists in pycrm.models with the same kind of type, but
    the derived ones the database keeps itself, which only the migrated schema has."""
    from pycrm import models, tables

    database = open_database(str(tmp_path / "crm.db"))
    schema = sa.inspect(database.engine)
    for name, column_name in tables.DERIVED_COLUMNS:
        assert column_name not in models.metadata.tables[name].c
        assert column_name in {c["name"] for c in schema.get_columns(name)}
    database.close()
    for name, table in tables.metadata.tables.items():
        real = models.metadata.tables[name]
        for column in table.columns:
            if (name, column.name) in tables.DERIVED_COLUMNS:
                continue
            assert column.name in real.c, f"{name}.{column.name}"
            other = real.c[column.name].type
            if isinstance(column.type, tables.UTCDateTime):
                assert type(other).__name__ == "UTCDateTime", f"{name}.{column.name}"
            else:
                same = other._type_affinity is column.type._type_affinity
                assert same, f"{name}.{column.name}"


def test_report_command_imports_neither_models_nor_orm(tmp_path: Path) -> None:
    path = tmp_path / "crm.db"
    open_database(str(path)).close()
    code = (
        "import sys\n"
        "from pycrm.cli.app import main\n"
        f"sys.argv = ['pycrm', '--db', {str(path)!r}, 'report', 'pipeline', '--format', 'json']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('pycrm.models', 'sqlmodel', 'sqlalchemy.orm.session') "
        "if m in sys.modules]\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "HEAVY []" in proc.stderr, proc.stderr


def test_session_and_connection_give_the_same_reports(demo: Database) -> None:
    for name, options in [
        ("pipeline", {"now": NOW}),
        ("activity", {"now": NOW}),
        ("customers", {"now": NOW}),
        ("sources", {}),
    ]:
        with demo.read() as session:
            a = run_report(session, name, Period(), **options).to_json()
        with demo.connect() as connection:
            b = run_report(connection, name, Period(), **options).to_json()
        assert a == b, name


def test_stale_deals_are_the_agenda_s_stale_deals(demo: Database) -> None:
    from pycrm.services.agenda import stale_deal_ids

    with demo.read() as session:
        expected = stale_deal_ids(session, NOW)[:500]
        report = run_report(session, "pipeline", Period(), now=NOW)
    assert expected, "the demo should have stale deals"
    assert [row[0] for row in report.sections[2].rows] == sorted(expected)


def test_most_contact_shortcut_matches_the_full_ranking(demo: Database) -> None:
    """Archive the busiest people so the shortcut's band is empty: the fallback gives the rest."""
    i_t, c_t = (
        sa.table("interaction", sa.column("contact_id")),
        sa.table("contact", sa.column("id"), sa.column("archived")),
    )
    with demo.read() as session:
        before = run_report(session, "activity", Period(), now=NOW).sections[3].rows
        busiest = [
            cid
            for (cid,) in session.execute(
                sa.select(i_t.c.contact_id)
                .where(i_t.c.contact_id.is_not(None))
                .group_by(i_t.c.contact_id)
                .order_by(sa.func.count().desc())
                .limit(60)
            ).all()
        ]
    with demo.write("archive the busiest") as session:
        session.execute(sa.update(c_t).where(c_t.c.id.in_(busiest)).values(archived=True))
    with demo.read() as session:
        after = run_report(session, "activity", Period(), now=NOW).sections[3].rows
    assert len(before) == len(after) == 10
    assert not {row[0] for row in after} & set(busiest)
    counts = [row[2] for row in after]
    assert counts == sorted(counts, reverse=True)


@pytest.mark.parametrize(
    "period",
    [Period(), Period(datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 9, 1, tzinfo=UTC))],
    ids=["all time", "a quarter"],
)
def test_sqlite_counts_weeks_from_the_week_index(sqlite_db: Database, period: Period) -> None:
    """The weekly GROUP BY must match ix_interaction_week exactly, or SQLite sorts every row."""
    plans: list[str] = []

    @sa.event.listens_for(sqlite_db.engine, "before_cursor_execute")
    def explain(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "weekday 0" in statement and not statement.startswith("EXPLAIN"):
            rows = cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
            plans.append(" / ".join(r[-1] for r in rows))

    with sqlite_db.connect() as connection:
        run_report(connection, "activity", period, now=NOW)
    assert plans and "ix_interaction_week" in plans[0], plans
    assert "TEMP B-TREE FOR GROUP BY" not in plans[0], plans


def _indexes(database: Database) -> set[str]:
    with database.engine.connect() as conn:
        if database.is_sqlite:  # the inspector skips expression indexes there
            return set(
                conn.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'ix_%'"
                ).scalars()
            )
        inspector = sa.inspect(conn)
        return {
            ix["name"]
            for table in ("interaction", "contact")
            for ix in inspector.get_indexes(table)
            if ix["name"]
        }


REPORT_INDEXES = {
    "ix_interaction_deal_occurred",
    "ix_interaction_contact_type",
    "ix_interaction_company_type",
    "ix_contact_source_campaign",
}


def _downgrade_to_0001(database: Database) -> None:
    from alembic import command

    from pycrm.db import _alembic_config

    with database.engine.connect() as conn:
        command.downgrade(_alembic_config(conn), "0001")
        conn.commit()


def test_sqlite_0001_file_is_upgraded_to_head(db_path: Path) -> None:
    from pycrm.db import current_revision
    from pycrm.demo import count_rows, seed_demo

    database = open_database(str(db_path))
    assert REPORT_INDEXES | {"ix_interaction_week"} <= _indexes(database)
    seed_demo(database, contacts=30, seed=5, now=NOW)
    counts = count_rows(database)
    _downgrade_to_0001(database)
    assert current_revision(database) == "0001"
    assert not REPORT_INDEXES & _indexes(database)
    database.close()

    upgraded = open_database(str(db_path))
    assert upgraded.upgraded_from == "0001" and upgraded.backup_path is not None
    assert current_revision(upgraded) == SCHEMA_HEAD
    assert REPORT_INDEXES | {"ix_interaction_week"} <= _indexes(upgraded)
    assert count_rows(upgraded) == counts
    upgraded.close()


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="PYCRM_TEST_DATABASE_URL is not set")
def test_postgres_0001_database_is_upgraded_to_head() -> None:
    """A 0001 database in a schema of its own (the shared test database is never downgraded)."""
    from alembic import command

    from pycrm.db import _alembic_config, current_revision

    assert PG_URL
    schema = f"upgrade_test_{os.getpid()}"
    # public stays on the path for the extensions' operators (pg_trgm, unaccent); an empty
    # alembic_version of its own keeps Alembic from seeing the one in public.
    url = sa.make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema},public"})
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        conn.execute(
            sa.text(
                f'CREATE TABLE "{schema}".alembic_version (version_num VARCHAR(32) NOT NULL, '
                "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
            )
        )
    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            command.upgrade(_alembic_config(conn), "0001")
            conn.commit()
        with engine.connect() as conn:
            assert (
                conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0001"
            )
        engine.dispose()

        upgraded = open_database(url.render_as_string(hide_password=False))
        assert upgraded.upgraded_from == "0001"
        assert current_revision(upgraded) == SCHEMA_HEAD
        with upgraded.engine.connect() as conn:
            names = set(
                conn.execute(
                    sa.text("SELECT indexname FROM pg_indexes WHERE schemaname = :s"), {"s": schema}
                ).scalars()
            )
        assert REPORT_INDEXES | {"ix_interaction_occurred_type"} <= names
        with upgraded.connect() as connection:
            report = run_report(connection, "activity", Period(), now=NOW)
        assert report.summary["interactions"] == 0  # its own, empty tables
        upgraded.close()
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.mark.parametrize("by", ["contact", "company"])
def test_customers_rfm_matches_the_quintile_reference(demo: Database, by: str) -> None:
    """Scores, segments, sort orders, limit and segment filter as the Python reference has them."""
    from pycrm import tables as t
    from pycrm.reports.customers import quintiles, segment

    owner = t.deal.c.contact_id if by == "contact" else t.deal.c.company_id
    with demo.read() as session:
        won = session.execute(
            sa.select(owner, t.deal.c.currency, sa.func.sum(t.deal.c.amount), sa.func.count(),
                      sa.func.max(t.deal.c.closed_at))
            .join(t.stage, t.stage.c.id == t.deal.c.stage_id)
            .where(t.stage.c.kind == "won", owner.is_not(None))
            .group_by(owner, t.deal.c.currency)
        ).all()  # fmt: skip
        report = run_report(session, "customers", Period(), now=NOW, by=by)

        def listed(**options: object) -> list[list[object]]:
            return (
                run_report(session, "customers", Period(), now=NOW, by=by, **options)
                .sections[0]
                .rows
            )

        by_frequency, by_name, by_recency = (
            listed(sort="frequency"),
            listed(sort="name"),
            listed(sort="recency"),
        )
        top, champions = listed(limit=5), listed(segment_filter=" champions ")
    expected: dict[tuple[int, str], tuple[int, int, int, str]] = {}
    for currency in sorted({w[1] for w in won}):
        group = [w for w in won if w[1] == currency]
        rs = quintiles([-(NOW - w[4]).total_seconds() for w in group])
        fs = quintiles([float(w[3]) for w in group])
        ms = quintiles([float(w[2]) for w in group])
        for w, r, f, m in zip(group, rs, fs, ms, strict=True):
            expected[(w[0], currency)] = (r, f, m, segment(r, f))
    rows = report.sections[0].rows
    assert len(rows) == len(won) > 10
    assert {(r[0], r[2]): (r[9], r[10], r[11], r[12]) for r in rows} == expected
    assert len({r[12] for r in rows}) > 1

    def ordered(items: list[list[object]], key: object) -> bool:
        keys = [key(r) for r in items]  # type: ignore[operator]
        return keys == sorted(keys)

    assert ordered(rows, lambda r: (r[2], -r[3], r[1]))
    assert ordered(by_frequency, lambda r: (-r[4], r[1]))
    assert ordered(by_recency, lambda r: (-r[7].toordinal(),))
    assert ordered(by_name, lambda r: (r[1].casefold(), r[2]))
    assert top == rows[:5]
    assert champions == [r for r in rows if r[12] == "Champions"]


@pytest.mark.parametrize("dense", [1, 5, 1000])
def test_most_contact_equals_the_full_ranking(
    demo: Database, dense: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Walking names (dense counts) and grouping (sparse ones) both give the plain ranking."""
    from pycrm import tables as t
    from pycrm.reports import activity

    monkeypatch.setattr(activity, "DENSE", dense)
    i_t, c_t = t.interaction, t.contact
    ranked = (
        sa.select(i_t.c.contact_id, sa.func.count().label("n"))
        .where(i_t.c.contact_id.is_not(None))
        .group_by(i_t.c.contact_id)
        .subquery()
    )
    with demo.read() as session:
        expected = [
            list(r)
            for r in session.execute(
                sa.select(c_t.c.id, c_t.c.display_name, ranked.c.n)
                .join(ranked, ranked.c.contact_id == c_t.c.id)
                .where(c_t.c.archived == sa.false(), c_t.c.do_not_contact == sa.false())
                .order_by(ranked.c.n.desc(), c_t.c.display_name, c_t.c.id)
                .limit(25)
            ).all()
        ]
        got = run_report(session, "activity", Period(), now=NOW, top=25).sections[3].rows
    assert got == expected
