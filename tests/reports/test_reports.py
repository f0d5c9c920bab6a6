"""Exact figures on a hand-built dataset, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from pycrm.db import Database
from pycrm.reports import Period, run_report
from pycrm.reports.customers import quintiles, segment
from pycrm.services import contacts, deals, followups, interactions

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def book(database: Database) -> Database:
    """Two people, three deals: one won (EUR 1,000), one lost (price), one open in Proposal."""
    t0 = NOW - timedelta(days=40)
    with database.write("setup") as s:
        ana = contacts.create_contact(
            s, "Ana", company_name="Acme", source="referral", campaign="fair"
        )
        bob = contacts.create_contact(s, "Bob", source="website")
        won = deals.create_deal(
            s, "Won deal", contact_id=ana.id, amount=100000, currency="EUR", at=t0
        )
        deals.move_deal(s, won.id, "proposal", at=t0 + timedelta(days=5))
        deals.mark_won(s, won.id, at=t0 + timedelta(days=10))
        lost = deals.create_deal(
            s, "Lost deal", contact_id=bob.id, amount=50000, currency="EUR", at=t0
        )
        deals.mark_lost(s, lost.id, "price", at=t0 + timedelta(days=20))
        open_ = deals.create_deal(
            s,
            "Open deal",
            contact_id=bob.id,
            amount=200000,
            currency="USD",
            stage="proposal",
            at=t0,
        )
        open_.expected_close = date(2026, 12, 15)
        open_.original_close = date(2026, 12, 1)
        interactions.log_interaction(
            s, type="call", summary="a", contact_id=ana.id, occurred_at=NOW - timedelta(days=3)
        )
        interactions.log_interaction(
            s, type="call", summary="b", contact_id=ana.id, occurred_at=NOW - timedelta(days=2)
        )
        interactions.log_interaction(
            s, type="email", summary="c", contact_id=bob.id, occurred_at=NOW - timedelta(days=2)
        )
        f = followups.create_followup(s, "x", due_at=NOW, contact_id=ana.id)
        followups.complete_followup(s, f.id, at=NOW - timedelta(hours=1))
    return database


def test_winrate_exact(book: Database) -> None:
    with book.read() as s:
        r = run_report(s, "winrate", Period())
    assert r.summary == {"won": 1, "lost": 1, "win_rate": Decimal("50.0")}
    overview = r.sections[0].rows[0]
    assert overview[3] == Decimal("10.0") and overview[4] == Decimal(
        "10.0"
    )  # created → won in 10 days
    assert r.sections[1].rows == [["price", 1, Decimal("100.0")]]
    conversion = {(row[0], row[1]): row[4] for row in r.sections[2].rows}
    assert conversion[("Lead", "Qualified")] == Decimal(
        "66.7"
    )  # 3 deals reached Lead, 2 went beyond


def test_pipeline_weighted_is_amount_times_probability(book: Database) -> None:
    with book.read() as s:
        r = run_report(s, "pipeline", Period(), now=NOW)
    rows = {(row[0], row[1]): row for row in r.sections[0].rows}
    proposal = rows[("Proposal", "USD")]
    assert (
        proposal[2] == 1 and proposal[3] == Decimal("2000.00") and proposal[4] == Decimal("1000.00")
    )
    assert r.summary["weighted_value"] == {"USD": Decimal("1000.00")}
    assert r.summary["open_value"] == {
        "USD": Decimal("2000.00")
    }  # EUR deals are closed: never mixed in
    assert [row[1] for row in r.sections[3].rows] == ["Open deal"]  # slipped: close moved later


def test_forecast_by_month(book: Database) -> None:
    with book.read() as s:
        r = run_report(s, "forecast", Period(), months=3, now=NOW)
    by_month = {(row[0], row[1]): row for row in r.sections[0].rows}
    assert by_month[("2026-12", "USD")][4] == Decimal("1000.00")
    assert by_month[("2026-11", "USD")][2] == 0


def test_activity_and_customers(book: Database) -> None:
    with book.read() as s:
        act = run_report(s, "activity", Period(NOW - timedelta(days=7), NOW), now=NOW)
        cust = run_report(s, "customers", Period(), now=NOW)
        src = run_report(s, "sources", Period())
    assert act.summary["interactions"] == 3 and act.summary["followups_completed"] == 1
    assert act.sections[3].rows[0][1] == "Ana"  # most contact
    [ana] = cust.sections[0].rows
    assert ana[1] == "Ana" and ana[3] == Decimal("1000.00") and ana[4] == 1 and ana[8] == "call"
    by_source = {(row[0], row[3]): row for row in src.sections[0].rows}
    assert by_source[("referral", "EUR")][5] == 1 and by_source[("referral", "EUR")][8] == Decimal(
        "100.0"
    )
    assert by_source[("website", "EUR")][6] == 1


def test_empty_database_gives_empty_reports(database: Database) -> None:
    with database.read() as s:
        for name in ("pipeline", "forecast", "winrate", "activity", "customers", "sources"):
            r = run_report(s, name, Period())
            assert r.to_json()["report"] == name


def test_rfm_helpers() -> None:
    assert quintiles([1.0, 2.0, 3.0, 4.0, 5.0]) == [1, 2, 3, 4, 5]
    assert segment(5, 5) == "Champions" and segment(1, 1) == "Lost" and segment(2, 4) == "Loyal"
    assert segment(1, 3) == "At risk" and segment(5, 1) == "Potential loyalist"


def test_winrate_median_and_reasons_ranked(book: Database) -> None:
    """Two won (10 and 30 days), three lost (two "price" spelled differently, one "timing")."""
    t0 = NOW - timedelta(days=90)
    with book.write("more") as s:
        won = deals.create_deal(s, "Second win", amount=30000, currency="USD", at=t0)
        deals.mark_won(s, won.id, at=t0 + timedelta(days=30))
        for reason in (" Price ", "Timing"):
            lost = deals.create_deal(s, "Lost again", amount=1000, currency="EUR", at=t0)
            deals.mark_lost(s, lost.id, reason, at=t0 + timedelta(days=1))
    with book.read() as s:
        r = run_report(s, "winrate", Period())
    assert r.summary == {"won": 2, "lost": 3, "win_rate": Decimal("40.0")}
    assert r.sections[0].rows[0][3:] == [Decimal("20.0"), Decimal("20.0")]
    assert r.sections[1].rows == [
        ["price", 2, Decimal("66.7")],
        ["timing", 1, Decimal("33.3")],
    ]
    assert r.sections[3].rows == [["EUR", Decimal("1000.00")], ["USD", Decimal("300.00")]]
    # A period holding only the first win: median of one value.
    with book.read() as s:
        first = run_report(s, "winrate", Period(NOW - timedelta(days=35), NOW))
    assert first.summary["won"] == 1 and first.sections[0].rows[0][4] == Decimal("10.0")


def test_currency_filter_keeps_only_that_money(book: Database) -> None:
    with book.read() as s:
        r = run_report(s, "winrate", Period()).only_currency("USD")
    assert r.sections[3].rows == []  # the only won value is in EUR
    with book.read() as s:
        p = run_report(s, "pipeline", Period(), now=NOW).only_currency("USD")
    assert {row[1] for row in p.sections[0].rows} == {"USD"}


def test_pipeline_funnel_bars_top_down_without_lost(book: Database) -> None:
    from pycrm.reports.render import chart_series

    with book.read() as s:
        r = run_report(s, "pipeline", Period(), now=NOW)
    bars = chart_series(r.sections[0])
    # Drawn bottom-up by plotext, so reversed: Proposal (1 deal) on top, then Won (1), no Lost.
    assert bars == [("Won", 1.0), ("Proposal", 1.0)]
