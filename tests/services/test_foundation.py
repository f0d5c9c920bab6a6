"""The data model and core services on a real database (SQLite file, and PostgreSQL when set)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from pycrm import models as m
from pycrm.db import Database
from pycrm.services import changelog, companies, contacts, deals, followups, interactions, meetings
from pycrm.services.errors import Conflict, NotFound, ValidationError


def test_contact_round_trip_with_children(database: Database) -> None:
    with database.write("add") as s:
        c = contacts.create_contact(
            s,
            "Ana Gonçalves",
            emails=[("Ana@Example.com", "work")],
            phones=[("+55 11 98765-4321", "mobile"), "1234"],
            company_name="Acme Ltda",
            tags=["vip", "VIP", "partner"],
            region="BR",
            birth_month=2,
            birth_day=29,
            custom_fields={"shoe": "42"},
            preferred_channel="Call",
        )
        cid = c.id
    with database.read() as s:
        [summary] = contacts.list_contacts(s)
    assert summary.contact.id == cid
    assert summary.company_name == "Acme Ltda"
    assert summary.emails == [("Ana@example.com", "work")]
    # valid number normalised to E.164; invalid one kept raw (never "+551234")
    assert summary.phones == [("+5511987654321", "mobile"), ("1234", None)]
    assert summary.tags == ["partner", "vip"]
    assert summary.contact.custom_fields == {"shoe": "42"}
    assert summary.contact.preferred_channel == "call"
    assert summary.contact.created_at.tzinfo is not None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"display_name": "  "}, "name"),
        ({"display_name": "X", "emails": ["not-an-email"]}, "email"),
        ({"display_name": "X", "preferred_channel": "pigeon"}, "preferred channel"),
        ({"display_name": "X", "birth_month": 2, "birth_day": 30}, "birthday"),
        ({"display_name": "X", "cadence_days": 0}, "cadence"),
    ],
)
def test_validation_errors_name_the_field(database: Database, kwargs: dict, field: str) -> None:
    with pytest.raises(ValidationError) as info, database.write("bad") as s:
        contacts.create_contact(s, **kwargs)
    assert info.value.field == field
    with database.read() as s:
        assert contacts.count_contacts(s) == 0


def test_every_write_is_logged_and_batch_reverts(database: Database) -> None:
    with database.write("setup") as s:
        c = contacts.create_contact(s, "Bruno", emails=["b@x.org"])
        cid = c.id
    with database.write("edit") as s:
        contacts.update_contact(s, cid, title="CEO", add_emails=["b2@x.org"], tags=["vip"])
        interactions.log_interaction(s, type="call", summary="Hi", contact_id=cid)
        edit_batch = s.info["batch_id"]
    with database.read() as s:
        hist = changelog.history(s, contacts.get_contact(s, cid).uuid)
        assert [h.action for h in hist] == ["create", "update"]
        assert hist[1].changes["title"] == (None, "CEO")
    with database.write("undo") as s:
        changelog.revert_batch(s, edit_batch)
    with database.read() as s:
        c2 = contacts.get_contact(s, cid)
        assert c2.title is None
        assert contacts.contact_emails(s, cid) == [("b@x.org", None)]
        assert contacts.contact_tags(s, cid) == []
        assert interactions.list_interactions(s, contact_id=cid) == []


def test_revert_delete_restores_children(database: Database) -> None:
    with database.write("setup") as s:
        c = contacts.create_contact(s, "Carla", emails=["c@x.org"], tags=["vip"])
        cid = c.id
        interactions.log_interaction(s, type="note", summary="likes tea", contact_id=cid)
        followups.create_followup(s, "call", due_at=datetime.now(UTC), contact_id=cid)
    with database.write("rm") as s:
        contacts.delete_contact(s, cid)
        batch = s.info["batch_id"]
    with database.read() as s, pytest.raises(NotFound):
        contacts.get_contact(s, cid)
    with database.write("undo") as s:
        changelog.revert_batch(s, batch)
    with database.read() as s:
        assert contacts.get_contact(s, cid).display_name == "Carla"
        assert contacts.contact_tags(s, cid) == ["vip"]
        assert [i.summary for i in interactions.list_interactions(s, contact_id=cid)] == [
            "likes tea"
        ]
        assert len(followups.list_followups(s, contact_id=cid)) == 1


def test_revert_refuses_when_later_changes(database: Database) -> None:
    with database.write("a") as s:
        cid = contacts.create_contact(s, "Dora").id
        first = s.info["batch_id"]
    with database.write("b") as s:
        contacts.update_contact(s, cid, title="CTO")
    with pytest.raises(Conflict), database.write("undo") as s:
        changelog.revert_batch(s, first)


def test_deal_stage_history_and_money(database: Database) -> None:
    with database.write("deal") as s:
        cid = contacts.create_contact(s, "Eva", company_name="Beta SA").id
        d = deals.create_deal(s, "Licences", contact_id=cid, amount=123456, currency="brl")
        did = d.id
        deals.move_deal(s, did, "prop")
        deals.mark_lost(s, did, "price")
    with database.read() as s:
        [summary] = deals.list_deals(s)
        assert summary.deal.amount == 123456 and summary.deal.currency == "BRL"
        assert summary.company_name == "Beta SA" and summary.contact_name == "Eva"
        assert summary.stage_name == "Lost" and summary.deal.lost_reason == "price"
        assert summary.deal.closed_at is not None
        assert [n for n, _ in deals.stage_history(s, did)] == ["Lead", "Proposal", "Lost"]
    with pytest.raises(ValidationError), database.write("bad") as s:
        deals.create_deal(s, "X", contact_id=cid, amount=1, currency="XXX")


def test_followup_recurrence_and_meeting_expansion(database: Database) -> None:
    due = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    with database.write("f") as s:
        cid = contacts.create_contact(s, "Fábio").id
        fid = followups.create_followup(
            s, "weekly check", due_at=due, contact_id=cid, repeat="weekly"
        ).id
        nxt = followups.complete_followup(s, fid, at=due)
        assert nxt is not None and nxt.due_at == due + timedelta(days=7)
        meetings.create_meeting(
            s,
            "Standup",
            starts_at=due,
            duration=timedelta(minutes=15),
            attendees=[cid],
            repeat="FREQ=DAILY;COUNT=5",
            exdates=[(due + timedelta(days=1)).isoformat()],
        )
    with database.read() as s:
        occ = meetings.agenda(s, due - timedelta(hours=1), due + timedelta(days=10))
        assert [o.starts_at.astimezone(UTC).day for o in occ] == [23, 25, 26, 27]
        assert occ[0].attendees[0][1] == "Fábio"


def test_company_match_is_case_and_accent_insensitive(database: Database) -> None:
    with database.write("c") as s:
        a = companies.get_or_create_company(s, "Société Générale")
        b = companies.get_or_create_company(s, "societe  generale")
        assert a.id == b.id
    with database.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(m.Company)) == 1


def test_bulk_create_is_logged_and_searchable(sqlite_db: Database) -> None:
    rows = [
        contacts.validate_new_contact(f"Person {i}", emails=[f"p{i}@x.org"], tags=["bulk"])
        for i in range(50)
    ]
    with sqlite_db.write("import") as s:
        ids = contacts.bulk_create_contacts(s, rows)
        batch = s.info["batch_id"]
    assert len(ids) == 50
    with sqlite_db.read() as s:
        hits = s.execute(
            sa.text("SELECT rowid FROM search_index WHERE search_index MATCH 'p49*'")
        ).all()
        assert hits == [(ids[49] * 4,)]
        assert contacts.list_contacts(s, tag="bulk", limit=1)[0].emails == [("p0@x.org", None)]
    with sqlite_db.write("revert") as s:
        assert changelog.revert_batch(s, batch) == 51  # 50 contacts + the new tag
    with sqlite_db.read() as s:
        assert contacts.count_contacts(s) == 0
        assert s.execute(sa.text("SELECT count(*) FROM search_index")).scalar() == 0


def test_bulk_and_single_writes_build_the_same_search_documents(sqlite_db: Database) -> None:
    kwargs = {
        "emails": ["zoe@example.org"],
        "phones": ["+1 212 555 0100"],
        "tags": ["vip"],
        "notes": "likes jazz",
        "title": "CFO",
    }
    with sqlite_db.write("single") as s:
        single = contacts.create_contact(s, "Zoë Single", **kwargs).id
    with sqlite_db.write("bulk") as s:
        [bulk] = contacts.bulk_create_contacts(
            s, [contacts.validate_new_contact("Zoë Single", **kwargs)]
        )
    with sqlite_db.read() as s:
        docs = s.execute(
            sa.text(
                "SELECT rowid, name, emails, phones, tags, notes FROM search_index ORDER BY rowid"
            )
        ).all()
    assert [d[0] for d in docs] == [single * 4, bulk * 4]
    assert docs[0][1:] == docs[1][1:]


def test_revert_refuses_when_later_records_refer_to_created_ones(database: Database) -> None:
    with database.write("import") as s:
        [cid] = contacts.bulk_create_contacts(s, [contacts.validate_new_contact("Gil")])
        batch = s.info["batch_id"]
    with database.write("log") as s:
        interactions.log_interaction(s, type="call", summary="hello", contact_id=cid)
    with pytest.raises(Conflict, match="interaction"), database.write("undo") as s:
        changelog.revert_batch(s, batch)
    with database.read() as s:
        assert len(interactions.list_interactions(s, contact_id=cid)) == 1
