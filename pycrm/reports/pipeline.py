"""Pipeline: per stage count, total and weighted value, age in stage; stale and slipped deals."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pycrm import models as m
from pycrm.reports.common import (
    Period,
    Report,
    Section,
    days_between,
    money,
    now_param,
    report,
    weighted_minor,
)


@report("pipeline")
def pipeline_report(session: Session, *, period: Period, now: datetime | None = None) -> Report:
    """Open and closed deals by stage (deals created in the period), totals per currency."""
    from pycrm.services.agenda import stale_deal_ids

    now = now or datetime.now(UTC)
    deal, stage = m.Deal.__table__, m.Stage.__table__
    probability = sa.func.coalesce(deal.c.probability, stage.c.probability)
    age = days_between(session, now_param(session, now), deal.c.stage_entered_at)
    rows = session.execute(
        sa.select(
            stage.c.name, stage.c.kind, stage.c.position, deal.c.currency, sa.func.count(),
            sa.func.sum(deal.c.amount), sa.func.sum(deal.c.amount * probability), sa.func.avg(age),
        )
        .join(stage, stage.c.id == deal.c.stage_id)
        .where(period.clause(deal.c.created_at))
        .group_by(stage.c.name, stage.c.kind, stage.c.position, deal.c.currency)
        .order_by(stage.c.position, deal.c.currency)
    ).all()  # fmt: skip
    by_stage = Section(
        "Deals by stage",
        ["stage", "currency", "deals", "total", "weighted", "avg days in stage"],
        chart="barh",
        chart_columns=(0, 2),
    )
    totals: dict[str, dict[str, int]] = {}
    by_stage.chart_skip = tuple(
        name for name, kind, *_ in rows if kind == m.StageKind.LOST
    )  # the funnel: open stages, then won
    for name, kind, _pos, currency, count, total, weighted, avg_age in rows:
        w = weighted_minor(weighted)
        by_stage.rows.append([
            name, currency, int(count), money(total, currency), money(w, currency),
            round(float(avg_age), 1) if avg_age is not None and kind == m.StageKind.OPEN else None,
        ])  # fmt: skip
        if kind == m.StageKind.OPEN:
            t = totals.setdefault(currency, {"deals": 0, "total": 0, "weighted": 0})
            t["deals"] += int(count)
            t["total"] += int(total or 0)
            t["weighted"] += w
    open_totals = Section("Open pipeline per currency", ["currency", "deals", "total", "weighted"])
    for currency, t in sorted(totals.items()):
        open_totals.rows.append(
            [currency, t["deals"], money(t["total"], currency), money(t["weighted"], currency)]
        )

    stale_ids = stale_deal_ids(session, now)
    today = now.astimezone().date()
    slipped_rows = session.execute(
        sa.select(deal.c.id, deal.c.title, stage.c.name, deal.c.amount, deal.c.currency,
                  deal.c.original_close, deal.c.expected_close)
        .join(stage, stage.c.id == deal.c.stage_id)
        .where(stage.c.kind == m.StageKind.OPEN.value, deal.c.expected_close.is_not(None))
        .where(sa.or_(deal.c.expected_close > deal.c.original_close, deal.c.expected_close < today))
        .where(period.clause(deal.c.created_at))
        .order_by(deal.c.expected_close)
    ).all()  # fmt: skip
    stale_section = Section(
        "Stale deals (idle past their stage's limit)",
        ["id", "title", "stage", "value", "currency", "idle since"],
    )
    if stale_ids:
        wanted = stale_ids[:500]
        for did, title, sname, amount, currency, entered in session.execute(
            sa.select(
                deal.c.id,
                deal.c.title,
                stage.c.name,
                deal.c.amount,
                deal.c.currency,
                deal.c.stage_entered_at,
            )
            .join(stage, stage.c.id == deal.c.stage_id)
            .where(deal.c.id.in_(wanted), period.clause(deal.c.created_at))
        ).all():
            stale_section.rows.append(
                [
                    did,
                    title,
                    sname,
                    money(amount, currency),
                    currency,
                    entered.date() if entered else None,
                ]
            )
    slipped = Section(
        "Slipped deals (close date moved later or passed)",
        ["id", "title", "stage", "value", "currency", "first close", "expected close"],
    )
    for did, title, sname, amount, currency, first, expected in slipped_rows:
        slipped.rows.append([did, title, sname, money(amount, currency), currency, first, expected])
    result = Report("pipeline", period, [by_stage, open_totals, stale_section, slipped])
    result.summary = {
        "open_deals": sum(t["deals"] for t in totals.values()),
        "open_value": {c: money(t["total"], c) for c, t in totals.items()},
        "weighted_value": {c: money(t["weighted"], c) for c, t in totals.items()},
        "stale_deals": len(stale_section.rows),
        "slipped_deals": len(slipped.rows),
    }
    return result
