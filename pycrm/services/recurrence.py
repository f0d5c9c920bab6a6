"""Recurrence rules (RFC 5545 RRULE text) via dateutil: normalising, next occurrence, expansion."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pycrm.services.errors import ValidationError

_WORDS = {
    "daily": "FREQ=DAILY",
    "weekly": "FREQ=WEEKLY",
    "biweekly": "FREQ=WEEKLY;INTERVAL=2",
    "fortnightly": "FREQ=WEEKLY;INTERVAL=2",
    "monthly": "FREQ=MONTHLY",
    "quarterly": "FREQ=MONTHLY;INTERVAL=3",
    "yearly": "FREQ=YEARLY",
    "annually": "FREQ=YEARLY",
    "weekdays": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
}
_EVERY = re.compile(r"^every\s+(\d+)\s*(day|week|month|year)s?$")
_UNITS = {"day": "DAILY", "week": "WEEKLY", "month": "MONTHLY", "year": "YEARLY"}


def normalize_rule(text: str | None) -> str | None:
    """``weekly`` / ``every 2 weeks`` / ``FREQ=…`` → RRULE text (validated); empty → None."""
    if text is None or not text.strip():
        return None
    raw = text.strip()
    low = raw.lower()
    if low in _WORDS:
        rule = _WORDS[low]
    elif match := _EVERY.match(low):
        rule = f"FREQ={_UNITS[match.group(2)]};INTERVAL={int(match.group(1))}"
    else:
        rule = raw.upper().removeprefix("RRULE:")
    from dateutil.rrule import rrulestr

    try:
        rrulestr(rule, dtstart=datetime(2000, 1, 1))
    except (ValueError, TypeError) as exc:
        raise ValidationError(
            "repeat", f"{text!r} is not a rule (try daily, weekly, monthly, every 2 weeks, FREQ=…)"
        ) from exc
    return rule


def _local(dt: datetime, tz: str | None) -> datetime:
    zone = ZoneInfo(tz) if tz else datetime.now().astimezone().tzinfo
    return dt.astimezone(zone)


def next_after(
    rule: str, start: datetime, after: datetime, tz: str | None = None
) -> datetime | None:
    """The first occurrence of ``rule`` (anchored at ``start``) strictly after ``after``.

    Expansion happens in local wall-clock time so "every Monday 10:00" survives DST changes.
    """
    from dateutil.rrule import rrulestr

    local_start = _local(start, tz)
    naive_start = local_start.replace(tzinfo=None)
    rr = rrulestr(rule, dtstart=naive_start)
    nxt = rr.after(_local(after, tz).replace(tzinfo=None), inc=False)
    if nxt is None:
        return None
    return nxt.replace(tzinfo=local_start.tzinfo)


def expand(
    rule: str | None,
    start: datetime,
    window_start: datetime,
    window_end: datetime,
    *,
    exdates: list[str] | None = None,
    tz: str | None = None,
    duration: timedelta = timedelta(0),
    limit: int = 1000,
) -> list[datetime]:
    """Occurrence starts overlapping [window_start, window_end), exceptions removed."""
    if not rule:
        return (
            [start]
            if (start < window_end and start + duration > window_start)
            or (window_start <= start < window_end)
            else []
        )
    from dateutil.rrule import rrulestr

    local_start = _local(start, tz)
    zone = local_start.tzinfo
    rr = rrulestr(rule, dtstart=local_start.replace(tzinfo=None))
    lo = _local(window_start - duration, tz).replace(tzinfo=None)
    hi = _local(window_end, tz).replace(tzinfo=None)
    excluded = set()
    for text in exdates or []:
        ex = datetime.fromisoformat(text)
        if ex.tzinfo is None:
            ex = ex.replace(tzinfo=zone)
        excluded.add(_local(ex, tz).replace(tzinfo=None))
    out = []
    for occ in rr.between(lo, hi, inc=True):
        if occ in excluded:
            continue
        aware = occ.replace(tzinfo=zone)
        if aware + duration > window_start or aware >= window_start:
            out.append(aware)
        if len(out) >= limit:
            break
    return out
