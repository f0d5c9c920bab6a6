"""Contacts: the people every relationship is about."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pycrm import models as m
from pycrm.services import companies as company_service
from pycrm.services import fts
from pycrm.services import tags as tag_service
from pycrm.services.bulk import insert_rows
from pycrm.services.changelog import Tracker, delete_record, log_created, log_many
from pycrm.services.contact_values import (
    CONTACT_FIELDS,
    LabeledValue,
    NewContact,
    _display_name,
    prepare_emails,
    prepare_phones,
    validated_fields,
)
from pycrm.services.contact_values import validate_new_contact as validate_new_contact
from pycrm.services.errors import NotFound, ValidationError
from pycrm.services.text import clean, fold
from pycrm.services.validation import Phone, require_text

UNSET: Any = object()


def _apply_fields(contact: m.Contact, fields: dict[str, Any]) -> None:
    # A NewContact's fields carry its name_key (for the bulk writers); the ORM sets it here.
    fields = {k: v for k, v in fields.items() if k != "name_key"}
    for key, value in validated_fields(fields, contact).items():
        setattr(contact, key, value)


def _current_rows(
    session: Session, table: sa.Table, contact_id: int, columns: Sequence[str]
) -> list[tuple[Any, ...]]:
    """A contact's e-mail or phone rows, as ``columns`` tuples in their order."""
    query = (
        sa.select(*(table.c[c] for c in columns))
        .where(table.c.contact_id == contact_id)
        .order_by(table.c.position)
    )
    return [tuple(row) for row in session.execute(query)]


def _replace_emails(
    session: Session, contact_id: int, emails: list[tuple[str, str | None]]
) -> None:
    """Make these the contact's e-mails; the rows stay untouched when they already are."""
    table = m.ContactEmail.__table__
    if _current_rows(session, table, contact_id, ("email", "label")) == emails:
        return  # rewriting them would give the rows new ids: a change in the history
    session.execute(sa.delete(table).where(table.c.contact_id == contact_id))
    if emails:
        session.execute(
            sa.insert(table),
            [
                {
                    "contact_id": contact_id,
                    "email": e,
                    "email_key": e.lower(),
                    "label": label,
                    "position": i,
                }
                for i, (e, label) in enumerate(emails)
            ],
        )


def _replace_phones(
    session: Session, contact_id: int, phones: list[tuple[Phone, str | None]]
) -> None:
    """Make these the contact's phones; the rows stay untouched when they already are.

    A normalised number the contact already has keeps the text it was first typed as
    (``+55 11 98765-4321``), so re-importing an export (which writes E.164) changes nothing.
    """
    table = m.ContactPhone.__table__
    current = _current_rows(session, table, contact_id, ("number", "raw", "normalized", "label"))
    typed = {number: raw for number, raw, normalized, _label in current if normalized}
    phones = [
        (replace(p, raw=typed[p.number]) if p.normalized and p.number in typed else p, label)
        for p, label in phones
    ]
    if current == [(p.number, p.raw, p.normalized, label) for p, label in phones]:
        return
    session.execute(sa.delete(table).where(table.c.contact_id == contact_id))
    if phones:
        session.execute(
            sa.insert(table),
            [
                {
                    "contact_id": contact_id,
                    "number": p.number,
                    "raw": p.raw,
                    "normalized": p.normalized,
                    "label": label,
                    "position": i,
                }
                for i, (p, label) in enumerate(phones)
            ],
        )


def _replace_tags(session: Session, contact_id: int, names: Iterable[str]) -> None:
    link = m.ContactTag.__table__
    session.execute(sa.delete(link).where(link.c.contact_id == contact_id))
    ids = tag_service.ensure_tags(session, names)
    if ids:
        session.execute(sa.insert(link), [{"contact_id": contact_id, "tag_id": t} for t in ids])


