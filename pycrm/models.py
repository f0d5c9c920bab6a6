"""The tables: SQLModel classes for every entity pycrm stores.

Conventions: every business table has an integer ``id``, a stable ``uuid`` (text, used as vCard /
iCalendar / JSON id), and ``created_at`` / ``updated_at`` in UTC. Money is an integer in minor units
plus an ISO 4217 code. Enumerations are stored as short text and validated by services, so adding a
value never needs a database type migration.
"""

from __future__ import annotations

import uuid as uuid_module
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from pycrm.dbtypes import UTCDateTime
from pycrm.kinds import Channel, Direction, InteractionType, StageKind  # noqa: F401 (m.Channel…)

# Naming convention so Alembic batch mode can name (and later drop) constraints.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def new_uuid() -> str:
    """A new random UUID as text."""
    return str(uuid_module.uuid4())


def _dt(**kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kw)


class Record(SQLModel):
    """Columns every business table has."""

    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(default_factory=new_uuid, max_length=36, unique=True, index=True)
    created_at: datetime = _dt(default_factory=utcnow)
    updated_at: datetime = _dt(default_factory=utcnow)


class Tag(Record, table=True):
    """A label on contacts and companies (``vip``, ``partner``…); names are unique ignoring case."""

    name: str = Field(max_length=100)
    name_key: str = Field(max_length=100, unique=True)


class Company(Record, table=True):
    """An organisation people work for."""

    name: str = Field(max_length=300, index=True)
    name_key: str = Field(default="", max_length=300, index=True)
    domain: str | None = Field(default=None, max_length=255, index=True)
    industry: str | None = None
    size: str | None = None
    address: str | None = None
    phone: str | None = None
    website: str | None = None
    notes: str | None = None
    source: str | None = None
    extra: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)


class CompanyTag(SQLModel, table=True):
    __tablename__ = "company_tag"
    company_id: int = Field(
        sa_column_args=[sa.ForeignKey("company.id", ondelete="CASCADE")], primary_key=True
    )
    tag_id: int = Field(
        sa_column_args=[sa.ForeignKey("tag.id", ondelete="CASCADE")], primary_key=True, index=True
    )


class Contact(Record, table=True):
    """A person: the centre of every relationship."""

    display_name: str = Field(max_length=300, index=True)
    # fold(display_name): lists sort by it, so "Álvaro" comes before "Bruno" on every backend
    # (SQLite and a C-collated PostgreSQL order by code point, which put accents last). Set on
    # every write (see set_contact_name_key below, NewContact, changelog.json_to_row).
    name_key: str = Field(default="", max_length=300)
    given_name: str | None = Field(default=None, max_length=200)
    family_name: str | None = Field(default=None, max_length=200)
    title: str | None = None
    company_id: int | None = Field(
        default=None,
        sa_column_args=[sa.ForeignKey("company.id", ondelete="SET NULL")],
        index=True,
    )
    address_street: str | None = None
    address_city: str | None = None
    address_region: str | None = None
    address_postcode: str | None = None
    address_country: str | None = None
    birth_year: int | None = None
    birth_month: int | None = None
    birth_day: int | None = None
    notes: str | None = None
    preferred_channel: str | None = Field(default=None, max_length=20)
    source: str | None = None
    campaign: str | None = None
    language: str | None = Field(default=None, max_length=35)
    best_time: str | None = None
    do_not_contact: bool = False
    cadence_days: int | None = None
    custom_fields: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    extra: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    archived: bool = Field(default=False)  # not indexed: nearly every row is 0 (see migration 0003)


@sa.event.listens_for(Contact, "before_insert")
@sa.event.listens_for(Contact, "before_update")
def set_contact_name_key(_mapper: Any, _connection: Any, contact: Contact) -> None:
    """Every ORM write of a contact keeps its sort key in step with its name."""
    from pycrm.services.text import fold

    contact.name_key = fold(contact.display_name or "")


