"""The import builds its contacts' search documents from the rows it writes, not from the tables:
they must be exactly what the search triggers would build (random rows, several chunks)."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest
import sqlalchemy as sa

from pycrm.db import Database
from pycrm.io import csv_import
from pycrm.io.csv_import import apply_import, plan_import
from pycrm.services import contacts

# The trigger's document of a contact, read back from the tables (migrations' trigger body).
TRIGGER_DOCUMENTS = """
SELECT c.id * 4, c.display_name,
  (SELECT group_concat(e.email, ' ') FROM contact_email e WHERE e.contact_id = c.id),
  (SELECT group_concat(p.number || ' ' || coalesce(p.raw, ''), ' ')
     FROM contact_phone p WHERE p.contact_id = c.id),
  (SELECT group_concat(t.name, ' ') FROM contact_tag ct JOIN tag t ON t.id = ct.tag_id
     WHERE ct.contact_id = c.id),
  coalesce(c.notes, '') || ' ' || coalesce(c.title, '')
FROM contact c ORDER BY c.id
"""


def random_csv(path: Path, rows: int, seed: int) -> Path:
    rnd = random.Random(seed)
    names = ["Zoë", "João", "Renée", "Łukasz", "Ana", "", "O'Neil", "Nguyễn Văn"]
    tags = ["VIP", "vip", "Lead", "léad", "friends ::: vip", "* myContacts", "", "Beta;gamma"]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Name", "E-mail 1 - Value", "E-mail 2 - Value", "Phone 1 - Value",
                         "Phone 2 - Value", "Organization Name", "Organization Title", "Labels",
                         "Notes"])  # fmt: skip
        for i in range(rows):
            name = f"{rnd.choice(names)} {i}".strip()
            writer.writerow([
                name,
                f"p{i}@Example.org" if rnd.random() < 0.8 else "",
                f"second{i}@ex.org ::: third{i}@ex.org" if rnd.random() < 0.2 else "",
                f"+55 11 9{i:04d}-{rnd.randint(0, 9999):04d}" if rnd.random() < 0.7 else "",
                rnd.choice(["", "12345", f"(212) 555-{i % 10000:04d}", "ext. 12"]),
                rnd.choice(["", "Acme", "Açme Ltda"]),
                rnd.choice(["", "CFO", "Gerente"]),
                rnd.choice(tags),
                rnd.choice(["", "likes tea", "Met at the fair,\nprefers e-mail"]),
            ])  # fmt: skip
    return path


@pytest.mark.parametrize("seed", [1, 2])
def test_imported_search_documents_are_the_triggers_documents(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    monkeypatch.setattr(csv_import, "CHUNK_ROWS", 13)
    with sqlite_db.write("existing tag, other spelling") as s:
        contacts.create_contact(s, "Earlier", tags=["Vip"])
    path = random_csv(tmp_path / "random.csv", 120, seed)
    with sqlite_db.read() as s:
        plan = plan_import(s, path, on_duplicate="create", region="BR")
    assert not plan.rejected
    with sqlite_db.write("import", source="import") as s:
        apply_import(s, plan, region="BR")
    with sqlite_db.read() as s:
        built = s.execute(
            sa.text(
                "SELECT rowid, name, emails, phones, tags, notes FROM search_index "
                "WHERE rowid % 4 = 0 ORDER BY rowid"
            )
        ).all()
        expected = s.execute(sa.text(TRIGGER_DOCUMENTS)).all()
        tagged = s.execute(
            sa.text("SELECT count(*) FROM search_index WHERE search_index MATCH 'tags: vip'")
        ).scalar()
    assert len(expected) == 121
    assert [tuple(r) for r in built] == [tuple(r) for r in expected]
    assert any(r[4] and "Vip" in r[4].split() for r in built[1:])  # the stored spelling
    assert tagged and tagged > 1


def indexes(database: Database) -> list[tuple[str, str]]:
    with database.read() as s:
        rows = s.execute(
            sa.text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                "ORDER BY name"
            )
        ).all()
    return [(r[0], r[1]) for r in rows]


def test_an_import_into_empty_tables_builds_their_indexes_after_and_they_work(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_import, "CHUNK_ROWS", 11)
    before = indexes(sqlite_db)
    assert any(name == "ix_contact_email_email_key" for name, _ in before)
    path = random_csv(tmp_path / "random.csv", 60, 3)
    dropped: list[str] = []
    real = csv_import._ImportWriter.add

    def spy(self: csv_import._ImportWriter, rows: list[csv_import.Record]) -> list[int]:
        dropped.extend(n for n, _ in before if n not in {m for m, _ in current(self)})
        return real(self, rows)

    def current(writer: csv_import._ImportWriter) -> list[tuple[str, str]]:
        return writer.session.execute(
            sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'index'")
        ).all()  # type: ignore[return-value]

    monkeypatch.setattr(csv_import._ImportWriter, "add", spy)
    with sqlite_db.read() as s:
        plan = plan_import(s, path, on_duplicate="create", region="BR")
    with sqlite_db.write("import", source="import") as s:
        apply_import(s, plan, region="BR")
    assert "ix_contact_uuid" in dropped and "ix_contact_email_email_key" in dropped
    assert indexes(sqlite_db) == before
    with sqlite_db.read() as s:
        assert s.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"
        plan_text = " ".join(
            str(r[-1])
            for r in s.execute(
                sa.text(
                    "EXPLAIN QUERY PLAN SELECT contact_id FROM contact_email "
                    "WHERE email_key = 'p7@example.org'"
                )
            )
        )
        assert "ix_contact_email_email_key" in plan_text
    # A second import finds the tables filled: their indexes stay in place while it writes.
    dropped.clear()
    with sqlite_db.read() as s:
        again = plan_import(s, path, on_duplicate="create", region="BR")
    with sqlite_db.write("import again", source="import") as s:
        apply_import(s, again, region="BR")
    assert dropped == [] and indexes(sqlite_db) == before


def test_a_failed_import_into_empty_tables_leaves_their_indexes(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_import, "CHUNK_ROWS", 5)
    before = indexes(sqlite_db)
    path = random_csv(tmp_path / "random.csv", 30, 4)
    with sqlite_db.read() as s:
        plan = plan_import(s, path, on_duplicate="create", region="BR")
    calls = {"n": 0}
    real = csv_import._ImportWriter.add

    def failing(self: csv_import._ImportWriter, rows: list[csv_import.Record]) -> list[int]:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk on fire")
        return real(self, rows)

    monkeypatch.setattr(csv_import._ImportWriter, "add", failing)
    with pytest.raises(RuntimeError), sqlite_db.write("import", source="import") as s:
        apply_import(s, plan, region="BR")
    assert indexes(sqlite_db) == before
    with sqlite_db.read() as s:
        assert contacts.count_contacts(s) == 0