def _resolve_company(
    session: Session, company_id: int | None, company_name: str | None
) -> int | None:
    if company_id is not None:
        company_service.get_company(session, company_id)
        return company_id
    if clean(company_name):
        return company_service.get_or_create_company(session, company_name or "").id
    return None


def create_contact(
    session: Session,
    display_name: str | None = None,
    *,
    emails: Iterable[LabeledValue] = (),
    phones: Iterable[LabeledValue] = (),
    company_id: int | None = None,
    company_name: str | None = None,
    tags: Iterable[str] = (),
    region: str = "US",
    **fields: Any,
) -> m.Contact:
    """Add a person (validated, logged). ``company_name`` links or creates the company."""
    contact = m.Contact(display_name=_display_name(display_name, fields))
    _apply_fields(contact, fields)
    prepared_emails = prepare_emails(emails)
    prepared_phones = prepare_phones(phones, region)
    contact.company_id = _resolve_company(session, company_id, company_name)
    session.add(contact)
    session.flush()
    assert contact.id is not None
    _replace_emails(session, contact.id, prepared_emails)
    _replace_phones(session, contact.id, prepared_phones)
    if tags:
        _replace_tags(session, contact.id, tags)
    log_created(session, "contact", contact.id)
    return contact


def get_contact(session: Session, contact_id: int) -> m.Contact:
    """A contact by id, or NotFound."""
    contact = session.get(m.Contact, contact_id)
    if contact is None:
        raise NotFound("contact", contact_id)
    return contact


def get_contact_by_uuid(session: Session, uuid: str) -> m.Contact | None:
    """A contact by its stable UUID."""
    return session.scalars(sa.select(m.Contact).where(m.Contact.uuid == uuid)).first()


def find_by_email(session: Session, email: str) -> list[int]:
    """Ids of contacts having this e-mail (case-insensitive)."""
    table = m.ContactEmail.__table__
    return list(
        session.scalars(
            sa.select(table.c.contact_id)
            .where(table.c.email_key == email.strip().lower())
            .distinct()
        )
    )


def find_by_phone(session: Session, number: str) -> list[int]:
    """Ids of contacts having this normalised phone number."""
    table = m.ContactPhone.__table__
    return list(
        session.scalars(sa.select(table.c.contact_id).where(table.c.number == number).distinct())
    )


def update_contact(
    session: Session,
    contact_id: int,
    *,
    display_name: str | None = None,
    emails: Iterable[LabeledValue] | None = None,
    add_emails: Iterable[LabeledValue] = (),
    remove_emails: Iterable[str] = (),
    phones: Iterable[LabeledValue] | None = None,
    add_phones: Iterable[LabeledValue] = (),
    tags: Iterable[str] | None = None,
    add_tags: Iterable[str] = (),
    remove_tags: Iterable[str] = (),
    company_id: int | None = UNSET,
    company_name: str | None = None,
    region: str = "US",
    **fields: Any,
) -> m.Contact:
    """Change a person; list arguments replace, ``add_*`` / ``remove_*`` edit. One logged update."""
    contact = get_contact(session, contact_id)
    with Tracker(session, "contact", contact_id, stamp=contact):
        if display_name is not None:
            contact.display_name = require_text("name", display_name)
        _apply_fields(contact, fields)
        if emails is not None or add_emails or remove_emails:
            base: list[LabeledValue] = (
                list(emails) if emails is not None else list(contact_emails(session, contact_id))
            )
            drop = {e.strip().lower() for e in remove_emails}
            merged = [e for e in prepare_emails([*base, *add_emails]) if e[0].lower() not in drop]
            _replace_emails(session, contact_id, merged)
        if phones is not None or add_phones:
            base_phones: list[LabeledValue] = (
                list(phones) if phones is not None else list(contact_phones(session, contact_id))
            )
            _replace_phones(
                session, contact_id, prepare_phones([*base_phones, *add_phones], region)
            )
        if tags is not None or add_tags or remove_tags:
            current = [] if tags is not None else contact_tags(session, contact_id)
            drop = {fold(t) for t in remove_tags}
            wanted = [t for t in [*current, *(tags or []), *add_tags] if fold(t) not in drop]
            _replace_tags(session, contact_id, wanted)
        if company_id is not UNSET or company_name is not None:
            contact.company_id = _resolve_company(
                session, None if company_id is UNSET else company_id, company_name
            )
    return contact


