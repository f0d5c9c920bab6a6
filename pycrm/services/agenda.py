"""The day at a glance: meetings, promises due, deals closing, stale deals, birthdays, people going cold.

Read on SQLAlchemy Core (:mod:`pycrm.tables`, :mod:`pycrm.services.views`) so `pycrm today`
imports neither the models nor the ORM; every function takes a Core ``Connection`` or an ORM
``Session`` (the Today screen passes one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from pycrm import tables as t
from pycrm.dbtypes import UTCDateTime
from pycrm.services import views
from pycrm.services.views import DealView, FollowUpView, OccurrenceView, dialect_name

if TYPE_CHECKING:
    from pycrm.services.views import Queryable

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
    meetings: list[OccurrenceView] = field(default_factory=list)
    overdue: list[FollowUpView] = field(default_factory=list)
    due_today: list[FollowUpView] = field(default_factory=list)
    closing_soon: list[DealView] = field(default_factory=list)
    stale_deals: list[DealView] = field(default_factory=list)
    birthdays: list[Birthday] = field(default_factory=list)
    due_touch: list[DueTouch] = field(default_factory=list)
    # How many there are in all, when a section was cut to the limit ("… and 40 more").
    totals: dict[str, int] = field(default_factory=dict)

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


def today(session: Queryable, now: datetime | None = None, *, limit: int = 50) -> Agenda:
    """Build the agenda for ``now``'s local day; each section holds at most ``limit`` items
    (the most urgent first) and ``totals`` says how many there are in all."""
    now = now or datetime.now().astimezone()
    start, end = day_bounds(now)
    agenda = Agenda(now=now)
    agenda.meetings = views.meeting_occurrences(session, start, end)
    agenda.totals["overdue"] = views.count_open_followups(session, until=start)
    agenda.totals["due_today"] = views.count_open_followups(session, since=start, until=end)
    agenda.overdue = views.list_followups(session, until=start, limit=limit)
    agenda.due_today = views.list_followups(session, since=start, until=end, limit=limit)
    agenda.closing_soon = views.list_deals(
        session,
        status="open",
        closing_after=now.date(),
        closing_before=now.date() + timedelta(days=CLOSING_WITHIN_DAYS),
        limit=limit,
    )
    stale_ids, agenda.totals["stale_deals"] = first_stale_deal_ids(session, now, limit)
    agenda.stale_deals = views.list_deals(session, deal_ids=stale_ids) if stale_ids else []
    agenda.birthdays = birthdays(session, now.date())
    agenda.due_touch, agenda.totals["due_touch"] = due_touch(session, now, limit=limit)
    return agenda


def stale_deal_ids(session: Queryable, now: datetime) -> list[int]:
    """Open deals idle (no stage change, edit or linked interaction) longer than their stage
    allows, longest idle first.

    Decided in SQL against one cut-off per stage (``now - idle_days``), so only the ids of stale
    deals leave the database (turning 13,000 open deals' dates into Python objects to compare
    them cost ~0.5 s at 100k contacts).
    """
    query = _stale_deal_query(session, now)
    if query is None:
        return []
    return [deal_id for (deal_id,) in session.execute(query)]


def first_stale_deal_ids(session: Queryable, now: datetime, limit: int) -> tuple[list[int], int]:
    """The first ``limit`` of :func:`stale_deal_ids` and how many there are in all (13,000 ids
    at 100k contacts cost ~0.2 s to fetch on PostgreSQL just to be counted)."""
    query = _stale_deal_query(session, now)
    if query is None:
        return [], 0
    rows = session.execute(query.add_columns(sa.func.count().over()).limit(limit)).all()
    return [deal_id for deal_id, _ in rows], int(rows[0][1]) if rows else 0


def _stale_deal_query(session: Queryable, now: datetime) -> sa.Select[Any] | None:
    """:func:`stale_deal_query` for the open stages with an idle limit, read from the database."""
    s_t = t.stage
    limits = session.execute(
        sa.select(s_t.c.id, s_t.c.idle_days).where(
            s_t.c.kind == t.OPEN, s_t.c.idle_days.is_not(None)
        )
    ).all()
    return stale_deal_query([(sid, days) for sid, days in limits], now, dialect_name(session))


def stale_deal_query(
    limits: Sequence[tuple[int, int]], now: datetime, dialect: str
) -> sa.Select[Any] | None:
    """The ids of open deals idle past their stage's limit, longest idle first: the one stale
    rule, shared by Today and ``report pipeline``. ``limits`` are (stage id, idle days) of the
    open stages that have one; None when there are none.

    The last activity (stage change, edit or linked interaction) is compared in SQL with one
    cut-off per stage (``now - idle_days``).
    """
    if not limits:
        return None
    i_t, d_t = t.interaction, t.deal
    column_type = d_t.c.updated_at.type
    cutoff = sa.case(
        {sid: sa.literal(now - timedelta(days=days), column_type) for sid, days in limits},
        value=d_t.c.stage_id,
    )
    open_stages = d_t.c.stage_id.in_([sid for sid, _ in limits])
    if dialect == "sqlite":
        # Per open deal, its newest interaction is one probe of ix_interaction_deal_occurred and
        # its dates come from ix_deal_stage_activity (migration 0006): no wide deal row is read
        # (~40 ms at 100k contacts against ~85 ms for the grouped pass below).
        newest = (
            sa.select(sa.func.max(i_t.c.occurred_at))
            .where(i_t.c.deal_id == d_t.c.id)
            .scalar_subquery()
        )
        idle = (
            sa.select(
                d_t.c.id,
                sa.func.max(
                    d_t.c.stage_entered_at,
                    d_t.c.updated_at,
                    sa.func.coalesce(newest, d_t.c.stage_entered_at),
                ).label("last"),
                cutoff.label("cutoff"),
            )
            .where(open_stages)
            .subquery()
        )
        return (
            sa.select(idle.c.id)
            .where(idle.c.last < idle.c.cutoff)
            .order_by(idle.c.last, idle.c.id.desc())
        )
    # One grouped pass over interactions (a correlated subquery per deal took 8 s on a freshly
    # loaded PostgreSQL database without statistics).
    last_activity = (
        sa.select(i_t.c.deal_id, sa.func.max(i_t.c.occurred_at).label("at"))
        .where(i_t.c.deal_id.is_not(None))
        .group_by(i_t.c.deal_id)
        .subquery()
    )
    touched = sa.func.coalesce(last_activity.c.at, d_t.c.stage_entered_at)
    last = sa.func.greatest(d_t.c.stage_entered_at, d_t.c.updated_at, touched)
    return (
        sa.select(d_t.c.id)
        .outerjoin(last_activity, last_activity.c.deal_id == d_t.c.id)
        .where(open_stages, last < cutoff)
        .order_by(last, d_t.c.id.desc())
    )


def stale_deals(session: Queryable, now: datetime) -> list[DealView]:
    """Open deals idle longer than their stage allows."""
    ids = stale_deal_ids(session, now)
    order = {d: i for i, d in enumerate(ids)}
    found = views.list_deals(session, deal_ids=ids) if ids else []
    return sorted(found, key=lambda d: order[d.deal.id])


def birthdays(
    session: Queryable, day: date, within_days: int = BIRTHDAY_WITHIN_DAYS
) -> list[Birthday]:
    """Birthdays from ``day`` through the next ``within_days`` days (year optional)."""
    upcoming = [day + timedelta(days=i) for i in range(within_days)]
    pairs = {(d.month, d.day): d for d in upcoming}
    wanted = set(pairs)
    if (2, 28) in pairs and (3, 1) in pairs:
        wanted.add((2, 29))  # born on 29 February: celebrated on 1 March in common years
    days_by_month: dict[int, list[int]] = {}
    for month, day_of_month in sorted(wanted):
        days_by_month.setdefault(month, []).append(day_of_month)
    c_t = t.contact
    # Only this week's (month, day) pairs leave the database: the month alone sent ~3,400 rows
    # through Python at 100k contacts to keep a few hundred.
    rows = session.execute(
        sa.select(
            c_t.c.id, c_t.c.display_name, c_t.c.birth_year, c_t.c.birth_month, c_t.c.birth_day
        ).where(
            sa.or_(
                *(
                    sa.and_(c_t.c.birth_month == month, c_t.c.birth_day.in_(days))
                    for month, days in days_by_month.items()
                )
            ),
            c_t.c.archived == sa.false(),
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


def due_touch(session: Queryable, now: datetime, *, limit: int = 50) -> tuple[list[DueTouch], int]:
    """People whose cadence has passed since their last logged interaction, most overdue first,
    and how many there are in all.

    A contact's own cadence counts; people with open deals or a ``vip`` tag default to 30 days.
    Do-not-contact and archived people never appear.
    """
    c_t, d_t, s_t = t.contact, t.deal, t.stage
    tag_t, link = t.tag, t.contact_tag
    open_deal_people = (
        sa.select(d_t.c.contact_id)
        .join(s_t, s_t.c.id == d_t.c.stage_id)
        .where(s_t.c.kind == t.OPEN, d_t.c.contact_id.is_not(None))
    )
    vip_people = (
        sa.select(link.c.contact_id)
        .join(tag_t, tag_t.c.id == link.c.tag_id)
        .where(tag_t.c.name_key == "vip")
    )
    # The last touch is a column kept by triggers on interaction (migration 0005).
    since = sa.func.coalesce(c_t.c.last_touch_at, c_t.c.created_at)
    cadence = sa.func.coalesce(c_t.c.cadence_days, DEFAULT_CADENCE_DAYS)
    reachable = (c_t.c.archived == sa.false(), c_t.c.do_not_contact == sa.false())
    followed = sa.or_(c_t.c.id.in_(open_deal_people), c_t.c.id.in_(vip_people))
    if dialect_name(session) == "sqlite":
        return _due_touch_sqlite(session, now, limit, since, reachable, followed)
    is_due = (
        *reachable,
        since < sa.literal(now, UTCDateTime) - sa.func.make_interval(0, 0, 0, cadence),
        sa.or_(c_t.c.cadence_days.is_not(None), followed),
    )
    elapsed = _elapsed_days("postgresql", now, since)
    overdue = (elapsed - cadence).label("overdue")
    rows = session.execute(
        sa.select(
            c_t.c.id, c_t.c.display_name, cadence.label("cadence"), c_t.c.last_touch_at,
            elapsed.label("elapsed"), overdue, sa.func.count().over().label("total"),
        )
        .where(*is_due)
        .order_by(overdue.desc(), c_t.c.display_name)
        .limit(limit)
    ).all()  # fmt: skip
    return _due_rows(rows), int(rows[0][-1]) if rows else 0


def _due_touch_sqlite(
    session: Queryable,
    now: datetime,
    limit: int,
    since: Any,
    reachable: tuple[Any, ...],
    followed: Any,
) -> tuple[list[DueTouch], int]:
    """:func:`due_touch` on SQLite: one pass per cadence through ix_contact_due (migration 0006).

    That partial index (reachable people only) is ordered by cadence, then last touch (or
    creation), then name: per cadence, the people due are a range of it, counted without
    reading a row, and the most overdue are its first entries. Only the people without a
    cadence of their own are looked up among those with open deals or the vip tag. (One pass
    over everyone counted and ranked them in ~150 ms at 100k contacts; this takes ~50.)
    Dates are text here: each cadence's cut-off date is computed once, in Python.
    """
    c_t = t.contact
    cadences = sorted(
        {int(d) for (d,) in session.execute(sa.select(c_t.c.cadence_days).distinct()) if d}
    )
    groups: list[tuple[int, tuple[Any, ...]]] = [
        (
            DEFAULT_CADENCE_DAYS,
            (c_t.c.cadence_days.is_(None), followed),
        ),
        *((days, (c_t.c.cadence_days == days,)) for days in cadences),
    ]

    def due(days: int, only: tuple[Any, ...]) -> tuple[Any, ...]:
        cutoff = sa.literal(now - timedelta(days=days), UTCDateTime)
        return (*reachable, *only[:1], since < cutoff, *only[1:])

    firsts = [
        sa.select(
            c_t.c.id, c_t.c.display_name.label("name"), sa.literal(days).label("cadence"),
            c_t.c.last_touch_at, since.label("since"),
        )
        .where(*due(days, only))
        .order_by(since, c_t.c.display_name)
        .limit(limit)
        .subquery()
        for days, only in groups
    ]  # fmt: skip
    # SQLite does not take ORDER BY/LIMIT in a compound's members: each is read from a subquery.
    candidates = sa.union_all(*(sa.select(first) for first in firsts)).subquery()
    elapsed = _elapsed_days("sqlite", now, candidates.c.since)
    overdue = (elapsed - candidates.c.cadence).label("overdue")
    rows = session.execute(
        sa.select(
            candidates.c.id, candidates.c.name, candidates.c.cadence, candidates.c.last_touch_at,
            elapsed.label("elapsed"), overdue,
        )
        .order_by(overdue.desc(), candidates.c.name)
        .limit(limit)
    ).all()  # fmt: skip
    if len(rows) < limit:
        return _due_rows(rows), len(rows)  # all of them came back: nothing to count
    counts = sa.select(
        *(sa.select(sa.func.count()).where(*due(days, only)).scalar_subquery()
          for days, only in groups)
    )  # fmt: skip
    return _due_rows(rows), sum(int(n or 0) for n in session.execute(counts).one())


def _due_rows(rows: Sequence[Any]) -> list[DueTouch]:
    return [
        DueTouch(
            contact_id=cid, name=name, cadence_days=int(days), last_interaction_at=last_at,
            days_since=int(elapsed) if last_at is not None else None, overdue_days=int(over),
        )
        for cid, name, days, last_at, elapsed, over, *_total in rows
    ]  # fmt: skip


def _elapsed_days(dialect: str, now: datetime, since: Any) -> Any:
    """Days from ``since`` to ``now`` as a float, in SQL."""
    if dialect == "sqlite":
        now_text = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        return sa.func.julianday(now_text) - sa.func.julianday(since)
    return sa.func.extract("epoch", sa.literal(now) - since) / 86400.0
