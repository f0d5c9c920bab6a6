"""WHEN parsing: table tests of every accepted form and hypothesis properties."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pycrm.dates import DateParseError, parse_duration, parse_when

SP = ZoneInfo("America/Sao_Paulo")
NOW = datetime(2026, 11, 22, 15, 30, tzinfo=SP)  # a Sunday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-07", datetime(2026, 3, 7, tzinfo=SP)),  # ISO is never day-first swapped
        ("2026-11-25T14:00", datetime(2026, 11, 25, 14, 0, tzinfo=SP)),
        ("2026-11-25T14:00Z", datetime(2026, 11, 25, 11, 0, tzinfo=SP)),
        ("25/11/2026", datetime(2026, 11, 25, tzinfo=SP)),
        ("25/11", datetime(2026, 11, 25, tzinfo=SP)),
        ("7/3/26", datetime(2026, 3, 7, tzinfo=SP)),
        ("today", datetime(2026, 11, 22, tzinfo=SP)),
        ("tomorrow", datetime(2026, 11, 23, tzinfo=SP)),
        ("yesterday", datetime(2026, 11, 21, tzinfo=SP)),
        ("tomorrow 10:00", datetime(2026, 11, 23, 10, 0, tzinfo=SP)),
        ("14:00", datetime(2026, 11, 22, 14, 0, tzinfo=SP)),
        ("2pm", datetime(2026, 11, 22, 14, 0, tzinfo=SP)),
        ("+3d", datetime(2026, 11, 25, tzinfo=SP)),
        ("-2w", datetime(2026, 11, 8, tzinfo=SP)),
        ("+1m", datetime(2026, 12, 22, tzinfo=SP)),
        ("+2d 14:00", datetime(2026, 11, 24, 14, 0, tzinfo=SP)),
        ("in 2 weeks", datetime(2026, 12, 6, tzinfo=SP)),
        ("3 days ago", datetime(2026, 11, 19, tzinfo=SP)),
        ("next monday", datetime(2026, 11, 23, tzinfo=SP)),
        ("fri 10:00", datetime(2026, 11, 27, 10, 0, tzinfo=SP)),
        ("sunday", datetime(2026, 11, 29, tzinfo=SP)),
        ("7 de março", datetime(2026, 3, 7, tzinfo=SP)),
        ("25 nov", datetime(2026, 11, 25, tzinfo=SP)),
    ],
)
def test_accepted_forms(text: str, expected: datetime) -> None:
    assert parse_when(text, now=NOW) == expected


def test_month_first_order() -> None:
    assert parse_when("11/25/2026", now=NOW, date_order="mdy").date() == date(2026, 11, 25)
    assert parse_when("3/7", now=NOW, date_order="mdy").date() == date(2026, 3, 7)


@pytest.mark.parametrize(
    "text", ["", "blah", "32/13/2026", "25:00", "next blursday", "+3x", "x" * 500]
)
def test_rejects_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(DateParseError) as info:
        parse_when(text, now=NOW)
    assert "accepted" in str(info.value)


@given(st.integers(min_value=-400, max_value=400))
def test_relative_days_are_exact(days: int) -> None:
    text = f"{'+' if days >= 0 else '-'}{abs(days)}d"
    assert parse_when(text, now=NOW).date() == NOW.date() + timedelta(days=days)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_iso_and_local_dates_agree(day: date) -> None:
    iso = parse_when(day.isoformat(), now=NOW)
    local = parse_when(f"{day.day}/{day.month}/{day.year}", now=NOW, date_order="dmy")
    us = parse_when(f"{day.month}/{day.day}/{day.year}", now=NOW, date_order="mdy")
    assert iso == local == us
    assert iso.tzinfo is not None


@given(st.text(max_size=40))
def test_any_text_parses_or_raises_the_domain_error(text: str) -> None:
    try:
        result = parse_when(text, now=NOW)
    except DateParseError:
        return
    assert result.tzinfo is not None


def test_durations() -> None:
    assert parse_duration("45m") == timedelta(minutes=45)
    assert parse_duration("1h30") == timedelta(minutes=90)
    assert parse_duration("2h") == timedelta(hours=2)
    with pytest.raises(DateParseError.__mro__[1]):
        parse_duration("soon")
