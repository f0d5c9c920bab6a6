"""WHEN parsing: "tomorrow 10:00", "+3d", "next mon", "25/11", ISO → aware datetimes in local time.

ISO forms are parsed first (dateutil with ``dayfirst`` would swap ``2026-03-07``); local dates
follow the configured order (dmy / mdy / ymd). Results are timezone-aware in the local zone; the
database stores them as UTC.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo

from pycrm.services.errors import ValidationError

ACCEPTED = (
    "ISO dates and times (2026-11-25, 2026-11-25T14:00), local dates (25/11/2026, 25/11), "
    "times (14:00, 2pm), today / tomorrow / yesterday, +3d / -2w / +1m / +1y / +4h, "
    "in 2 weeks, 3 days ago, weekday names and next monday, and combinations such as "
    "'tomorrow 10:00' or '+2d 14:00'"
)

WEEKDAYS = {
    "mon": 0, "monday": 0, "tue": 1, "tues": 1, "tuesday": 1, "wed": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "fri": 4, "friday": 4, "sat": 5,
    "saturday": 5, "sun": 6, "sunday": 6,
}  # fmt: skip
_UNITS = {
    "m": "minutes", "min": "minutes", "mins": "minutes", "minute": "minutes", "minutes": "minutes",
    "h": "hours", "hr": "hours", "hrs": "hours", "hour": "hours", "hours": "hours",
    "d": "days", "day": "days", "days": "days", "w": "weeks", "wk": "weeks", "week": "weeks",
    "weeks": "weeks", "mo": "months", "month": "months", "months": "months", "y": "years",
    "yr": "years", "year": "years", "years": "years",
}  # fmt: skip
# In the compact "+3m" form, m means months (a salesperson schedules in days, weeks, months).
_COMPACT_UNITS = {"d": "days", "w": "weeks", "m": "months", "y": "years", "h": "hours"}

_TIME = re.compile(r"^(?P<h>\d{1,2})(?::(?P<m>\d{2}))?(?::(?P<s>\d{2}))?\s*(?P<ampm>am|pm|a|p)?$")
_COMPACT = re.compile(r"^(?P<sign>[+-])(?P<n>\d+)\s*(?P<u>[dwmyh])$")
_IN = re.compile(r"^in\s+(?P<n>\d+|a|an|one|two|three)\s+(?P<u>[a-z]+)$")
_AGO = re.compile(r"^(?P<n>\d+|a|an|one|two|three)\s+(?P<u>[a-z]+)\s+ago$")
_NUMERIC_DATE = re.compile(r"^(\d{1,4})[/.\-](\d{1,2})(?:[/.\-](\d{1,4}))?$")
_WORD_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3}


class DateParseError(ValidationError):
    """A WHEN value that matches none of the accepted forms."""

    def __init__(self, text: str, field: str = "when") -> None:
        super().__init__(field, f"cannot read {text!r} as a date/time; accepted: {ACCEPTED}")
        self.text = text


def local_zone() -> tzinfo:
    """The machine's local time zone."""
    zone = datetime.now().astimezone().tzinfo
    assert zone is not None
    return zone


def local_now() -> datetime:
    """Now, aware, in local time."""
    return datetime.now().astimezone()


def _shift(base: datetime, n: int, unit: str) -> datetime:
    from dateutil.relativedelta import relativedelta

    return base + relativedelta(**{unit: n})  # type: ignore[arg-type]


def _parse_time(text: str) -> time | None:
    match = _TIME.match(text.strip().lower())
    if not match:
        return None
    hour = int(match["h"])
    minute = int(match["m"] or 0)
    second = int(match["s"] or 0)
    ampm = match["ampm"]
    if ampm is None and match["m"] is None:
        return None  # a bare number is not a time ("25" is ambiguous)
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm.startswith("p") else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second)


def _parse_numeric_date(text: str, order: str, today: date) -> date | None:
    match = _NUMERIC_DATE.match(text)
    if not match:
        return None
    a, b, c = match.groups()
    try:
        if len(a) == 4:  # ISO-like year first
            if c is None:
                return None
            return date(int(a), int(b), int(c))
        if c is None:  # day and month only: this year
            day, month = (int(a), int(b)) if order != "mdy" else (int(b), int(a))
            return date(today.year, month, day)
        year = int(c)
        if len(c) == 2:
            year += 2000
        if order == "mdy":
            return date(year, int(a), int(b))
        return date(year, int(b), int(a))
    except ValueError:
        return None


def _parse_date_word(word: str, today: date) -> date | None:
    if word == "today":
        return today
    if word == "tomorrow":
        return today + timedelta(days=1)
    if word == "yesterday":
        return today - timedelta(days=1)
    return None


def _count(text: str) -> int:
    return _WORD_NUMBERS[text] if text in _WORD_NUMBERS else int(text)