def delete_contact(session: Session, contact_id: int) -> None:
    """Delete a person with their interactions and follow-ups; deals stay, unlinked (all logged)."""
    get_contact(session, contact_id)
    for fid in list(
        session.scalars(sa.select(m.FollowUp.id).where(m.FollowUp.contact_id == contact_id))
    ):
        delete_record(session, "followup", fid)
    for iid in list(
        session.scalars(sa.select(m.Interaction.id).where(m.Interaction.contact_id == contact_id))
    ):
        delete_record(session, "interaction", iid)
    attendee = m.MeetingAttendee.__table__
    for mid in list(
        session.scalars(sa.select(attendee.c.meeting_id).where(attendee.c.contact_id == contact_id))
    ):
        with Tracker(session, "meeting", mid):
            session.execute(
                sa.delete(attendee).where(
                    attendee.c.meeting_id == mid, attendee.c.contact_id == contact_id
                )
            )
    for did in list(session.scalars(sa.select(m.Deal.id).where(m.Deal.contact_id == contact_id))):
        deal = session.get(m.Deal, did)
        assert deal is not None
        with Tracker(session, "deal", did):
            deal.contact_id = None
    delete_record(session, "contact", contact_id)


def contact_emails(session: Session, contact_id: int) -> list[tuple[str, str | None]]:
    """(e-mail, label) pairs in order."""
    t = m.ContactEmail.__table__
    return [
        (e, label)
        for e, label in session.execute(
            sa.select(t.c.email, t.c.label)
            .where(t.c.contact_id == contact_id)
            .order_by(t.c.position)
        )
    ]


def contact_phones(session: Session, contact_id: int) -> list[tuple[str, str | None]]:
    """(number, label) pairs in order; numbers are E.164 or raw text when unnormalised."""
    t = m.ContactPhone.__table__
    return [
        (n, label)
        for n, label in session.execute(
            sa.select(t.c.number, t.c.label)
            .where(t.c.contact_id == contact_id)
            .order_by(t.c.position)
        )
    ]


def contact_tags(session: Session, contact_id: int) -> list[str]:
    """The person's tag names, alphabetical."""
    tag, link = m.Tag.__table__, m.ContactTag.__table__
    return list(
        session.scalars(
            sa.select(tag.c.name)
            .join(link, link.c.tag_id == tag.c.id)
            .where(link.c.contact_id == contact_id)
            .order_by(tag.c.name)
        )
    )


