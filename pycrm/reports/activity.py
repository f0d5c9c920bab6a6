"""Activity: interactions per week by type and direction, promises kept, meetings, who gets attention."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pycrm import models as m
from pycrm.reports.common import Period, Report, Section, report, scanned, week_of


@report("activity")
def activity_report(
    session: Session, *, period: Period, top: int = 10, now: datetime | None = None
) -> Report:
    """What was done in the period, week by week, and who got the most and least contact."""
    now = now or datetime.now(UTC)
    i_t, f_t, mt = m.Interaction.__table__, m.FollowUp.__table__, m.Meeting.__table__
    week = week_of(session, i_t.c.occurred_at).label("week")
    direction = sa.func.coalesce(i_t.c.direction, sa.literal_column("'-'")).label("direction")
    in_period = period.clause(scanned(session, i_t.c.occurred_at))
    rows = session.execute(
        sa.select(week, i_t.c.type, direction, sa.func.count())
        .where(in_period)
        .group_by(week, i_t.c.type, direction)
        .order_by(week, i_t.c.type)
    ).all()
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
    c_t = m.Contact.__table__
    reachable = sa.and_(c_t.c.archived == sa.false(), c_t.c.do_not_contact == sa.false())
    n = sa.func.count().label("n")
    ranked = (
        sa.select(i_t.c.contact_id, n)
        .where(i_t.c.contact_id.is_not(None), in_period)
        .group_by(i_t.c.contact_id)
        .subquery()
    )
    named = (
        sa.select(c_t.c.id, c_t.c.display_name, ranked.c.n)
        .join(ranked, ranked.c.contact_id == c_t.c.id)
        .where(reachable)
    )
    most = Section("Most contact", ["id", "name", "interactions"])
    most.rows = [
        list(r)
        for r in session.execute(
            named.order_by(ranked.c.n.desc(), c_t.c.display_name).limit(top)
        ).all()
    ]
    # Least contact: people with none in the period first, then those with the fewest.
    touched = sa.select(i_t.c.contact_id).where(i_t.c.contact_id.is_not(None), in_period)
    least = Section("Least contact", ["id", "name", "interactions"])
    least.rows = [
        [cid, name, 0]
        for cid, name in session.execute(
            sa.select(c_t.c.id, c_t.c.display_name)
            .where(reachable, c_t.c.id.not_in(touched))
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
