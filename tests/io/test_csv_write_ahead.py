"""``plan_import(write_ahead=True)``: the new contacts are written by a second process while the file
is still being validated. The result must be the in-process import's, and anything short of
``apply_import`` must leave the database as it was, its write lock free."""

from __future__ import annotations

import gc
import os
import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from pycrm.db import Database
from pycrm.io import csv_import
from pycrm.io.csv_import import apply_import, plan_import
from pycrm.services import changelog, companies, contacts, tags


def write_csv(path: Path, rows: int, seed: int, *, bad: set[int] = frozenset()) -> Path:  # type: ignore[assignment]
    rnd = random.Random(seed)
    lines = ["Name,E-mail,Phone,Company,Labels,Notes,Shoe"]
    for i in range(rows):
        email = "not-an-email" if i in bad else f"p{i % 53}@ex.org" if rnd.random() < 0.8 else ""
        phone = f"+55 11 9{i % 97:04d}-{i % 9999:04d}" if rnd.random() < 0.6 else ""
        company = rnd.choice(["", "Acme", "ACME", "Açme Ltda", f"New {i % 11}", "Existing Co"])
        tags = rnd.choice(["", "vip", "VIP ::: lead", "* myContacts", "Beta;gamma"])
        notes = rnd.choice(["", "likes tea", '"Met at the fair,\nprefers e-mail"'])
        lines.append(f"Person {i % 150},{email},{phone},{company},{tags},{notes},{i}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def seed(database: Database) -> None:
    """A company and a tag the file names again (a writing process only starts for an empty
    contact table: every row is new, or a duplicate of an earlier row)."""
    with database.write("seed") as s:
        companies.create_company(s, "Existing Co")
        tags.ensure_tags(s, ["Vip"])


def content(session: Session) -> dict[str, Any]:
    """The database's content, ids of companies aside (their order of creation may differ)."""

    def rows(sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in session.execute(sa.text(sql))]

    return {
        "contacts": rows(
            "SELECT c.id, c.display_name, c.title, c.notes, c.custom_fields, co.name, c.archived, "
            "c.do_not_contact FROM contact c LEFT JOIN company co ON co.id = c.company_id ORDER BY c.id"
        ),
        "emails": rows(
            "SELECT contact_id, email, email_key, position FROM contact_email ORDER BY id"
        ),
        "phones": rows("SELECT contact_id, number, raw, normalized FROM contact_phone ORDER BY id"),
        "tags": rows(
            "SELECT ct.contact_id, t.name FROM contact_tag ct JOIN tag t ON t.id = ct.tag_id "
            "ORDER BY ct.contact_id, t.name"
        ),
        "companies": sorted(rows("SELECT name, name_key FROM company")),
        "contact documents": rows(
            "SELECT rowid, name, emails, phones, tags, notes FROM search_index "
            "WHERE rowid % 4 = 0 ORDER BY rowid"
        ),
        "company documents": sorted(
            rows("SELECT name, emails, phones, tags, notes FROM search_index WHERE rowid % 4 = 1")
        ),
        "log": rows(
            'SELECT b.label, b.source, l.entity, l.action, l."after" IS NULL, count(*) '
            "FROM change_log l JOIN change_batch b ON b.id = l.batch_id "
            "GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5"
        ),
        "indexes": sorted(
            rows("SELECT name, sql FROM sqlite_master WHERE type IN ('index', 'trigger')")
        ),
    }


def lock_is_free(path: Path) -> bool:
    probe = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_import, "CHUNK_ROWS", 17)
    monkeypatch.setattr(csv_import, "WRITE_AHEAD_MIN_BYTES", 0)


def run_import(database: Database, path: Path, write_ahead: bool, **options: Any) -> str:
    with database.read() as s:
        plan = plan_import(s, path, region="BR", write_ahead=write_ahead, **options)
    assert (plan._ahead is not None) == write_ahead
    assert not plan.stale
    with database.write(f"import csv {path.name}", source="import") as s:
        apply_import(s, plan, region="BR")
        return str(s.info["batch_id"])


