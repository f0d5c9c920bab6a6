"""Activity: interactions per week by type and direction, promises kept, meetings, who gets attention."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from pycrm import tables as t
from pycrm.reports.common import (
    Period,
    Report,
    Section,
    is_sqlite,
    monday,
    report,
    scanned,
    week_of,
)

if TYPE_CHECKING:
    from pycrm.reports.common import Reader


@report("activity")
def activity_report(
    session: Reader, *, period: Period, top: int = 10, now: datetime | None = None
) -> Report:
    """What was done in the period, week by week, and who got the most and least contact."""
    now = now or datetime.now(UTC)
    i_t, f_t, mt = t.interaction, t.followup, t.meeting
    week = week_of(session, i_t.c.occurred_at).label("week")
    direction = sa.func.coalesce(i_t.c.direction, sa.literal_column("'-'")).label("direction")
    in_period = period.clause(scanned(session, i_t.c.occurred_at))
    weekly_query = (
        sa.select(week, i_t.c.type, direction, sa.func.count())
        .where(in_period)
        .group_by(week, i_t.c.type, direction)
        .order_by(week, i_t.c.type, direction)
    )
    if is_sqlite(session):
        # The index ix_interaction_week holds exactly these three group keys (migration 0002), so
        # SQLite counts in index order without sorting 200,000 rows. Bounding the week too (a
        # week contains the period's ends) lets it read only the period's part of that index.
        if period.start is not None:
            weekly_query = weekly_query.where(week >= monday(period.start))
        if period.end is not None:
            weekly_query = weekly_query.where(week <= monday(period.end))
    rows = session.execute(weekly_query).all()
    weekly = Section("Interactions per week", ["week", "type", "direction", "count"])
    per_week: dict[str, int] = {}
    for wk, kind, direction, n in rows:
        weekly.rows.append([str(wk), kind, direction, int(n)])
        per_week[str(wk)] = per_week.get(str(wk), 0) + int(n)
    totals = Section(
        "Interactions per week (all types)", ["week", "count"], chart="bar", chart_columns=(0, 1)
    )
    totals.rows = [[wk, n] for wk, n in sorted(per_week.items())]
    created = (
        session.scalar(
            sa.select(sa.func.count()).select_from(f_t).where(period.clause(f_t.c.created_at))
        )
        or 0
    )
    completed = (
        session.scalar(
            sa.select(sa.func.count()).where(
                f_t.c.done_at.is_not(None), period.clause(f_t.c.done_at)
            )
        )
        or 0
    )
    held = (
        session.scalar(
            sa.select(sa.func.count()).where(period.clause(mt.c.starts_at), mt.c.starts_at < now)
        )
        or 0
    )
    promises = Section(
        "Follow-ups and meetings", ["follow-ups created", "follow-ups completed", "meetings held"]
    )
    promises.rows.append([int(created), int(completed), int(held)])
    c_t = t.contact
    # Not through ix_contact_archived (nearly everyone is not archived): SQLite then walks
    # ix_contact_display_name in the order the least-contact list wants.
    reachable = sa.and_(
        scanned(session, c_t.c.archived) == sa.false(), c_t.c.do_not_contact == sa.false()
    )
    n = sa.func.count().label("n")
    ranked = (
        sa.select(i_t.c.contact_id, n)
        .where(i_t.c.contact_id.is_not(None), in_period)
        .group_by(i_t.c.contact_id)
        .cte("ranked")
    )
    named = (
        sa.select(c_t.c.id, c_t.c.display_name, ranked.c.n)
        .join(ranked, ranked.c.contact_id == c_t.c.id)
        .where(reachable)
    )
    most = Section("Most contact", ["id", "name", "interactions"])
    most.rows = _busiest(session, period, in_period, reachable, top)
    # Least contact: people with none in the period first, then those with the fewest. Walking
    # people in name order and asking the (contact_id, occurred_at) index about each one stops
    # after ``top`` of them instead of collecting everyone ever contacted.
    touched = sa.exists().where(i_t.c.contact_id == c_t.c.id, period.clause(i_t.c.occurred_at))
    least = Section("Least contact", ["id", "name", "interactions"])
    least.rows = [
        [cid, name, 0]
        for cid, name in session.execute(
            sa.select(c_t.c.id, c_t.c.display_name)
            .where(reachable, ~touched)
            .order_by(c_t.c.display_name, c_t.c.id)
            .limit(top)
        ).all()
    ]
    if len(least.rows) < top:
        least.rows += [
            list(r)
            for r in session.execute(
                named.order_by(ranked.c.n.asc(), c_t.c.display_name).limit(top - len(least.rows))
            ).all()
        ]
    result = Report("activity", period, [totals, weekly, promises, most, least])
    result.summary = {
        "interactions": sum(per_week.values()),
        "followups_created": int(created),
        "followups_completed": int(completed),
        "meetings_held": int(held),
    }
    return result


DENSE = 1000  # a count shared by this many people is found by walking names, not by grouping


def _busiest(
    session: Reader, period: Period, in_period: Any, reachable: Any, top: int
) -> list[list[Any]]:
    """The ``top`` reachable people with the most interactions (ties by name, then id).

    Ranking everyone means counting for everyone and then looking up every name (~100,000).
    Instead: how many people have each count (one grouped pass, a few rows), then level by
    level from the top. Levels shared by few people are fetched with their names in one
    query; a level shared by many (at 100k the top ten often all have the same count) is
    found by walking people in name order and counting each one's interactions in the
    ``(contact_id, occurred_at)`` index until enough are found. Same rows as ordering the
    whole ranking by count, name and id.
    """
    i_t, c_t = t.interaction, t.contact
    n = sa.func.count().label("n")
    grouped = (
        sa.select(i_t.c.contact_id, n)
        .where(i_t.c.contact_id.is_not(None), in_period)
        .group_by(i_t.c.contact_id)
        .subquery("grouped")
    )
    levels = session.execute(
        sa.select(grouped.c.n, sa.func.count()).group_by(grouped.c.n).order_by(grouped.c.n.desc())
    ).all()
    chosen: list[list[Any]] = []
    at = 0
    while len(chosen) < top and at < len(levels):
        need = top - len(chosen)
        level, people = levels[at]
        if people >= DENSE:
            per_person = (
                sa.select(sa.func.count())
                .where(i_t.c.contact_id == c_t.c.id, period.clause(i_t.c.occurred_at))
                .scalar_subquery()
            )
            found = session.execute(
                sa.select(c_t.c.id, c_t.c.display_name)
                .where(reachable, per_person == level)
                .order_by(c_t.c.display_name, c_t.c.id)
                .limit(need)
            ).all()
            chosen += [[cid, name, int(level)] for cid, name in found]
            at += 1
            continue
        # Consecutive sparse levels, enough people to fill the top if all are reachable.
        last, gathered = at, people
        while gathered < need and last + 1 < len(levels) and levels[last + 1][1] < DENSE:
            last += 1
            gathered += levels[last][1]
        low = levels[last][0]
        band = session.execute(
            sa.select(c_t.c.id, c_t.c.display_name, grouped.c.n)
            .join(grouped, grouped.c.contact_id == c_t.c.id)
            .where(reachable, grouped.c.n >= low, grouped.c.n <= level)
            .order_by(grouped.c.n.desc(), c_t.c.display_name, c_t.c.id)
            .limit(need)
        ).all()
        chosen += [[cid, name, int(times)] for cid, name, times in band]
        at = last + 1
    return chosen
