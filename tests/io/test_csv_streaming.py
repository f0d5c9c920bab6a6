"""The streamed CSV import: chunks, spool, search triggers, revert — on files bigger than a chunk."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from pycrm.db import Database
from pycrm.io import csv_apply, csv_import
from pycrm.io.csv_import import apply_import, plan_import
from pycrm.services import changelog, contacts


def triggers(database: Database) -> list[tuple[str, str]]:
    with database.read() as s:
        rows = s.execute(
            sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
        ).all()
    return [(r[0], r[1]) for r in rows]


def write_csv(path: Path, rows: int, *, bad_line: int | None = None) -> Path:
    lines = ["Name,E-mail,Phone,Company,Labels"]
    for i in range(rows):
        email = "not-an-email" if bad_line is not None and i + 2 == bad_line else f"p{i}@ex.org"
        lines.append(f"Person {i},{email},+55 11 9{i:04d}-{i % 9999:04d},Company {i % 7},vip")
    lines.append("Person 0 again,p0@ex.org,,,")  # a duplicate of line 2, by e-mail
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_import_in_several_chunks_is_searchable_revertable_and_keeps_triggers(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_import, "CHUNK_ROWS", 7)
    before = triggers(sqlite_db)
    path = write_csv(tmp_path / "many.csv", 40)
    with sqlite_db.read() as s:
        plan = plan_import(s, path)
    assert (len(plan.create), len(plan.skipped), plan.rows) == (40, 1, 41)
    with sqlite_db.write("import", source="import") as s:
        counts = apply_import(s, plan)
        batch = s.info["batch_id"]
    assert counts["created"] == 40
    assert triggers(sqlite_db) == before  # dropped for the bulk insert, back as they were
    with sqlite_db.read() as s:
        hits = s.execute(
            sa.text("SELECT count(*) FROM search_index WHERE search_index MATCH 'p39*'")
        ).scalar()
        assert hits == 1
        assert s.execute(sa.text("SELECT count(*) FROM company")).scalar() == 7
        uuids = [u for (u,) in s.execute(sa.text("SELECT uuid FROM contact ORDER BY id")).all()]
        assert len(set(uuids)) == 40 and uuids == sorted(uuids)  # time-ordered
    with sqlite_db.write("revert import") as s:
        changelog.revert_batch(s, batch)
    with sqlite_db.read() as s:
        assert contacts.count_contacts(s) == 0
        assert s.execute(sa.text("SELECT count(*) FROM contact_email")).scalar() == 0
        assert s.execute(sa.text("SELECT count(*) FROM search_index")).scalar() == 0
    # import again; single edits afterwards still keep the index current (the triggers work)
    with sqlite_db.read() as s:
        again = plan_import(s, path)
    with sqlite_db.write("import again", source="import") as s:
        apply_import(s, again)
    with sqlite_db.write("edit") as s:
        cid = contacts.find_by_email(s, "p3@ex.org")[0]
        contacts.update_contact(s, cid, add_emails=["zebra@ex.org"])
    with sqlite_db.read() as s:
        found = s.execute(
            sa.text("SELECT rowid FROM search_index WHERE search_index MATCH 'zebra*'")
        ).all()
        assert found == [(cid * 4,)]


def test_strict_import_with_a_bad_row_late_in_the_file_writes_nothing(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_import, "CHUNK_ROWS", 5)
    path = write_csv(tmp_path / "bad.csv", 30, bad_line=29)
    with sqlite_db.read() as s:
        plan = plan_import(s, path)
    assert [(p.line, p.column) for p in plan.rejected] == [(29, "E-mail")]
    assert plan.rejected[0].row["Name"] == "Person 27"
    plan.close()
    with sqlite_db.read() as s:
        assert contacts.count_contacts(s) == 0


def test_failed_write_rolls_back_and_restores_the_triggers(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_import, "CHUNK_ROWS", 5)
    before = triggers(sqlite_db)
    path = write_csv(tmp_path / "many.csv", 20)
    with sqlite_db.read() as s:
        plan = plan_import(s, path)
    calls = {"n": 0}
    real_add = contacts.BulkContactWriter.add

    def failing_add(self: contacts.BulkContactWriter, rows: list[contacts.NewContact]) -> list[int]:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk on fire")
        return real_add(self, rows)

    monkeypatch.setattr(contacts.BulkContactWriter, "add", failing_add)
    with pytest.raises(RuntimeError), sqlite_db.write("import", source="import") as s:
        apply_import(s, plan)
    assert triggers(sqlite_db) == before
    with sqlite_db.read() as s:
        assert contacts.count_contacts(s) == 0


def test_update_policy_streams_updates_too(sqlite_db: Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "people.csv", 12)
    with sqlite_db.read() as s:
        first = plan_import(s, path)
    with sqlite_db.write("import", source="import") as s:
        apply_import(s, first)
    path.write_text(
        path.read_text(encoding="utf-8").replace("Company 1,", "Renamed Ltda,"), encoding="utf-8"
    )
    with sqlite_db.read() as s:
        plan = plan_import(s, path, on_duplicate="update")
    assert (len(plan.create), len(plan.update), len(plan.update_preview)) == (0, 13, 13)
    with sqlite_db.write("update", source="import") as s:
        counts = apply_import(s, plan)
    assert counts["updated"] == 13
    with sqlite_db.read() as s:
        renamed = s.execute(
            sa.text(
                "SELECT count(*) FROM contact c JOIN company co ON co.id = c.company_id "
                "WHERE co.name = 'Renamed Ltda'"
            )
        ).scalar()
    assert renamed == 2  # Person 1 and Person 8


def test_the_import_writes_with_a_small_page_cache_and_gives_the_connection_its_own_back(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_csv(tmp_path / "people.csv", 12)
    with sqlite_db.read() as s:
        plan = plan_import(s, path)
    seen: list[int] = []
    real_add = csv_apply._ImportWriter.add

    def add(self: csv_apply._ImportWriter, rows: list[contacts.NewContact]) -> list[int]:
        seen.append(self.session.execute(sa.text("PRAGMA cache_size")).scalar_one())
        return real_add(self, rows)

    monkeypatch.setattr(csv_apply._ImportWriter, "add", add)
    with sqlite_db.write("import", source="import") as s:
        before = s.execute(sa.text("PRAGMA cache_size")).scalar_one()
        apply_import(s, plan)
        after = s.execute(sa.text("PRAGMA cache_size")).scalar_one()
    assert seen == [-csv_apply.IMPORT_CACHE_KIB]
    assert after == before == -65536


@pytest.mark.parametrize("in_memory", [300_000, 10])
def test_rows_repeating_earlier_ones_are_found_before_and_after_the_keys_move_to_disk(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_memory: int
) -> None:
    # With 10, the keys move to the on-disk store after the second chunk of 7 rows.
    monkeypatch.setattr(csv_import, "CHUNK_ROWS", 7)
    monkeypatch.setattr(csv_import._SeenKeys, "IN_MEMORY", in_memory)
    lines = ["Name,E-mail,Phone,Company"]
    for i in range(30):
        lines.append(f"Person {i},p{i}@ex.org,+55 11 9{i:04d}-0000,")
    lines.append("Nobody,,,Acme")  # line 32: name + company
    lines.append("Again 1,P1@EX.ORG,,")  # line 33: line 3 by e-mail, any case
    lines.append("Again 20,,+55 11 90020-0000,")  # line 34: line 22 by phone
    lines.append("nobody,,,ACME")  # line 35: line 32 by name and company
    lines.append("Again 29,p29@ex.org,,")  # line 36: line 31, in the chunk before
    lines.append("Again 36,p36@ex.org,,")  # line 37: new
    path = tmp_path / "repeats.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with sqlite_db.read() as s:
        plan = plan_import(s, path)
    try:
        assert list(plan.skipped) == [(33, -3), (34, -22), (35, -32), (36, -31)]
        assert len(plan.create) == 32
    finally:
        plan.close()
