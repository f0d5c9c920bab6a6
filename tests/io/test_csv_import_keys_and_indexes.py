"""The import's own name folding equals ``fold``, and indexes it builds again part-way through a
write (while the writer would wait for rows) end up holding every row."""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from pycrm.db import Database
from pycrm.io import csv_apply, csv_import
from pycrm.io.csv_import import _fold, apply_import, plan_import
from pycrm.services import contacts
from pycrm.services.text import fold

# Characters where folding is tricky: whitespace NFKD makes or keeps (NBSP, U+2007, ideographic
# space, "¨" → " ̈"), combining marks, ligatures, ß, final sigma, dotted I, full-width letters.
TRICKY = " \t\n\x1c\x85\u00a0\u2007\u3000\u00a8\u0301\u0308\ufb01\u00dfΣσς\u0130ＡéÉñÅ\u1e9e"


@settings(max_examples=800, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(TRICKY + "aZ0 '-.")), max_size=16) | st.text())
def test_the_import_folds_names_as_fold(text: str) -> None:
    assert _fold(text) == fold(text)


def test_the_import_folds_every_character_as_fold() -> None:
    rnd = random.Random(5)
    for code in range(0, sys.maxunicode + 1, 7):
        if 0xD800 <= code < 0xE000:
            continue
        char = chr(code)
        text = f"{rnd.choice(TRICKY)}{char}{rnd.choice(TRICKY)} x{char}"
        assert _fold(text) == fold(text), hex(code)


def random_csv(path: Path, rows: int) -> Path:
    rnd = random.Random(3)
    lines = ["Name,E-mail,Phone,Company,Labels"]
    for i in range(rows):
        phone = f"+55 11 9{rnd.randint(0, 9999):04d}-{i:04d}" if rnd.random() < 0.7 else ""
        company = rnd.choice(["", "Acme", "Açme Ltda", f"Co {i % 7}"])
        lines.append(f"Zoë {rnd.randint(0, 999)},p{i}@ex.org,{phone},{company},vip")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def index_names(database: Database) -> list[str]:
    with database.read() as s:
        return sorted(
            s.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'index'")).scalars()
        )


def test_indexes_built_again_part_way_hold_every_row(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_import, "CHUNK_ROWS", 13)
    before = index_names(sqlite_db)
    path = random_csv(tmp_path / "people.csv", 90)
    built: list[int] = []
    real = contacts.BulkContactWriter.add

    def build_some(self: Any, rows: list[Any]) -> list[int]:
        ids = real(self, rows)
        # Two indexes after the second chunk, the rest after the fourth: the rows of the
        # chunks in between and after are added to indexes that exist by then.
        count = 2 if len(built) == 1 else 99 if len(built) == 3 else 0
        built.append(sum(self.dropped_indexes.build_one() for _ in range(count)))
        return ids

    monkeypatch.setattr(csv_apply._ImportWriter, "add", build_some)
    with sqlite_db.read() as s:
        plan = plan_import(s, path, on_duplicate="create", region="BR")
    with sqlite_db.write("import", source="import") as s:
        apply_import(s, plan, region="BR")
    assert built[1] == 2 and built[3] > 5 and sum(built[4:]) == 0
    assert index_names(sqlite_db) == before
    with sqlite_db.read() as s:
        assert s.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"
        for table, index, column in [
            ("contact", "ix_contact_name_key", "name_key"),
            ("contact", "ix_contact_uuid", "uuid"),
            ("contact_email", "ix_contact_email_email_key", "email_key"),
            ("contact_phone", "ix_contact_phone_number", "number"),
        ]:
            through_index = s.execute(
                sa.text(f"SELECT count(*) FROM {table} INDEXED BY {index} WHERE {column} > ''")
            ).scalar()
            assert through_index == s.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
        assert contacts.count_contacts(s) == 90
        assert (
            s.execute(
                sa.text(
                    "SELECT count(*) FROM contact WHERE name_key = 'zoe ' || substr(display_name, 5)"
                )
            ).scalar()
            == 90
        )


# --- a writing process's chunks, spooled as handed over, written by apply_import after all ------

LATE_CONTACT = (
    "INSERT INTO contact (uuid, created_at, updated_at, display_name, name_key, do_not_contact, "
    "archived) VALUES ('u-late', '2026-01-01', '2026-01-01', 'Late Person', 'late person', 0, 0)"
)
LATE_COMPANY = (
    "INSERT INTO company (uuid, created_at, updated_at, name, name_key) "
    "VALUES ('u-co', '2026-01-01', '2026-01-01', 'Late Co', 'late co')"
)


def imported(tmp_path: Path, name: str, path: Path, case: str) -> dict[str, Any]:
    """The content after importing ``path``: by the fallback from a writing process's spool
    (``case``: "rejected" row, "stale" ids), or in-process ("reference-…") with the same
    records written first."""
    import sqlite3

    from pycrm.db import open_database

    from .test_csv_write_ahead import content, seed

    database = open_database(str(tmp_path / f"{name}.db"))
    seed(database)
    with database.read() as s:
        if case == "stale":
            s.execute(sa.text("SELECT count(*) FROM company")).scalar()  # its snapshot
        if case in ("stale", "reference-stale"):
            other = sqlite3.connect(tmp_path / f"{name}.db", isolation_level=None)
            other.execute(LATE_CONTACT)
            other.execute(LATE_COMPANY)
            other.close()
        plan = plan_import(
            s, path, region="BR", on_duplicate="skip", write_ahead=not case.startswith("ref")
        )
    assert plan._ahead is None  # the writing process was cancelled or refused the ids
    assert plan._creates.count == len(plan.create) > 50
    with database.write("import csv people.csv", source="import") as s:
        apply_import(s, plan, region="BR")
    with database.read() as s:
        assert s.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"
        result = content(s)
    database.close()
    return result


@pytest.mark.parametrize("case", ["rejected", "stale"])
def test_chunks_spooled_for_a_writing_process_are_written_as_the_in_process_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    from .test_csv_write_ahead import write_csv

    monkeypatch.setattr(csv_import, "CHUNK_ROWS", 17)
    monkeypatch.setattr(csv_import, "WRITE_AHEAD_MIN_BYTES", 0)
    # "rejected": the writing process is cancelled at line 151, chunks before it were spooled as
    # handed to it; "stale": another program took the ids planned for the companies, so the
    # writing process refuses them and everything is written from the spool.
    path = write_csv(tmp_path / "people.csv", 220, 12, bad={150} if case == "rejected" else set())
    got = imported(tmp_path, "fallback", path, case)
    expected = imported(tmp_path, "reference", path, f"reference-{case}")
    for key in expected:
        assert got[key] == expected[key], key
    assert len(got["contacts"]) > 60
