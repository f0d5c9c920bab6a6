"""The streamed exports give exactly what the record snapshots and summaries say."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import sqlalchemy as sa

from pycrm import models as m
from pycrm.db import Database
from pycrm.io.csv_export import iter_export_contacts
from pycrm.io.json_backup import SECTIONS, _iso, iter_records, write_backup
from pycrm.services import contacts, followups
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
