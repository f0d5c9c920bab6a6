"""Money as integer minor units plus an ISO 4217 code: exact parsing and formatting, never floats."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# Active ISO 4217 codes. Minor-unit exponents differ from 2 for the codes in _EXPONENTS.
ISO_4217 = frozenset(
    [
        "AED",
        "AFN",
        "ALL",
        "AMD",
        "ANG",
        "AOA",
        "ARS",
        "AUD",
        "AWG",
        "AZN",
        "BAM",
        "BBD",
        "BDT",
        "BGN",
        "BHD",
        "BIF",
        "BMD",
        "BND",
        "BOB",
        "BRL",
        "BSD",
        "BTN",
        "BWP",
        "BYN",
        "BZD",
        "CAD",
        "CDF",
        "CHF",
        "CLP",
        "CNY",
        "COP",
        "CRC",
        "CUP",
        "CVE",
        "CZK",
        "DJF",
        "DKK",
        "DOP",
        "DZD",
        "EGP",
        "ERN",
        "ETB",
        "EUR",
        "FJD",
        "FKP",
        "GBP",
        "GEL",
        "GHS",
        "GIP",
        "GMD",
        "GNF",
        "GTQ",
        "GYD",
        "HKD",
        "HNL",
        "HTG",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "IQD",
        "IRR",
        "ISK",
        "JMD",
        "JOD",
        "JPY",
        "KES",
        "KGS",
        "KHR",
        "KMF",
        "KPW",
        "KRW",
        "KWD",
        "KYD",
        "KZT",
        "LAK",
        "LBP",
        "LKR",
        "LRD",
        "LSL",
        "LYD",
        "MAD",
        "MDL",
        "MGA",
        "MKD",
        "MMK",
        "MNT",
        "MOP",
        "MRU",
        "MUR",
        "MVR",
        "MWK",
        "MXN",
        "MYR",
        "MZN",
        "NAD",
        "NGN",
        "NIO",
        "NOK",
        "NPR",
        "NZD",
        "OMR",
        "PAB",
        "PEN",
        "PGK",
        "PHP",
        "PKR",
        "PLN",
        "PYG",
        "QAR",
        "RON",
        "RSD",
        "RUB",
        "RWF",
        "SAR",
        "SBD",
        "SCR",
        "SDG",
        "SEK",
        "SGD",
        "SHP",
        "SLE",
        "SOS",
        "SRD",
        "SSP",
        "STN",
        "SVC",
        "SYP",
        "SZL",
        "THB",
        "TJS",
        "TMT",
        "TND",
        "TOP",
        "TRY",
        "TTD",
        "TWD",
        "TZS",
        "UAH",
        "UGX",
        "USD",
        "UYU",
        "UZS",
        "VES",
        "VND",
        "VUV",
        "WST",
        "XAF",
        "XCD",
        "XOF",
        "XPF",
        "YER",
        "ZAR",
        "ZMW",
        "ZWL",
    ]
)
_EXPONENTS = {
    "BHD": 3, "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "IQD": 3, "ISK": 0, "JOD": 3, "JPY": 0,
    "KMF": 0, "KRW": 0, "KWD": 3, "LYD": 3, "OMR": 3, "PYG": 0, "RWF": 0, "TND": 3, "UGX": 0,
    "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
}  # fmt: skip

_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP", "R$": "BRL", "¥": "JPY", "US$": "USD"}


class MoneyError(ValueError):
    """A money amount or currency that cannot be read exactly."""


def exponent(currency: str) -> int:
    """How many decimal places the currency's minor unit has."""
    return _EXPONENTS.get(currency.upper(), 2)


def check_currency(code: str) -> str:
    """Return the upper-cased ISO 4217 code, or raise MoneyError."""
    norm = (code or "").strip().upper()
    if norm not in ISO_4217:
        raise MoneyError(f"unknown currency {code!r}: expected an ISO 4217 code such as EUR or USD")
    return norm


_NUMBER = re.compile(r"^[+-]?[\d.,' \u00a0\u202f]+$")


def parse_amount(text: str, currency: str, *, decimal_comma: bool = False) -> int:
    """Parse ``"1.234,56"`` / ``"1234.56"`` / ``"1,234"`` into minor units of ``currency``.

    A lone separator followed by exactly three digits is a thousands separator unless
    ``decimal_comma`` says a comma is decimal. Raises MoneyError when the text is not exact.
    """
    currency = check_currency(currency)
    raw = (text or "").strip()
    for symbol in sorted(_SYMBOLS, key=len, reverse=True):
        if raw.startswith(symbol):
            raw = raw[len(symbol) :].strip()
            break
    if raw[-3:].upper() in ISO_4217 and len(raw) > 3:
        raw = raw[:-3].strip()
    if not raw or not _NUMBER.match(raw):
        raise MoneyError(f"not an amount: {text!r} (expected e.g. 1234.56 or 1.234,56)")
    sign = -1 if raw.startswith("-") else 1
    raw = raw.lstrip("+-").replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
    raw = raw.replace("'", "")
    last_dot, last_comma = raw.rfind("."), raw.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        decimal_sep = "." if last_dot > last_comma else ","
    elif last_dot >= 0 or last_comma >= 0:
        sep = "." if last_dot >= 0 else ","
        decimals = len(raw) - raw.rfind(sep) - 1
        if raw.count(sep) > 1:
            decimal_sep = None  # 1.234.567 — only thousands separators
        elif sep == "," and decimal_comma:
            decimal_sep = ","
        elif (sep == "." and decimal_comma and decimals == 3) or (sep == "," and decimals == 3):
            decimal_sep = None
        else:
            decimal_sep = sep
    else:
        decimal_sep = None
    if decimal_sep is None:
        whole, frac = raw, ""
        thousands = "," if "," in raw else "."
    else:
        thousands = "," if decimal_sep == "." else "."
        whole, _, frac = raw.rpartition(decimal_sep)
    if thousands in whole:
        groups = whole.split(thousands)
        if not (1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])):
            raise MoneyError(f"not an amount: {text!r} (digit groups must have three digits)")
        whole = whole.replace(thousands, "")
    if decimal_sep is not None and (decimal_sep in whole or not frac.isdigit()):
        raise MoneyError(f"not an amount: {text!r}")
    if not whole:
        whole = "0"
    if not whole.isdigit():
        raise MoneyError(f"not an amount: {text!r}")
    try:
        value = Decimal(f"{whole}.{frac or '0'}")
    except InvalidOperation as exc:  # pragma: no cover - guarded by the regex above
        raise MoneyError(f"not an amount: {text!r}") from exc
    scaled = value.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyError(
            f"{text!r} has more decimals than {currency} allows ({exponent(currency)})"
        )
    return sign * int(scaled)


def to_decimal(minor: int, currency: str) -> Decimal:
    """Minor units as an exact Decimal in major units."""
    return Decimal(minor).scaleb(-exponent(currency))


def amount_text(minor: int, currency: str) -> str:
    """``123456, "EUR"`` → ``"1234.56"``: the exact decimal string used in JSON and CSV."""
    exp = exponent(currency)
    return f"{to_decimal(minor, currency):.{exp}f}"


def format_money(minor: int, currency: str) -> str:
    """Human form with thousands separators: ``"1,234.56 EUR"``."""
    exp = exponent(currency)
    return f"{to_decimal(minor, currency):,.{exp}f} {currency}"


def money_json(minor: int, currency: str) -> dict[str, str]:
    """The JSON shape CLI.md fixes: ``{"amount": "1200.00", "currency": "EUR"}``."""
    return {"amount": amount_text(minor, currency), "currency": currency}
