"""Opening a PostgreSQL database: the one-query revision check answers as the schema inspection
did (pycrm databases, empty and foreign schemas, newer schemas, the search path)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from pycrm import db as dbmod
from tests.conftest import PG_URL

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="PYCRM_TEST_DATABASE_URL is not set"),
]


@pytest.fixture
def schemas() -> Iterator[list[str]]:
    """Two empty schemas of the test database, dropped afterwards."""
    assert PG_URL
    names = [f"t_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        for name in names:
            conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    try:
        yield names
    finally:
        with engine.begin() as conn:
            for name in names:
                conn.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')
        engine.dispose()


def _url_with_path(*schemas: str) -> str:
    """The test database's URL with this search path."""
    assert PG_URL
    joiner = "&" if "?" in PG_URL else "?"
    return PG_URL + joiner + "options=" + quote("-csearch_path=" + ",".join(schemas))


def _run(sql: str) -> None:
    assert PG_URL
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.exec_driver_sql(sql)
    engine.dispose()


def _both_states(url: str) -> tuple[tuple[str | None, bool], tuple[str | None, bool]]:
    """(the quick check's answer, the inspection's answer) on this URL."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            quick = dbmod._server_schema_state(conn)
        with engine.connect() as conn:
            inspected = dbmod._schema_state(conn)
    finally:
        engine.dispose()
    return quick, inspected


def test_pycrm_database_revision_in_one_query() -> None:
    assert PG_URL
    database = dbmod.open_database(PG_URL)
    database.close()
    quick, inspected = _both_states(PG_URL)
    assert quick == inspected == (dbmod.SCHEMA_HEAD, True)


def test_empty_schema_is_fresh(schemas: list[str]) -> None:
    quick, inspected = _both_states(_url_with_path(schemas[0]))
    assert quick == inspected == (None, False)


def test_foreign_schema_is_refused_untouched(schemas: list[str]) -> None:
    _run(f'CREATE TABLE "{schemas[0]}".orders (id int)')
    url = _url_with_path(schemas[0])
    assert _both_states(url)[0] == (None, True)
    with pytest.raises(dbmod.NotPycrmDatabase):
        dbmod.open_database(url)
    engine = sa.create_engine(PG_URL or "")
    with engine.connect() as conn:
        tables = sa.inspect(conn).get_table_names(schema=schemas[0])
    engine.dispose()
    assert tables == ["orders"]


def test_newer_schema_is_refused(schemas: list[str]) -> None:
    _run(
        f'CREATE TABLE "{schemas[0]}".alembic_version (version_num varchar(32) NOT NULL);'
        f"INSERT INTO \"{schemas[0]}\".alembic_version VALUES ('9999')"
    )
    url = _url_with_path(schemas[0])
    assert _both_states(url)[0] == ("9999", True)
    with pytest.raises(dbmod.NewerSchema):
        dbmod.open_database(url)


def test_version_table_later_on_the_path_counts(schemas: list[str]) -> None:
    # Tables visible through the search path are the database, as the inspection saw them (and
    # as every query reads them): a version table in the path's second schema is found.
    mine, other = schemas
    _run(
        f'CREATE TABLE "{mine}".orders (id int);'
        f'CREATE TABLE "{other}".alembic_version (version_num varchar(32) NOT NULL);'
        f"INSERT INTO \"{other}\".alembic_version VALUES ('9999')"
    )
    url = _url_with_path(mine, other)
    quick, inspected = _both_states(url)
    assert quick == inspected == ("9999", True)
    with pytest.raises(dbmod.NewerSchema):
        dbmod.open_database(url)


def test_empty_version_table_is_not_ours(schemas: list[str]) -> None:
    _run(f'CREATE TABLE "{schemas[0]}".alembic_version (version_num varchar(32) NOT NULL)')
    quick, inspected = _both_states(_url_with_path(schemas[0]))
    assert quick == inspected == (None, True)


def test_server_engine_skips_the_hstore_lookup() -> None:
    assert dbmod._server_engine_options("postgresql+psycopg://u@h/d") == {
        "use_native_hstore": False
    }
    assert dbmod._server_engine_options("mysql+pymysql://u@h/d") == {}
