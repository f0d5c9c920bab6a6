"""Meetings: the calendar, with attendees and recurrence."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pycrm import models as m
from pycrm.services import recurrence
from pycrm.services.changelog import Tracker, delete_record, log_created
from pycrm.services.errors import NotFound, ValidationError
from pycrm.services.text import clean
from pycrm.services.validation import require_text


def _set_attendees(session: Session, meeting_id: int, contact_ids: Iterable[int]) -> None:
    table = m.MeetingAttendee.__table__
    session.execute(sa.delete(table).where(table.c.meeting_id == meeting_id))
    ids = list(dict.fromkeys(contact_ids))
    for cid in ids:
        if session.get(m.Contact, cid) is None:
            raise NotFound("contact", cid)
    if ids:
        session.execute(
            sa.insert(table), [{"meeting_id": meeting_id, "contact_id": c} for c in ids]
        )


def create_meeting(
    session: Session,
    title: str,
    *,
    starts_at: datetime,
    ends_at: datetime | None = None,
    duration: timedelta = timedelta(minutes=30),
    attendees: Iterable[int] = (),
    location: str | None = None,
    notes: str | None = None,
    repeat: str | None = None,
    exdates: list[str] | None = None,
    all_day: bool = False,
    timezone: str | None = None,
    deal_id: int | None = None,
    uuid: str | None = None,
    extra: dict[str, Any] | None = None,
) -> m.Meeting:
    """Schedule a meeting with people; ``repeat`` is a rule (``weekly``, ``FREQ=…``)."""
    end = ends_at or starts_at + duration
    if end < starts_at:
        raise ValidationError("end", "is before the start")
    meeting = m.Meeting(
        title=require_text("title", title),
        starts_at=starts_at,
        ends_at=end,
        location=clean(location),
        notes=clean(notes),
        rrule=recurrence.normalize_rule(repeat),
        exdates=exdates,
        all_day=all_day,
        timezone=timezone,
        deal_id=deal_id,
        extra=extra,
    )
    if uuid:
        meeting.uuid = uuid
    session.add(meeting)
    session.flush()
    assert meeting.id is not None
    _set_attendees(session, meeting.id, attendees)
    log_created(session, "meeting", meeting.id)
    return meeting


def get_meeting(session: Session, meeting_id: int) -> m.Meeting:
    """A meeting by id, or NotFound."""
    obj = session.get(m.Meeting, meeting_id)
    if obj is None:
        raise NotFound("meeting", meeting_id)
    return obj


def update_meeting(
    session: Session,
    meeting_id: int,
    *,
    attendees: Iterable[int] | None = None,
    repeat: str | None = None,
    **changes: Any,
) -> m.Meeting:
    """Edit a meeting (title, times, place, notes, attendees, rule, exceptions)."""
    obj = get_meeting(session, meeting_id)
    allowed = {
        "title",
        "starts_at",
        "ends_at",
        "location",
        "notes",
        "exdates",
        "all_day",
        "timezone",
        "deal_id",
        "extra",
    }
    with Tracker(session, "meeting", meeting_id, stamp=obj):
        for key, value in changes.items():
            if key not in allowed:
                raise ValidationError(key, "is not a meeting field")
            if key == "title":
                value = require_text("title", value)
            elif key in ("location", "notes"):
                value = clean(value)
            setattr(obj, key, value)
        if repeat is not None:
            obj.rrule = recurrence.normalize_rule(repeat)
        if attendees is not None:
            _set_attendees(session, meeting_id, attendees)
        if obj.ends_at < obj.starts_at:
            raise ValidationError("end", "is before the start")
    return obj


def delete_meeting(session: Session, meeting_id: int) -> None:
    """Cancel a meeting (logged)."""
    delete_record(session, "meeting", meeting_id)


def attendee_ids(session: Session, meeting_id: int) -> list[int]:
    """Contact ids attending a meeting."""
    t = m.MeetingAttendee.__table__
    return list(session.scalars(sa.select(t.c.contact_id).where(t.c.meeting_id == meeting_id)))


@dataclass
class Occurrence:
    """One occurrence of a meeting in a window (recurring meetings give several)."""

    meeting: m.Meeting
    starts_at: datetime
    ends_at: datetime
    attendees: list[tuple[int, str]] = field(default_factory=list)


def agenda(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    contact_id: int | None = None,
) -> list[Occurrence]:
    """Meeting occurrences overlapping [start, end), recurring ones expanded, soonest first."""
    query = (
        sa.select(m.Meeting)
        .where(
            sa.or_(
                sa.and_(m.Meeting.starts_at < end, m.Meeting.ends_at >= start),
                m.Meeting.rrule.is_not(None),  # type: ignore[union-attr]
            )
        )
        .where(m.Meeting.starts_at < end)
    )
    if contact_id is not None:
        t = m.MeetingAttendee.__table__
        query = query.where(
            m.Meeting.id.in_(sa.select(t.c.meeting_id).where(t.c.contact_id == contact_id))
        )  # type: ignore[union-attr]
    meetings = list(session.scalars(query))
    people = _attendees(session, [mt.id for mt in meetings if mt.id is not None])
    out: list[Occurrence] = []
    for meeting in meetings:
        length = meeting.ends_at - meeting.starts_at
        for occ in recurrence.expand(
            meeting.rrule,
            meeting.starts_at,
            start,
            end,
            exdates=meeting.exdates,
            tz=meeting.timezone,
            duration=length,
        ):
            out.append(Occurrence(meeting, occ, occ + length, people.get(meeting.id or 0, [])))
    out.sort(key=lambda o: (o.starts_at, o.meeting.id or 0))
    return out


def _attendees(session: Session, meeting_ids: list[int]) -> dict[int, list[tuple[int, str]]]:
    t = m.MeetingAttendee.__table__
    out: dict[int, list[tuple[int, str]]] = {}
    for start in range(0, len(meeting_ids), 900):
        chunk = meeting_ids[start : start + 900]
        for mid, cid, name in session.execute(
            sa.select(t.c.meeting_id, m.Contact.id, m.Contact.display_name)
            .join(m.Contact, m.Contact.id == t.c.contact_id)
            .where(t.c.meeting_id.in_(chunk))
            .order_by(m.Contact.display_name)
        ):
            out.setdefault(mid, []).append((cid, name))
    return out
