"""The day at a glance: meetings, promises due, deals closing, stale deals, birthdays, people going cold."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pycrm import models as m
from pycrm.services import deals as deal_service
from pycrm.services import followups as followup_service
from pycrm.services import meetings as meeting_service

DEFAULT_CADENCE_DAYS = 30  # for people with open deals or a "vip" tag and no cadence of their own
CLOSING_WITHIN_DAYS = 7
BIRTHDAY_WITHIN_DAYS = 7


@dataclass
class Birthday:
    """Someone whose birthday falls this week."""

    contact_id: int
    name: str
    day: date
    age: int | None


@dataclass
class DueTouch:
    """Someone whose stay-in-touch cadence has run out since their last interaction."""

    contact_id: int
    name: str
    cadence_days: int
    last_interaction_at: datetime | None
    days_since: int | None
    overdue_days: int


@dataclass
class Agenda:
    """Everything `pycrm today` and the Today screen show."""

    now: datetime
    meetings: list[meeting_service.Occurrence] = field(default_factory=list)
    overdue: list[followup_service.FollowUpSummary] = field(default_factory=list)
    due_today: list[followup_service.FollowUpSummary] = field(default_factory=list)
    closing_soon: list[deal_service.DealSummary] = field(default_factory=list)
    stale_deals: list[deal_service.DealSummary] = field(default_factory=list)
    birthdays: list[Birthday] = field(default_factory=list)
    due_touch: list[DueTouch] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not any(
            (self.meetings, self.overdue, self.due_today, self.closing_soon, self.stale_deals,
             self.birthdays, self.due_touch)
        )  # fmt: skip


def day_bounds(now: datetime) -> tuple[datetime, datetime]:
    """Start and end of ``now``'s local day."""
    zone = now.tzinfo
    start = datetime.combine(now.date(), time(0, 0), tzinfo=zone)
    return start, start + timedelta(days=1)


def today(session: Session, now: datetime | None = None, *, touch_limit: int = 50) -> Agenda:
    """Build the agenda for ``now``'s local day (now defaults to the current local time)."""
    now = now or datetime.now().astimezone()
    start, end = day_bounds(now)
    agenda = Agenda(now=now)
    agenda.meetings = meeting_service.agenda(session, start, end)
    open_followups = followup_service.list_followups(session, until=end)
    agenda.overdue = [f for f in open_followups if f.followup.due_at < start]
    agenda.due_today = [f for f in open_followups if f.followup.due_at >= start]
    agenda.closing_soon = [
        d
        for d in deal_service.list_deals(
            session, status="open", closing_before=now.date() + timedelta(days=CLOSING_WITHIN_DAYS)
        )
        if d.deal.expected_close is not None and d.deal.expected_close >= now.date()
    ]
    agenda.stale_deals = stale_deals(session, now)
    agenda.birthdays = birthdays(session, now.date())
    agenda.due_touch = due_touch(session, now, limit=touch_limit)
    return agenda


def stale_deals(session: Session, now: datetime) -> list[deal_service.DealSummary]:
    """Open deals idle (no stage change, edit or linked interaction) longer than their stage allows."""
    i_t = m.Interaction.__table__
    last_activity = (
        sa.select(sa.func.max(i_t.c.occurred_at))
        .where(i_t.c.deal_id == m.Deal.id)
        .scalar_subquery()
    )
    rows = session.execute(
        sa.select(
            m.Deal.id, m.Deal.stage_entered_at, m.Deal.updated_at, last_activity, m.Stage.idle_days
        )
        .join(m.Stage, m.Stage.id == m.Deal.stage_id)
        .where(m.Stage.kind == m.StageKind.OPEN.value, m.Stage.idle_days.is_not(None))
    ).all()
    stale_ids = []
    for deal_id, entered, updated, activity, idle_days in rows:
        last = max(x for x in (entered, updated, activity) if x is not None)
        if now - last > timedelta(days=idle_days):
            stale_ids.append(deal_id)
    if not stale_ids:
        return []
    wanted = set(stale_ids)
    return [d for d in deal_service.list_deals(session, status="open") if d.deal.id in wanted]


def birthdays(
    session: Session, day: date, within_days: int = BIRTHDAY_WITHIN_DAYS
) -> list[Birthday]:
    """Birthdays from ``day`` through the next ``within_days`` days (year optional)."""
    upcoming = [day + timedelta(days=i) for i in range(within_days)]
    pairs = {(d.month, d.day): d for d in upcoming}
    rows = session.execute(
        sa.select(
            m.Contact.id,
            m.Contact.display_name,
            m.Contact.birth_year,
            m.Contact.birth_month,
            m.Contact.birth_day,
        ).where(
            m.Contact.birth_month.in_(sorted({d.month for d in upcoming})),
            m.Contact.archived == sa.false(),
        )
    ).all()
    out = []
    for cid, name, year, month, bday in rows:
        when = pairs.get((month, bday))
        if when is None and month == 2 and bday == 29:
            when = pairs.get((3, 1)) if (2, 28) in pairs and (3, 1) in pairs else None
        if when is not None:
            out.append(Birthday(cid, name, when, when.year - year if year else None))
    return sorted(out, key=lambda b: (b.day, b.name))


def due_touch(session: Session, now: datetime, *, limit: int = 50) -> list[DueTouch]:
    """People whose cadence has passed since their last logged interaction, most overdue first.

    A contact's own cadence counts; people with open deals or a ``vip`` tag default to 30 days.
    Do-not-contact and archived people never appear.
    """
    i_t = m.Interaction.__table__
    tag_t, link = m.Tag.__table__, m.ContactTag.__table__
    last = (
        sa.select(sa.func.max(i_t.c.occurred_at))
        .where(i_t.c.contact_id == m.Contact.id)
        .scalar_subquery()
    )
    has_open_deal = (
        sa.select(m.Deal.id)
        .join(m.Stage, m.Stage.id == m.Deal.stage_id)
        .where(m.Deal.contact_id == m.Contact.id, m.Stage.kind == m.StageKind.OPEN.value)
        .exists()
    )
    is_vip = (
        sa.select(link.c.contact_id)
        .join(tag_t, tag_t.c.id == link.c.tag_id)
        .where(link.c.contact_id == m.Contact.id, tag_t.c.name_key == "vip")
        .exists()
    )
    cadence = sa.case(
        (m.Contact.cadence_days.is_not(None), m.Contact.cadence_days),
        (sa.or_(has_open_deal, is_vip), DEFAULT_CADENCE_DAYS),
        else_=None,
    )
    rows = session.execute(
        sa.select(
            m.Contact.id,
            m.Contact.display_name,
            m.Contact.created_at,
            cadence.label("cadence"),
            last.label("last"),
        )
        .where(m.Contact.do_not_contact == sa.false(), m.Contact.archived == sa.false())
        .where(cadence.is_not(None))
    ).all()
    out = []
    for cid, name, created, days, last_at in rows:
        since = last_at or created
        elapsed = now - since
        if elapsed > timedelta(days=days):
            out.append(
                DueTouch(
                    contact_id=cid, name=name, cadence_days=days, last_interaction_at=last_at,
                    days_since=elapsed.days if last_at else None,
                    overdue_days=elapsed.days - days,
                )
            )  # fmt: skip
    out.sort(key=lambda d: (-d.overdue_days, d.name))
    return out[:limit]
