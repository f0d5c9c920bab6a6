"""The streamed exports give exactly what the record snapshots and summaries say."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from pycrm import models as m
from pycrm.db import Database
from pycrm.io.csv_export import iter_export_contacts
from pycrm.io.json_backup import (
    SECTIONS,
    _iso,
    _sqlite_texts,
    encode_record,
    iter_records,
    write_backup,
)
from pycrm.services import contacts, deals, followups, interactions, meetings
from pycrm.services.changelog import snapshot


def seed(database: Database) -> None:
    with database.write("seed") as session:
        for i in range(7):
            contacts.create_contact(
                session, f"Person {i}", emails=[f"p{i}@example.com", f"q{i}@example.org"],
                phones=["+5511987654321"] if i % 2 else [], tags=["vip", f"t{i % 3}"],
                company_name=f"Co {i % 2}", notes="ç, ü; \\ 日本" if i == 3 else None,
            )  # fmt: skip
        who = contacts.find_by_email(session, "p1@example.com")[0]
        followups.create_followup(
            session, "Call", due_at=datetime(2026, 12, 1, 12, 0, 0, 123456, tzinfo=UTC),
            contact_id=who,
        )  # fmt: skip
        followups.create_followup(
            session, "Mail", due_at=datetime(2026, 12, 2, 9, tzinfo=UTC), contact_id=who
        )


def test_every_exported_record_is_its_changelog_snapshot(sqlite_db: Database) -> None:
    seed(sqlite_db)
    with sqlite_db.read() as session:
        for _section, entity in SECTIONS:
            records = list(iter_records(session, entity, batch=3))  # several batches
            assert records == [snapshot(session, entity, r["id"]) for r in records]
        assert [r["due_at"] for r in iter_records(session, "followup")] == [
            "2026-12-01T12:00:00.123456+00:00",
            "2026-12-02T09:00:00+00:00",
        ]


def test_backup_document_is_valid_json_with_every_section(sqlite_db: Database) -> None:
    seed(sqlite_db)
    out = io.StringIO()
    with sqlite_db.read() as session:
        counts = write_backup(session, out)
    data = json.loads(out.getvalue())
    assert counts["contacts"] == len(data["contacts"]) == 7
    assert counts["followups"] == 2 and counts["companies"] == 2


def test_iso_text_matches_the_aware_datetime() -> None:
    for text, aware in [
        ("2026-11-20 13:00:00.000000", datetime(2026, 11, 20, 13, tzinfo=UTC)),
        ("2026-11-20 13:00:00.000500", datetime(2026, 11, 20, 13, 0, 0, 500, tzinfo=UTC)),
        ("2026-11-20 13:00:00", datetime(2026, 11, 20, 13, tzinfo=UTC)),
        ("2026-11-20T10:00:00-03:00", datetime(2026, 11, 20, 13, tzinfo=UTC)),
    ]:
        assert _iso(text) == aware.isoformat()


def test_contact_stream_matches_the_summaries(sqlite_db: Database) -> None:
    seed(sqlite_db)
    with sqlite_db.read() as session:
        streamed = list(iter_export_contacts(session, batch=2))
        ids = [c.contact.id for c in streamed]
        assert ids == sorted(ids) and len(ids) == 7
        models = list(session.scalars(sa.select(m.Contact).order_by(m.Contact.id)))
        for item, summary in zip(streamed, contacts.summarize(session, models), strict=True):
            assert item.contact.uuid == summary.contact.uuid
            assert item.company_name == summary.company_name
            assert item.emails == summary.emails and item.phones == summary.phones
            assert item.tags == summary.tags


def _python_texts(session: Any, entity: str) -> list[str]:
    return [encode_record(r) for r in iter_records(session, entity)]


def test_sqlite_spells_every_record_as_python_encodes_its_snapshot(sqlite_db: Database) -> None:
    """The SQLite fast path of `export json` writes the very bytes the Python path writes."""
    seed(sqlite_db)
    with sqlite_db.write("more") as session:
        deal = deals.create_deal(session, 'Renewal "Q1"', amount=120_000, contact_id=1)
        deals.move_deal(session, deal.id, "Proposal")
        meetings.create_meeting(
            session, "Lunch", starts_at=datetime(2026, 12, 3, 12, tzinfo=UTC),
            ends_at=datetime(2026, 12, 3, 13, tzinfo=UTC), attendees=[1, 2],
        )  # fmt: skip
        interactions.log_interaction(session, type="call", summary="Called\n\tback", contact_id=1)
        person = session.get(m.Contact, 2)
        assert person is not None
        person.custom_fields = {"A": "x", "b": None, "c": ["1", {"d": None}]}
        person.birth_year, person.birth_month, person.birth_day = 1980, 2, 29
    with sqlite_db.read() as session:
        for _section, entity in SECTIONS:
            assert list(_sqlite_texts(session, entity, batch=2)) == _python_texts(session, entity)


def test_a_value_sqlite_cannot_spell_falls_back_to_python(sqlite_db: Database) -> None:
    seed(sqlite_db)
    with sqlite_db.connect() as connection:
        raw = connection.connection.driver_connection
        assert raw is not None
        # Times written by something else, in another ISO form: Python normalises them.
        raw.execute("UPDATE contact SET updated_at = '2026-11-20T10:00:00-03:00' WHERE id = 3")
        raw.execute("UPDATE contact_phone SET normalized = 2 WHERE contact_id = 5")
        raw.commit()
    with sqlite_db.read() as session:
        texts = list(_sqlite_texts(session, "contact"))
        assert texts == _python_texts(session, "contact")
        assert json.loads(texts[2])["updated_at"] == "2026-11-20T13:00:00+00:00"


def test_any_text_is_spelt_as_python_spells_it(tmp_path: Path) -> None:
    from pycrm.db import open_database

    database = open_database(str(tmp_path / "crm.db"))
    text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)

    @settings(max_examples=60, deadline=None)
    @given(
        names=st.lists(text.map(lambda s: "N" + s), min_size=1, max_size=3),
        notes=st.one_of(st.none(), text),
        fields=st.dictionaries(text, st.one_of(st.none(), text, st.lists(text, max_size=2)),
                               max_size=3),
    )  # fmt: skip
    def check(names: list[str], notes: str | None, fields: dict[str, Any]) -> None:
        with database.write("fuzz") as session:
            for name in names:
                contacts.create_contact(
                    session, name, notes=notes, title=notes, custom_fields=fields or None
                )
        with database.read() as session:
            assert list(_sqlite_texts(session, "contact")) == _python_texts(session, "contact")

    try:
        check()
    finally:
        database.close()
