"""Opening databases: creation, refusal of foreign or newer files, upgrades, backups."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from pycrm import db as dbmod
from pycrm.db import DatabaseError, NewerSchema, NotPycrmDatabase, open_database


def test_new_database_is_private_wal_with_fts(db_path: Path) -> None:
    database = open_database(str(db_path))
    assert oct(db_path.stat().st_mode & 0o777) == "0o600"
    with database.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 30000
        sql = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE name='search_index'"
        ).scalar()
    assert "remove_diacritics 2" in sql
    assert dbmod.integrity_problems(database) == []


def test_refuses_non_pycrm_files_untouched(tmp_path: Path) -> None:
    text_file = tmp_path / "notes.db"
    text_file.write_bytes(b"hello, not a database\n" * 10)
    before = text_file.read_bytes()
    with pytest.raises(NotPycrmDatabase):
        open_database(str(text_file))
    assert text_file.read_bytes() == before

    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE stuff(x)")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    with pytest.raises(NotPycrmDatabase):
        open_database(str(other))
    assert other.read_bytes() == before


def test_refuses_newer_schema_untouched(db_path: Path) -> None:
    open_database(str(db_path)).close()
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE alembic_version SET version_num='9999'")
    conn.commit()
    conn.close()
    before = db_path.read_bytes()
    with pytest.raises(NewerSchema):
        open_database(str(db_path))
    assert db_path.read_bytes() == before


def test_known_revisions_match_migrations() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(dbmod.__file__).parent / "migrations"))
    script = ScriptDirectory.from_config(cfg)
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    assert tuple(revisions) == dbmod.KNOWN_REVISIONS
    assert script.get_current_head() == dbmod.SCHEMA_HEAD


def test_older_schema_is_backed_up_then_upgraded(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = open_database(str(db_path))
    from pycrm.demo import count_rows, seed_demo

    seed_demo(database, contacts=40)
    counts = count_rows(database)
    database.close()
    # Pretend this version knows a newer head than the file: the file is "older".
    head = dbmod.SCHEMA_HEAD
    monkeypatch.setattr(dbmod, "KNOWN_REVISIONS", (*dbmod.KNOWN_REVISIONS, "9999"))
    monkeypatch.setattr(dbmod, "SCHEMA_HEAD", "9999")
    monkeypatch.setattr(dbmod, "_run_migrations", lambda d: None)
    upgraded = open_database(str(db_path))
    assert upgraded.upgraded_from == head
    assert upgraded.backup_path is not None and upgraded.backup_path.exists()
    assert oct(upgraded.backup_path.stat().st_mode & 0o777) == "0o600"
    assert count_rows(open_database(str(upgraded.backup_path))) == counts


def test_backup_is_consistent_and_private(sqlite_db: dbmod.Database, tmp_path: Path) -> None:
    from pycrm.demo import count_rows, seed_demo

    seed_demo(sqlite_db, contacts=30)
    target = sqlite_db.backup(tmp_path / "copy.db")
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    copy = open_database(str(target))
    assert dbmod.integrity_problems(copy) == []
    assert count_rows(copy) == count_rows(sqlite_db)


def test_core_layers_do_not_import_front_end_libraries() -> None:
    code = (
        "import sys, pycrm.services.contacts, pycrm.services.deals, pycrm.db, pycrm.models, pycrm.demo\n"
        "import pkgutil, importlib, pycrm.services, pycrm.reports, pycrm.io\n"
        "for pkg in (pycrm.services, pycrm.reports, pycrm.io):\n"
        "    for mod in pkgutil.iter_modules(pkg.__path__):\n"
        "        importlib.import_module(pkg.__name__ + '.' + mod.name)\n"
        "bad = [m for m in ('textual', 'typer', 'rich', 'click') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_env_var_selects_database(tmp_path: Path) -> None:
    target = tmp_path / "env.db"
    env = {**os.environ, "PYCRM_DB": str(target)}
    out = subprocess.run(
        [sys.executable, "-m", "pycrm", "db", "path"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert out.stdout.strip() == str(target)


def test_writer_waits_for_lock_and_says_so(db_path: Path) -> None:
    """A second writer waits (with a notice after a second) instead of failing 'database is locked'."""
    import threading

    database = open_database(str(db_path))
    notices: list[str] = []
    dbmod.lock_wait_notice = notices.append
    try:
        holder = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")
        released = threading.Event()

        def release_later() -> None:
            # The holder keeps the lock until the waiting writer has announced that it waits.
            for _ in range(200):
                if notices:
                    break
                threading.Event().wait(0.05)
            holder.execute("COMMIT")
            released.set()

        threading.Thread(target=release_later).start()
        from pycrm.services import contacts

        with database.write("add while locked") as session:
            contacts.create_contact(session, "Patient Writer")
        assert released.is_set()
        assert notices and "waiting" in notices[0]
        with database.read() as session:
            assert contacts.count_contacts(session) == 1
    finally:
        dbmod.lock_wait_notice = None
        database.close()


def test_a_reader_waits_for_an_import_holding_the_file_and_says_so(db_path: Path) -> None:
    """A first import writes with the rollback journal and keeps readers out until it ends
    (io/csv_write_ahead.py): a program opening the file then waits, saying why after a second,
    instead of failing 'database is locked'."""
    from pycrm import dbfile

    open_database(str(db_path)).close()
    holder = sqlite3.connect(db_path, isolation_level=None)
    assert holder.execute("PRAGMA journal_mode=DELETE").fetchone() == ("delete",)
    holder.execute("BEGIN EXCLUSIVE")  # as the import's writer once it spills its cache
    holder.execute("INSERT INTO setting (key, value) VALUES ('during', 'yes')")
    notices: list[str] = []

    def notice(message: str) -> None:
        notices.append(message)
        holder.execute("COMMIT")  # the import ends once the reader has said it waits

    dbfile.open_wait_notice = notice
    try:
        reader = dbfile.open_sqlite_reader(str(db_path))
        assert reader is not None
        try:
            row = reader.execute("SELECT value FROM setting WHERE key = 'during'").fetchone()
            assert row == ("yes",)  # what the import committed
        finally:
            reader.close()
    finally:
        dbfile.open_wait_notice = None
        holder.close()
    assert notices == ["an import is writing the database; waiting for it to finish…"]


def test_db_check_reports_a_damaged_search_index_in_one_line(db_path: Path) -> None:
    from pycrm.db import integrity_problems
    from pycrm.demo import seed_demo

    database = open_database(str(db_path))
    seed_demo(database, contacts=10)
    database.close()
    conn = sqlite3.connect(db_path)
    conn.execute(
        "DELETE FROM search_index_docsize WHERE id = (SELECT min(id) FROM search_index_docsize)"
    )
    conn.commit()
    conn.close()
    done = subprocess.run(
        [sys.executable, "-m", "pycrm", "--db", str(db_path), "db", "check"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "search index: database disk image is malformed" in done.stderr
    assert integrity_problems(open_database(str(db_path))) == [
        "search index: database disk image is malformed"
    ]


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://ana:s3cret@localhost:1/crm",  # nothing listens on port 1
        "nosuch://ana:s3cret@host/crm",  # no such driver
    ],
)
def test_a_password_in_the_url_is_never_printed(url: str) -> None:
    """Error messages name the database, not its password (cron mails, terminals, logs)."""
    for args in (("today",), ("contact", "add", "Ana"), ("db", "stats", "--json")):
        done = subprocess.run(
            [sys.executable, "-m", "pycrm", "--db", url, *args],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode != 0
        assert "s3cret" not in done.stdout + done.stderr
        assert "ana:***@" in done.stderr, done.stderr


def _schema(path: Path) -> tuple[list[tuple[str, str, str, str | None]], list[tuple[object, ...]]]:
    conn = sqlite3.connect(path)
    try:
        objects = conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall()
        config = conn.execute("SELECT * FROM search_index_config ORDER BY k").fetchall()
    finally:
        conn.close()
    return objects, config


def test_the_new_database_script_is_what_the_migrations_build(tmp_path: Path) -> None:
    """A new SQLite file gets migrations/sqlite_head.py's script instead of every migration: the
    two must leave the very same schema (every object's SQL text) and rows."""
    from pycrm.migrations import sqlite_head

    migrated = sqlite_head.migrated(tmp_path / "migrated.db")
    generated = Path(sqlite_head.__file__).with_name("sqlite_head_sql.py").read_text()
    assert sqlite_head.dump(migrated) == generated, (
        "the migrations changed: run "
        "`python -m pycrm.migrations.sqlite_head > pycrm/migrations/sqlite_head_sql.py`"
    )
    assert sqlite_head.REVISION == dbmod.SCHEMA_HEAD
    scripted = tmp_path / "scripted.db"
    database = open_database(str(scripted))
    database.close()
    assert _schema(scripted) == _schema(migrated)
    conn = sqlite3.connect(scripted)
    try:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (dbmod.SCHEMA_HEAD,)
        ]
        assert conn.execute("SELECT * FROM search_sync").fetchall() == [(1, 1)]
        assert conn.execute("SELECT count(*) FROM stage").fetchone()[0] > 0  # seeded as before
    finally:
        conn.close()


