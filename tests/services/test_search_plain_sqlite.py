"""`pycrm find` on a SQLite file searches through a plain sqlite3 connection
(pycrm.dbfile.open_sqlite_reader), never importing SQLAlchemy: the same hits as through
SQLAlchemy, a connection that cannot change the file, and the usual path whenever the file needs
something done first."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pycrm.db import Database, open_database
from pycrm.dbfile import NewerSchema, NotPycrmDatabase, open_sqlite_reader
from pycrm.demo import seed_demo
from pycrm.services import contacts
from pycrm.services import search as search_module
from pycrm.services.search import KINDS, search


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("plain") / "crm.db"
    database = open_database(str(path))
    seed_demo(database, contacts=150)
    with database.write("odd names") as s:
        for name in ("José Gonçalves", "Mary O'Neil", "[bold]Zé[/bold]", "Ünal Öztürk", "李 小龍"):
            contacts.create_contact(s, name, notes='likes tea, "quoted" NEAR(x) AND *')
    database.close()
    yield path


def _names(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT display_name FROM contact UNION ALL SELECT name FROM company")
        return [r[0] for r in rows]
    finally:
        conn.close()


def _both(path: Path, query: str, **kw: object) -> tuple[list[object], list[object]]:
    database = open_database(str(path))
    try:
        search_module._TERMS_CACHE.clear()  # each side builds its own typo vocabulary
        with database.connect() as connection:
            through_sqlalchemy = search(connection, query, **kw)  # type: ignore[arg-type]
    finally:
        database.close()
    search_module._TERMS_CACHE.clear()
    reader = open_sqlite_reader(str(path))
    assert reader is not None
    try:
        plain = search(reader, query, **kw)  # type: ignore[arg-type]
    finally:
        reader.close()
    return list(through_sqlalchemy), list(plain)


@pytest.mark.parametrize(
    "query",
    ["silva", "jose gon", "GONÇ", "o'neil", "gonsalves", "smtih", "@", "zzzzqx", "tea", "bold",
     "NEAR(x", '"', "*", "a", "empresa 1", "ünal", "小龍"],
)  # fmt: skip
def test_the_same_hits_as_through_sqlalchemy(demo: Path, query: str) -> None:
    via_sqlalchemy, plain = _both(demo, query)
    assert plain == via_sqlalchemy


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_the_same_hits_for_any_query(demo: Path, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(_names(demo)))
    start = data.draw(st.integers(0, max(0, len(name) - 1)))
    cut = data.draw(st.integers(start + 1, len(name) + 1))
    query = data.draw(st.one_of(st.just(name[start:cut]), st.text(max_size=12)))
    limit = data.draw(st.integers(1, 25))
    kinds = data.draw(st.lists(st.sampled_from(KINDS), min_size=1, unique=True))
    via_sqlalchemy, plain = _both(demo, query, limit=limit, kinds=kinds)
    assert plain == via_sqlalchemy


def test_the_reader_cannot_change_the_file(demo: Path) -> None:
    before = demo.read_bytes()
    reader = open_sqlite_reader(str(demo))
    assert reader is not None
    try:
        for sql in (
            "DELETE FROM contact",
            "UPDATE contact SET notes = 'x'",
            "CREATE TABLE t (x)",
            "DROP TABLE deal",
            "INSERT INTO search_index(search_index) VALUES ('optimize')",
            "PRAGMA writable_schema = ON",
        ):
            with pytest.raises(sqlite3.DatabaseError):
                reader.execute(sql)
        reader.execute("CREATE TEMP TABLE scratch (x)")  # search's typo pass builds one
    finally:
        reader.close()
    assert demo.read_bytes() == before
    assert sorted(p.name for p in demo.parent.iterdir()) == ["crm.db"]  # no -wal/-shm left


def test_anything_but_a_current_pycrm_file_takes_the_usual_path(tmp_path: Path) -> None:
    assert open_sqlite_reader(str(tmp_path / "missing.db")) is None
    (tmp_path / "empty.db").touch()
    assert open_sqlite_reader(str(tmp_path / "empty.db")) is None
    assert open_sqlite_reader("postgresql://nobody@localhost/none") is None
    older = tmp_path / "older.db"
    open_database(str(older)).close()
    conn = sqlite3.connect(older)
    conn.execute("UPDATE alembic_version SET version_num = '0005'")
    conn.commit()
    conn.close()
    assert open_sqlite_reader(str(older)) is None
    newer = tmp_path / "newer.db"
    open_database(str(newer)).close()
    conn = sqlite3.connect(newer)
    conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.commit()
    conn.close()
    with pytest.raises(NewerSchema):
        open_sqlite_reader(str(newer))
    foreign = tmp_path / "foreign.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE notes (x)")
    conn.commit()
    conn.close()
    with pytest.raises(NotPycrmDatabase):
        open_sqlite_reader(str(foreign))
    (tmp_path / "text.db").write_text("not a database at all, just text that is long enough")
    with pytest.raises(NotPycrmDatabase):
        open_sqlite_reader(str(tmp_path / "text.db"))


def _find(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`pycrm find` in a fresh interpreter, reporting whether SQLAlchemy was imported."""
    code = (
        "import sys\n"
        "from pycrm.cli.quick import run_quick\n"
        "code = run_quick(sys.argv[1:])\n"
        "sys.stdout.flush()\n"
        "sys.stderr.write('sqlalchemy imported: %s\\n' % ('sqlalchemy' in sys.modules))\n"
        "sys.exit(code)\n"
    )
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-c", code, "--db", str(db), "find", *args],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip


def test_find_on_a_current_file_never_imports_sqlalchemy(demo: Path) -> None:
    done = _find(demo, "gonçalves", "--json")
    assert done.returncode == 0, done.stderr
    assert "José Gonçalves" in done.stdout
    assert "sqlalchemy imported: False" in done.stderr
    typo = _find(demo, "gonsalves")
    assert typo.returncode == 0 and "José Gonçalves" in typo.stdout


def test_find_creates_a_missing_database_as_before(tmp_path: Path) -> None:
    done = _find(tmp_path / "new.db", "ana")
    assert done.returncode == 0, done.stderr
    assert "nothing matches 'ana'" in done.stderr
    assert "sqlalchemy imported: True" in done.stderr
    assert oct((tmp_path / "new.db").stat().st_mode & 0o777) == "0o600"


def test_find_refuses_a_foreign_file_in_one_line(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE notes (x)")
    conn.commit()
    conn.close()
    done = _find(foreign, "ana")
    assert done.returncode == 1
    assert "is not a pycrm database" in done.stderr
    assert "Traceback" not in done.stderr
    assert Database.__name__ == "Database"  # the public type stays importable from pycrm.db