class ContactEmail(SQLModel, table=True):
    """One e-mail address of a contact; ``email_key`` is the lower-cased form used for matching."""

    __tablename__ = "contact_email"
    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(
        sa_column_args=[sa.ForeignKey("contact.id", ondelete="CASCADE")], index=True
    )
    email: str = Field(max_length=320)
    email_key: str = Field(max_length=320, index=True)
    label: str | None = Field(default=None, max_length=50)
    position: int = 0


class ContactPhone(SQLModel, table=True):
    """One phone number; ``number`` is E.164 when ``normalized`` else the raw text as typed."""

    __tablename__ = "contact_phone"
    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(
        sa_column_args=[sa.ForeignKey("contact.id", ondelete="CASCADE")], index=True
    )
    number: str = Field(max_length=100, index=True)
    raw: str | None = Field(default=None, max_length=100)
    normalized: bool = True
    label: str | None = Field(default=None, max_length=50)
    position: int = 0


class ContactTag(SQLModel, table=True):
    __tablename__ = "contact_tag"
    contact_id: int = Field(
        sa_column_args=[sa.ForeignKey("contact.id", ondelete="CASCADE")], primary_key=True
    )
    tag_id: int = Field(
        sa_column_args=[sa.ForeignKey("tag.id", ondelete="CASCADE")], primary_key=True, index=True
    )


class Stage(Record, table=True):
    """A pipeline stage; editable data, ordered by ``position``."""

    name: str = Field(max_length=100, unique=True)
    position: int = 0
    probability: int = 0
    kind: str = Field(default=StageKind.OPEN.value, max_length=10)
    idle_days: int | None = None


class Deal(Record, table=True):
    """An opportunity in the pipeline."""

    title: str = Field(max_length=300)
    contact_id: int | None = Field(
        default=None,
        sa_column_args=[sa.ForeignKey("contact.id", ondelete="SET NULL")],
        index=True,
    )
    company_id: int | None = Field(
        default=None,
        sa_column_args=[sa.ForeignKey("company.id", ondelete="SET NULL")],
        index=True,
    )
    amount: int = 0
    currency: str = Field(default="EUR", max_length=3)
    stage_id: int = Field(sa_column_args=[sa.ForeignKey("stage.id")], index=True)
    probability: int | None = None
    expected_close: date | None = Field(default=None, index=True)
    original_close: date | None = None
    stage_entered_at: datetime = _dt(default_factory=utcnow)
    closed_at: datetime | None = _dt(default=None)
    lost_reason: str | None = None
    source: str | None = None
    next_step: str | None = None
    next_step_date: date | None = None
    notes: str | None = None


class DealStageHistory(SQLModel, table=True):
    """When a deal entered each stage (part of the deal's record)."""

    __tablename__ = "deal_stage_history"
    id: int | None = Field(default=None, primary_key=True)
    deal_id: int = Field(sa_column_args=[sa.ForeignKey("deal.id", ondelete="CASCADE")], index=True)
    stage_id: int = Field(sa_column_args=[sa.ForeignKey("stage.id")])
    entered_at: datetime = _dt(default_factory=utcnow)


class Interaction(Record, table=True):
    """Something that happened with a customer: the history they should never have to repeat."""

    type: str = Field(max_length=20, index=True)
    direction: str | None = Field(default=None, max_length=3)
    occurred_at: datetime = _dt(default_factory=utcnow, index=True)
    summary: str = ""
    body: str | None = None
    contact_id: int | None = Field(
        default=None, sa_column_args=[sa.ForeignKey("contact.id", ondelete="CASCADE")]
    )
    company_id: int | None = Field(
        default=None,
        sa_column_args=[sa.ForeignKey("company.id", ondelete="SET NULL")],
        index=True,
    )
    deal_id: int | None = Field(
        default=None, sa_column_args=[sa.ForeignKey("deal.id", ondelete="SET NULL")], index=True
    )

    __table_args__ = (sa.Index("ix_interaction_contact_occurred", "contact_id", "occurred_at"),)


