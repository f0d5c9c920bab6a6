"""Pipeline: per stage count, total and weighted value, age in stage; stale and slipped deals."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from pycrm import tables as t
from pycrm.reports.common import (
    Period,
    Report,
    Section,
    days_between,
    is_sqlite,
    money,
    now_param,
    report,
    scanned,
    stage_rows,
    weighted_minor,
)

if TYPE_CHECKING:
    from pycrm.reports.common import Reader


@report("pipeline")
def pipeline_report(session: Reader, *, period: Period, now: datetime | None = None) -> Report:
    """Open and closed deals by stage (deals created in the period), totals per currency."""
    now = now or datetime.now(UTC)
    deal = t.deal
    stages = {row.id: row for row in stage_rows(session)}
    # The stage's probability by a CASE on the deal's stage id: no join, so SQLite scans the
    # deals once (walking ix_deal_stage_id and fetching each row took twice as long).
    probability: Any = deal.c.probability
    if stages:
        by_stage_id = {sid: row.probability for sid, row in stages.items()}
        probability = sa.func.coalesce(
            deal.c.probability, sa.case(by_stage_id, value=deal.c.stage_id)
        )
    age = days_between(session, now_param(session, now), deal.c.stage_entered_at)
    stage_id = scanned(session, deal.c.stage_id)
    grouped = session.execute(
        sa.select(
            stage_id, deal.c.currency, sa.func.count(), sa.func.sum(deal.c.amount),
            sa.func.sum(deal.c.amount * probability), sa.func.avg(age),
        )
        .where(period.clause(deal.c.created_at))
        .group_by(stage_id, deal.c.currency)
    ).all()  # fmt: skip
    rows = sorted(
        ((stages[sid], *rest) for sid, *rest in grouped if sid in stages),
        key=lambda r: (r[0].position, r[0].id, r[1]),
    )
    by_stage = Section(
        "Deals by stage",
        ["stage", "currency", "deals", "total", "weighted", "avg days in stage"],
        chart="barh",
        chart_columns=(0, 2),
    )
    totals: dict[str, dict[str, int]] = {}
    by_stage.chart_skip = tuple(
        st.name for st, *_ in rows if st.kind == t.LOST
    )  # the funnel: open stages, then won
    for st, currency, count, total, weighted, avg_age in rows:
        w = weighted_minor(weighted)
        by_stage.rows.append([
            st.name, currency, int(count), money(total, currency), money(w, currency),
            round(float(avg_age), 1) if avg_age is not None and st.kind == t.OPEN else None,
        ])  # fmt: skip
        if st.kind == t.OPEN:
            sums = totals.setdefault(currency, {"deals": 0, "total": 0, "weighted": 0})
            sums["deals"] += int(count)
            sums["total"] += int(total or 0)
            sums["weighted"] += w
    open_totals = Section("Open pipeline per currency", ["currency", "deals", "total", "weighted"])
    for currency, sums in sorted(totals.items()):
        open_totals.rows.append(
            [
                currency,
                sums["deals"],
                money(sums["total"], currency),
                money(sums["weighted"], currency),
            ]
        )

    today = now.astimezone().date()
    open_ids = [sid for sid, row in stages.items() if row.kind == t.OPEN]
    slipped_rows = session.execute(
        sa.select(deal.c.id, deal.c.title, deal.c.stage_id, deal.c.amount, deal.c.currency,
                  deal.c.original_close, deal.c.expected_close)
        .where(deal.c.stage_id.in_(open_ids), deal.c.expected_close.is_not(None))
        .where(sa.or_(deal.c.expected_close > deal.c.original_close, deal.c.expected_close < today))
        .where(period.clause(deal.c.created_at))
        .order_by(deal.c.expected_close, deal.c.id)
    ).all()  # fmt: skip
    stale_section = Section(
        "Stale deals (idle past their stage's limit)",
        ["id", "title", "stage", "value", "currency", "idle since"],
    )
    stale = _stale_deals(session, now, stages)
    if stale is not None:
        for did, title, sid, amount, currency, entered in session.execute(
            sa.select(deal.c.id, deal.c.title, deal.c.stage_id, deal.c.amount, deal.c.currency,
                      deal.c.stage_entered_at)
            .where(deal.c.id.in_(stale), period.clause(deal.c.created_at))
            .order_by(deal.c.id)
        ).all():  # fmt: skip
            stale_section.rows.append(
                [
                    did,
                    title,
                    stages[sid].name,
                    money(amount, currency),
                    currency,
                    entered.date() if entered else None,
                ]
            )
    slipped = Section(
        "Slipped deals (close date moved later or passed)",
        ["id", "title", "stage", "value", "currency", "first close", "expected close"],
    )
    for did, title, sid, amount, currency, first, expected in slipped_rows:
        slipped.rows.append(
            [did, title, stages[sid].name, money(amount, currency), currency, first, expected]
        )
    result = Report("pipeline", period, [by_stage, open_totals, stale_section, slipped])
    result.summary = {
        "open_deals": sum(v["deals"] for v in totals.values()),
        "open_value": {c: money(v["total"], c) for c, v in totals.items()},
        "weighted_value": {c: money(v["weighted"], c) for c, v in totals.items()},
        "stale_deals": len(stale_section.rows),
        "slipped_deals": len(slipped.rows),
    }
    return result


STALE_SHOWN = 500


def _stale_deals(session: Reader, now: datetime, stages: dict[int, Any]) -> Any:
    """A subquery of the ids of the (at most 500) open deals idle longest past their stage's limit.

    Idle means no stage change, edit or linked interaction for longer than the stage's
    ``idle_days``: the rule of :func:`pycrm.services.agenda.stale_deal_sql`, which Today uses
    too. None when no open stage has a limit.
    """
    from pycrm.services.agenda import stale_deal_sql

    limits = [
        (sid, row.idle_days)
        for sid, row in stages.items()
        if row.kind == t.OPEN and row.idle_days is not None
    ]
    query = stale_deal_sql(limits, now, "sqlite" if is_sqlite(session) else "postgresql")
    if query is None:
        return None
    sql, params = query
    return (
        sa.text(f"{sql} LIMIT {STALE_SHOWN}")
        .bindparams(**params)
        .columns(sa.column("id", sa.Integer))
    )