def run_first_import(db: Path, path: Path, **options: Any) -> str:
    """The CLI's way into an empty contact book: planned from ``FirstImport``'s plain look at
    the file (no session), committed with ``commit_written``."""
    from pycrm.io.csv_import import commit_written
    from pycrm.io.csv_write_ahead import FirstImport

    first = FirstImport.read(str(db))
    assert first is not None
    plan = plan_import(None, path, region="BR", first=first, **options)
    assert plan.written
    counts, batch = commit_written(plan, label=f"import csv {path.name}", region="BR")
    assert counts["created"] == len(plan.create) and not plan.written
    return batch


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize(("policy", "seed_"), [("skip", 1), ("create", 3)])
def test_a_written_ahead_import_is_the_in_process_import(
    tmp_path: Path, policy: str, seed_: int
) -> None:
    from pycrm.db import open_database

    path = write_csv(tmp_path / "people.csv", 200, seed_)
    results = []
    for mode in ("in process", "write ahead", "first import"):
        db = tmp_path / f"crm-{mode}.db"
        database = open_database(str(db))
        seed(database)
        if mode == "first import":
            database.close()
            batch = run_first_import(db, path, on_duplicate=policy)
            database = open_database(str(db))
        else:
            batch = run_import(database, path, mode == "write ahead", on_duplicate=policy)
        with database.read() as s:
            results.append(content(s))
            assert s.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"
            assert (
                s.execute(
                    sa.text("SELECT label FROM change_batch WHERE id = :b"), {"b": batch}
                ).scalar()
                == "import csv people.csv"
            )
        with database.write("revert") as s:
            changelog.revert_batch(s, batch)
        with database.read() as s:
            assert contacts.count_contacts(s) == 0
            assert s.execute(sa.text("SELECT count(*) FROM company")).scalar() == 1
        database.close()
    normal, *others = results
    for other in others:
        for key in normal:
            assert other[key] == normal[key], key
    assert len(normal["contacts"]) > 50


@pytest.mark.usefixtures("small_chunks")
def test_a_first_import_creates_a_new_book_as_the_usual_path_does(tmp_path: Path) -> None:
    from pycrm.db import open_database

    path = write_csv(tmp_path / "people.csv", 150, 5)
    new = tmp_path / "sub" / "new.db"
    batch = run_first_import(new, path)
    assert new.stat().st_mode & 0o777 == 0o600
    usual = open_database(str(tmp_path / "usual.db"))
    run_import(usual, path, False)
    database = open_database(str(new))
    try:
        with database.read() as s, usual.read() as u:
            assert s.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"
            assert content(s) == content(u)
            assert s.execute(sa.text("SELECT count(*) FROM stage")).scalar() > 0  # defaults
        with database.write("revert") as s:
            changelog.revert_batch(s, batch)
        with database.read() as s:
            assert contacts.count_contacts(s) == 0
    finally:
        database.close()
        usual.close()


@pytest.mark.usefixtures("small_chunks")
def test_a_first_import_that_cannot_write_ahead_is_applied_as_usual(
    sqlite_db: Database, db_path: Path, tmp_path: Path
) -> None:
    from pycrm.io.csv_write_ahead import FirstImport

    seed(sqlite_db)
    path = write_csv(tmp_path / "people.csv", 80, 7)
    sqlite_db.close()
    first = FirstImport.read(str(db_path))
    assert first is not None and first.companies == [("existing co", 1)]
    assert first.next_company == 2
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another program is writing: no writing process
    try:
        plan = plan_import(None, path, first=first)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert not plan.written
    with sqlite_db.write("import csv people.csv", source="import") as s:
        counts = apply_import(s, plan)
    with sqlite_db.read() as s:
        assert contacts.count_contacts(s) == counts["created"] > 20
        # The rows naming "Existing Co" joined the company the snapshot saw, not a copy.
        assert s.execute(sa.text("SELECT count(*) FROM company WHERE name_key = 'existing co'")
                         ).scalar() == 1  # fmt: skip