def parse_when(
    text: str,
    *,
    now: datetime | None = None,
    date_order: str = "dmy",
    default_time: time | None = None,
    field: str = "when",
) -> datetime:
    """Read a WHEN value into an aware datetime in the local zone (of ``now`` when given).

    A date without a time gets ``default_time`` (midnight unless given). Raises DateParseError.
    """
    raw = (text or "").strip()
    if not raw or len(raw) > 100:
        raise DateParseError(text, field)
    if now is None:
        now = local_now()
    elif now.tzinfo is None:
        now = now.astimezone()
    zone = now.tzinfo
    assert zone is not None
    today = now.date()
    low = " ".join(raw.lower().replace(",", " ").split())

    iso = _parse_iso(raw, zone)
    if iso is not None:
        return iso
    only_time = _parse_time(low.removeprefix("at "))
    if only_time is not None:
        return datetime.combine(today, only_time, tzinfo=zone)

    # Split into a "day part" and an optional trailing time: "tomorrow 10:00", "+2d 14:00".
    tokens = low.split(" ")
    clock: time | None = None
    if len(tokens) > 1:
        clock = _parse_time(tokens[-1])
        if clock is None and len(tokens) > 2 and tokens[-1] in ("am", "pm"):
            clock = _parse_time(tokens[-2] + tokens[-1])
            if clock is not None:
                tokens = tokens[:-1]
        if clock is not None:
            tokens = tokens[:-1]
            if tokens and tokens[-1] == "at":
                tokens = tokens[:-1]
    day_text = " ".join(tokens)

    result = _parse_day(day_text, now, today, date_order)
    if result is None:
        raise DateParseError(text, field)
    if isinstance(result, datetime):
        if clock is not None:
            return datetime.combine(result.date(), clock, tzinfo=zone)
        return result
    chosen = clock or default_time or time(0, 0)
    return datetime.combine(result, chosen, tzinfo=zone)


def _parse_iso(raw: str, zone: tzinfo) -> datetime | None:
    if not re.match(
        r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$", raw
    ):
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(zone)


def _parse_day(day_text: str, now: datetime, today: date, order: str) -> date | datetime | None:
    if not day_text:
        return today
    word = _parse_date_word(day_text, today)
    if word is not None:
        return word
    if day_text == "now":
        return now
    if match := _COMPACT.match(day_text):
        n = int(match["n"]) * (1 if match["sign"] == "+" else -1)
        unit = _COMPACT_UNITS[match["u"]]
        shifted = _shift(now, n, unit)
        return shifted if unit == "hours" else shifted.date()
    for pattern, sign in ((_IN, 1), (_AGO, -1)):
        if match := pattern.match(day_text):
            word_unit = _UNITS.get(match["u"])
            if word_unit is None:
                return None
            shifted = _shift(now, sign * _count(match["n"]), word_unit)
            return shifted if word_unit in ("minutes", "hours") else shifted.date()
    parts = day_text.split(" ")
    if (
        len(parts) in (1, 2)
        and parts[-1] in WEEKDAYS
        and (len(parts) == 1 or parts[0] in ("next", "this", "on"))
    ):
        target = WEEKDAYS[parts[-1]]
        delta = (target - today.weekday()) % 7
        if delta == 0 and (len(parts) == 1 or parts[0] == "next"):
            delta = 7
        return today + timedelta(days=delta)
    if parts == ["next", "week"]:
        return today + timedelta(days=7 - today.weekday())
    if parts == ["next", "month"]:
        return (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    numeric = _parse_numeric_date(day_text, order, today)
    if numeric is not None:
        return numeric
    return _parse_words(day_text, order, today)


def _parse_words(day_text: str, order: str, today: date) -> date | None:
    """Month-name dates such as "25 nov", "nov 25 2026", "7 de março" via dateutil."""
    if not re.search(r"[a-zà-ÿ]", day_text) or not re.search(r"\d", day_text):
        return None
    from dateutil import parser as dateutil_parser

    text = day_text.replace(" de ", " ")
    text = _translate_months(text)
    try:
        parsed = dateutil_parser.parse(
            text, dayfirst=order != "mdy", default=datetime(today.year, today.month, today.day)
        )
    except (ValueError, OverflowError):
        return None
    return parsed.date()


_MONTHS_FOREIGN = {
    "janeiro": "january", "fevereiro": "february", "março": "march", "marco": "march",
    "abril": "april", "maio": "may", "junho": "june", "julho": "july", "agosto": "august",
    "setembro": "september", "outubro": "october", "novembro": "november", "dezembro": "december",
    "janvier": "january", "février": "february", "fevrier": "february", "mars": "march",
    "avril": "april", "mai": "may", "juin": "june", "juillet": "july", "août": "august",
    "aout": "august", "septembre": "september", "octobre": "october", "novembre": "november",
    "décembre": "december", "decembre": "december",
}  # fmt: skip


def _translate_months(text: str) -> str:
    return " ".join(_MONTHS_FOREIGN.get(word, word) for word in text.split(" "))


def parse_date(
    text: str, *, date_order: str = "dmy", now: datetime | None = None, field: str = "date"
) -> date:
    """A calendar date from the same forms (time parts ignored)."""
    return parse_when(text, now=now, date_order=date_order, field=field).date()


_DURATION = re.compile(r"^(?:(?P<h>\d+)\s*h)?\s*(?:(?P<m>\d+)\s*(?:m|min|mins)?)?$")


def parse_duration(text: str, field: str = "duration") -> timedelta:
    """``45m`` / ``1h`` / ``1h30`` / ``90`` (minutes) → timedelta."""
    raw = (text or "").strip().lower().replace(" ", "")
    match = _DURATION.match(raw)
    if not raw or not match or not (match["h"] or match["m"]):
        raise ValidationError(field, f"cannot read {text!r} as a duration (try 45m, 1h, 1h30)")
    minutes = int(match["h"] or 0) * 60 + int(match["m"] or 0)
    if minutes <= 0 or minutes > 60 * 24 * 14:
        raise ValidationError(field, f"{text!r} is not a sensible duration")
    return timedelta(minutes=minutes)
