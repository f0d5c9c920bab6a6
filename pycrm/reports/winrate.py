"""Win rate: won vs lost, sales cycle, loss reasons, stage-to-stage conversion."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from pycrm import tables as t
from pycrm.reports.common import (
    Period,
    Report,
    Section,
    days_between,
    money,
    percent,
    report,
    scanned,
    stage_rows,
)

if TYPE_CHECKING:
    from pycrm.reports.common import Reader


@report("winrate")
def winrate_report(session: Reader, *, period: Period) -> Report:
    """Deals closed in the period: win rate, cycle length (created → won), why deals are lost."""
    deal = t.deal
    stages = stage_rows(session)
    kind_of = {row.id: row.kind for row in stages}
    won_stage = deal.c.stage_id.in_([row.id for row in stages if row.kind == t.WON])
    lost_stage = deal.c.stage_id.in_([row.id for row in stages if row.kind == t.LOST])
    closed = period.clause(deal.c.closed_at)
    counts: dict[str, int] = {}
    for sid, n in session.execute(
        sa.select(deal.c.stage_id, sa.func.count())
        .where(sa.or_(won_stage, lost_stage), closed)
        .group_by(deal.c.stage_id)
    ).all():
        counts[kind_of[sid]] = counts.get(kind_of[sid], 0) + int(n)
    won = counts.get(t.WON, 0)
    lost = counts.get(t.LOST, 0)
    won_deals = sa.and_(
        won_stage, closed, deal.c.created_at.is_not(None), deal.c.closed_at.is_not(None)
    )
    cycle = days_between(session, deal.c.closed_at, deal.c.created_at)
    base = sa.select(cycle).where(won_deals)
    n_cycles, avg_cycle = session.execute(
        sa.select(sa.func.count(), sa.func.avg(cycle)).where(won_deals)
    ).one()
    median_cycle = None
    if n_cycles:
        # The middle one or two values, found by the database (ORDER BY … LIMIT/OFFSET).
        middle = [
            float(v)
            for (v,) in session.execute(
                base.order_by(cycle).offset((n_cycles - 1) // 2).limit(2 - n_cycles % 2)
            ).all()
        ]
        median_cycle = sum(middle) / len(middle)  # = statistics.fmean for one or two floats
    reason = sa.func.lower(sa.func.trim(sa.func.coalesce(deal.c.lost_reason, "")))
    reason_rows = session.execute(
        sa.select(reason.label("reason"), sa.func.count().label("n"))
        .where(lost_stage, closed)
        .group_by(reason)
    ).all()
    reasons: dict[str, int] = {}
    for text, n in reason_rows:
        key = text or "no reason given"
        reasons[key] = reasons.get(key, 0) + int(n)
    won_value = {
        str(c): int(v or 0)
        for c, v in session.execute(
            sa.select(deal.c.currency, sa.func.sum(deal.c.amount))
            .where(won_stage, closed)
            .group_by(deal.c.currency)
        ).all()
    }
    overview = Section(
        "Won and lost", ["won", "lost", "win rate %", "avg cycle days", "median cycle days"]
    )
    if won + lost:
        overview.rows.append([
            won, lost, percent(won, won + lost),
            Decimal(str(round(float(avg_cycle), 1))) if avg_cycle is not None else None,
            Decimal(str(round(median_cycle, 1))) if median_cycle is not None else None,
        ])  # fmt: skip
    loss = Section(
        "Loss reasons", ["reason", "deals", "share %"], chart="barh", chart_columns=(0, 1)
    )
    for text, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])):
        loss.rows.append([text, n, percent(n, lost)])
    conversion = _conversion(session, period, stages)
    value = Section("Won value", ["currency", "won value"])
    for currency, total in sorted(won_value.items()):
        value.rows.append([currency, money(total, currency)])
    result = Report("winrate", period, [overview, loss, conversion, value])
    result.summary = {"won": won, "lost": lost, "win_rate": percent(won, won + lost)}
    return result


def _conversion(session: Reader, period: Period, stages: list[Any]) -> Section:
    """Of the deals that reached each open stage, how many went on to a later one (or won)."""
    deal, hist = t.deal, t.deal_stage_history
    progress = [s for s in stages if s.kind != t.LOST]
    order = {s.id: i for i, s in enumerate(progress)}
    # The furthest stage each deal reached, from its history alone: the stage's position by a
    # CASE on its id, and the deals' creation dates joined only when the period asks for them.
    # On SQLite the history is scanned in table order (+deal_id), not walked through its index.
    reached_counts: dict[int, int] = {}
    if progress:
        position = sa.case({s.id: s.position for s in progress}, value=hist.c.stage_id)
        deal_id = scanned(session, hist.c.deal_id)
        furthest = (
            sa.select(deal_id.label("deal_id"), sa.func.max(position).label("pos"))
            .where(hist.c.stage_id.in_([s.id for s in progress]))
            .group_by(deal_id)
        )
        if period.start is not None or period.end is not None:
            furthest = furthest.join(deal, deal.c.id == hist.c.deal_id).where(
                period.clause(deal.c.created_at)
            )
        reached = furthest.subquery()
        reached_counts = dict(
            session.execute(sa.select(reached.c.pos, sa.func.count()).group_by(reached.c.pos)).all()
        )
    position_index = {s.position: order[s.id] for s in progress}
    at_least = [0] * len(progress)
    for pos, n in reached_counts.items():
        idx = position_index.get(pos)
        if idx is None:
            continue
        for i in range(idx + 1):
            at_least[i] += int(n)
    section = Section(
        "Stage-to-stage conversion", ["from", "to", "reached from", "went on", "conversion %"]
    )
    for i in range(len(progress) - 1):
        if not at_least[i]:
            continue
        section.rows.append(
            [
                progress[i].name,
                progress[i + 1].name,
                at_least[i],
                at_least[i + 1],
                percent(at_least[i + 1], at_least[i]),
            ]
        )
    return section
