"""Undoing a batch whose new records later commands linked other records to (found by the CLI
state machine in tests/reliability/test_cli_state_machine.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from pycrm import models as m
from pycrm.db import Database
from pycrm.services import changelog, companies, contacts, meetings, search
from pycrm.services.errors import Conflict


def test_undoing_the_batch_that_created_a_tag_keeps_it_on_people_tagged_later(
    database: Database,
) -> None:
    with database.write("contact add Ana") as session:
        ana = contacts.create_contact(session, "Ana", tags=["vip"]).id
        first = session.info["batch_id"]
    with database.write("contact add Bruno") as session:
        bruno = contacts.create_contact(session, "Bruno", tags=["VIP", "lead"]).id
    with database.write("undo") as session:
        # Ana goes; the tag stays, so it is not counted as undone ("undone (1 changes)").
        assert changelog.revert_batch(session, first) == 1
    with database.read() as session:
        assert session.get(m.Contact, ana) is None
        assert bruno is not None
        assert contacts.contact_tags(session, bruno) == ["lead", "vip"]
        assert [h.id for h in search.search(session, "vip", kinds=("contact",))] == [bruno]
        undo = next(b for b in changelog.list_batches(session) if b.reverts == first)
    # The undo can be undone: Ana comes back with her tag.
    with database.write("undo the undo") as session:
        changelog.revert_batch(session, undo.id)
    with database.read() as session:
        tagged = session.scalars(
            sa.select(m.Contact.display_name)
            .join(m.ContactTag, m.ContactTag.contact_id == m.Contact.id)
            .join(m.Tag, m.Tag.id == m.ContactTag.tag_id)
            .where(m.Tag.name_key == "vip")
            .order_by(m.Contact.display_name)
        ).all()
        assert tagged == ["Ana", "Bruno"]


def test_a_tag_nobody_else_uses_goes_with_the_undo(database: Database) -> None:
    with database.write("contact add Ana") as session:
        contacts.create_contact(session, "Ana", tags=["vip"])
        first = session.info["batch_id"]
    with database.write("undo") as session:
        changelog.revert_batch(session, first)
    with database.read() as session:
        assert session.scalars(sa.select(m.Tag.name)).all() == []


def test_undoing_a_persons_creation_refuses_while_a_later_meeting_has_them(
    database: Database,
) -> None:
    with database.write("contact add Ana") as session:
        ana = contacts.create_contact(session, "Ana").id
    with database.write("contact add Bruno") as session:
        bruno = contacts.create_contact(session, "Bruno").id
        added = session.info["batch_id"]
    assert ana is not None and bruno is not None
    with database.write("meeting add Demo") as session:
        meeting = meetings.create_meeting(
            session, "Demo", starts_at=datetime(2026, 12, 4, 12, tzinfo=UTC), attendees=[ana, bruno]
        ).id
    assert meeting is not None
    with database.read() as session:
        problems = changelog.batch_conflicts(session, added)
    assert problems == ["1 later meeting record(s) refer to contacts this batch created"]
    with pytest.raises(Conflict), database.write("undo") as session:
        changelog.revert_batch(session, added)
    with database.read() as session:
        assert sorted(meetings.attendee_ids(session, meeting)) == sorted([ana, bruno])
        assert session.get(m.Contact, bruno) is not None


def test_undoing_an_undo_after_the_tag_was_made_again_shares_the_new_tag(
    database: Database,
) -> None:
    with database.write("company add O'Reilly") as session:
        companies.create_company(session, "O'Reilly", tags=["cliente ouro"])
        added = session.info["batch_id"]
    with database.write("undo") as session:
        changelog.revert_batch(session, added)
    with database.write("company add Acme") as session:
        companies.create_company(session, "Acme", tags=["Cliente Ouro"])
    with database.read() as session:
        undo = next(b for b in changelog.list_batches(session) if b.reverts == added)
    with database.write("undo the undo") as session:
        changelog.revert_batch(session, undo.id)
    with database.read() as session:
        assert session.scalars(sa.select(m.Tag.name)).all() == ["Cliente Ouro"]
        tagged = {
            row.name: companies.company_tags(session, row.id)
            for row in session.scalars(sa.select(m.Company))
        }
        assert tagged == {"Acme": ["Cliente Ouro"], "O'Reilly": ["Cliente Ouro"]}
