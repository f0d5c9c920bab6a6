"""Merge keeps everything of both; forget erases a person everywhere; subject-access export."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from pycrm import models as m
from pycrm.db import Database
from pycrm.services import changelog, contacts, deals, followups, interactions, meetings, privacy
from pycrm.services.errors import Conflict
from pycrm.services.search import search

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_merge_keeps_everything_of_both(database: Database) -> None:
    with database.write("setup") as s:
        a = contacts.create_contact(
            s, "Ana Silva", emails=["ana@x.org"], tags=["vip"], notes="A notes"
        ).id
        b = contacts.create_contact(
            s, "Ana S.", emails=["ana@y.org"], phones=["+1 212 555 0100"], tags=["partner"],
            notes="B notes", title="CFO", company_name="Acme",
        )  # fmt: skip
        b_id = b.id
        interactions.log_interaction(s, type="call", summary="b call", contact_id=b_id)
        followups.create_followup(s, "b promise", due_at=NOW, contact_id=b_id)
        deals.create_deal(s, "b deal", contact_id=b_id, amount=5)
        meetings.create_meeting(s, "b meeting", starts_at=NOW, attendees=[a, b_id])
    with database.write("merge") as s:
        privacy.merge_contacts(s, a, b_id)
    with database.read() as s:
        [summary] = contacts.list_contacts(s)
        assert summary.contact.id == a
        assert [e for e, _ in summary.emails] == ["ana@x.org", "ana@y.org"]
        assert [p for p, _ in summary.phones] == ["+12125550100"]
        assert summary.tags == ["partner", "vip"]
        assert summary.contact.title == "CFO" and summary.company_name == "Acme"
        assert summary.contact.notes == "A notes\n\nB notes"
        assert [i.summary for i in interactions.list_interactions(s, contact_id=a)] == ["b call"]
        assert len(followups.list_followups(s, contact_id=a)) == 1
        assert [d.deal.title for d in deals.list_deals(s, contact_id=a)] == ["b deal"]
        occ = meetings.agenda(s, NOW - timedelta(hours=1), NOW + timedelta(hours=1))
        assert [name for _, name in occ[0].attendees] == ["Ana Silva"]


def test_forget_erases_person_history_and_search(database: Database) -> None:
    with database.write("setup") as s:
        cid = contacts.create_contact(s, "Zed Private", emails=["zed@x.org"]).id
        keep = contacts.create_contact(s, "Other Person").id
        interactions.log_interaction(s, type="note", summary="secret", contact_id=cid)
        deals.create_deal(s, "solo deal", contact_id=cid, amount=1)
        meetings.create_meeting(s, "alone", starts_at=NOW, attendees=[cid])
        meetings.create_meeting(s, "shared", starts_at=NOW, attendees=[cid, keep])
        uuid = contacts.get_contact(s, cid).uuid
    with database.write("forget") as s:
        privacy.forget_contact(s, cid)
        batch = s.info["batch_id"]
    with database.read() as s:
        assert search(s, "zed") == [] and search(s, "private") == []
        assert s.scalar(sa.select(sa.func.count()).select_from(m.Interaction)) == 0
        assert s.scalar(sa.select(sa.func.count()).select_from(m.Deal)) == 0
        assert [mt.title for mt in s.scalars(sa.select(m.Meeting))] == ["shared"]
        log = m.ChangeLog.__table__
        leftovers = s.execute(
            sa.select(log.c.before, log.c.after).where(log.c.record_uuid == uuid)
        ).all()
        assert all("Zed" not in str(row) for row in leftovers)
        assert "secret" not in str(s.execute(sa.select(log.c.before, log.c.after)).all())
    with pytest.raises(Conflict), database.write("undo") as s:
        changelog.revert_batch(s, batch)


def test_subject_access_export_has_everything(database: Database) -> None:
    with database.write("setup") as s:
        cid = contacts.create_contact(s, "Sam", emails=["sam@x.org"], company_name="Beta").id
        interactions.log_interaction(s, type="email", summary="hello", contact_id=cid)
        followups.create_followup(s, "call Sam", due_at=NOW, contact_id=cid)
    with database.read() as s:
        data = privacy.export_contact(s, cid)
    assert data["contact"]["display_name"] == "Sam"
    assert data["contact"]["emails"][0]["email"] == "sam@x.org"
    assert data["company"]["name"] == "Beta"
    assert [i["summary"] for i in data["interactions"]] == ["hello"]
    assert [f["what"] for f in data["followups"]] == ["call Sam"]
    assert data["history"][0]["action"] == "create"


def test_a_batch_emptied_by_forget_says_there_is_nothing_to_undo(database: Database) -> None:
    """Undoing 'contact add Zed' after Zed was forgotten used to report 'undone (0 changes)'."""
    with database.write("contact add Zed") as s:
        cid = contacts.create_contact(s, "Zed").id
        added = s.info["batch_id"]
    with database.write("contact add Ann") as s:
        contacts.create_contact(s, "Ann")
    with database.write("forget") as s:
        privacy.forget_contact(s, cid)
    with (
        pytest.raises(Conflict, match="nothing to undo in 'contact add Zed'"),
        database.write("undo") as s,
    ):
        changelog.revert_batch(s, added)
    with database.read() as s:
        assert [b.label for b in changelog.list_batches(s) if b.id == added] == ["contact add Zed"]
        assert next(b for b in changelog.list_batches(s) if b.id == added).reverted_at is None