def test_contacts_added_after_the_look_are_matched_not_duplicated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another program adds a contact between the first import's look at the file and its
    writer taking the lock: the writer refuses the stale plan, and the command plans again."""
    from typer.testing import CliRunner

    from pycrm.cli.app import app
    from pycrm.db import open_database
    from pycrm.io import csv_write_ahead
    from pycrm.io.csv_write_ahead import FirstImport

    monkeypatch.setattr(csv_write_ahead, "WRITE_AHEAD_MIN_BYTES", 0)
    monkeypatch.setattr(csv_import, "WRITE_AHEAD_MIN_BYTES", 0)
    path = write_csv(tmp_path / "people.csv", 60, 9)
    email = next(cell for line in path.read_text().splitlines()[1:] for cell in line.split(",")
                 if cell.endswith("@ex.org"))  # fmt: skip
    db = tmp_path / "crm.db"
    database = open_database(str(db))
    with database.write("elsewhere") as s:  # the person the file's first e-mail will match
        contacts.create_contact(s, "Already Here", emails=[email])
    database.close()
    # As if both looks happened before that contact was added.
    monkeypatch.setattr(csv_write_ahead, "_no_contacts", lambda path: True)
    monkeypatch.setattr(FirstImport, "read", classmethod(lambda cls, db_: cls(str(db), [], 1)))
    res = CliRunner().invoke(app, ["--db", str(db), "import", "csv", str(path), "--json"])
    assert res.exit_code == 0, res.output
    with sqlite3.connect(db) as conn:
        holders = conn.execute(
            "SELECT count(*) FROM contact_email WHERE email_key = ?", (email,)
        ).fetchone()[0]
        assert holders == 1  # matched and skipped, not created again
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.usefixtures("small_chunks")
def test_a_writer_refuses_a_plan_made_before_contacts_were_added(
    sqlite_db: Database, db_path: Path, tmp_path: Path
) -> None:
    from pycrm.io.csv_write_ahead import FirstImport

    path = write_csv(tmp_path / "people.csv", 40, 10)
    sqlite_db.close()
    first = FirstImport.read(str(db_path))
    assert first is not None
    with sqlite_db.write("elsewhere") as s:
        contacts.create_contact(s, "Someone")
    sqlite_db.close()
    plan = plan_import(None, path, first=first)
    assert not plan.written  # its writer saw the contact: nothing written ahead
    with sqlite_db.read() as s:
        assert contacts.count_contacts(s) == 1
    plan.close()


def test_no_first_import_snapshot_for_a_book_with_contacts_or_an_old_schema(
    sqlite_db: Database, db_path: Path, tmp_path: Path
) -> None:
    from pycrm.io.csv_write_ahead import FirstImport

    with sqlite_db.write("one") as s:
        contacts.create_contact(s, "Ana")
    sqlite_db.close()
    assert FirstImport.read(str(db_path)) is None
    assert FirstImport.read("postgresql+psycopg://nobody@localhost/none") is None
    empty = tmp_path / "empty.db"
    empty.touch()
    assert FirstImport.read(str(empty)) == FirstImport(str(empty), [], 1)


@pytest.mark.usefixtures("small_chunks")
def test_a_rejected_row_cancels_the_writing_and_skip_invalid_still_imports_the_rest(
    sqlite_db: Database, db_path: Path, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "people.csv", 120, 4, bad={90})
    with sqlite_db.read() as s:
        plan = plan_import(s, path, write_ahead=True)
    assert [p.row["E-mail"] for p in plan.rejected] == ["not-an-email"]
    assert plan._ahead is None and lock_is_free(db_path)
    with sqlite_db.read() as s:
        assert contacts.count_contacts(s) == 0  # what was written ahead is gone
    with sqlite_db.write("import csv people.csv", source="import") as s:
        counts = apply_import(s, plan)  # as --skip-invalid does
    with sqlite_db.read() as s:
        assert contacts.count_contacts(s) == counts["created"] > 40


@pytest.mark.usefixtures("small_chunks")
def test_with_skip_invalid_a_rejected_row_keeps_the_writing(tmp_path: Path) -> None:
    """--skip-invalid imports the valid rows anyway: the rows written ahead are kept, and the
    result is the in-process import's."""
    from pycrm.db import open_database

    path = write_csv(tmp_path / "people.csv", 150, 6, bad={30, 120})
    results = []
    for write_ahead in (False, True):
        database = open_database(str(tmp_path / f"crm-{write_ahead}.db"))
        seed(database)
        with database.read() as s:
            plan = plan_import(s, path, region="BR", write_ahead=write_ahead, skip_invalid=True)
        assert len(plan.rejected) == 2
        assert (plan._ahead is not None) == write_ahead  # not cancelled by the rejected rows
        with database.write("import csv people.csv", source="import") as s:
            apply_import(s, plan, region="BR")
        with database.read() as s:
            results.append(content(s))
            assert s.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"
        database.close()
    normal, ahead = results
    for key in normal:
        assert ahead[key] == normal[key], key
    assert len(normal["contacts"]) > 50


