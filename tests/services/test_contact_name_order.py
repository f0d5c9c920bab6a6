"""People sort by their folded name (accents and case ignored) on every backend, whichever way
they were written: the app and CLI, bulk imports, undo, JSON restores and the 0007 upgrade."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from pycrm import tables as t
from pycrm.db import Database
from pycrm.services import changelog, contacts, views
from pycrm.services.text import fold

NAMES = ["Zoe Zed", "Álvaro Souza", "bruno lima", "Élodie Martin", "Ana Costa", "Çağla Öz"]
EXPECTED = ["Álvaro Souza", "Ana Costa", "bruno lima", "Çağla Öz", "Élodie Martin", "Zoe Zed"]


def _listed(database: Database) -> list[str]:
    with database.connect() as conn:
        core = [v.contact.display_name for v in views.list_contacts(conn, sort="name")]
    with database.read() as session:
        orm = [s.contact.display_name for s in contacts.list_contacts(session, sort="name")]
    assert core == orm
    return core


def _keys_match_names(database: Database) -> None:
    with database.connect() as conn:
        rows = conn.execute(sa.select(t.contact.c.display_name, t.contact.c.name_key)).all()
    assert rows and all(key == fold(name) for name, key in rows)


def test_one_by_one_and_renamed(database: Database) -> None:
    with database.write("people") as s:
        ids = {name: contacts.create_contact(s, name).id for name in NAMES}
    assert _listed(database) == EXPECTED
    with database.write("rename") as s:
        contacts.update_contact(s, ids["Zoe Zed"], display_name="Ábaco Zed")
    assert _listed(database)[0] == "Ábaco Zed"
    _keys_match_names(database)
    _undo_last(database)
    assert _listed(database) == EXPECTED
    _keys_match_names(database)


def _undo_last(database: Database) -> None:
    with database.write("undo") as s:
        batch = changelog.last_batch(s)
        assert batch is not None
        changelog.revert_batch(s, batch.id)


def test_bulk_writes_and_a_deleted_person_brought_back(database: Database) -> None:
    with database.write("bulk") as s:
        ids = contacts.bulk_create_contacts(
            s, [contacts.validate_new_contact(name) for name in NAMES]
        )
    assert _listed(database) == EXPECTED
    with database.write("remove") as s:
        contacts.delete_contact(s, ids[1])  # Álvaro
    _undo_last(database)
    assert _listed(database) == EXPECTED
    _keys_match_names(database)


def test_a_backup_older_than_the_key_is_restored_in_order(database: Database) -> None:
    from pycrm.io.json_backup import restore_backup

    people = [
        {
            "uuid": f"00000000-0000-4000-8000-00000000000{i}",
            "display_name": name,
            "created_at": "2026-01-02T03:04:05+00:00",
            "updated_at": "2026-01-02T03:04:05+00:00",
            "do_not_contact": False,
            "archived": False,
        }
        for i, name in enumerate(NAMES)
    ]
    with database.write("restore") as s:
        restore_backup(s, {"contacts": people})
    assert _listed(database) == EXPECTED
    _keys_match_names(database)
    with database.write("again") as s:  # restoring it again changes nothing
        again = restore_backup(s, {"contacts": people})
    assert again["contacts"] == {"created": 0, "updated": 0, "unchanged": len(NAMES)}


def test_migration_0007_fills_the_key_of_existing_people(database: Database) -> None:
    from alembic import command

    from pycrm.db import _alembic_config

    with database.write("people") as s:
        for name in NAMES:
            contacts.create_contact(s, name)
    try:
        with database.engine.connect() as conn:
            command.downgrade(_alembic_config(conn), "0006")
            conn.commit()
            columns = {c["name"] for c in sa.inspect(conn).get_columns("contact")}
        assert "name_key" not in columns
    finally:
        with database.engine.connect() as conn:
            command.upgrade(_alembic_config(conn), "head")
            conn.commit()
    assert _listed(database) == EXPECTED
    _keys_match_names(database)


def test_a_page_of_names_reads_the_key_index_on_sqlite(sqlite_db: Database) -> None:
    with sqlite_db.engine.connect() as conn:
        plan = " ".join(
            str(row[-1])
            for row in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT * FROM contact WHERE archived = 0 "
                "ORDER BY name_key, id LIMIT 50"
            )
        )
    assert "ix_contact_name_key" in plan and "TEMP B-TREE" not in plan


def test_people_imported_from_csv_sort_by_name(database: Database, tmp_path: Path) -> None:
    """Both import paths: the plain-row fast path and rows with other fields (a birthday)."""
    from pycrm.io.csv_import import apply_import, plan_import

    path = tmp_path / "people.csv"
    lines = ["Name,E-mail,Birthday"] + [
        f"{name},p{i}@example.com,{'1980-05-0' + str(i + 1) if i % 2 else ''}"
        for i, name in enumerate(NAMES)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with database.write("import") as s:
        plan = plan_import(s, path)
        assert not plan.rejected
        apply_import(s, plan)
    assert _listed(database) == EXPECTED
    _keys_match_names(database)