@dataclass
class ContactSummary:
    """A contact with the names of what it links to, ready for display or JSON."""

    contact: m.Contact
    company_name: str | None = None
    emails: list[tuple[str, str | None]] = field(default_factory=list)
    phones: list[tuple[str, str | None]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    last_interaction_at: datetime | None = None
    lifetime_value: dict[str, int] = field(default_factory=dict)


def summarize(session: Session, contacts: Sequence[m.Contact]) -> list[ContactSummary]:
    """Attach company names, e-mails, phones, tags, last touch and won value, in a few queries
    (the same ones the quick read path runs: :func:`pycrm.services.views.summarize_contacts`)."""
    from pycrm.services.views import summarize_contacts

    return [
        ContactSummary(
            contact=view.contact,
            company_name=view.company_name,
            emails=view.emails,
            phones=view.phones,
            tags=view.tags,
            last_interaction_at=view.last_interaction_at,
            lifetime_value=view.lifetime_value,
        )
        for view in summarize_contacts(session, contacts)
    ]


def list_contacts(
    session: Session,
    *,
    tag: str | None = None,
    company_id: int | None = None,
    sort: str = "name",
    limit: int | None = None,
    offset: int = 0,
    include_archived: bool = False,
) -> list[ContactSummary]:
    """People filtered by tag / company, sorted by ``name``, ``recent`` (last touch) or ``value``."""
    query = sa.select(m.Contact)
    if not include_archived:
        query = query.where(m.Contact.archived == sa.false())
    tid: int | None = None
    if tag:
        tid = tag_service.tag_id(session, tag)
        if tid is None:
            return []
        link = m.ContactTag.__table__
        query = query.where(
            m.Contact.id.in_(sa.select(link.c.contact_id).where(link.c.tag_id == tid))
        )  # type: ignore[union-attr]
    if company_id is not None:
        query = query.where(m.Contact.company_id == company_id)
    if sort == "recent":
        # The last touch is kept by the database (migration 0005; the model leaves it out) and
        # ix_contact_touch holds it in this order.
        last: sa.ColumnElement[Any] = sa.literal_column("contact.last_touch_at")
        query = query.order_by(last.desc().nulls_last(), m.Contact.display_name)
    elif sort == "value":
        from pycrm.services import views

        ids = views.contact_ids_by_value(
            session, include_archived=include_archived, tag_id=tid, company_id=company_id,
            limit=limit, offset=offset,
        )  # fmt: skip
        found: dict[int | None, m.Contact] = {}
        for start in range(0, len(ids), views.CHUNK):
            chunk = ids[start : start + views.CHUNK]
            found.update(
                (obj.id, obj)
                for obj in session.scalars(sa.select(m.Contact).where(m.Contact.id.in_(chunk)))
            )
        return summarize(session, [found[i] for i in ids])
    elif sort == "name":
        query = query.order_by(m.Contact.name_key, m.Contact.id)
    else:
        raise ValidationError("sort", f"{sort!r} is not one of: name, recent, value")
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return summarize(session, list(session.scalars(query)))


def count_contacts(session: Session, *, include_archived: bool = False) -> int:
    """How many people are stored."""
    query = sa.select(sa.func.count()).select_from(m.Contact)
    if not include_archived:
        query = query.where(m.Contact.archived == sa.false())
    return int(session.scalar(query) or 0)


def bulk_create_contacts(session: Session, rows: Sequence[NewContact]) -> list[int]:
    """Insert many validated contacts with executemany; each creation is logged.

    This is the import path: validation happens before (``validate_new_contact``), so the write
    transaction stays short. Search documents are built set-wise after the rows are in.
    """
    if not rows:
        return []
    with bulk_contact_writer(session) as writer:
        return writer.add(rows)


@contextmanager
def bulk_contact_writer(session: Session) -> Iterator[BulkContactWriter]:
    """A writer that takes contacts chunk by chunk (streamed imports), search triggers paused.

    When the block ends, the search documents of every contact written are built set-wise.
    """
    writer = BulkContactWriter(session)
    tables = ("contact", "contact_email", "contact_phone", "contact_tag")
    with fts.triggers_paused(session), fts.insert_triggers_dropped(session, tables):
        yield writer
    for low, high in writer.id_ranges:
        fts.refresh_range(session, "contact", low, high)


_RESERVED = frozenset(("id", "uuid", "created_at", "updated_at", "display_name", "company_id"))
_JSON_COLUMNS = ("custom_fields", "extra")
_JSON = json.JSONEncoder(ensure_ascii=False)


def time_ordered_uuids(start: int | None = None) -> Iterator[str]:
    """RFC 9562 version-7 UUIDs: a 48-bit millisecond time, then a counter from a random start
    (``start``: that counter's first value, for tests).

    A bulk import's new records get UUIDs in index order, so the unique UUID indexes (contact,
    ChangeLog) grow at their end instead of being rewritten at random pages. While the count
    stays in its low 48 bits only the last group changes: each UUID is then one format of an
    int behind a fixed head (100k UUIDs: 0.08 s instead of 0.17 s on a busy 2-core host).
    """
    import secrets
    import time

    high = ((time.time_ns() // 1_000_000) & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | 0b10 << 62
    counter = secrets.randbits(70) if start is None else start - 1
    low_mask = (1 << 62) - 1
    block_mask = (1 << 48) - 1
    while True:
        counter += 1
        text = f"{high | (counter >> 62 & 0xFFF) << 64 | (counter & low_mask):032x}"
        head = f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-"
        for low in range(counter & block_mask, block_mask + 1):
            yield f"{head}{low:012x}"
        counter |= block_mask  # the block's last value: the next one starts a new head


def insert_contact_children(
    execute: Any,
    email_rows: Sequence[tuple[Any, ...]],
    phone_rows: Sequence[tuple[Any, ...]],
    tag_rows: Sequence[tuple[Any, ...]],
) -> None:
    """Insert bulk-written contacts' e-mails (contact_id, email, email_key, label, position),
    phones (contact_id, number, raw, normalized, label, position) and tag links (contact_id,
    tag_id) with ``execute``, a SQLite connection's ``exec_driver_sql`` (``?`` placeholders):
    shared by the bulk writer and ``import csv``."""
    if email_rows:
        execute(
            "INSERT INTO contact_email (contact_id, email, email_key, label, position) "
            "VALUES (?, ?, ?, NULLIF(?, ''), ?)",
            email_rows,
        )
    if phone_rows:
        execute(
            "INSERT INTO contact_phone (contact_id, number, raw, normalized, label, position) "
            "VALUES (?, ?, NULLIF(?, ''), ?, NULLIF(?, ''), ?)",
            phone_rows,
        )
    if tag_rows:
        execute("INSERT INTO contact_tag (contact_id, tag_id) VALUES (?, ?)", tag_rows)


class BulkContactWriter:
    """Inserts validated contacts, their e-mails, phones, tags and ChangeLog entries in batches.

    On SQLite the rows go to the driver's ``executemany`` as pre-built tuples (ids assigned from
    ``max(id) + 1`` once: writes run under ``BEGIN IMMEDIATE``, so no other writer takes ids), and
    each ChangeLog snapshot is built from what is inserted, in the shape ``changelog.snapshot``
    gives, instead of being read back.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.sqlite = session.get_bind().dialect.name == "sqlite"
        self.now = m.utcnow()
        self.now_text = self.now.strftime("%Y-%m-%d %H:%M:%S.%f")
        self.now_iso = self.now.isoformat()
        self.tag_ids: dict[str, int] = {}
        self.next_id: int | None = None
        self.id_ranges: list[tuple[int, int]] = []
        self.count = 0
        self._uuids = time_ordered_uuids()
        # PostgreSQL: log creations compactly (changelog.log_created_ids), as the CSV import does.
        self.compact_log = False

    def _tag_ids(self, rows: Sequence[NewContact]) -> dict[str, int]:
        return self._ensure_tag_ids(t for row in rows for t in row.tags)

    def _ensure_tag_ids(self, names: Iterable[str]) -> dict[str, int]:
        """Folded tag name → id for every name seen so far, creating the missing tags."""
        missing: dict[str, str] = {}
        for t in names:
            key = fold(t)
            if key not in self.tag_ids and key not in missing:
                missing[key] = t
        if missing:
            new_names = list(missing.values())
            for name, tag_id in zip(
                new_names, tag_service.ensure_tags(self.session, new_names), strict=True
            ):
                self.tag_ids[fold(name)] = tag_id
        return self.tag_ids

    def add(self, rows: Sequence[NewContact]) -> list[int]:
        """Write one chunk of contacts; returns their new ids, in order."""
        if not rows:
            return []
        if not self.sqlite:
            ids = _insert_contacts_core(self.session, rows, compact_log=self.compact_log)
        else:
            ids = self._add_sqlite(rows)
        self.count += len(ids)
        if (
            self.id_ranges
            and self.id_ranges[-1][1] + 1 == ids[0]
            and ids[-1] - ids[0] + 1 == len(ids)
        ):
            self.id_ranges[-1] = (self.id_ranges[-1][0], ids[-1])
        elif ids[-1] - ids[0] + 1 == len(ids):
            self.id_ranges.append((ids[0], ids[-1]))
        else:  # pragma: no cover - ids from another dialect need not be contiguous
            self.id_ranges.extend((i, i) for i in ids)
        return ids

    def _add_sqlite(self, rows: Sequence[NewContact]) -> list[int]:
        from pycrm.services.changelog import _ensure_batch

        session = self.session
        session.flush()
        # exec_driver_sql hands the pre-built rows straight to the driver's executemany (and turns
        # driver errors, such as a full disk, into SQLAlchemy's exceptions).
        execute = session.connection().exec_driver_sql
        if self.next_id is None:
            self.next_id = int(execute("SELECT coalesce(max(id), 0) FROM contact").scalar_one()) + 1
        batch_id = _ensure_batch(session)
        tag_ids = self._tag_ids(rows)
        encode = _JSON.encode
        now_text, now_iso = self.now_text, self.now_iso
        next_uuid = self._uuids.__next__
        first = self.next_id
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        email_rows: list[tuple[Any, ...]] = []
        phone_rows: list[tuple[Any, ...]] = []
        tag_rows: list[tuple[int, int]] = []
        log_rows: list[tuple[Any, ...]] = []
        for offset, row in enumerate(rows):
            cid = first + offset
            fields = row.fields
            uuid = row.uuid or next_uuid()
            record: dict[str, Any] = {"id": cid, "uuid": uuid, "created_at": now_iso,
                                      "updated_at": now_iso, "display_name": row.display_name}  # fmt: skip
            for key, value in fields.items():
                if value is not None and key not in _RESERVED:
                    record[key] = value
            if row.company_id is not None:
                record["company_id"] = row.company_id
            record["do_not_contact"] = bool(fields.get("do_not_contact", False))
            record["archived"] = bool(fields.get("archived", False))
            emails = []
            for pos, (email, label) in enumerate(row.emails):
                key = email.lower()
                email_rows.append((cid, email, key, label, pos))
                child = {"contact_id": cid, "email": email, "email_key": key, "position": pos}
                if label is not None:
                    child["label"] = label
                emails.append(child)
            phones = []
            for pos, (phone, label) in enumerate(row.phones):
                phone_rows.append((cid, phone.number, phone.raw, phone.normalized, label, pos))
                child = {"contact_id": cid, "number": phone.number, "raw": phone.raw,
                         "normalized": phone.normalized, "position": pos}  # fmt: skip
                if phone.raw is None:
                    del child["raw"]
                if label is not None:
                    child["label"] = label
                phones.append(child)
            tags = []
            for t in row.tags:
                tag_id = tag_ids[fold(t)]
                tag_rows.append((cid, tag_id))
                tags.append({"contact_id": cid, "tag_id": tag_id})
            snap = {**record, "emails": emails, "phones": phones, "tags": tags}
            log_rows.append(
                (now_text, batch_id, "contact", uuid, cid, "create", None, encode(snap))
            )
            # The stored row: times in the database's text form, JSON columns as text.
            record["created_at"] = record["updated_at"] = now_text
            for key in _JSON_COLUMNS:
                if key in record:
                    record[key] = encode(record[key])
            shape = tuple(record)
            group = groups.get(shape)
            if group is None:
                groups[shape] = group = []
            group.append(record)
        self.next_id = first + len(rows)
        for shape, group in groups.items():
            names = ", ".join(f'"{c}"' for c in shape)
            marks = ", ".join(f":{c}" for c in shape)
            execute(f"INSERT INTO contact ({names}) VALUES ({marks})", group)
        insert_contact_children(execute, email_rows, phone_rows, tag_rows)
        execute(
            'INSERT INTO change_log (at, batch_id, entity, record_uuid, record_id, action, "before", "after") '
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            log_rows,
        )
        return list(range(first, first + len(rows)))


def _insert_contacts_core(
    session: Session, rows: Sequence[NewContact], *, compact_log: bool = False
) -> list[int]:
    """The portable path (PostgreSQL): Core inserts with ``RETURNING`` ids. ``compact_log``
    logs the creations without snapshots (``changelog.log_created_ids``)."""
    c_t = m.Contact.__table__
    now = m.utcnow()
    # Only the columns some row sets (plus the required ones) go into the INSERT.
    optional = sorted({k for row in rows for k in row.fields} - {"do_not_contact", "archived"})
    contact_rows = []
    for row in rows:
        fields = row.fields
        values = {k: fields.get(k) for k in optional}
        values["uuid"] = row.uuid or m.new_uuid()
        values["created_at"] = now
        values["updated_at"] = now
        values["display_name"] = row.display_name
        values["company_id"] = row.company_id
        values["do_not_contact"] = bool(fields.get("do_not_contact", False))
        values["archived"] = bool(fields.get("archived", False))
        contact_rows.append(values)
    ids = insert_rows(session, c_t, contact_rows, want_ids=True)
    email_rows, phone_rows, tag_rows = [], [], []
    # One spelling per tag, the first one the file uses ("VIP" and "vip" are one tag).
    all_tags = tag_service.normalize_tags(t for row in rows for t in row.tags)
    tag_ids = dict(
        zip([fold(t) for t in all_tags], tag_service.ensure_tags(session, all_tags), strict=True)
    )
    for cid, row in zip(ids, rows, strict=True):
        for pos, (email, label) in enumerate(row.emails):
            email_rows.append(
                {
                    "contact_id": cid,
                    "email": email,
                    "email_key": email.lower(),
                    "label": label,
                    "position": pos,
                }
            )
        for pos, (phone, label) in enumerate(row.phones):
            phone_rows.append(
                {
                    "contact_id": cid,
                    "number": phone.number,
                    "raw": phone.raw,
                    "normalized": phone.normalized,
                    "label": label,
                    "position": pos,
                }
            )
        for tid in dict.fromkeys(tag_ids[fold(t)] for t in row.tags):
            tag_rows.append({"contact_id": cid, "tag_id": tid})
    insert_rows(session, m.ContactEmail.__table__, email_rows)
    insert_rows(session, m.ContactPhone.__table__, phone_rows)
    insert_rows(session, m.ContactTag.__table__, tag_rows)
    if compact_log:
        from pycrm.services.changelog import log_created_ids

        log_created_ids(session, "contact", ids)
        return ids
    # Snapshots are built from what we inserted (the shape changelog.snapshot gives), not re-read.
    now_iso = now.isoformat()
    by_contact: dict[int, dict[str, list[dict[str, Any]]]] = {}
    for key, child_rows in (("emails", email_rows), ("phones", phone_rows), ("tags", tag_rows)):
        for r in child_rows:
            by_contact.setdefault(r["contact_id"], {}).setdefault(key, []).append(
                {k: v for k, v in r.items() if v is not None}
            )
    entries = []
    for cid, values in zip(ids, contact_rows, strict=True):
        snap = {k: v for k, v in values.items() if v is not None}
        snap["id"] = cid
        snap["created_at"] = snap["updated_at"] = now_iso
        children = by_contact.get(cid, {})
        snap["emails"] = children.get("emails", [])
        snap["phones"] = children.get("phones", [])
        snap["tags"] = children.get("tags", [])
        entries.append(("contact", "create", None, snap))
    log_many(session, entries)
    return ids


def merge_fields_missing(target: m.Contact, source: m.Contact) -> dict[str, Any]:
    """Fields empty on ``target`` that ``source`` has (used by merge)."""
    out = {}
    for key in CONTACT_FIELDS:
        if getattr(target, key) in (None, "", {}) and getattr(source, key) not in (None, "", {}):
            out[key] = getattr(source, key)
    return out
