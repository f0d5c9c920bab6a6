"""Customers: lifetime value, purchases, preferred channel and RFM segments, per person or company."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa

from pycrm.reports import tables as t
from pycrm.reports.common import Period, Report, Section, money, report

SEGMENTS = (
    "Champions",
    "Loyal",
    "Potential loyalist",
    "Need attention",
    "At risk",
    "Hibernating",
    "Lost",
)
SORTS = ("value", "recency", "frequency", "name")

if TYPE_CHECKING:
    from pycrm.reports.common import Reader


def segment(r: int, f: int) -> str:
    """Named segment from recency and frequency scores (1–5, 5 best)."""
    if r >= 4 and f >= 4:
        return "Champions"
    if f >= 4:
        return "Loyal"
    if r >= 4:
        return "Potential loyalist"
    if r <= 1 and f <= 1:
        return "Lost"
    if r <= 2 and f >= 3:
        return "At risk"
    if r <= 2:
        return "Hibernating"
    return "Need attention"


def quintiles(values: list[float]) -> list[int]:
    """Score each value 1–5 by its rank (higher value → higher score; ties share a score)."""
    if not values:
        return []
    from bisect import bisect_left

    ordered = sorted(values)
    n = len(ordered)
    # bisect_left: the rank of the first equal value, so ties share a score.
    return [min(5, 1 + (bisect_left(ordered, v) * 5) // n) for v in values]


@dataclass
class _Customer:
    key: int
    name: str
    currency: str
    value: int
    purchases: int
    first: datetime
    last: datetime
    channel: str | None


@report("customers")
def customers_report(
    session: Reader,
    *,
    period: Period,
    by: str = "contact",
    segment_filter: str | None = None,
    sort: str = "value",
    limit: int | None = None,
    now: datetime | None = None,
) -> Report:
    """Who is worth the most: won-deal value, purchase count and recency, and an RFM segment."""
    if by not in ("contact", "company"):
        raise ValueError("by must be contact or company")
    if sort not in SORTS:
        raise ValueError(f"sort must be one of: {', '.join(SORTS)}")
    now = now or datetime.now(UTC)
    deal, stage = t.deal, t.stage
    owner = deal.c.contact_id if by == "contact" else deal.c.company_id
    names_table = t.contact if by == "contact" else t.company
    name_col = names_table.c.display_name if by == "contact" else names_table.c.name
    rows = session.execute(
        sa.select(owner, name_col, deal.c.currency, sa.func.sum(deal.c.amount), sa.func.count(),
                  sa.func.min(deal.c.closed_at), sa.func.max(deal.c.closed_at))
        .join(stage, stage.c.id == deal.c.stage_id)
        .join(names_table, names_table.c.id == owner)
        .where(stage.c.kind == t.WON, owner.is_not(None), period.clause(deal.c.closed_at))
        .group_by(owner, name_col, deal.c.currency)
    ).all()  # fmt: skip
    i_t = t.interaction
    i_owner = i_t.c.contact_id if by == "contact" else i_t.c.company_id
    channel_rows = session.execute(
        sa.select(i_owner, i_t.c.type, sa.func.count())
        .where(i_owner.is_not(None), i_t.c.type != t.NOTE)
        .where(i_owner.in_(sa.select(owner).join(stage, stage.c.id == deal.c.stage_id).where(stage.c.kind == t.WON)))
        .group_by(i_owner, i_t.c.type)
    ).all()  # fmt: skip
    best: dict[int, tuple[int, str]] = {}
    for key, kind, n in channel_rows:
        if key not in best or (int(n), kind) > best[key]:
            best[key] = (int(n), kind)
    customers = [
        _Customer(
            key, name, currency, int(total), int(count), first, last, best.get(key, (0, None))[1]
        )
        for key, name, currency, total, count, first, last in rows
    ]
    # RFM scores within each currency, so amounts in different currencies are never compared.
    scored: list[tuple[_Customer, int, int, int, str]] = []
    for currency in sorted({c.currency for c in customers}):
        group = [c for c in customers if c.currency == currency]
        r = quintiles([-(now - c.last).total_seconds() for c in group])
        f = quintiles([float(c.purchases) for c in group])
        mon = quintiles([float(c.value) for c in group])
        for c, rs, fs, ms in zip(group, r, f, mon, strict=True):
            scored.append((c, rs, fs, ms, segment(rs, fs)))
    if segment_filter:
        wanted = segment_filter.strip().lower()
        scored = [s for s in scored if s[4].lower() == wanted]
    keyfn = {
        "value": lambda s: (s[0].currency, -s[0].value, s[0].name),
        "recency": lambda s: (-s[0].last.timestamp(), s[0].name),
        "frequency": lambda s: (-s[0].purchases, s[0].name),
        "name": lambda s: (s[0].name.casefold(), s[0].currency),
    }[sort]
    scored.sort(key=keyfn)  # type: ignore[arg-type]
    if limit is not None:
        scored = scored[:limit]
    table = Section(
        f"Customers by {by}",
        ["id", "name", "currency", "lifetime value", "purchases", "average deal", "first purchase",
         "last purchase", "preferred channel", "R", "F", "M", "segment"],
    )  # fmt: skip
    for c, rs, fs, ms, seg in scored:
        avg = (
            (money(c.value, c.currency) / c.purchases).quantize(Decimal("0.01"))
            if c.purchases
            else None
        )
        table.rows.append([c.key, c.name, c.currency, money(c.value, c.currency), c.purchases, avg,
                           c.first.date() if c.first else None, c.last.date() if c.last else None, c.channel,
                           rs, fs, ms, seg])  # fmt: skip
    segments = Section("Segments", ["segment", "customers"], chart="barh", chart_columns=(0, 1))
    counts: dict[str, int] = {}
    for s in scored:
        counts[s[4]] = counts.get(s[4], 0) + 1
    segments.rows = [[name, counts[name]] for name in SEGMENTS if name in counts]
    result = Report("customers", period, [table, segments])
    result.summary = {"customers": len(scored), "by": by}
    return result