@pytest.mark.usefixtures("small_chunks")
def test_a_plan_never_applied_leaves_nothing_and_no_lock(
    sqlite_db: Database, db_path: Path, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "people.csv", 100, 5)
    with sqlite_db.read() as s:
        plan = plan_import(s, path, write_ahead=True)
    assert plan._ahead is not None
    assert not lock_is_free(db_path)  # held by the writing process, uncommitted
    with sqlite_db.read() as s:
        assert contacts.count_contacts(s) == 0
    del plan  # as a --dry-run would drop it
    gc.collect()
    assert lock_is_free(db_path)
    with sqlite_db.read() as s:
        plan = plan_import(s, path, write_ahead=True)
    plan.close()
    assert lock_is_free(db_path)
    with sqlite_db.read() as s:
        assert contacts.count_contacts(s) == 0
        assert s.execute(sa.text("SELECT count(*) FROM company")).scalar() == 0


@pytest.mark.usefixtures("small_chunks")
def test_no_write_ahead_into_a_table_of_contacts(sqlite_db: Database, tmp_path: Path) -> None:
    with sqlite_db.write("one") as s:
        contacts.create_contact(s, "Earlier", emails=["p3@ex.org"])
    path = write_csv(tmp_path / "people.csv", 60, 8)
    with sqlite_db.read() as s:
        plan = plan_import(s, path, write_ahead=True, on_duplicate="update")
    assert plan._ahead is None and len(plan.update) >= 1
    plan.close()


@pytest.mark.usefixtures("small_chunks")
def test_no_write_ahead_when_another_program_is_writing(
    sqlite_db: Database, db_path: Path, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "people.csv", 60, 6)
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with sqlite_db.read() as s:
            plan = plan_import(s, path, write_ahead=True)
        assert plan._ahead is None  # it did not wait for the lock; apply_import will
        assert plan.stale  # matched against a look taken for a writer: the CLI plans again
    finally:
        other.execute("ROLLBACK")
        other.close()
    with sqlite_db.write("import csv people.csv", source="import") as s:
        counts = apply_import(s, plan)
    with sqlite_db.read() as s:
        assert contacts.count_contacts(s) == counts["created"] > 20


@pytest.mark.usefixtures("small_chunks")
def test_a_failure_in_the_writing_process_falls_back_to_the_same_error(
    sqlite_db: Database, db_path: Path, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "people.csv", 100, 7)
    with sqlite_db.write("a trap") as s:
        s.execute(
            sa.text(
                "CREATE TRIGGER boom BEFORE INSERT ON contact WHEN new.display_name = 'Person 60' "
                "BEGIN SELECT RAISE(ABORT, 'boom'); END"
            )
        )
    with sqlite_db.read() as s:
        plan = plan_import(s, path, write_ahead=True, on_duplicate="create")
    assert plan._ahead is None and lock_is_free(db_path)
    with (
        pytest.raises(sa.exc.IntegrityError, match="boom"),
        sqlite_db.write("import csv people.csv", source="import") as s,
    ):
        apply_import(s, plan)
    with sqlite_db.read() as s:
        assert contacts.count_contacts(s) == 0


# --- the journal: an empty contact book's pages written once ------------------------------------


