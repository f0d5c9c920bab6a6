"""Customers: lifetime value, purchases, preferred channel and RFM segments, per person or company."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from pycrm import tables as t
from pycrm.reports.common import Period, Report, Section, money, report, stage_ids

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


def quintiles(values: list[Any]) -> list[int]:
    """Score each value 1–5 by its rank (higher value → higher score; ties share a score)."""
    if not values:
        return []
    from bisect import bisect_left

    ordered = sorted(values)
    n = len(ordered)
    # bisect_left: the rank of the first equal value, so ties share a score.
    return [min(5, 1 + (bisect_left(ordered, v) * 5) // n) for v in values]


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

    SQL sums the won deals per customer and currency (one row each, with the name) and counts
    the interactions per type of the customers listed; Python ranks those rows (RFM quintiles
    within each currency), names the segment, filters, sorts and cuts. Ranking a few thousand
    rows in Python takes a few milliseconds; the same in SQL window functions cost ~60 ms on
    SQLite at 100k contacts.
    """
    if by not in ("contact", "company"):
        raise ValueError("by must be contact or company")
    if sort not in SORTS:
        raise ValueError(f"sort must be one of: {', '.join(SORTS)}")
    deal, i_t = t.deal, t.interaction
    owner = deal.c.contact_id if by == "contact" else deal.c.company_id
    i_owner = i_t.c.contact_id if by == "contact" else i_t.c.company_id
    names_table = t.contact if by == "contact" else t.company
    name_col = names_table.c.display_name if by == "contact" else names_table.c.name
    won_stage = deal.c.stage_id.in_(stage_ids(session, t.WON))
    won_deals = sa.and_(won_stage, owner.is_not(None), period.clause(deal.c.closed_at))
    won = (
        sa.select(
            owner.label("key"), deal.c.currency, sa.func.sum(deal.c.amount).label("value"),
            sa.func.count().label("purchases"), sa.func.min(deal.c.closed_at).label("first"),
            sa.func.max(deal.c.closed_at).label("last"),
        )
        .where(won_deals)
        .group_by(owner, deal.c.currency)
        .subquery("won")
    )  # fmt: skip
    customers = [
        _Customer(*row)
        for row in session.execute(
            sa.select(won, name_col).join(names_table, names_table.c.id == won.c.key)
        ).all()
    ]
    _score_rfm(customers)
    if segment_filter:
        wanted = segment_filter.strip().lower()
        customers = [c for c in customers if c.segment.lower() == wanted]
    customers = _ordered(customers, sort)
    if limit is not None:
        customers = customers[:limit]
    channel = _preferred_channels(session, i_owner, [c.key for c in customers], owner, won_deals)
    table = Section(
        f"Customers by {by}",
        ["id", "name", "currency", "lifetime value", "purchases", "average deal", "first purchase",
         "last purchase", "preferred channel", "R", "F", "M", "segment"],
    )  # fmt: skip
    counted: dict[str, int] = {}
    for c in customers:
        total = money(c.value, c.currency)
        avg = (total / c.purchases).quantize(Decimal("0.01")) if c.purchases else None
        table.rows.append([c.key, c.name, c.currency, total, int(c.purchases), avg,
                           c.first.date() if c.first else None, c.last.date() if c.last else None,
                           channel.get(c.key), c.r, c.f, c.m, c.segment])  # fmt: skip
        counted[c.segment] = counted.get(c.segment, 0) + 1
    segments = Section("Segments", ["segment", "customers"], chart="barh", chart_columns=(0, 1))
    segments.rows = [[name, counted[name]] for name in SEGMENTS if name in counted]
    result = Report("customers", period, [table, segments])
    result.summary = {"customers": len(customers), "by": by}
    return result


class _Customer:
    """One customer in one currency: the won-deal sums, then the RFM scores and segment."""

    __slots__ = (
        "currency",
        "f",
        "first",
        "key",
        "last",
        "m",
        "name",
        "purchases",
        "r",
        "segment",
        "value",
    )

    def __init__(
        self, key: int, currency: str, value: Any, purchases: int, first: datetime | None,
        last: datetime | None, name: str,
    ) -> None:  # fmt: skip
        self.key, self.currency, self.value, self.purchases = key, currency, value, int(purchases)
        self.first, self.last, self.name = first, last, name
        self.r = self.f = self.m = 0
        self.segment = ""


def _score_rfm(customers: list[_Customer]) -> None:
    """R, F and M quintiles within each currency (:func:`quintiles`), and the segment.

    A won deal with no close date counts as the oldest purchase (it ranks lowest in recency).
    """
    by_currency: dict[str, list[_Customer]] = {}
    for c in customers:
        by_currency.setdefault(c.currency, []).append(c)
    oldest = datetime.min.replace(tzinfo=UTC)
    for group in by_currency.values():
        rs = quintiles([c.last or oldest for c in group])
        fs = quintiles([c.purchases for c in group])
        ms = quintiles([c.value or 0 for c in group])
        for c, r, f, m in zip(group, rs, fs, ms, strict=True):
            c.r, c.f, c.m, c.segment = r, f, m, segment(r, f)


def _ordered(customers: list[_Customer], sort: str) -> list[_Customer]:
    """The customers in the order ``--sort`` asks for; ties by name (code point order), then
    currency and id, so the order is the same on every database."""
    rows = sorted(customers, key=lambda c: (c.currency, c.key))
    if sort == "name":
        rows.sort(key=lambda c: c.name.casefold())
        return rows
    rows.sort(key=lambda c: c.name)
    if sort == "value":
        rows.sort(key=lambda c: c.value or 0, reverse=True)  # stable: ties keep name order
        rows.sort(key=lambda c: c.currency)
    elif sort == "recency":
        oldest = datetime.min.replace(tzinfo=UTC)
        rows.sort(key=lambda c: c.last or oldest, reverse=True)
    else:
        rows.sort(key=lambda c: c.purchases, reverse=True)
    return rows


LISTED_KEYS = 500  # up to this many customers are named in the channel query; more, by subquery


def _preferred_channels(
    session: Reader, i_owner: Any, keys: list[int], owner: Any, won_deals: Any
) -> dict[int, str]:
    """Per customer, the interaction type used most (notes aside; a tie goes to the type that
    sorts last). SQL counts per customer and type; Python keeps the largest count."""
    if not keys:
        return {}
    i_t = t.interaction
    who = (
        i_owner.in_(keys)
        if len(keys) <= LISTED_KEYS
        else i_owner.in_(sa.select(owner).where(won_deals).distinct())
    )
    best: dict[int, tuple[int, str]] = {}
    for key, kind, n in session.execute(
        sa.select(i_owner, i_t.c.type, sa.func.count())
        .where(who, i_t.c.type != t.NOTE)
        .group_by(i_owner, i_t.c.type)
    ).all():
        pick = (int(n), kind)
        if key not in best or pick > best[key]:
            best[key] = pick
    return {key: kind for key, (_n, kind) in best.items()}
