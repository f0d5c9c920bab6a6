"""Undoing a delete after SQLite handed the freed id to a newer record."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from pycrm import models as m
from pycrm.db import Database
from pycrm.services import changelog, contacts, deals, followups, interactions, meetings


def test_undoing_a_delete_never_overwrites_the_record_that_took_its_id(
    database: Database,
) -> None:
    with database.write("setup") as session:
        contacts.create_contact(session, "Ana", emails=["ana@example.com"])
        bruno = contacts.create_contact(
            session, "Bruno", emails=["bruno@example.com"], phones=["+5511987654321"]
        ).id
        assert bruno is not None
        interactions.log_interaction(session, type="call", summary="Talked", contact_id=bruno)
        followups.create_followup(
            session, "Send the quote", due_at=datetime(2026, 12, 3, 9, tzinfo=UTC),
            contact_id=bruno,
        )  # fmt: skip
        deal_id = deals.create_deal(session, "Renewal", amount=5000, contact_id=bruno).id
        meeting_id = meetings.create_meeting(
            session, "Lunch", starts_at=datetime(2026, 12, 4, 12, tzinfo=UTC), attendees=[bruno]
        ).id
    with database.write("contact rm Bruno") as session:
        contacts.delete_contact(session, bruno)
        removal = session.info["batch_id"]
    with database.write("contact add Carla") as session:
        carla = contacts.create_contact(
            session, "Carla", emails=["carla@example.com"], phones=["+5511912345678"]
        ).id
    with database.write("undo") as session:
        changelog.revert_batch(session, removal)
    with database.read() as session:
        people = {c.display_name: c.id for c in session.scalars(sa.select(m.Contact))}
        assert set(people) == {"Ana", "Bruno", "Carla"}
        assert people["Carla"] == carla
        assert contacts.contact_emails(session, carla) == [("carla@example.com", None)]
        back = people["Bruno"]
        assert contacts.contact_emails(session, back) == [("bruno@example.com", None)]
        phones = session.scalars(
            sa.select(m.ContactPhone.number).where(m.ContactPhone.contact_id == back)
        ).all()
        assert phones == ["+5511987654321"]
        # What pointed at Bruno points at him again, wherever he came back.
        assert session.scalars(
            sa.select(m.Interaction.contact_id).where(m.Interaction.summary == "Talked")
        ).all() == [back]
        assert session.scalars(sa.select(m.FollowUp.contact_id)).all() == [back]
        deal = session.get(m.Deal, deal_id)
        assert deal is not None and deal.contact_id == back
        attendee = m.MeetingAttendee.__table__
        assert session.scalars(
            sa.select(attendee.c.contact_id).where(attendee.c.meeting_id == meeting_id)
        ).all() == [back]
        # And the undo can itself be undone: Bruno leaves again, Carla stays.
        undo = next(b for b in changelog.list_batches(session) if b.reverts == removal)
    with database.write("undo the undo") as session:
        changelog.revert_batch(session, undo.id)
    with database.read() as session:
        names = set(session.scalars(sa.select(m.Contact.display_name)))
        assert names == {"Ana", "Carla"}
