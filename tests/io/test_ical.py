"""iCalendar import/export on a Google-Calendar-shaped file (VTIMEZONE, UTC, floating, all-day)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import icalendar
import pytest

from pycrm.db import Database
from pycrm.io.ical import ICalError, import_events, read_events, write_ics
from pycrm.services import changelog, contacts, followups

FIXTURE = Path(__file__).parent / "fixtures" / "google-calendar.ics"


def load(database: Database, path: Path) -> dict[str, int]:
    events = read_events(path)
    with database.write("import ics", source="import") as session:
        return import_events(session, events)


def test_google_calendar_times_rules_and_attendees(database: Database) -> None:
    with database.write("seed") as session:
        ana = contacts.create_contact(session, "Ana", emails=["ana@example.com"]).id
    counts = load(database, FIXTURE)
    assert counts["created"] == 4 and counts["attendees"] == 1 and counts["unknown_attendees"] == 1
    with database.read() as session:
        import sqlalchemy as sa

        from pycrm import models as m

        rows = {x.title: x for x in session.scalars(sa.select(m.Meeting))}
        weekly = rows["Weekly pipeline review, Acme"]
        assert weekly.starts_at.astimezone(UTC) == datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
        assert weekly.timezone == "America/Sao_Paulo"
        assert weekly.rrule is not None and "FREQ=WEEKLY" in weekly.rrule
        assert weekly.exdates and weekly.exdates[0].startswith("2026-11-30T10:00:00")
        assert weekly.notes == "Agenda:\n- numbers\n- next steps"
        assert rows["Call with Bruno (UTC)"].uuid == "0d7e5a6c-2b7c-4b1e-9a0e-1a2b3c4d5e6f"
        assert rows["Trade fair"].all_day
        attendees = session.execute(sa.select(m.MeetingAttendee.contact_id)).scalars().all()
        assert attendees == [ana]
    again = load(database, FIXTURE)  # as stored already: nothing is written
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 4)


def test_a_changed_event_updates_and_the_rest_write_nothing(
    database: Database, tmp_path: Path
) -> None:
    def logged() -> int:
        with database.read() as session:
            return sum(b.changes for b in changelog.list_batches(session, limit=100))

    load(database, FIXTURE)
    first = logged()
    load(database, FIXTURE)
    assert logged() == first  # no ChangeLog entry at all
    edited = tmp_path / "edited.ics"
    text = FIXTURE.read_text(encoding="utf-8").replace("Floating breakfast", "Late breakfast")
    edited.write_text(text, encoding="utf-8")
    counts = load(database, edited)
    assert (counts["created"], counts["updated"], counts["unchanged"]) == (0, 1, 3)
    assert logged() == first + 1


def test_export_parses_and_uids_are_stable(sqlite_db: Database) -> None:
    load(sqlite_db, FIXTURE)
    with sqlite_db.write("todo") as session:
        who = contacts.create_contact(session, "Bruno").id
        followups.create_followup(
            session,
            "Send the proposal",
            due_at=datetime(2026, 12, 1, 12, tzinfo=UTC),
            contact_id=who,
        )
    first, second = io.StringIO(), io.StringIO()
    with sqlite_db.read() as session:
        assert write_ics(session, first) == 5
        write_ics(session, second)
    cal = icalendar.Calendar.from_ical(first.getvalue())
    uids = [str(c["UID"]) for c in cal.walk() if c.name in ("VEVENT", "VTODO")]
    again = icalendar.Calendar.from_ical(second.getvalue())
    assert uids == [str(c["UID"]) for c in again.walk() if c.name in ("VEVENT", "VTODO")]
    assert "7kukuqrfedlm2f9t0vr7hn5v3c@google.com" in uids
    assert len(cal.walk("VTIMEZONE")) >= 1 and len(cal.walk("VTODO")) == 1


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"", "empty"), (b"BEGIN:VCARD\r\nEND:VCARD\r\n", "not an iCalendar"), (b"\x00\x01", "NUL"),
     (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", "no events")],
)  # fmt: skip
def test_bad_files_are_one_line(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "bad.ics"
    path.write_bytes(content)
    with pytest.raises(ICalError, match=problem) as info:
        read_events(path)
    assert "\n" not in str(info.value)
