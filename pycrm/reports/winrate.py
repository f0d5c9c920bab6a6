"""Win rate: won vs lost, sales cycle, loss reasons, stage-to-stage conversion."""

from __future__ import annotations

import statistics
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pycrm import models as m
from pycrm.reports.common import Period, Report, Section, money, percent, report


@report("winrate")
def winrate_report(session: Session, *, period: Period) -> Report:
    """Deals closed in the period: win rate, cycle length (created → won), why deals are lost."""
    deal, stage = m.Deal.__table__, m.Stage.__table__
    closed = (
        sa.select(deal.c.id, stage.c.kind, deal.c.created_at, deal.c.closed_at, deal.c.lost_reason, deal.c.amount, deal.c.currency)
        .join(stage, stage.c.id == deal.c.stage_id)
        .where(stage.c.kind.in_([m.StageKind.WON.value, m.StageKind.LOST.value]))
        .where(period.clause(deal.c.closed_at))
    )  # fmt: skip
    won = lost = 0
    cycles: list[float] = []
    reasons: dict[str, int] = {}
    won_value: dict[str, int] = {}
    for _id, kind, created, closed_at, reason, amount, currency in session.execute(closed).all():
        if kind == m.StageKind.WON:
            won += 1
            won_value[currency] = won_value.get(currency, 0) + int(amount)
            if created is not None and closed_at is not None:
                cycles.append((closed_at - created).total_seconds() / 86400)
        else:
            lost += 1
            key = (reason or "no reason given").strip().lower()
            reasons[key] = reasons.get(key, 0) + 1
    overview = Section(
        "Won and lost", ["won", "lost", "win rate %", "avg cycle days", "median cycle days"]
    )
    if won + lost:
        overview.rows.append([
            won, lost, percent(won, won + lost),
            Decimal(str(round(statistics.fmean(cycles), 1))) if cycles else None,
            Decimal(str(round(statistics.median(cycles), 1))) if cycles else None,
        ])  # fmt: skip
    loss = Section(
        "Loss reasons", ["reason", "deals", "share %"], chart="barh", chart_columns=(0, 1)
    )
    for reason, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])):
        loss.rows.append([reason, n, percent(n, lost)])
    conversion = _conversion(session, period)
    value = Section("Won value", ["currency", "won value"])
    for currency, total in sorted(won_value.items()):
        value.rows.append([currency, money(total, currency)])
    result = Report("winrate", period, [overview, loss, conversion, value])
    result.summary = {"won": won, "lost": lost, "win_rate": percent(won, won + lost)}
    return result


def _conversion(session: Session, period: Period) -> Section:
    """Of the deals that reached each open stage, how many went on to a later one (or won)."""
    deal, stage, hist = m.Deal.__table__, m.Stage.__table__, m.DealStageHistory.__table__
    stages = session.execute(
        sa.select(stage.c.id, stage.c.name, stage.c.position, stage.c.kind).order_by(
            stage.c.position
        )
    ).all()
    progress = [s for s in stages if s.kind != m.StageKind.LOST]
    order = {s.id: i for i, s in enumerate(progress)}
    furthest = (
        sa.select(hist.c.deal_id, sa.func.max(stage.c.position).label("pos"))
        .join(stage, stage.c.id == hist.c.stage_id)
        .join(deal, deal.c.id == hist.c.deal_id)
        .where(stage.c.kind != m.StageKind.LOST.value, period.clause(deal.c.created_at))
        .group_by(hist.c.deal_id)
        .subquery()
    )
    reached_counts: dict[int, int] = dict(
        session.execute(sa.select(furthest.c.pos, sa.func.count()).group_by(furthest.c.pos)).all()
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
