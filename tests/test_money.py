"""Money parsing is exact: integers in minor units, never floats."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pycrm.money import MoneyError, amount_text, format_money, parse_amount


@pytest.mark.parametrize(
    ("text", "currency", "comma", "minor"),
    [
        ("1234.56", "EUR", False, 123456),
        ("1.234,56", "EUR", False, 123456),
        ("1,234.56", "USD", False, 123456),
        ("1 234,56", "EUR", True, 123456),
        ("1,5", "EUR", True, 150),
        ("1.234", "EUR", True, 123400),
        ("1,234", "USD", False, 123400),
        ("R$ 10,00", "BRL", True, 1000),
        ("1500", "JPY", False, 1500),
        ("1.500", "BHD", False, 1500),
        ("-3.10", "EUR", False, -310),
    ],
)
def test_parses_exactly(text: str, currency: str, comma: bool, minor: int) -> None:
    assert parse_amount(text, currency, decimal_comma=comma) == minor


@pytest.mark.parametrize("text", ["", "abc", "12,34,5", "1.2.3", "1.005", "10 EURO", "1e5"])
def test_rejects(text: str) -> None:
    with pytest.raises(MoneyError):
        parse_amount(text, "EUR")


def test_unknown_currency() -> None:
    with pytest.raises(MoneyError):
        parse_amount("1", "XYZ")


@given(st.integers(min_value=0, max_value=10**12))
def test_round_trip(minor: int) -> None:
    assert parse_amount(amount_text(minor, "EUR"), "EUR") == minor
    assert Decimal(amount_text(minor, "EUR")) * 100 == minor
    assert parse_amount(format_money(minor, "EUR").removesuffix(" EUR"), "EUR") == minor
