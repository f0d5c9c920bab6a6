"""The day's agenda: each section on a hand-built dataset at a fixed time."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pycrm.db import Database
from pycrm.services import agenda, contacts, deals, followups, interactions, meetings

SP = ZoneInfo("America/Sao_Paulo")
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=SP)


def test_agenda_sections(database: Database) -> None:
    with database.write("setup") as s:
        ana = contacts.create_contact(s, "Ana", birth_month=11, birth_day=24, birth_year=1990).id
        bia = contacts.create_contact(s, "Bia", cadence_days=14).id
        caio = contacts.create_contact(s, "Caio", cadence_days=14, do_not_contact=True).id
        dani = contacts.create_contact(s, "Dani", tags=["VIP"]).id
        eva = contacts.create_contact(s, "Eva", cadence_days=14).id
        for cid in (ana, bia, caio, dani, eva):
            contacts.get_contact(s, cid).created_at = NOW - timedelta(days=400)
        interactions.log_interaction(
            s, type="call", summary="old", contact_id=bia, occurred_at=NOW - timedelta(days=40)
        )
        interactions.log_interaction(
            s, type="note", summary="recent", contact_id=eva, occurred_at=NOW - timedelta(days=2)
        )
        followups.create_followup(s, "late", due_at=NOW - timedelta(days=2), contact_id=ana)
        followups.create_followup(s, "today", due_at=NOW + timedelta(hours=3), contact_id=ana)
        followups.create_followup(s, "later", due_at=NOW + timedelta(days=3), contact_id=ana)
        d1 = deals.create_deal(s, "Closing", contact_id=ana, amount=100, at=NOW - timedelta(days=1))
        d1.expected_close = NOW.date() + timedelta(days=3)
        deals.create_deal(s, "Stale", contact_id=ana, amount=100, at=NOW - timedelta(days=60))
        meetings.create_meeting(s, "Demo", starts_at=NOW + timedelta(hours=5), attendees=[ana])
        meetings.create_meeting(s, "Tomorrow", starts_at=NOW + timedelta(days=1))
    with database.read() as s:
        day = agenda.today(s, NOW)
    assert [o.meeting.title for o in day.meetings] == ["Demo"]
    assert [f.followup.what for f in day.overdue] == ["late"]
    assert [f.followup.what for f in day.due_today] == ["today"]
    assert [d.deal.title for d in day.closing_soon] == ["Closing"]
    assert [d.deal.title for d in day.stale_deals] == ["Stale"]
    assert [(b.name, b.day, b.age) for b in day.birthdays] == [("Ana", date(2026, 11, 24), 36)]
    # Bia: 40 days since the last call > 14; Eva: touched 2 days ago; Caio: do not contact;
    # Dani: VIP defaults to 30 days and was never touched; Ana has open deals → 30 days too.
    assert {t.name for t in day.due_touch} == {"Bia", "Dani", "Ana"}


def test_sections_are_cut_to_the_limit_with_totals(database: Database) -> None:
    with database.write("setup") as s:
        ana = contacts.create_contact(s, "Ana").id
        for i in range(4):
            followups.create_followup(
                s, f"late {i}", due_at=NOW - timedelta(days=i + 1), contact_id=ana
            )
        for i in range(3):
            c = contacts.create_contact(s, f"Cold {i}", cadence_days=7)
            c.created_at = NOW - timedelta(days=30 + i)
    with database.read() as s:
        day = agenda.today(s, NOW, limit=2)
    # Overdue promises oldest first (as `followup list` and the Today screen show them);
    # the most overdue person first.
    assert [f.followup.what for f in day.overdue] == ["late 3", "late 2"]
    assert day.totals["overdue"] == 4
    assert [t.name for t in day.due_touch] == ["Cold 2", "Cold 1"]
    assert day.totals["due_touch"] == 3
