"""Shared fixtures: a real SQLite file per test and, when configured, a real PostgreSQL database.

Set ``PYCRM_TEST_DATABASE_URL`` (``.ci/run`` does) to run every ``database`` test on PostgreSQL
too. On CI (``CI`` set) the run fails if no PostgreSQL test ran.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from pycrm.db import Database, open_database

PG_URL = os.environ.get("PYCRM_TEST_DATABASE_URL")
_pg_ran = {"passed": 0}

# Keep tests independent of the developer's locale, config file and real database.
os.environ.setdefault("PYCRM_REGION", "US")
os.environ.setdefault("PYCRM_DATE_ORDER", "dmy")
os.environ.setdefault("PYCRM_CURRENCY", "EUR")
os.environ["PYCRM_CONFIG"] = "/nonexistent-pycrm-config"
os.environ.pop("PYCRM_DB", None)
os.environ.setdefault("TZ", "America/Sao_Paulo")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where a test's SQLite file lives (not created yet)."""
    return tmp_path / "crm.db"


@pytest.fixture
def sqlite_db(db_path: Path) -> Iterator[Database]:
    """A fresh pycrm database in a real SQLite file."""
    database = open_database(str(db_path))
    yield database
    database.close()


_pg_database: Database | None = None


def _fresh_pg() -> Database:
    global _pg_database
    assert PG_URL
    if _pg_database is None:
        _pg_database = open_database(PG_URL)
    database = _pg_database
    with database.engine.begin() as conn:
        names = [t for t in sa.inspect(conn).get_table_names() if t != "alembic_version"]
        conn.execute(
            sa.text("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE")
        )
    from pycrm.services import stages

    with database.write("seed stages", source="system") as session:
        stages.ensure_default_stages(session)
    return database


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgres",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(not PG_URL, reason="PYCRM_TEST_DATABASE_URL is not set"),
            ],
        ),
    ]
)
def database(request: pytest.FixtureRequest, db_path: Path) -> Iterator[Database]:
    """The same test on a SQLite file and (when PYCRM_TEST_DATABASE_URL is set) on PostgreSQL."""
    if request.param == "sqlite":
        db = open_database(str(db_path))
        yield db
        db.close()
        return
    yield _fresh_pg()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed and "[postgres" in report.nodeid:
        _pg_ran["passed"] += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if (
        os.environ.get("CI")
        and session.testscollected
        and _pg_ran["passed"] == 0
        and exitstatus == 0
    ):
        session.config.get_terminal_writer().line(
            "CI: no PostgreSQL test ran (is PYCRM_TEST_DATABASE_URL set?)", red=True
        )
        session.exitstatus = 1
