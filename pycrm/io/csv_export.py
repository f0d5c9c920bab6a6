"""Contact CSV export in pycrm's own header set (``import csv --preset pycrm`` reads it back).

Spreadsheet formula injection is neutralised: a cell starting with ``=``, ``@``, tab or CR, or
with ``+``/``-`` when it is not a plain number or phone number, gets a leading ``'``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pycrm import models as m

HEADERS = [
    "uuid", "name", "given_name", "family_name", "company", "title", "emails", "phones", "tags",
    "birthday", "notes", "source", "campaign", "language", "best_time", "preferred_channel",
    "do_not_contact", "cadence_days", "street", "city", "region", "postcode", "country",
]  # fmt: skip
# Numbers and phone numbers, one or several (our ``phones`` cell joins them with ``;``): no
# letters, so nothing a spreadsheet could call.
_NUMBERISH = re.compile(r"^[+-]?[\d\s().\-/]+(?:;\s*[+-]?[\d\s().\-/]+)*$")


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


def _birthday(c: Any) -> str:
    if not c.birth_month or not c.birth_day:
        return ""
    if c.birth_year:
        return f"{c.birth_year:04d}-{c.birth_month:02d}-{c.birth_day:02d}"
    return f"--{c.birth_month:02d}-{c.birth_day:02d}"


@dataclass(slots=True)
class ExportContact:
    """One contact as export writers need it: the contact row and the names it links to."""

    contact: Any  # a Row of the contact table (attribute access, like the model)
    company_name: str | None
    emails: list[tuple[str, str | None]]
    phones: list[tuple[str, str | None]]
    tags: list[str]


def iter_export_contacts(session: Session, batch: int = 2000) -> Iterator[ExportContact]:
    """Every contact in id order with its company name, e-mails, phones and tags, streamed.

    Plain Core rows fetched a batch at a time (keyset on id, child rows by id range), so
    memory stays flat whatever the number of contacts and no ORM objects are built.
    """
    c_t, co_t = m.Contact.__table__, m.Company.__table__
    e_t, p_t = m.ContactEmail.__table__, m.ContactPhone.__table__
    link = m.ContactTag.__table__
    tag_t = m.Tag.__table__
    tag_names: dict[int, str] = {
        tag_id: name for tag_id, name in session.execute(sa.select(tag_t.c.id, tag_t.c.name))
    }
    columns = [c for c in c_t.c if c.name not in ("created_at", "updated_at")]
    query = (
        sa.select(*columns, co_t.c.name.label("_company_name"))
        .select_from(c_t.outerjoin(co_t, co_t.c.id == c_t.c.company_id))
        .order_by(c_t.c.id)
        .limit(batch)
    )
    last = 0
    while True:
        rows = session.execute(query.where(c_t.c.id > last)).all()
        if not rows:
            return
        lo, hi = rows[0].id, rows[-1].id
        emails: dict[int, list[tuple[str, str | None]]] = {}
        for cid, email, label in session.execute(
            sa.select(e_t.c.contact_id, e_t.c.email, e_t.c.label)
            .where(e_t.c.contact_id.between(lo, hi))
            .order_by(e_t.c.contact_id, e_t.c.position)
        ):
            emails.setdefault(cid, []).append((email, label))
        phones: dict[int, list[tuple[str, str | None]]] = {}
        for cid, number, label in session.execute(
            sa.select(p_t.c.contact_id, p_t.c.number, p_t.c.label)
            .where(p_t.c.contact_id.between(lo, hi))
            .order_by(p_t.c.contact_id, p_t.c.position)
        ):
            phones.setdefault(cid, []).append((number, label))
        tags: dict[int, list[str]] = {}
        for cid, tag_id in session.execute(
            sa.select(link.c.contact_id, link.c.tag_id).where(link.c.contact_id.between(lo, hi))
        ):
            name = tag_names.get(tag_id)
            if name is not None:
                tags.setdefault(cid, []).append(name)
        for row in rows:
            cid = row.id
            yield ExportContact(
                row,
                row._company_name,
                emails.get(cid, []),
                phones.get(cid, []),
                sorted(tags.get(cid, [])),
            )
        last = hi


def contact_row(s: ExportContact) -> dict[str, str]:
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
    for summary in iter_export_contacts(session):
        row = contact_row(summary)
        writer.writerow([neutralise(row.get(h, "")) for h in headers])
        count += 1
    return count