def test_a_new_database_is_created_without_alembic(tmp_path: Path) -> None:
    code = (
        "import sys; from pycrm.db import open_database; "
        f"open_database({str(tmp_path / 'new.db')!r}).close(); "
        "print('alembic' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_migration_0009_remakes_the_search_index_without_prefix_indexes(db_path: Path) -> None:
    """The documents survive both ways, and search finds the same people by a short prefix."""
    from alembic import command

    from pycrm.db import _alembic_config
    from pycrm.services import contacts, search

    database = open_database(str(db_path))
    with database.write("people") as s:
        for name in ("José Gonçalves", "Joana Silva", "Léa Martin"):
            contacts.create_contact(s, name, notes="likes tea")

    def state() -> tuple[str, int, list[str]]:
        with database.engine.connect() as conn:
            sql = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'search_index'"
            ).scalar_one()
            count = conn.exec_driver_sql("SELECT count(*) FROM search_index").scalar_one()
        with database.read() as s:
            found = sorted(h.label for h in search.search(s, "jo", kinds=("contact",)))
        return sql, count, found

    sql, count, found = state()
    assert "prefix" not in sql and count == 3
    assert found == ["Joana Silva", "José Gonçalves"]
    with database.engine.connect() as conn:
        command.downgrade(_alembic_config(conn), "0008")
        conn.commit()
    assert state() == (sql.replace("2')", "2', prefix = '2 3')"), 3, found)
    with database.engine.connect() as conn:
        command.upgrade(_alembic_config(conn), "head")
        conn.commit()
    assert state() == (sql, 3, found)
    database.close()


def test_an_in_memory_sqlite_url_is_refused_and_creates_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--db sqlite://`` (SQLAlchemy's database in memory) would keep nothing: it is refused in
    one line; it used to create a file named "sqlite:" in the working directory."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DatabaseError, match="give a file path or sqlite:///PATH"):
        open_database("sqlite://")
    assert list(tmp_path.iterdir()) == []
    database = open_database(f"sqlite:///{tmp_path / 'crm.db'}")  # the URL form still works
    database.close()
    assert (tmp_path / "crm.db").is_file()


def test_an_unreachable_server_is_reported_by_the_quick_reader_not_tried_twice() -> None:
    """The quick commands' plain connection says why it cannot connect (password hidden)
    instead of handing over to the usual way, which would wait for the server again."""
    from pycrm.dbfile import open_postgres_reader

    with pytest.raises(DatabaseError) as caught:
        open_postgres_reader("postgresql://ana:secret@127.0.0.1:1/crm")
    message = str(caught.value)
    assert message.startswith("cannot open postgresql+psycopg://ana:***@127.0.0.1:1/crm: ")
    assert "secret" not in message
    assert open_postgres_reader(str(Path("x.db"))) is None  # not a server: the usual way
