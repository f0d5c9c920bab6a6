"""The day at a glance: meetings, promises due, deals closing, stale deals, birthdays, people going cold.

SQL text run through :mod:`pycrm.services.sqltext` (as :mod:`pycrm.services.views`), so
`pycrm today` on a SQLite file imports neither SQLAlchemy nor the models; every function takes a
plain ``sqlite3`` connection, a Core ``Connection`` or an ORM ``Session`` (the Today screen).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from pycrm.services import views
from pycrm.services.sqltext import bind_time, dialect, false, in_list, records, rows
from pycrm.services.views import OPEN, DealView, FollowUpView, OccurrenceView

if TYPE_CHECKING:
    from pycrm.services.sqltext import Queryable

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
    query = _stale_deal_sql(session, now)
    if query is None:
        return []
    sql, params = query
    return [int(deal_id) for (deal_id,) in rows(session, sql, params)]


def first_stale_deal_ids(session: Queryable, now: datetime, limit: int) -> tuple[list[int], int]:
    """The first ``limit`` of :func:`stale_deal_ids` and how many there are in all (13,000 ids
    at 100k contacts cost ~0.2 s to fetch on PostgreSQL just to be counted)."""
    query = _stale_deal_sql(session, now, counted=True)
    if query is None:
        return [], 0
    sql, params = query
    params["first"] = limit
    found = rows(session, sql + " LIMIT :first", params)
    return [int(deal_id) for deal_id, _ in found], int(found[0][1]) if found else 0


def _stale_deal_sql(
    session: Queryable, now: datetime, *, counted: bool = False
) -> tuple[str, dict[str, Any]] | None:
    """:func:`stale_deal_sql` for the open stages with an idle limit, read from the database."""
    limits = rows(
        session,
        "SELECT id, idle_days FROM stage WHERE kind = :open AND idle_days IS NOT NULL",
        {"open": OPEN},
    )
    return stale_deal_sql(
        [(int(sid), int(days)) for sid, days in limits], now, dialect(session), counted=counted
    )


def stale_deal_sql(
    limits: Sequence[tuple[int, int]], now: datetime, kind: str, *, counted: bool = False
) -> tuple[str, dict[str, Any]] | None:
    """The ids of open deals idle past their stage's limit, longest idle first, as SQL text and
    its parameters: the one stale rule, shared by Today and ``report pipeline``. ``limits`` are
    (stage id, idle days) of the open stages that have one; None when there are none.
    ``counted`` adds how many there are in all as a second column.

    The last activity (stage change, edit or linked interaction) is compared in SQL with one
    cut-off per stage (``now - idle_days``).
    """
    if not limits:
        return None
    params: dict[str, Any] = {}
    whens = []
    for i, (sid, days) in enumerate(limits):
        params[f"stale_stage_{i}"] = sid
        params[f"stale_cutoff_{i}"] = bind_time(kind, now - timedelta(days=days))
        whens.append(f"WHEN :stale_stage_{i} THEN :stale_cutoff_{i}")
    cutoff = "CASE deal.stage_id " + " ".join(whens) + " END"
    open_stages = "deal.stage_id IN (" + in_list("stale_open", [s for s, _ in limits], params) + ")"
    total = ", count(*) OVER () AS total" if counted else ""
    if kind == "sqlite":
        # Per open deal, its newest interaction is one probe of ix_interaction_deal_occurred and
        # its dates come from ix_deal_stage_activity (migration 0006): no wide deal row is read
        # (~40 ms at 100k contacts against ~85 ms for the grouped pass below).
        newest = (
            "(SELECT max(interaction.occurred_at) FROM interaction"
            " WHERE interaction.deal_id = deal.id)"
        )
        idle = (
            "SELECT deal.id AS id, max(deal.stage_entered_at, deal.updated_at,"
            f" coalesce({newest}, deal.stage_entered_at)) AS last, {cutoff} AS cutoff"
            f" FROM deal WHERE {open_stages}"
        )
        sql = (
            f"SELECT idle.id{total} FROM ({idle}) AS idle WHERE idle.last < idle.cutoff"
            " ORDER BY idle.last, idle.id DESC"
        )
        return sql, params
    # One grouped pass over interactions (a correlated subquery per deal took 8 s on a freshly
    # loaded PostgreSQL database without statistics).
    last_activity = (
        "SELECT interaction.deal_id AS deal_id, max(interaction.occurred_at) AS at"
        " FROM interaction WHERE interaction.deal_id IS NOT NULL GROUP BY interaction.deal_id"
    )
    last = (
        "greatest(deal.stage_entered_at, deal.updated_at,"
        " coalesce(last_activity.at, deal.stage_entered_at))"
    )
    sql = (
        f"SELECT deal.id{total} FROM deal LEFT OUTER JOIN ({last_activity}) AS last_activity"
        f" ON last_activity.deal_id = deal.id WHERE {open_stages} AND {last} < {cutoff}"
        f" ORDER BY {last}, deal.id DESC"
    )
    return sql, params


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
    # Only this week's (month, day) pairs leave the database: the month alone sent ~3,400 rows
    # through Python at 100k contacts to keep a few hundred.
    params: dict[str, Any] = {}
    terms = []
    for i, (month, days) in enumerate(days_by_month.items()):
        params[f"month_{i}"] = month
        listed = in_list(f"day_{i}", days, params)
        terms.append(f"contact.birth_month = :month_{i} AND contact.birth_day IN ({listed})")
    found = rows(
        session,
        "SELECT contact.id, contact.display_name, contact.birth_year, contact.birth_month,"
        " contact.birth_day FROM contact WHERE ("
        + " OR ".join(f"({term})" for term in terms)
        + f") AND contact.archived = {false(dialect(session))}",
        params,
    )
    out = []
    for cid, name, year, month, bday in found:
        when = pairs.get((month, bday))
        if when is None and month == 2 and bday == 29:
            when = pairs.get((3, 1)) if (2, 28) in pairs and (3, 1) in pairs else None
        if when is not None:
            out.append(Birthday(cid, name, when, when.year - year if year else None))
    return sorted(out, key=lambda b: (b.day, b.name))


_SINCE = "coalesce(contact.last_touch_at, contact.created_at)"


def due_touch(session: Queryable, now: datetime, *, limit: int = 50) -> tuple[list[DueTouch], int]:
    """People whose cadence has passed since their last logged interaction, most overdue first,
    and how many there are in all.

    A contact's own cadence counts; people with open deals or a ``vip`` tag default to 30 days.
    Do-not-contact and archived people never appear.
    """
    kind = dialect(session)
    params: dict[str, Any] = {"open": OPEN, "vip": "vip", "limit": limit}
    # The last touch is a column kept by triggers on interaction (migration 0005).
    reachable = f"contact.archived = {false(kind)} AND contact.do_not_contact = {false(kind)}"
    # One set, not two IN lists joined by OR: PostgreSQL counts ~35% faster.
    followed = (
        "contact.id IN (SELECT deal.contact_id FROM deal JOIN stage ON stage.id = deal.stage_id"
        " WHERE stage.kind = :open AND deal.contact_id IS NOT NULL"
        " UNION SELECT contact_tag.contact_id FROM contact_tag"
        " JOIN tag ON tag.id = contact_tag.tag_id WHERE tag.name_key = :vip)"
    )
    return _due_touch_by_cadence(session, kind, now, limit, reachable, followed, params)


def _due_touch_by_cadence(
    session: Queryable,
    kind: str,
    now: datetime,
    limit: int,
    reachable: str,
    followed: str,
    params: dict[str, Any],
) -> tuple[list[DueTouch], int]:
    """:func:`due_touch` in one pass per cadence through ix_contact_due (migrations 0006 and
    0008).

    That partial index (reachable people only) is ordered by cadence, then last touch (or
    creation), then name: per cadence, the people due are a range of it, counted without
    reading a contact row, and the most overdue are its first entries. Only the people without
    a cadence of their own are looked up among those with open deals or the vip tag. (One pass
    over everyone counted and ranked them in ~150 ms on SQLite and ~290 ms on PostgreSQL at 100k
    contacts.) Each cadence's cut-off is computed once, in Python.
    """
    # The reachable people's cadences, one probe of ix_contact_due each (a DISTINCT over every
    # contact read the whole table: ~18 ms at 100k contacts on SQLite).
    cadences = sorted({int(d) for (d,) in rows(session, _cadences_sql(reachable)) if d})
    groups: list[tuple[int, str, str]] = [
        (DEFAULT_CADENCE_DAYS, "contact.cadence_days IS NULL", f" AND {followed}"),
        *((days, f"contact.cadence_days = :cadence_{i}", "") for i, days in enumerate(cadences)),
    ]
    for i, days in enumerate(cadences):
        params[f"cadence_{i}"] = days

    def due(n: int) -> str:
        days, only, rest = groups[n]
        params[f"cutoff_{n}"] = bind_time(kind, now - timedelta(days=days))
        params[f"days_{n}"] = days
        return f"{reachable} AND {only} AND {_SINCE} < :cutoff_{n}{rest}"

    # SQLite does not take ORDER BY/LIMIT in a compound's members: each is read from a subquery.
    firsts = [
        f"SELECT * FROM (SELECT contact.id AS id, contact.display_name AS name,"
        f" :days_{n} AS cadence, contact.last_touch_at AS last_touch_at, {_SINCE} AS since"
        f" FROM contact WHERE {due(n)} ORDER BY {_SINCE}, contact.display_name LIMIT :limit)"
        f" AS first_{n}"
        for n in range(len(groups))
    ]
    candidates = " UNION ALL ".join(firsts)
    if kind == "sqlite":  # julianday() reads naive UTC text
        params["now"] = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    else:
        params["now"] = bind_time(kind, now)
    elapsed = _elapsed_days(kind, "c.since")
    found = records(
        session,
        f"SELECT c.id, c.name, c.cadence, c.last_touch_at, {elapsed} AS elapsed,"
        f" ({elapsed}) - c.cadence AS overdue FROM ({candidates}) AS c"
        " ORDER BY overdue DESC, c.name LIMIT :limit",
        params,
    )
    if len(found) < limit:
        return _due_rows(found), len(found)  # all of them came back: nothing to count
    counts = ", ".join(f"(SELECT count(*) FROM contact WHERE {due(n)})" for n in range(len(groups)))
    (totals,) = rows(session, f"SELECT {counts}", params)
    return _due_rows(found), sum(int(n or 0) for n in totals)


def _cadences_sql(reachable: str) -> str:
    """The distinct cadences of reachable people, by walking ix_contact_due's first column."""
    return f"""
WITH RECURSIVE cadence(days) AS (
  SELECT min(cadence_days) FROM contact WHERE {reachable} AND cadence_days IS NOT NULL
  UNION ALL
  SELECT (SELECT min(cadence_days) FROM contact WHERE {reachable} AND cadence_days > cadence.days)
  FROM cadence WHERE cadence.days IS NOT NULL
) SELECT days FROM cadence WHERE days IS NOT NULL
"""


def _due_rows(found: Sequence[Any]) -> list[DueTouch]:
    return [
        DueTouch(
            contact_id=cid, name=name, cadence_days=int(days), last_interaction_at=last_at,
            days_since=int(elapsed) if last_at is not None else None, overdue_days=int(over),
        )
        for cid, name, days, last_at, elapsed, over, *_total in found
    ]  # fmt: skip


def _elapsed_days(kind: str, since: str) -> str:
    """Days from ``since`` to ``:now`` as a float, in SQL (``:now`` is naive UTC text on
    SQLite, a timestamptz on PostgreSQL)."""
    if kind == "sqlite":
        return f"julianday(:now) - julianday({since})"
    return f"extract(epoch FROM :now - {since}) / 86400.0"
