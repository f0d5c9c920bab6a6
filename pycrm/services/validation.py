"""Field rules shared by every write path: names, e-mails, phones, enumerations."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from pycrm.services.errors import ValidationError
from pycrm.services.text import clean


def require_text(field: str, value: str | None, *, max_length: int = 300) -> str:
    """A non-empty, trimmed text value."""
    cleaned = clean(value)
    if not cleaned:
        raise ValidationError(field, "must not be empty")
    if len(cleaned) > max_length:
        raise ValidationError(field, f"is longer than {max_length} characters")
    return cleaned


def normalize_email(value: str, field: str = "email") -> str:
    """Check e-mail syntax (no network look-up) and return its normalised form."""
    from email_validator import EmailNotValidError, validate_email

    text = (value or "").strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationError(field, f"{value!r} is not a valid e-mail address ({exc})") from exc
    return str(result.normalized)


@dataclass(frozen=True)
class Phone:
    """A phone number: E.164 when phonenumbers says it is valid, else the raw text, marked."""

    number: str
    raw: str
    normalized: bool


@lru_cache(maxsize=4096)
def normalize_phone(value: str, region: str = "US", field: str = "phone") -> Phone:
    """Normalise to E.164 only when the number is valid; otherwise keep the raw text."""
    import phonenumbers

    raw = (value or "").strip()
    if raw.lower().startswith("tel:"):
        raw = raw[4:]
    if not raw or not any(ch.isdigit() for ch in raw):
        raise ValidationError(field, f"{value!r} is not a phone number")
    if len(raw) > 60:
        raise ValidationError(field, "is longer than 60 characters")
    try:
        parsed = phonenumbers.parse(raw, region.upper() if region else None)
    except phonenumbers.NumberParseException:
        return Phone(number=raw, raw=raw, normalized=False)
    if not phonenumbers.is_valid_number(parsed):
        return Phone(number=raw, raw=raw, normalized=False)
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return Phone(number=e164, raw=raw, normalized=True)


def choice(field: str, value: str | None, allowed: type | tuple[str, ...]) -> str | None:
    """Check an enumerated value (case-insensitive); None passes through."""
    if value is None or value == "":
        return None
    options = tuple(m.value for m in allowed) if isinstance(allowed, type) else allowed  # type: ignore[attr-defined]
    norm = value.strip().lower()
    if norm not in options:
        raise ValidationError(field, f"{value!r} is not one of: {', '.join(options)}")
    return norm


def check_birthday(year: int | None, month: int | None, day: int | None) -> None:
    """A birthday with an optional year must be a real calendar day."""
    import calendar

    if month is None and day is None and year is None:
        return
    if month is None or day is None:
        raise ValidationError("birthday", "needs at least a month and a day")
    if not 1 <= month <= 12:
        raise ValidationError("birthday", f"month {month} is not 1–12")
    leap_year = year if year is not None else 2000
    if not 1 <= day <= calendar.monthrange(leap_year, month)[1]:
        raise ValidationError("birthday", f"day {day} does not exist in month {month}")
    if year is not None and not 1900 <= year <= 2100:
        raise ValidationError("birthday", f"year {year} is out of range")
