"""Customers: lifetime value, purchases, preferred channel and RFM segments, per person or company."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from pycrm import tables as t
from pycrm.reports.common import Period, Report, Section, is_sqlite, money, report

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


def _score(rank: Any, n: Any) -> Any:
    """SQL for :func:`quintiles`: 1 + (rank of the first equal value × 5) // n, at most 5."""
    q = 1 + ((rank - 1) * 5) // n
    return sa.case((q > 5, 5), else_=q)


def _segment(r: Any, f: Any) -> Any:
    """SQL for :func:`segment`."""
    return sa.case(
        (sa.and_(r >= 4, f >= 4), "Champions"),
        (f >= 4, "Loyal"),
        (r >= 4, "Potential loyalist"),
        (sa.and_(r <= 1, f <= 1), "Lost"),
        (sa.and_(r <= 2, f >= 3), "At risk"),
        (r <= 2, "Hibernating"),
        else_="Need attention",
    )


def _bytewise(session: Reader, column: Any) -> Any:
    """Order text by code point, as Python sorts it (PostgreSQL's default collation does not)."""
    return column if is_sqlite(session) else column.collate("C")


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
    """Who is worth the most: won-deal value, purchase count and recency, and an RFM segment.

    Recency ranks customers by their last purchase, which orders them as time since it would at
    any ``now`` (kept for callers; it changes nothing).

    One statement: won deals grouped per customer and currency, RFM scores by window functions
    within each currency, the segment, its filter, the order and the limit, and the preferred
    channel of the customers listed; Python only formats the rows.
    """
    if by not in ("contact", "company"):
        raise ValueError("by must be contact or company")
    if sort not in SORTS:
        raise ValueError(f"sort must be one of: {', '.join(SORTS)}")
    deal, stage, i_t = t.deal, t.stage, t.interaction
    owner = deal.c.contact_id if by == "contact" else deal.c.company_id
    i_owner = i_t.c.contact_id if by == "contact" else i_t.c.company_id
    names_table = t.contact if by == "contact" else t.company
    name_col = names_table.c.display_name if by == "contact" else names_table.c.name
    won = (
        sa.select(
            owner.label("key"), deal.c.currency, sa.func.sum(deal.c.amount).label("value"),
            sa.func.count().label("purchases"), sa.func.min(deal.c.closed_at).label("first"),
            sa.func.max(deal.c.closed_at).label("last"),
        )
        .join(stage, stage.c.id == deal.c.stage_id)
        .where(stage.c.kind == t.WON, owner.is_not(None), period.clause(deal.c.closed_at))
        .group_by(owner, deal.c.currency)
        .cte("won")
    )  # fmt: skip
    # RFM: each score is the quintile of the customer's rank within its currency (ties share
    # the rank of the first, like bisect_left); more recent, more frequent, more → higher.
    within = sa.func.count().over(partition_by=won.c.currency)

    def quintile(column: Any) -> Any:
        return _score(sa.func.rank().over(partition_by=won.c.currency, order_by=column), within)

    r_score, f_score, m_score = (
        quintile(won.c.last).label("r"),
        quintile(won.c.purchases).label("f"),
        quintile(won.c.value).label("m"),
    )
    scored = (
        sa.select(won, name_col.label("name"), r_score, f_score, m_score)
        .join(names_table, names_table.c.id == won.c.key)
        .subquery("scored")
    )
    segment_col = _segment(scored.c.r, scored.c.f).label("segment")
    chosen = sa.select(scored, segment_col)
    if segment_filter:
        wanted = segment_filter.strip().lower()
        names = [name for name in SEGMENTS if name.lower() == wanted]
        chosen = chosen.where(segment_col == (names[0] if names else None))

    def ordering(q: Any) -> tuple[Any, ...]:
        name, tie = _bytewise(session, q.c.name), (q.c.currency, q.c.key)  # tie: as they came
        return {
            "value": (q.c.currency, q.c.value.desc(), name, q.c.key),
            "recency": (q.c.last.desc(), name, *tie),
            "frequency": (q.c.purchases.desc(), name, *tie),
            "name": tie,  # then by casefolded name, in Python (SQL has no casefold)
        }[sort]

    chosen = chosen.order_by(*ordering(scored))
    if limit is not None and sort != "name":
        chosen = chosen.limit(limit)
    rows = session.execute(chosen).all()
    # Preferred channel: the interaction type used most with the customer (notes aside; a tie
    # goes to the type that sorts last), one row per customer.
    counts = (
        sa.select(i_owner.label("key"), i_t.c.type, sa.func.count().label("n"))
        .where(i_owner.in_(sa.select(won.c.key)), i_t.c.type != t.NOTE)
        .group_by(i_owner, i_t.c.type)
        .subquery("counts")
    )
    pick = sa.func.row_number().over(
        partition_by=counts.c.key,
        order_by=(counts.c.n.desc(), _bytewise(session, counts.c.type).desc()),
    )
    ranked = sa.select(counts.c.key, counts.c.type, pick.label("pick")).subquery("ranked")
    channel: dict[int, str] = dict(
        session.execute(sa.select(ranked.c.key, ranked.c.type).where(ranked.c.pick == 1)).all()
    )
    if sort == "name":
        rows = sorted(rows, key=lambda r: (r.name.casefold(), r.currency))
        if limit is not None:
            rows = rows[:limit]
    table = Section(
        f"Customers by {by}",
        ["id", "name", "currency", "lifetime value", "purchases", "average deal", "first purchase",
         "last purchase", "preferred channel", "R", "F", "M", "segment"],
    )  # fmt: skip
    counted: dict[str, int] = {}
    for key, currency, value, purchases, first, last, who, rs, fs, ms, seg in rows:
        kind = channel.get(key)
        total = money(value, currency)
        avg = (total / purchases).quantize(Decimal("0.01")) if purchases else None
        table.rows.append([key, who, currency, total, int(purchases), avg,
                           first.date() if first else None, last.date() if last else None, kind,
                           int(rs), int(fs), int(ms), seg])  # fmt: skip
        counted[seg] = counted.get(seg, 0) + 1
    segments = Section("Segments", ["segment", "customers"], chart="barh", chart_columns=(0, 1))
    segments.rows = [[name, counted[name]] for name in SEGMENTS if name in counted]
    result = Report("customers", period, [table, segments])
    result.summary = {"customers": len(rows), "by": by}
    return result
