"""Contact CSV export in pycrm's own header set (``import csv --preset pycrm`` reads it back).

Spreadsheet formula injection is neutralised: a cell starting with ``=``, ``@``, tab or CR, or
with ``+``/``-`` when it is not a plain number or phone number, gets a leading ``'``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from typing import IO

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pycrm import models as m
from pycrm.services import contacts as contact_service

HEADERS = [
    "uuid", "name", "given_name", "family_name", "company", "title", "emails", "phones", "tags",
    "birthday", "notes", "source", "campaign", "language", "best_time", "preferred_channel",
    "do_not_contact", "cadence_days", "street", "city", "region", "postcode", "country",
]  # fmt: skip
_NUMBERISH = re.compile(r"^[+-]?[\d\s().\-/]+$")


def neutralise(value: str) -> str:
    """Prefix ``'`` to cells a spreadsheet would run as a formula."""
    if not value:
        return value
    first = value[0]
    if first in "=@\t\r":
        return "'" + value
    if first in "+-" and not _NUMBERISH.match(value):
        return "'" + value
    return value


def _birthday(c: m.Contact) -> str:
    if not c.birth_month or not c.birth_day:
        return ""
    if c.birth_year:
        return f"{c.birth_year:04d}-{c.birth_month:02d}-{c.birth_day:02d}"
    return f"--{c.birth_month:02d}-{c.birth_day:02d}"


def _contacts(session: Session, batch: int = 1000) -> Iterator[contact_service.ContactSummary]:
    last = 0
    while True:
        chunk = list(
            session.scalars(
                sa.select(m.Contact).where(m.Contact.id > last).order_by(m.Contact.id).limit(batch)
            )
        )
        if not chunk:
            return
        yield from contact_service.summarize(session, chunk)
        last = chunk[-1].id or last
        session.expunge_all()


def contact_row(s: contact_service.ContactSummary) -> dict[str, str]:
    """One contact as pycrm CSV cells (before neutralising)."""
    c = s.contact
    row = {
        "uuid": c.uuid,
        "name": c.display_name,
        "given_name": c.given_name or "",
        "family_name": c.family_name or "",
        "company": s.company_name or "",
        "title": c.title or "",
        "emails": ";".join(e for e, _ in s.emails),
        "phones": ";".join(p for p, _ in s.phones),
        "tags": ";".join(s.tags),
        "birthday": _birthday(c),
        "notes": c.notes or "",
        "source": c.source or "",
        "campaign": c.campaign or "",
        "language": c.language or "",
        "best_time": c.best_time or "",
        "preferred_channel": c.preferred_channel or "",
        "do_not_contact": "yes" if c.do_not_contact else "",
        "cadence_days": "" if c.cadence_days is None else str(c.cadence_days),
        "street": c.address_street or "",
        "city": c.address_city or "",
        "region": c.address_region or "",
        "postcode": c.address_postcode or "",
        "country": c.address_country or "",
    }
    for key, value in (c.custom_fields or {}).items():
        row[str(key)] = "" if value is None else str(value)
    return row


def write_contacts_csv(session: Session, out: IO[str], *, delimiter: str = ",") -> int:
    """Every contact as CSV (custom fields as extra columns); returns how many rows."""
    custom: list[str] = []
    seen = set(HEADERS)
    for (fields,) in session.execute(
        sa.select(m.Contact.custom_fields).where(m.Contact.custom_fields.is_not(None))  # type: ignore[union-attr]
    ):
        for key in fields or {}:
            if key not in seen:
                seen.add(key)
                custom.append(key)
    headers = HEADERS + custom
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(headers)
    count = 0
    for summary in _contacts(session):
        row = contact_row(summary)
        writer.writerow([neutralise(row.get(h, "")) for h in headers])
        count += 1
    return count