def journal_mode(path: Path) -> str:
    probe = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        return str(probe.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        probe.close()


@pytest.mark.usefixtures("small_chunks")
def test_a_first_import_writes_with_the_rollback_journal_and_puts_wal_back(
    sqlite_db: Database, db_path: Path, tmp_path: Path
) -> None:
    seed(sqlite_db)
    path = write_csv(tmp_path / "people.csv", 150, 12)
    assert journal_mode(db_path) == "wal"
    with sqlite_db.read() as s:
        plan = plan_import(s, path, region="BR", write_ahead=True)
    assert plan._ahead is not None
    # The writing process had the file to itself: no WAL while it writes (pages written once).
    assert journal_mode(db_path) == "delete"
    assert db_path.with_name(db_path.name + "-journal").exists()
    # A program opening the file meanwhile reads the state before the import, without waiting.
    with sqlite_db.read() as s:
        assert contacts.count_contacts(s) == 0
    with sqlite_db.write("import csv people.csv", source="import") as s:
        counts = apply_import(s, plan, region="BR")
    assert journal_mode(db_path) == "wal"
    assert not db_path.with_name(db_path.name + "-journal").exists()
    with sqlite_db.read() as s:
        assert contacts.count_contacts(s) == counts["created"] > 50
        assert s.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"
        # The company the file names again was matched from what was read before writing.
        assert (
            s.execute(
                sa.text("SELECT count(*) FROM company WHERE name_key = 'existing co'")
            ).scalar()
            == 1
        )


@pytest.mark.usefixtures("small_chunks")
def test_a_program_holding_the_file_open_keeps_the_import_in_wal(
    sqlite_db: Database, db_path: Path, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "people.csv", 120, 13)
    other = sqlite3.connect(db_path, isolation_level=None)  # the app, open in another terminal
    try:
        assert other.execute("SELECT count(*) FROM contact").fetchone() == (0,)
        with sqlite_db.read() as s:
            plan = plan_import(s, path, region="BR", write_ahead=True)
        assert plan._ahead is not None
        assert journal_mode(db_path) == "wal"
        assert other.execute("SELECT count(*) FROM contact").fetchone() == (0,)  # not waiting
        with sqlite_db.write("import csv people.csv", source="import") as s:
            counts = apply_import(s, plan, region="BR")
        assert other.execute("SELECT count(*) FROM contact").fetchone() == (counts["created"],)
    finally:
        other.close()
    assert journal_mode(db_path) == "wal"


@pytest.mark.usefixtures("small_chunks")
def test_a_writing_process_killed_mid_import_leaves_the_file_as_it_was(
    sqlite_db: Database, db_path: Path, tmp_path: Path
) -> None:
    seed(sqlite_db)
    path = write_csv(tmp_path / "people.csv", 150, 14)
    with sqlite_db.read() as s:
        plan = plan_import(s, path, region="BR", write_ahead=True)
    assert plan._ahead is not None and journal_mode(db_path) == "delete"
    plan._ahead._process.kill()  # a power cut, as far as the file can tell
    plan._ahead._process.wait()
    assert db_path.with_name(db_path.name + "-journal").exists()  # a hot journal
    plan.close()
    with sqlite_db.read() as s:  # the next program rolls it back and puts WAL back
        assert contacts.count_contacts(s) == 0
        assert s.execute(sa.text("SELECT count(*) FROM company")).scalar() == 1
        assert s.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"
    assert journal_mode(db_path) == "wal"
    with sqlite_db.write("import csv people.csv", source="import") as s:
        counts = apply_import_again(s, path)
    with sqlite_db.read() as s:
        assert contacts.count_contacts(s) == counts["created"] > 50


def apply_import_again(session: Session, path: Path) -> dict[str, int]:
    plan = plan_import(session, path, region="BR")
    return apply_import(session, plan, region="BR")


# --- the validation's fast path ---------------------------------------------------------------

PIECES = ["", " ", "Ana", "José da Silva", "\tTab", "a\x07bell", "nbsp\u00a0", "x" * 301, "\u202eevil",
          "Zoë ", "  ", "O'Neil", "line\nbreak", "Acme"]  # fmt: skip
EMAILS = [
    "",
    "p@ex.org",
    "P@Ex.ORG",
    "bad",
    "a@b",
    "mailto:x@ex.org",
    "a@ex.org;b@ex.org",
    "ü@ex.org",
]
PHONES = [
    "",
    "+55 11 98765-4321",
    "(212) 555-0100",
    "12",
    "+1 212",
    "abc",
    "+44 20 7946 0958;+44 20 7946 0958",
]


def test_the_fast_path_validates_as_row_to_contact(monkeypatch: pytest.MonkeyPatch) -> None:
    rnd = random.Random(11)
    targets = sorted(csv_import._FAST_TARGETS)
    seen_errors = 0
    for _ in range(3000):
        values: dict[str, list[str]] = {}
        for target in rnd.sample(targets, rnd.randint(0, len(targets))):
            pool = EMAILS if target == "email" else PHONES if target == "phone" else PIECES
            values[target] = [rnd.choice(pool) for _ in range(rnd.choice([1, 1, 2]))]
        custom = {"Shoe": "42"} if rnd.random() < 0.3 else {}
        plain = tuple(k for k in csv_import._PLAIN_FIELDS if k in values)
        try:
            contact, company = csv_import.row_to_contact(
                values, dict(custom), region="BR", date_order="dmy"
            )
            expected: Any = (csv_import._to_record(contact), company)
        except csv_import.ValidationError as exc:
            expected = ("error", exc.field, exc.reason)
            seen_errors += 1
        try:
            got: Any = csv_import._plain_record(values, dict(custom), "BR", plain)
        except csv_import.ValidationError as exc:
            got = ("error", exc.field, exc.reason)
        assert got == expected, values
        if expected[0] != "error":
            assert list(got[0][csv_import.FIELDS]) == list(expected[0][csv_import.FIELDS])  # order
    assert 100 < seen_errors < 2900


@pytest.mark.usefixtures("small_chunks")
def test_rows_numbered_from_a_stale_snapshot_fall_back_to_the_spool(
    sqlite_db: Database, db_path: Path, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "people.csv", 80, 9)
    with sqlite_db.read() as s:
        s.execute(sa.text("SELECT count(*) FROM company")).scalar()  # its snapshot starts here
        other = sqlite3.connect(db_path, isolation_level=None)
        other.execute("INSERT INTO company (uuid, created_at, updated_at, name, name_key) "
                      "VALUES ('u-1', '2026-01-01', '2026-01-01', 'Late Co', 'late co')")  # fmt: skip
        other.close()
        plan = plan_import(s, path, write_ahead=True)
    assert plan._ahead is None and lock_is_free(db_path)  # the writer refused the stale ids
    with sqlite_db.write("import csv people.csv", source="import") as s:
        counts = apply_import(s, plan)
    with sqlite_db.read() as s:
        assert contacts.count_contacts(s) == counts["created"] > 30
        named = s.execute(
            sa.text("SELECT count(*) FROM contact c JOIN company co ON co.id = c.company_id")
        ).scalar()
        assert named and named > 10


@pytest.mark.usefixtures("small_chunks")
def test_missing_values_are_stored_as_null_and_flags_as_integers(tmp_path: Path) -> None:
    """The writer binds '' for NULL (``csv_apply._NULL``): no '' may reach the tables."""
    from pycrm.db import open_database

    path = write_csv(tmp_path / "people.csv", 120, 5)
    database = open_database(str(tmp_path / "crm.db"))
    run_import(database, path, True)
    with database.read() as s:

        def one(sql: str) -> Any:
            return s.execute(sa.text(sql)).scalar()

        assert one("SELECT count(*) FROM contact") > 50
        for column in ("title", "notes", "company_id", "given_name", "custom_fields"):
            assert one(f"SELECT count(*) FROM contact WHERE {column} = ''") == 0, column
        assert one("SELECT count(*) FROM contact WHERE title IS NULL") > 0
        assert one("SELECT count(*) FROM contact WHERE company_id IS NULL") > 0
        assert one("SELECT count(*) FROM contact WHERE notes IS NULL") > 0
        assert (
            one(
                "SELECT count(*) FROM contact WHERE typeof(archived) != 'integer' "
                "OR typeof(do_not_contact) != 'integer' OR archived != 0 OR do_not_contact != 0"
            )
            == 0
        )
        assert one("SELECT count(*) FROM contact_email WHERE label IS NOT NULL") == 0
        assert (
            one(
                "SELECT count(*) FROM contact_phone WHERE label IS NOT NULL OR raw = '' "
                "OR typeof(normalized) != 'integer'"
            )
            == 0
        )
        assert one("SELECT count(*) FROM contact_phone WHERE normalized = 1") > 0
        for column in ("emails", "phones", "tags"):  # the contacts' documents (rowid 4n)
            docs = f"SELECT count(*) FROM search_index WHERE rowid % 4 = 0 AND {column}"
            assert one(f"{docs} = ''") == 0, column
            assert one(f"{docs} IS NULL") > 0, column
    database.close()


def _spawned(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every writing process started from now on (the real ones)."""
    from pycrm.io import csv_write_ahead

    started: list[Any] = []
    spawn = csv_write_ahead._spawn

    def counting() -> Any:
        process = spawn()
        started.append(process)
        return process

    monkeypatch.setattr(csv_write_ahead, "_spawn", counting)
    return started


def test_the_cli_starts_the_writer_before_planning_and_uses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from pycrm.cli.app import app
    from pycrm.io import csv_write_ahead

    monkeypatch.setattr(csv_write_ahead, "WRITE_AHEAD_MIN_BYTES", 0)
    monkeypatch.setattr(csv_import, "WRITE_AHEAD_MIN_BYTES", 0)
    started = _spawned(monkeypatch)
    plans: list[Any] = []
    plan_import_ = csv_import.plan_import

    def recording(*args: Any, **kwargs: Any) -> Any:
        # The early process is running while the plan starts, and is taken by it.
        assert csv_write_ahead._early is not None and csv_write_ahead._early.poll() is None
        plan = plan_import_(*args, **kwargs)
        plans.append(plan)
        return plan

    monkeypatch.setattr(csv_import, "plan_import", recording)
    path = write_csv(tmp_path / "people.csv", 150, 2)
    db = tmp_path / "new.db"  # not there yet: created by the command
    res = CliRunner().invoke(app, ["--db", str(db), "import", "csv", str(path), "--json"])
    assert res.exit_code == 0, res.output
    assert res.stdout and '"created"' in res.stdout
    assert len(started) == 1  # the early one wrote the import: no second process
    assert started[0].wait(timeout=30) == 0
    assert plans and plans[0]._ahead is None  # applied and closed
    assert csv_write_ahead._early is None
    with sqlite3.connect(db) as conn:
        created = conn.execute("SELECT count(*) FROM contact").fetchone()[0]
        assert created == len(plans[0].create) > 50
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_first_import_from_the_command_line_never_loads_sqlalchemy(tmp_path: Path) -> None:
    """Its writing process loads SQLAlchemy and the models on the other core; the command's
    own process plans from a plain look at the file (~0.4-1 s less before the first row)."""
    import subprocess
    import sys

    path = write_csv(tmp_path / "people.csv", 4000, 8)
    assert path.stat().st_size > 200_000  # written ahead (csv_write_ahead.WRITE_AHEAD_MIN_BYTES)
    db = tmp_path / "crm.db"
    probe = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('sqlalchemy loaded:', 'sqlalchemy' in sys.modules))\n"
        "from pycrm.cli.app import main\n"
        f"sys.argv = ['pycrm', '--db', {str(db)!r}, 'import', 'csv', {str(path)!r}]\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "sqlalchemy loaded: False" in done.stdout
    assert "created" in done.stderr + done.stdout
    with sqlite3.connect(db) as conn:
        created = conn.execute("SELECT count(*) FROM contact").fetchone()[0]
        assert created > 100
        batches = conn.execute("SELECT label FROM change_batch ORDER BY at").fetchall()
        assert batches == [("create database",), ("import csv people.csv",)]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # The same command into a book that has contacts now takes the usual path.
    again = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert again.returncode == 0, again.stderr
    assert "sqlalchemy loaded: True" in again.stdout
    assert "created 0" in again.stderr + again.stdout


def test_no_early_writer_for_a_book_with_contacts_and_an_unused_one_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pycrm.db import open_database
    from pycrm.io import csv_write_ahead

    monkeypatch.setattr(csv_write_ahead, "WRITE_AHEAD_MIN_BYTES", 0)
    started = _spawned(monkeypatch)
    path = write_csv(tmp_path / "people.csv", 20, 4)
    database = open_database(str(tmp_path / "crm.db"))
    with database.write("one") as s:
        contacts.create_contact(s, "Ana")
    database.close()
    csv_write_ahead.prestart(str(tmp_path / "crm.db"), path)
    assert started == [] and csv_write_ahead._early is None
    # Into an empty book it starts; nobody takes it: it ends, having written nothing.
    csv_write_ahead.prestart(str(tmp_path / "empty.db"), path)
    assert len(started) == 1 and csv_write_ahead._early is started[0]
    csv_write_ahead.discard_early()
    assert started[0].wait(timeout=30) == 0
    assert csv_write_ahead._early is None
    assert not (tmp_path / "empty.db").exists()


def test_the_writer_syncs_its_new_pages_in_the_background(tmp_path: Path) -> None:
    from pycrm.io.csv_write_ahead import _SyncAhead

    data = tmp_path / "file.db"
    data.write_bytes(b"x" * 4096)
    sync = _SyncAhead(str(data))
    threads = []
    for _ in range(2 * _SyncAhead.EVERY_CHUNKS):
        sync.chunk_written()
        threads.append(sync._thread)
    assert threads[0] is None  # not before EVERY_CHUNKS chunks
    assert threads[-1] is not None
    fd = sync._fd
    assert fd is not None
    sync.close()
    assert not threads[-1].is_alive()
    with pytest.raises(OSError):
        os.fstat(fd)  # closed
    idle = _SyncAhead(None)  # WAL: nothing to sync here
    for _ in range(_SyncAhead.EVERY_CHUNKS):
        idle.chunk_written()
    assert idle._thread is None
    idle.close()
