"""Merging duplicates, forgetting a person (erasure), and everything stored about one person."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pycrm import models as m
from pycrm.services import contacts as contact_service
from pycrm.services.changelog import Tracker, aggregates, delete_record, log_change, snapshot
from pycrm.services.errors import ValidationError


def merge_contacts(session: Session, keep_id: int, other_id: int) -> m.Contact:
    """Merge ``other`` into ``keep``: every e-mail, phone, tag, note, interaction, deal,
    follow-up and meeting of both ends up on ``keep``; ``other`` is deleted. Logged, one transaction.
    """
    if keep_id == other_id:
        raise ValidationError("contact", "cannot merge a person with themselves")
    keep = contact_service.get_contact(session, keep_id)
    other = contact_service.get_contact(session, other_id)
    other_emails = contact_service.contact_emails(session, other_id)
    other_phones = contact_service.contact_phones(session, other_id)
    other_tags = contact_service.contact_tags(session, other_id)
    fill = contact_service.merge_fields_missing(keep, other)
    if keep.notes and other.notes and other.notes not in keep.notes:
        fill["notes"] = f"{keep.notes}\n\n{other.notes}"
    if other.custom_fields:
        fill["custom_fields"] = {**other.custom_fields, **(keep.custom_fields or {})}
    if other.extra:
        fill["extra"] = {**other.extra, **(keep.extra or {})}
    for table, column in (
        (m.Interaction, m.Interaction.contact_id),
        (m.FollowUp, m.FollowUp.contact_id),
        (m.Deal, m.Deal.contact_id),
    ):
        entity = {m.Interaction: "interaction", m.FollowUp: "followup", m.Deal: "deal"}[table]
        for record_id in list(session.scalars(sa.select(table.id).where(column == other_id))):
            record = session.get(table, record_id)
            with Tracker(session, entity, record_id):
                record.contact_id = keep_id
    attendee = m.MeetingAttendee.__table__
    for meeting_id in list(
        session.scalars(sa.select(attendee.c.meeting_id).where(attendee.c.contact_id == other_id))
    ):
        with Tracker(session, "meeting", meeting_id):
            session.execute(
                sa.delete(attendee).where(
                    attendee.c.meeting_id == meeting_id, attendee.c.contact_id == other_id
                )
            )
            already = session.execute(
                sa.select(attendee).where(
                    attendee.c.meeting_id == meeting_id, attendee.c.contact_id == keep_id
                )
            ).first()
            if already is None:
                session.execute(
                    sa.insert(attendee).values(meeting_id=meeting_id, contact_id=keep_id)
                )
    # Free the other record's e-mails first so the kept record can take them.
    delete_record(session, "contact", other_id)
    company = (
        {"company_id": other.company_id} if keep.company_id is None and other.company_id else {}
    )
    contact_service.update_contact(
        session, keep_id, add_emails=other_emails, add_phones=other_phones, add_tags=other_tags,
        **company, **fill,
    )  # fmt: skip
    return keep


def forget_contact(session: Session, contact_id: int) -> dict[str, int]:
    """Erase a person and every row that belongs only to them, including their ChangeLog history.

    Deals that also belong to a company are kept but unlinked; meetings they attended alone are
    deleted, shared ones lose them as attendee. The erasure cannot be undone.
    """
    contact = contact_service.get_contact(session, contact_id)
    erased_uuids = [contact.uuid]
    counts = {"interactions": 0, "follow-ups": 0, "deals": 0, "meetings": 0}

    def erase(entity: str, record_id: int, count_key: str) -> None:
        data = snapshot(session, entity, record_id)
        if data is None:
            return
        agg = aggregates()[entity]
        for child in agg.children:
            session.execute(sa.delete(child.table).where(child.table.c[child.fk] == record_id))
        session.execute(sa.delete(agg.table).where(agg.table.c.id == record_id))
        erased_uuids.append(data["uuid"])
        counts[count_key] += 1

    for fid in list(
        session.scalars(sa.select(m.FollowUp.id).where(m.FollowUp.contact_id == contact_id))
    ):
        erase("followup", fid, "follow-ups")
    for iid in list(
        session.scalars(sa.select(m.Interaction.id).where(m.Interaction.contact_id == contact_id))
    ):
        erase("interaction", iid, "interactions")
    for deal in list(session.scalars(sa.select(m.Deal).where(m.Deal.contact_id == contact_id))):
        if deal.company_id is None:
            for fid in list(
                session.scalars(sa.select(m.FollowUp.id).where(m.FollowUp.deal_id == deal.id))
            ):
                erase("followup", fid, "follow-ups")
            # Other people's interactions and meetings about the deal stay, unlinked, and the
            # change is logged: undoing an older batch then refuses instead of restoring a link
            # to the erased deal (a foreign-key crash, or a stranger's deal once the id is reused).
            for table, entity in ((m.Interaction, "interaction"), (m.Meeting, "meeting")):
                for record_id in list(
                    session.scalars(sa.select(table.id).where(table.deal_id == deal.id))
                ):
                    with Tracker(session, entity, record_id):
                        session.execute(
                            sa.update(table).where(table.id == record_id).values(deal_id=None)
                        )
            erase("deal", deal.id, "deals")
        else:
            with Tracker(session, "deal", deal.id):
                deal.contact_id = None
    attendee = m.MeetingAttendee.__table__
    for meeting_id in list(
        session.scalars(sa.select(attendee.c.meeting_id).where(attendee.c.contact_id == contact_id))
    ):
        others = session.scalar(
            sa.select(sa.func.count())
            .select_from(attendee)
            .where(attendee.c.meeting_id == meeting_id, attendee.c.contact_id != contact_id)
        )
        if others:
            # Logged, for the same reason: an older batch's snapshot of this meeting lists them.
            with Tracker(session, "meeting", meeting_id):
                session.execute(
                    sa.delete(attendee).where(
                        attendee.c.meeting_id == meeting_id, attendee.c.contact_id == contact_id
                    )
                )
        else:
            erase("meeting", meeting_id, "meetings")
    counts_before = dict(counts)
    erase("contact", contact_id, "interactions")
    counts.update(counts_before)
    # Their history goes too: snapshots in the log hold the same personal data.
    log = m.ChangeLog.__table__
    for start in range(0, len(erased_uuids), 500):
        session.execute(
            sa.delete(log).where(log.c.record_uuid.in_(erased_uuids[start : start + 500]))
        )
    log_change(session, "contact", "forget", None, {"uuid": contact.uuid, "id": contact_id})
    if session.get_bind().dialect.name == "sqlite":
        session.execute(sa.text("PRAGMA secure_delete = ON"))
    return counts


def export_contact(session: Session, contact_id: int) -> dict[str, Any]:
    """Everything stored about one person (subject access request), as JSON-ready data."""
    from pycrm.services.changelog import history

    person = snapshot(session, "contact", contact_id)
    if person is None:
        contact_service.get_contact(session, contact_id)  # raises NotFound
        raise AssertionError  # pragma: no cover
    company = (
        snapshot(session, "company", person["company_id"]) if person.get("company_id") else None
    )

    def all_of(entity: str, ids: list[int]) -> list[dict[str, Any]]:
        return [s for s in (snapshot(session, entity, i) for i in ids) if s is not None]

    deal_ids = list(session.scalars(sa.select(m.Deal.id).where(m.Deal.contact_id == contact_id)))
    interaction_ids = list(
        session.scalars(
            sa.select(m.Interaction.id)
            .where(m.Interaction.contact_id == contact_id)
            .order_by(m.Interaction.occurred_at)
        )
    )
    followup_ids = list(
        session.scalars(sa.select(m.FollowUp.id).where(m.FollowUp.contact_id == contact_id))
    )
    attendee = m.MeetingAttendee.__table__
    meeting_ids = list(
        session.scalars(sa.select(attendee.c.meeting_id).where(attendee.c.contact_id == contact_id))
    )
    return {
        "contact": person,
        "company": company,
        "deals": all_of("deal", deal_ids),
        "interactions": all_of("interaction", interaction_ids),
        "followups": all_of("followup", followup_ids),
        "meetings": all_of("meeting", meeting_ids),
        "history": [
            {
                "at": h.at.isoformat(),
                "action": h.action,
                "batch": h.batch_label,
                "changes": {k: list(v) for k, v in h.changes.items()},
            }
            for h in history(session, person["uuid"])
        ],
    }
