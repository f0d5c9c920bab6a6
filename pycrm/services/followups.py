"""Follow-ups: promises to keep, with due dates, snoozing and recurrence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pycrm import models as m
from pycrm.services import recurrence
from pycrm.services.changelog import Tracker, delete_record, log_created
from pycrm.services.errors import NotFound, ValidationError
from pycrm.services.text import clean
from pycrm.services.validation import require_text


def create_followup(
    session: Session,
    what: str,
    *,
    due_at: datetime,
    contact_id: int | None = None,
    deal_id: int | None = None,
    priority: int = 0,
    repeat: str | None = None,
    notes: str | None = None,
) -> m.FollowUp:
    """Promise something for a person and/or a deal by a time."""
    if contact_id is None and deal_id is None:
        raise ValidationError("contact", "a follow-up needs a contact or a deal")
    if contact_id is not None and session.get(m.Contact, contact_id) is None:
        raise NotFound("contact", contact_id)
    if deal_id is not None:
        deal = session.get(m.Deal, deal_id)
        if deal is None:
            raise NotFound("deal", deal_id)
        if contact_id is None:
            contact_id = deal.contact_id
    followup = m.FollowUp(
        what=require_text("what", what, max_length=2000),
        due_at=due_at,
        contact_id=contact_id,
        deal_id=deal_id,
        priority=priority,
        rrule=recurrence.normalize_rule(repeat),
        notes=clean(notes),
    )
    session.add(followup)
    session.flush()
    assert followup.id is not None
    log_created(session, "followup", followup.id)
    return followup


def get_followup(session: Session, followup_id: int) -> m.FollowUp:
    """A follow-up by id, or NotFound."""
    obj = session.get(m.FollowUp, followup_id)
    if obj is None:
        raise NotFound("follow-up", followup_id)
    return obj


def complete_followup(
    session: Session, followup_id: int, *, at: datetime | None = None
) -> m.FollowUp | None:
    """Mark done; a recurring follow-up schedules its next occurrence, which is returned."""
    obj = get_followup(session, followup_id)
    if obj.done_at is not None:
        raise ValidationError("follow-up", f"#{followup_id} is already done")
    now = at or m.utcnow()
    with Tracker(session, "followup", followup_id):
        obj.done_at = now
        obj.updated_at = now
    if not obj.rrule:
        return None
    nxt = recurrence.next_after(obj.rrule, obj.due_at, max(obj.due_at, now))
    if nxt is None:
        return None
    return create_followup(
        session,
        obj.what,
        due_at=nxt,
        contact_id=obj.contact_id,
        deal_id=obj.deal_id,
        priority=obj.priority,
        repeat=obj.rrule,
        notes=obj.notes,
    )


def snooze_followup(session: Session, followup_id: int, until: datetime) -> m.FollowUp:
    """Hide a follow-up until a later time (its due date moves with it)."""
    obj = get_followup(session, followup_id)
    with Tracker(session, "followup", followup_id):
        obj.snoozed_until = until
        obj.due_at = until
        obj.updated_at = m.utcnow()
    return obj


def update_followup(
    session: Session,
    followup_id: int,
    *,
    what: str | None = None,
    due_at: datetime | None = None,
    priority: int | None = None,
) -> m.FollowUp:
    """Edit a follow-up's text, due time or priority."""
    obj = get_followup(session, followup_id)
    with Tracker(session, "followup", followup_id):
        if what is not None:
            obj.what = require_text("what", what, max_length=2000)
        if due_at is not None:
            obj.due_at = due_at
        if priority is not None:
            obj.priority = priority
        obj.updated_at = m.utcnow()
    return obj


def delete_followup(session: Session, followup_id: int) -> None:
    """Remove a follow-up (logged)."""
    delete_record(session, "followup", followup_id)


@dataclass
class FollowUpSummary:
    """A follow-up with the names of its person and deal."""

    followup: m.FollowUp
    contact_name: str | None
    deal_title: str | None


def list_followups(
    session: Session,
    *,
    until: datetime | None = None,
    since: datetime | None = None,
    include_done: bool = False,
    contact_id: int | None = None,
    deal_id: int | None = None,
    limit: int | None = None,
    newest_first: bool = False,
) -> list[FollowUpSummary]:
    """Open follow-ups (or all) due in a window, soonest first (or latest first)."""
    query = (
        sa.select(m.FollowUp, m.Contact.display_name, m.Deal.title)
        .outerjoin(m.Contact, m.Contact.id == m.FollowUp.contact_id)
        .outerjoin(m.Deal, m.Deal.id == m.FollowUp.deal_id)
    )
    if not include_done:
        query = query.where(m.FollowUp.done_at.is_(None))  # type: ignore[union-attr]
    if until is not None:
        query = query.where(m.FollowUp.due_at < until)
    if since is not None:
        query = query.where(m.FollowUp.due_at >= since)
    if contact_id is not None:
        query = query.where(m.FollowUp.contact_id == contact_id)
    if deal_id is not None:
        query = query.where(m.FollowUp.deal_id == deal_id)
    if newest_first:
        query = query.order_by(m.FollowUp.due_at.desc(), m.FollowUp.priority.desc(), m.FollowUp.id)  # type: ignore[attr-defined]
    else:
        query = query.order_by(m.FollowUp.due_at, m.FollowUp.priority.desc(), m.FollowUp.id)  # type: ignore[attr-defined]
    if limit is not None:
        query = query.limit(limit)
    return [FollowUpSummary(f, c, d) for f, c, d in session.execute(query)]


def overdue(session: Session, now: datetime | None = None) -> list[FollowUpSummary]:
    """Open follow-ups whose due time has passed."""
    return list_followups(session, until=now or m.utcnow())


def due_within(session: Session, days: int, now: datetime | None = None) -> list[FollowUpSummary]:
    """Open follow-ups due before now + ``days`` (overdue included)."""
    return list_followups(session, until=(now or m.utcnow()) + timedelta(days=days))
