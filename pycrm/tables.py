"""The columns quick read paths (reports, look-ups) use, as plain SQLAlchemy Core tables.

``pycrm.models`` builds SQLModel/pydantic classes for every table, which costs about 0.3 s of
import on a command that only runs a few queries. Read-only commands describe just the columns
they read here: same table and column names, same types (datetimes go through the one
:class:`pycrm.dbtypes.UTCDateTime` the models use too). The reports read a handful of columns;
contacts, companies, deals, follow-ups, meetings and interactions are complete here (less the
``extra`` JSON nobody shows): the SQL-text views (:mod:`pycrm.services.views`) list the same columns and type
their values by these types (tests check both). A test checks every column here against the
models so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from pycrm.dbtypes import UTCDateTime

# Stage kinds (pycrm.models.StageKind values).
OPEN, WON, LOST = "open", "won", "lost"
NOTE = "note"  # pycrm.models.InteractionType.NOTE


metadata = sa.MetaData()


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer, primary_key=True)


def _record() -> list[sa.Column[Any]]:
    """The columns every business table has (pycrm.models.Record)."""
    return [
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("uuid", sa.String),
        sa.Column("created_at", UTCDateTime),
        sa.Column("updated_at", UTCDateTime),
    ]


stage = sa.Table(
    "stage",
    metadata,
    _id(),
    sa.Column("name", sa.String),
    sa.Column("position", sa.Integer),
    sa.Column("probability", sa.Integer),
    sa.Column("kind", sa.String),
    sa.Column("idle_days", sa.Integer),
)

deal = sa.Table(
    "deal",
    metadata,
    *_record(),
    sa.Column("title", sa.String),
    sa.Column("contact_id", sa.Integer),
    sa.Column("company_id", sa.Integer),
    sa.Column("amount", sa.Integer),
    sa.Column("currency", sa.String),
    sa.Column("stage_id", sa.Integer),
    sa.Column("probability", sa.Integer),
    sa.Column("expected_close", sa.Date),
    sa.Column("original_close", sa.Date),
    sa.Column("stage_entered_at", UTCDateTime),
    sa.Column("closed_at", UTCDateTime),
    sa.Column("lost_reason", sa.String),
    sa.Column("source", sa.String),
    sa.Column("next_step", sa.String),
    sa.Column("next_step_date", sa.Date),
    sa.Column("notes", sa.String),
)

deal_stage_history = sa.Table(
    "deal_stage_history",
    metadata,
    _id(),
    sa.Column("deal_id", sa.Integer),
    sa.Column("stage_id", sa.Integer),
    sa.Column("entered_at", UTCDateTime),
)

interaction = sa.Table(
    "interaction",
    metadata,
    *_record(),
    sa.Column("type", sa.String),
    sa.Column("direction", sa.String),
    sa.Column("occurred_at", UTCDateTime),
    sa.Column("summary", sa.String),
    sa.Column("body", sa.String),
    sa.Column("contact_id", sa.Integer),
    sa.Column("company_id", sa.Integer),
    sa.Column("deal_id", sa.Integer),
)

followup = sa.Table(
    "followup",
    metadata,
    *_record(),
    sa.Column("what", sa.String),
    sa.Column("due_at", UTCDateTime),
    sa.Column("done_at", UTCDateTime),
    sa.Column("snoozed_until", UTCDateTime),
    sa.Column("priority", sa.Integer),
    sa.Column("contact_id", sa.Integer),
    sa.Column("deal_id", sa.Integer),
    sa.Column("rrule", sa.String),
    sa.Column("notes", sa.String),
)

meeting = sa.Table(
    "meeting",
    metadata,
    *_record(),
    sa.Column("title", sa.String),
    sa.Column("starts_at", UTCDateTime),
    sa.Column("ends_at", UTCDateTime),
    sa.Column("all_day", sa.Boolean),
    sa.Column("timezone", sa.String),
    sa.Column("location", sa.String),
    sa.Column("notes", sa.String),
    sa.Column("rrule", sa.String),
    sa.Column("exdates", sa.JSON),
    sa.Column("deal_id", sa.Integer),
)

meeting_attendee = sa.Table(
    "meeting_attendee",
    metadata,
    sa.Column("meeting_id", sa.Integer, primary_key=True),
    sa.Column("contact_id", sa.Integer, primary_key=True),
)

contact = sa.Table(
    "contact",
    metadata,
    *_record(),
    sa.Column("display_name", sa.String),
    sa.Column("name_key", sa.String),
    sa.Column("given_name", sa.String),
    sa.Column("family_name", sa.String),
    sa.Column("title", sa.String),
    sa.Column("company_id", sa.Integer),
    sa.Column("address_street", sa.String),
    sa.Column("address_city", sa.String),
    sa.Column("address_region", sa.String),
    sa.Column("address_postcode", sa.String),
    sa.Column("address_country", sa.String),
    sa.Column("birth_year", sa.Integer),
    sa.Column("birth_month", sa.Integer),
    sa.Column("birth_day", sa.Integer),
    sa.Column("notes", sa.String),
    sa.Column("preferred_channel", sa.String),
    sa.Column("source", sa.String),
    sa.Column("campaign", sa.String),
    sa.Column("language", sa.String),
    sa.Column("best_time", sa.String),
    sa.Column("do_not_contact", sa.Boolean),
    sa.Column("cadence_days", sa.Integer),
    sa.Column("custom_fields", sa.JSON),
    sa.Column("archived", sa.Boolean),
    # Derived, written only by triggers on ``interaction`` (migration 0005); not in the models.
    sa.Column("last_touch_at", UTCDateTime),
)

# Columns the database keeps itself, which the models deliberately leave out.
DERIVED_COLUMNS = frozenset({("contact", "last_touch_at")})

contact_email = sa.Table(
    "contact_email",
    metadata,
    _id(),
    sa.Column("contact_id", sa.Integer),
    sa.Column("email", sa.String),
    sa.Column("email_key", sa.String),
    sa.Column("label", sa.String),
    sa.Column("position", sa.Integer),
)

contact_phone = sa.Table(
    "contact_phone",
    metadata,
    _id(),
    sa.Column("contact_id", sa.Integer),
    sa.Column("number", sa.String),
    sa.Column("label", sa.String),
    sa.Column("position", sa.Integer),
)

tag = sa.Table(
    "tag",
    metadata,
    _id(),
    sa.Column("name", sa.String),
    sa.Column("name_key", sa.String),
)

contact_tag = sa.Table(
    "contact_tag",
    metadata,
    sa.Column("contact_id", sa.Integer, primary_key=True),
    sa.Column("tag_id", sa.Integer, primary_key=True),
)

company = sa.Table(
    "company",
    metadata,
    _id(),
    sa.Column("uuid", sa.String),
    sa.Column("created_at", UTCDateTime),
    sa.Column("updated_at", UTCDateTime),
    sa.Column("name", sa.String),
    sa.Column("name_key", sa.String),
    sa.Column("domain", sa.String),
    sa.Column("industry", sa.String),
    sa.Column("size", sa.String),
    sa.Column("address", sa.String),
    sa.Column("phone", sa.String),
    sa.Column("website", sa.String),
    sa.Column("notes", sa.String),
    sa.Column("source", sa.String),
)
