"""Sources: which touchpoints bring the customers worth having."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from pycrm import tables as t
from pycrm.reports.common import Period, Report, Section, money, percent, report

if TYPE_CHECKING:
    from pycrm.reports.common import Reader


@report("sources")
def sources_report(session: Reader, *, period: Period) -> Report:
    """Contacts, deals, won value and win rate by the contact's source and campaign."""
    c_t, deal, stage = t.contact, t.deal, t.stage
    source = sa.func.coalesce(c_t.c.source, "(none)")
    campaign = sa.func.coalesce(c_t.c.campaign, "(none)")
    # Grouped on the bare columns, in the order of ix_contact_source_campaign (no sort of every
    # contact); a missing source or campaign joins "(none)" here, as coalesce() would.
    people: dict[tuple[str, str], int] = {}
    for s, c, n in session.execute(
        sa.select(c_t.c.source, c_t.c.campaign, sa.func.count())
        .where(period.clause(c_t.c.created_at))
        .group_by(c_t.c.source, c_t.c.campaign)
    ).all():
        key = (s if s is not None else "(none)", c if c is not None else "(none)")
        people[key] = people.get(key, 0) + int(n)
    won = sa.func.sum(sa.case((stage.c.kind == t.WON, 1), else_=0))
    lost = sa.func.sum(sa.case((stage.c.kind == t.LOST, 1), else_=0))
    won_value = sa.func.sum(sa.case((stage.c.kind == t.WON, deal.c.amount), else_=0))
    deal_rows = session.execute(
        sa.select(source, campaign, deal.c.currency, sa.func.count(), won, lost, won_value)
        .join(c_t, c_t.c.id == deal.c.contact_id)
        .join(stage, stage.c.id == deal.c.stage_id)
        .where(period.clause(deal.c.created_at))
        .group_by(source, campaign, deal.c.currency)
    ).all()
    table = Section(
        "By source and campaign",
        [
            "source",
            "campaign",
            "contacts",
            "currency",
            "deals",
            "won",
            "lost",
            "won value",
            "win rate %",
        ],
    )
    seen: set[tuple[str, str]] = set()
    for src, camp, currency, n, w, lo, value in sorted(deal_rows, key=lambda r: (r[0], r[1], r[2])):
        table.rows.append([src, camp, people.get((src, camp), 0), currency, int(n), int(w or 0), int(lo or 0),
                           money(value, currency), percent(int(w or 0), int(w or 0) + int(lo or 0))])  # fmt: skip
        seen.add((src, camp))
    for (src, camp), n in sorted(people.items()):
        if (src, camp) not in seen:
            table.rows.append([src, camp, n, None, 0, 0, 0, None, None])
    by_source = Section(
        "Contacts by source", ["source", "contacts"], chart="barh", chart_columns=(0, 1)
    )
    per_source: dict[str, int] = {}
    for (src, _camp), n in people.items():
        per_source[src] = per_source.get(src, 0) + n
    by_source.rows = [[s, n] for s, n in sorted(per_source.items(), key=lambda kv: (-kv[1], kv[0]))]
    result = Report("sources", period, [table, by_source])
    result.summary = {"sources": len(per_source), "contacts": sum(people.values())}
    return result
