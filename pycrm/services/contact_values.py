"""A contact's values checked and normalised without the database: fields, names, e-mails,
phones, tags. The write services use these, and so does a CSV import's planning, which runs
without SQLAlchemy or the models loaded when it writes into a new contact book
(``csv_write_ahead``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pycrm.kinds import Channel
from pycrm.services.errors import ValidationError
from pycrm.services.text import clean, fold
from pycrm.services.validation import (
    Phone,
    check_birthday,
    choice,
    normalize_email,
    normalize_phone,
    require_text,
)

TEXT_FIELDS = (
    "given_name", "family_name", "title", "address_street", "address_city", "address_region",
    "address_postcode", "address_country", "notes", "source", "campaign", "language", "best_time",
)  # fmt: skip
OTHER_FIELDS = (
    "preferred_channel", "do_not_contact", "cadence_days", "custom_fields", "extra", "archived",
    "birth_year", "birth_month", "birth_day",
)  # fmt: skip
CONTACT_FIELDS = TEXT_FIELDS + OTHER_FIELDS

LabeledValue = str | tuple[str, str | None]


def _split_label(value: LabeledValue) -> tuple[str, str | None]:
    if isinstance(value, tuple):
        return value[0], clean(value[1])
    return value, None


def prepare_emails(values: Iterable[LabeledValue]) -> list[tuple[str, str | None]]:
    """Validate and de-duplicate e-mails, keeping order and labels."""
    out: list[tuple[str, str | None]] = []
    seen: set[str] = set()
    for value in values:
        text, label = _split_label(value)
        if not (text or "").strip():
            continue
        email = normalize_email(text)
        if email.lower() not in seen:
            seen.add(email.lower())
            out.append((email, label))
    return out


def prepare_phones(values: Iterable[LabeledValue], region: str) -> list[tuple[Phone, str | None]]:
    """Normalise phones (E.164 when valid, else raw and marked) and de-duplicate."""
    out: list[tuple[Phone, str | None]] = []
    seen: set[str] = set()
    for value in values:
        text, label = _split_label(value)
        if not (text or "").strip():
            continue
        phone = normalize_phone(text, region)
        if phone.number not in seen:
            seen.add(phone.number)
            out.append((phone, label))
    return out


def normalize_tags(names: Iterable[str]) -> list[str]:
    """Trim, drop empties and duplicates (ignoring case), keep first spelling and order."""
    seen: dict[str, str] = {}
    for name in names:
        for part in str(name).split(","):
            cleaned = clean(part)
            if cleaned and fold(cleaned) not in seen:
                seen[fold(cleaned)] = require_text("tag", cleaned, max_length=100)
    return list(seen.values())


def _display_name(display_name: str | None, fields: dict[str, Any]) -> str:
    if clean(display_name):
        return require_text("name", display_name)
    parts = [clean(fields.get("given_name")), clean(fields.get("family_name"))]
    joined = " ".join(p for p in parts if p)
    return require_text("name", joined)


def validated_fields(fields: dict[str, Any], current: Any = None) -> dict[str, Any]:
    """Check and normalise contact field values (no database, no model object: import-fast)."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if key not in CONTACT_FIELDS:
            raise ValidationError(key, "is not a contact field")
        if key in TEXT_FIELDS:
            value = clean(value)
        elif key == "preferred_channel":
            value = choice("preferred channel", value, Channel)
        elif key == "cadence_days" and value is not None:
            value = int(value)
            if value <= 0:
                raise ValidationError("cadence", "must be a positive number of days")
        elif key in ("do_not_contact", "archived"):
            value = bool(value)
        out[key] = value
    birthday = [
        out.get(k, getattr(current, k) if current is not None else None)
        for k in ("birth_year", "birth_month", "birth_day")
    ]
    check_birthday(*birthday)
    return out


@dataclass
class NewContact:
    """One already-validated contact for :func:`bulk_create_contacts`."""

    display_name: str
    fields: dict[str, Any] = field(default_factory=dict)
    emails: list[tuple[str, str | None]] = field(default_factory=list)
    phones: list[tuple[Phone, str | None]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    company_id: int | None = None
    uuid: str | None = None

    def __post_init__(self) -> None:
        # The sort key travels with the other columns into every bulk writer's INSERT.
        self.fields["name_key"] = fold(self.display_name)


def validate_new_contact(
    display_name: str | None,
    *,
    emails: Iterable[LabeledValue] = (),
    phones: Iterable[LabeledValue] = (),
    tags: Iterable[str] = (),
    region: str = "US",
    **fields: Any,
) -> NewContact:
    """Validate one contact's values without touching the database (for staged imports)."""
    return NewContact(
        display_name=_display_name(display_name, fields),
        fields=validated_fields(fields),
        emails=prepare_emails(emails),
        phones=prepare_phones(phones, region),
        tags=normalize_tags(tags),
    )
