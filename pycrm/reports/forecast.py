"""Forecast: weighted value of open deals by expected close month, per currency."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from pycrm import tables as t
from pycrm.reports.common import (
    Period,
    Report,
    Section,
    money,
    month_of,
    report,
    scanned,
    stage_rows,
    weighted_minor,
)

if TYPE_CHECKING:
    from pycrm.reports.common import Reader


def _add_months(day: date, months: int) -> date:
    year, month = divmod(day.month - 1 + months, 12)
    return date(day.year + year, month + 1, 1)


@report("forecast")
def forecast_report(
    session: Reader, *, period: Period, months: int = 6, now: datetime | None = None
) -> Report:
    """Weighted value (amount × probability) of open deals by expected close month."""
    now = now or datetime.now(UTC)
    first = (period.start.astimezone().date() if period.start else now.astimezone().date()).replace(
        day=1
    )
    last = _add_months(first, months)
    if period.end is not None:
        last = min(last, period.end.astimezone().date())
    deal = t.deal
    # Open stages by id and their probability by a CASE: no join with the stage table.
    open_stages = {row.id: row.probability for row in stage_rows(session) if row.kind == t.OPEN}
    probability: Any = deal.c.probability
    if open_stages:
        stage_probability = sa.case(open_stages, value=deal.c.stage_id)
        probability = sa.func.coalesce(deal.c.probability, stage_probability)
    # On SQLite, +stage_id: the planner (no statistics) would pick ix_deal_stage_id over the
    # narrower expected-close range of ix_deal_expected_close.
    is_open = scanned(session, deal.c.stage_id).in_(list(open_stages))
    month = month_of(session, deal.c.expected_close).label("month")
    rows = session.execute(
        sa.select(month, deal.c.currency, sa.func.count(), sa.func.sum(deal.c.amount), sa.func.sum(deal.c.amount * probability))
        .where(is_open)
        .where(deal.c.expected_close >= first, deal.c.expected_close < last)
        .group_by(month, deal.c.currency)
        .order_by(month, deal.c.currency)
    ).all()  # fmt: skip
    found = {(r[0], r[1]): r for r in rows}
    currencies = sorted({r[1] for r in rows})
    by_month = Section(
        "Weighted forecast by expected close month",
        ["month", "currency", "deals", "total", "weighted"],
        chart="bar",
        chart_columns=(0, 4),
    )
    cursor = first
    while cursor < last:
        key = cursor.strftime("%Y-%m")
        for currency in currencies:
            r = found.get((key, currency))
            count, total, weighted = (int(r[2]), r[3], r[4]) if r else (0, 0, 0)
            by_month.rows.append(
                [
                    key,
                    currency,
                    count,
                    money(total, currency),
                    money(weighted_minor(weighted), currency),
                ]
            )
        cursor = _add_months(cursor, 1)
    today = now.astimezone().date()
    overdue_rows = session.execute(
        sa.select(deal.c.id, deal.c.title, deal.c.expected_close, deal.c.amount, deal.c.currency, probability)
        .where(is_open, deal.c.expected_close < today)
        .order_by(deal.c.expected_close, deal.c.id)
    ).all()  # fmt: skip
    overdue = Section(
        "Overdue: expected to close before today, still open",
        ["id", "title", "expected close", "value", "currency", "weighted"],
    )
    for did, title, close, amount, currency, prob in overdue_rows:
        overdue.rows.append(
            [
                did,
                title,
                close,
                money(amount, currency),
                currency,
                money(weighted_minor(amount * prob), currency),
            ]
        )
    totals: dict[str, int] = {}
    for r in rows:
        totals[r[1]] = totals.get(r[1], 0) + weighted_minor(r[4])
    result = Report(
        "forecast",
        Period(datetime.combine(first, datetime.min.time(), tzinfo=UTC), None),
        [by_month, overdue],
    )
    result.summary = {
        "months": months,
        "weighted_total": {c: money(v, c) for c, v in sorted(totals.items())},
        "overdue_deals": len(overdue.rows),
    }
    return result
