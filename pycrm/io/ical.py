"""iCalendar import (VEVENT → meetings) and export (VEVENT meetings, VTODO follow-ups).

Times: a DTSTART with a TZID (VTIMEZONE or IANA) keeps that zone name on the meeting; UTC
stays UTC; floating times are read in the local zone; a DATE is an all-day meeting. RRULE and
EXDATE are kept. The event's UID becomes the meeting's uuid (or ``extra["ical_uid"]`` when it is
not a UUID), so re-importing the same calendar updates instead of duplicating.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import IO, Any

import icalendar
import sqlalchemy as sa
from sqlalchemy.orm import Session

from pycrm import models as m
from pycrm.dates import local_zone
from pycrm.services import contacts as contact_service
from pycrm.services import meetings as meeting_service


class ICalError(ValueError):
    """A file that cannot be read as iCalendar: one line naming the file and the problem."""


@dataclass
class Event:
    """One VEVENT, decoded."""

    uid: str | None
    title: str
    starts_at: datetime
    ends_at: datetime
    all_day: bool = False
    timezone: str | None = None
    location: str | None = None
    notes: str | None = None
    rrule: str | None = None
    exdates: list[str] = field(default_factory=list)
    attendees: list[str] = field(default_factory=list)


def _zone_name(tz: tzinfo | None) -> str | None:
    if tz is None:
        return None
    key = getattr(tz, "key", None) or getattr(tz, "zone", None)
    if key:
        return str(key)
    name = str(tz)
    return None if name.upper() in ("UTC", "Z") else name


def _aware(value: date | datetime, zone: tzinfo) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=zone)
    return datetime.combine(value, time(0, 0), tzinfo=zone)


def read_events(path: Path) -> list[Event]:
    """Every VEVENT of a calendar file; anything else is one ICalError line."""
    if not path.exists():
        raise ICalError(f"{path}: no such file")
    if path.is_dir():
        raise ICalError(f"{path}: is a directory, expected an .ics file")
    data = path.read_bytes()
    if not data.strip():
        raise ICalError(f"{path}: the file is empty")
    if b"\x00" in data:
        raise ICalError(f"{path}:1: the file contains NUL bytes (not an iCalendar file)")
    if not data.lstrip(b"\xef\xbb\xbf \r\n\t").upper().startswith(b"BEGIN:VCALENDAR"):
        raise ICalError(f"{path}:1: not an iCalendar file (it should start with BEGIN:VCALENDAR)")
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except Exception as exc:  # icalendar raises ValueError and friends on broken input
        raise ICalError(f"{path}: not valid iCalendar ({str(exc).splitlines()[0][:160]})") from exc
    zone = local_zone()
    events: list[Event] = []
    for index, comp in enumerate(calendar.walk("VEVENT")):
        try:
            events.append(_event(comp, zone))
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise ICalError(f"{path}: event {index + 1}: {exc}") from exc
    if not events:
        raise ICalError(f"{path}: no events (VEVENT) in the calendar")
    return events


def _event(comp: Any, zone: tzinfo) -> Event:
    if comp.get("DTSTART") is None:
        raise ValueError("it has no DTSTART")
    start_raw = comp.decoded("DTSTART")
    all_day = not isinstance(start_raw, datetime)
    tz_name = None
    if isinstance(start_raw, datetime) and start_raw.tzinfo is not None:
        tz_name = _zone_name(start_raw.tzinfo)
    start = _aware(start_raw, zone)
    if comp.get("DTEND") is not None:
        end = _aware(comp.decoded("DTEND"), zone)
    elif comp.get("DURATION") is not None:
        end = start + comp.decoded("DURATION")
    else:
        end = start + (timedelta(days=1) if all_day else timedelta(0))
    rrule = comp.get("RRULE")
    rule_text = rrule.to_ical().decode() if rrule is not None else None
    exdates: list[str] = []
    raw_ex = comp.get("EXDATE")
    for item in raw_ex if isinstance(raw_ex, list) else ([raw_ex] if raw_ex is not None else []):
        for dt in item.dts:
            exdates.append(_aware(dt.dt, start.tzinfo or zone).isoformat())
    attendees = []
    raw_att = comp.get("ATTENDEE")
    for att in raw_att if isinstance(raw_att, list) else ([raw_att] if raw_att is not None else []):
        text = str(att)
        if text.lower().startswith("mailto:"):
            attendees.append(text[7:].strip())
    uid = str(comp.get("UID")) if comp.get("UID") is not None else None
    return Event(
        uid=uid,
        title=str(comp.get("SUMMARY") or "(no title)").strip() or "(no title)",
        starts_at=start.astimezone(UTC),
        ends_at=end.astimezone(UTC),
        all_day=all_day,
        timezone=tz_name,
        location=str(comp.get("LOCATION")) if comp.get("LOCATION") else None,
        notes=str(comp.get("DESCRIPTION")) if comp.get("DESCRIPTION") else None,
        rrule=rule_text,
        exdates=exdates,
        attendees=attendees,
    )


def _plain_uuid(uid: str | None) -> str | None:
    if not uid:
        return None
    try:
        return str(uuidlib.UUID(uid.removeprefix("urn:uuid:")))
    except ValueError:
        return None


def import_events(session: Session, events: list[Event]) -> dict[str, int]:
    """Create or update (by UID) one meeting per event, linking attendees by e-mail; an event
    that is already as stored counts as unchanged and writes nothing."""
    by_uid: dict[str, int] = {}
    for mid, uuid, extra in session.execute(
        sa.select(m.Meeting.id, m.Meeting.uuid, m.Meeting.extra)
    ):
        by_uid[uuid] = mid
        if isinstance(extra, dict) and extra.get("ical_uid"):
            by_uid[str(extra["ical_uid"])] = mid
    counts = {"created": 0, "updated": 0, "unchanged": 0, "attendees": 0, "unknown_attendees": 0}
    for event in events:
        people: list[int] = []
        for email in event.attendees:
            found = contact_service.find_by_email(session, email)
            if found:
                people.append(found[0])
            else:
                counts["unknown_attendees"] += 1
        counts["attendees"] += len(people)
        plain = _plain_uuid(event.uid)
        extra = {"ical_uid": event.uid} if event.uid and not plain else None
        existing = by_uid.get(plain or "") or (by_uid.get(event.uid) if event.uid else None)
        values: dict[str, Any] = {
            "title": event.title, "starts_at": event.starts_at, "ends_at": event.ends_at,
            "location": event.location, "notes": event.notes, "exdates": event.exdates or None,
            "all_day": event.all_day, "timezone": event.timezone,
        }  # fmt: skip
        if existing is not None:
            stamp = meeting_service.get_meeting(session, existing).updated_at
            meeting = meeting_service.update_meeting(
                session,
                existing,
                attendees=list(dict.fromkeys(people)),
                repeat=event.rrule or "",
                **values,
            )
            counts["updated" if meeting.updated_at != stamp else "unchanged"] += 1
            continue
        created = meeting_service.create_meeting(
            session, attendees=list(dict.fromkeys(people)), repeat=event.rrule,
            uuid=plain if plain and plain not in by_uid else None, extra=extra, **values,
        )  # fmt: skip
        by_uid[created.uuid] = created.id or 0
        if event.uid:
            by_uid[event.uid] = created.id or 0
        counts["created"] += 1
    return counts


# --- export ----------------------------------------------------------------------------------


def _zone(name: str | None) -> tzinfo | None:
    if not name:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _meeting_event(meeting: Any, emails: list[str]) -> icalendar.Event:
    event = icalendar.Event()
    extra = meeting.extra if isinstance(meeting.extra, dict) else {}
    event.add("uid", str(extra.get("ical_uid") or meeting.uuid))
    event.add("summary", meeting.title)
    event.add("dtstamp", _utc(meeting.updated_at))
    zone = _zone(meeting.timezone) or (local_zone() if meeting.all_day else None)
    start, end = _utc(meeting.starts_at), _utc(meeting.ends_at)
    if meeting.all_day:
        event.add("dtstart", start.astimezone(zone).date())
        event.add(
            "dtend",
            max(end.astimezone(zone).date(), start.astimezone(zone).date() + timedelta(days=1)),
        )
    elif zone is not None:
        event.add("dtstart", start.astimezone(zone))
        event.add("dtend", end.astimezone(zone))
    else:
        event.add("dtstart", start)
        event.add("dtend", end)
    if meeting.location:
        event.add("location", meeting.location)
    if meeting.notes:
        event.add("description", meeting.notes)
    if meeting.rrule:
        event.add("rrule", icalendar.vRecur.from_ical(meeting.rrule))
    for text in meeting.exdates or []:
        ex = datetime.fromisoformat(text)
        ex = ex if ex.tzinfo else ex.replace(tzinfo=zone or UTC)
        event.add("exdate", ex.astimezone(zone) if zone else ex)
    for email in emails:
        event.add("attendee", f"mailto:{email}")
    return event


def _followup_todo(item: Any) -> icalendar.Todo:
    todo = icalendar.Todo()
    todo.add("uid", item.uuid)
    todo.add("summary", item.what)
    todo.add("dtstamp", _utc(item.updated_at))
    todo.add("due", _utc(item.due_at))
    if item.notes:
        todo.add("description", item.notes)
    if item.done_at is not None:
        todo.add("status", "COMPLETED")
        todo.add("completed", _utc(item.done_at))
    else:
        todo.add("status", "NEEDS-ACTION")
    if item.rrule:
        todo.add("rrule", icalendar.vRecur.from_ical(item.rrule))
    return todo


def _batches(session: Session, table: sa.Table, batch: int = 1000) -> Iterator[Sequence[Any]]:
    """Rows of a table in id order, a batch at a time (keyset, so memory stays flat)."""
    last = 0
    while True:
        rows = session.execute(
            sa.select(table).where(table.c.id > last).order_by(table.c.id).limit(batch)
        ).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id


def _timezones(session: Session) -> list[icalendar.Timezone]:
    """A VTIMEZONE for each zone a timed meeting is written in (all-day ones use dates)."""
    t = m.Meeting.__table__
    names = session.execute(
        sa.select(t.c.timezone)
        .where(t.c.timezone.is_not(None), t.c.all_day.is_(False))
        .distinct()
        .order_by(t.c.timezone)
    ).scalars()
    out = []
    for name in names:
        zone = _zone(name)
        key = getattr(zone, "key", None)
        if not key or key.upper() == "UTC":
            continue
        try:
            out.append(icalendar.Timezone.from_tzid(key))
        except ValueError:
            continue
    return out


def iter_ics(
    session: Session, *, meetings: bool = True, followups: bool = True
) -> Iterator[tuple[str, str]]:
    """The calendar as text pieces ``(component name, text)``, streamed.

    Meetings are VEVENTs and follow-ups VTODOs, with stable UIDs (the record's uuid, or the
    UID it was imported with); the VTIMEZONEs the events use come first.
    """
    head = icalendar.Calendar()
    head.add("prodid", "-//pycrm//pycrm//EN")
    head.add("version", "2.0")
    yield "VCALENDAR", head.to_ical().decode("utf-8").replace("END:VCALENDAR\r\n", "")
    if meetings:
        for tz in _timezones(session):
            yield "VTIMEZONE", tz.to_ical().decode("utf-8")
        a_t, e_t = m.MeetingAttendee.__table__, m.ContactEmail.__table__
        for rows in _batches(session, m.Meeting.__table__):
            emails: dict[int, list[str]] = {}
            for mid, email in session.execute(
                sa.select(a_t.c.meeting_id, e_t.c.email)
                .join(e_t, e_t.c.contact_id == a_t.c.contact_id)
                .where(e_t.c.position == 0, a_t.c.meeting_id.between(rows[0].id, rows[-1].id))
                .order_by(a_t.c.meeting_id, a_t.c.contact_id)
            ):
                emails.setdefault(mid, []).append(email)
            for row in rows:
                yield "VEVENT", _meeting_event(row, emails.get(row.id, [])).to_ical().decode()
    if followups:
        for rows in _batches(session, m.FollowUp.__table__):
            for row in rows:
                yield "VTODO", _followup_todo(row).to_ical().decode("utf-8")
    yield "END", "END:VCALENDAR\r\n"


def write_ics(
    session: Session, out: IO[str], *, meetings: bool = True, followups: bool = True
) -> int:
    """The calendar as text, streamed to ``out``; returns how many events and to-dos it holds."""
    count = 0
    for name, text in iter_ics(session, meetings=meetings, followups=followups):
        out.write(text)
        count += name in ("VEVENT", "VTODO")
    return count
