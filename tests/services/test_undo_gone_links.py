"""Undoing a delete after what the deleted record pointed at has gone (found by the CLI state
machine in tests/reliability/test_cli_state_machine.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from pycrm import models as m
from pycrm.db import Database
from pycrm.services import changelog, companies, contacts, deals, interactions, meetings, privacy
from pycrm.services.errors import Conflict


def test_a_person_brought_back_after_their_company_was_removed_has_no_company(
    database: Database,
) -> None:
    with database.write("contact add Bruno") as session:
        bruno = contacts.create_contact(session, "Bruno", company_name="Acme").id
        acme = session.scalars(sa.select(m.Company.id)).one()
    assert bruno is not None
    with database.write("contact rm Bruno") as session:
        contacts.delete_contact(session, bruno)
        removal = session.info["batch_id"]
    with database.write("company rm Acme") as session:
        companies.delete_company(session, acme)
    with database.write("company add Globex") as session:
        # On SQLite Globex takes Acme's freed id: Bruno must not come back working there.
        companies.create_company(session, "Globex")
    with database.write("undo") as session:
        changelog.revert_batch(session, removal)
    with database.read() as session:
        [back] = session.scalars(sa.select(m.Contact).where(m.Contact.display_name == "Bruno"))
        assert back.company_id is None


def test_an_interaction_about_an_erased_deal_comes_back_without_the_deal(
    database: Database,
) -> None:
    with database.write("setup") as session:
        bruno = contacts.create_contact(session, "Bruno").id
        ana = contacts.create_contact(session, "Ana").id
        assert bruno is not None and ana is not None
        deal = deals.create_deal(session, "Ana's deal", amount=1000, contact_id=ana).id
        interactions.log_interaction(
            session, type="call", summary="About Ana's deal", contact_id=bruno, deal_id=deal
        )
    with database.write("contact rm Bruno") as session:
        contacts.delete_contact(session, bruno)
        removal = session.info["batch_id"]
    with database.write("contact forget") as session:
        privacy.forget_contact(session, ana)
    with database.write("undo") as session:
        changelog.revert_batch(session, removal)
    with database.read() as session:
        [item] = session.scalars(sa.select(m.Interaction))
        assert (item.summary, item.deal_id) == ("About Ana's deal", None)
        assert session.get(m.Contact, item.contact_id) is not None


def test_forgetting_someone_at_a_shared_meeting_is_logged_so_older_undos_refuse(
    database: Database,
) -> None:
    with database.write("setup") as session:
        ids = [contacts.create_contact(session, n).id for n in ("Bruno", "Carla", "Ana")]
        bruno, carla, ana = (i for i in ids if i is not None)
        meeting = meetings.create_meeting(
            session, "Demo", starts_at=datetime(2026, 12, 4, 12, tzinfo=UTC), attendees=ids
        ).id
        assert meeting is not None
    with database.write("contact rm Bruno") as session:
        contacts.delete_contact(session, bruno)
        removal = session.info["batch_id"]
    with database.write("contact forget") as session:
        privacy.forget_contact(session, ana)
    with database.read() as session:
        assert changelog.batch_conflicts(session, removal)
    with pytest.raises(Conflict), database.write("undo") as session:
        changelog.revert_batch(session, removal)
    with database.read() as session:
        assert meetings.attendee_ids(session, meeting) == [carla]
