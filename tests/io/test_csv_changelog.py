"""What `import csv` leaves in the ChangeLog: per-contact history and undo work on its records.

The import logs each creation compactly (no snapshot: ``changelog.log_created_range`` on SQLite,
``log_created_ids`` on PostgreSQL); history and revert rebuild the created state from the rest of
the log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from pycrm.db import Database
from pycrm.io.csv_import import apply_import, plan_import
from pycrm.services import changelog, companies, contacts


def imported(database: Database, tmp_path: Path, rows: int = 3) -> str:
    lines = ["Name,E-mail,Phone,Company,Labels,Job Title"]
    for i in range(rows):
        lines.append(f"Person {i},p{i}@ex.org,+55 11 9{i:04d}-1234,Acme {i % 2},vip;lead,CFO")
    path = tmp_path / "people.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with database.read() as s:
        plan = plan_import(s, path)
    with database.write(f"import csv {path.name}", source="import") as s:
        apply_import(s, plan, region="BR")
        return str(s.info["batch_id"])


def person(database: Database, email: str) -> tuple[int, str]:
    with database.read() as s:
        [cid] = contacts.find_by_email(s, email)
        return cid, contacts.get_contact(s, cid).uuid


def stored(database: Database, sql: str) -> list[tuple[Any, ...]]:
    with database.read() as s:
        return [tuple(r) for r in s.execute(sa.text(sql))]


def company_rows(database: Database) -> list[tuple[Any, ...]]:
    return stored(
        database,
        "SELECT id, uuid, name, name_key, created_at, updated_at, domain, notes "
        "FROM company ORDER BY id",
    )


def state(database: Database) -> list[tuple[Any, ...]]:
    """Every contact with its e-mails, phones and tags, as stored."""
    return stored(
        database,
        "SELECT c.id, c.uuid, c.display_name, c.title, c.company_id, "
        "(SELECT max(email_key) FROM contact_email WHERE contact_id = c.id), "
        "(SELECT max(number) FROM contact_phone WHERE contact_id = c.id), "
        "(SELECT count(*) FROM contact_tag WHERE contact_id = c.id) "
        "FROM contact c ORDER BY c.id",
    )


def test_history_of_an_imported_contact_shows_what_it_was_created_with(
    database: Database, tmp_path: Path
) -> None:
    imported(database, tmp_path)
    cid, uuid = person(database, "p1@ex.org")
    with database.read() as s:
        [created] = changelog.history(s, uuid)
    assert created.action == "create"
    assert created.changes["display_name"] == (None, "Person 1")
    assert created.changes["title"] == (None, "CFO")
    assert [e["email"] for e in created.changes["emails"][1]] == ["p1@ex.org"]
    assert [p["number"] for p in created.changes["phones"][1]] == ["+5511900011234"]
    assert len(created.changes["tags"][1]) == 2
    with database.write("edit") as s:
        contacts.update_contact(s, cid, title="CEO", add_emails=["second@ex.org"])
    with database.write("edit again") as s:
        contacts.update_contact(s, cid, title="Owner")
    with database.read() as s:
        history = changelog.history(s, uuid)
    assert [h.action for h in history] == ["create", "update", "update"]
    # the creation still shows the imported values, not today's
    assert history[0].changes["title"] == (None, "CFO")
    assert [e["email"] for e in history[0].changes["emails"][1]] == ["p1@ex.org"]
    assert history[1].changes["title"] == ("CFO", "CEO")
    assert history[2].changes["title"] == ("CEO", "Owner")


def test_revert_of_an_import_and_undo_of_the_revert_round_trip(
    database: Database, tmp_path: Path
) -> None:
    batch = imported(database, tmp_path, rows=7)
    before, companies_before = state(database), company_rows(database)
    assert len(before) == 7 and len(companies_before) == 2
    with database.write("revert import", source="import") as s:
        assert changelog.revert_batch(s, batch) == 7 + 2 + 2  # contacts, companies, tags
        revert = str(s.info["batch_id"])
    assert state(database) == [] and company_rows(database) == []
    with database.read() as s:
        deleted = s.execute(
            sa.select(sa.text("count(*)"))
            .select_from(sa.table("change_log"))
            .where(sa.text("batch_id = :b AND entity = 'contact' AND action = 'delete'"))
            .params(b=revert)
        ).scalar()
    assert deleted == 7
    # undoing the revert brings every contact back whole, from the deletions' snapshots
    with database.write("undo revert") as s:
        changelog.revert_batch(s, revert)
    assert state(database) == before
    assert company_rows(database) == companies_before
    _, uuid = person(database, "p3@ex.org")
    with database.read() as s:
        assert [h.action for h in changelog.history(s, uuid)] == ["create", "delete", "create"]


def test_history_and_undo_of_a_later_delete(database: Database, tmp_path: Path) -> None:
    imported(database, tmp_path)
    before = state(database)
    cid, uuid = person(database, "p0@ex.org")
    with database.write("delete") as s:
        contacts.delete_contact(s, cid)
        deletion = str(s.info["batch_id"])
    with database.read() as s:
        history = changelog.history(s, uuid)
    assert [h.action for h in history] == ["create", "delete"]
    assert history[0].changes["display_name"] == (None, "Person 0")  # the deletion's before
    with database.write("undo delete") as s:
        changelog.revert_batch(s, deletion)
    assert state(database) == before


def creations(database: Database, batch: str, entity: str) -> list[tuple[Any, ...]]:
    """(record id, name, logged compactly, same uuid) of each creation the batch logged."""
    name = "display_name" if entity == "contact" else "name"
    with database.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                f'SELECT l.record_id, x.{name}, l."after" IS NULL, l.record_uuid = x.uuid '
                f"FROM change_log l JOIN {entity} x ON x.id = l.record_id "
                "WHERE l.batch_id = :b AND l.entity = :entity AND l.action = 'create' "
                "ORDER BY l.id"
            ),
            {"b": batch, "entity": entity},
        ).all()
    return [tuple(r) for r in rows]


def test_the_import_logs_its_creations_without_snapshots(
    database: Database, tmp_path: Path
) -> None:
    batch = imported(database, tmp_path, rows=5)
    rows = creations(database, batch, "contact")
    assert len(rows) == 5
    assert all(compact and same for _id, _name, compact, same in rows)
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)


def test_the_import_logs_its_companies_without_snapshots_and_their_history_shows_them(
    database: Database, tmp_path: Path
) -> None:
    batch = imported(database, tmp_path, rows=4)
    logged = sorted(row[1:] for row in creations(database, batch, "company"))
    assert logged == [("Acme 0", True, True), ("Acme 1", True, True)]
    with database.write("rename") as s:
        acme = companies.find_company_by_name(s, "acme 1")
        assert acme is not None
        companies.update_company(s, acme.id, name="Acme One")
        uuid = acme.uuid
    with database.read() as s:
        history = changelog.history(s, uuid)
    assert [h.action for h in history] == ["create", "update"]
    assert history[0].changes["name"] == (None, "Acme 1")  # as imported, not as renamed
    assert history[1].changes["name"] == ("Acme 1", "Acme One")