class Meeting(Record, table=True):
    """A scheduled meeting; ``rrule`` is RFC 5545 RRULE text and ``exdates`` its exceptions."""

    title: str = Field(max_length=300)
    starts_at: datetime = _dt(index=True)
    ends_at: datetime = _dt()
    all_day: bool = False
    timezone: str | None = Field(default=None, max_length=64)
    location: str | None = None
    notes: str | None = None
    rrule: str | None = None
    exdates: list[str] | None = Field(default=None, sa_type=sa.JSON)
    deal_id: int | None = Field(
        default=None, sa_column_args=[sa.ForeignKey("deal.id", ondelete="SET NULL")], index=True
    )
    extra: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)


class MeetingAttendee(SQLModel, table=True):
    __tablename__ = "meeting_attendee"
    meeting_id: int = Field(
        sa_column_args=[sa.ForeignKey("meeting.id", ondelete="CASCADE")], primary_key=True
    )
    contact_id: int = Field(
        sa_column_args=[sa.ForeignKey("contact.id", ondelete="CASCADE")],
        primary_key=True,
        index=True,
    )


class FollowUp(Record, table=True):
    """A promise: something to do for someone by a date."""

    what: str
    due_at: datetime = _dt(index=True)
    done_at: datetime | None = _dt(default=None, index=True)
    snoozed_until: datetime | None = _dt(default=None)
    priority: int = 0
    contact_id: int | None = Field(
        default=None,
        sa_column_args=[sa.ForeignKey("contact.id", ondelete="CASCADE")],
        index=True,
    )
    deal_id: int | None = Field(
        default=None, sa_column_args=[sa.ForeignKey("deal.id", ondelete="CASCADE")], index=True
    )
    rrule: str | None = None
    notes: str | None = None


class Setting(SQLModel, table=True):
    """Small named values stored with the data (saved import mappings, preferences)."""

    key: str = Field(primary_key=True, max_length=200)
    value: Any = Field(default=None, sa_type=sa.JSON)


class ChangeBatch(SQLModel, table=True):
    """One command's or import's writes, so they can be listed and undone together."""

    __tablename__ = "change_batch"
    id: str = Field(primary_key=True, max_length=36)
    at: datetime = _dt(default_factory=utcnow, index=True)
    label: str = ""
    source: str = Field(default="cli", max_length=20)
    reverted_at: datetime | None = _dt(default=None)
    reverts: str | None = Field(default=None, max_length=36)


class ChangeLog(SQLModel, table=True):
    """Append-only: one row per write to one record, with full before/after snapshots.

    ``before`` and ``after`` are the whole record (columns plus owned child rows such as e-mails),
    so any batch can be reverted from the log alone: a create is undone by deleting, an update by
    restoring ``before``, a delete by re-inserting ``before`` with its original ids. One
    exception: bulk imports log creations compactly (``after`` NULL, see
    ``changelog.log_created_range``); the created state is then the next entry's ``before``, or
    the record itself while nothing changed it (``changelog.created_state``).
    """

    __tablename__ = "change_log"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _dt(default_factory=utcnow)
    batch_id: str = Field(
        sa_column_args=[sa.ForeignKey("change_batch.id", ondelete="CASCADE")],
        max_length=36,
        index=True,
    )
    entity: str = Field(max_length=30)
    record_uuid: str = Field(max_length=36, index=True)
    record_id: int | None = None
    action: str = Field(max_length=10)
    before: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)


metadata = SQLModel.metadata

DEFAULT_STAGES: list[tuple[str, int, str, int | None]] = [
    ("Lead", 10, StageKind.OPEN, 14),
    ("Qualified", 25, StageKind.OPEN, 21),
    ("Proposal", 50, StageKind.OPEN, 14),
    ("Negotiation", 75, StageKind.OPEN, 10),
    ("Won", 100, StageKind.WON, None),
    ("Lost", 0, StageKind.LOST, None),
]
