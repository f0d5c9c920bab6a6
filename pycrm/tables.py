"""The columns quick read paths (reports, look-ups) use, as plain SQLAlchemy Core tables.

``pycrm.models`` builds SQLModel/pydantic classes for every table, which costs about 0.3 s of
import on a command that only runs a few queries. Read-only commands need a handful of
columns, so they describe just those here: same table and column names, same types (datetimes
go through the one :class:`pycrm.dbtypes.UTCDateTime` the models use too). A test checks every
column here against the models so the two cannot drift apart.
"""

from __future__ import annotations

import sqlalchemy as sa

from pycrm.dbtypes import UTCDateTime

# Stage kinds (pycrm.models.StageKind values).
OPEN, WON, LOST = "open", "won", "lost"
NOTE = "note"  # pycrm.models.InteractionType.NOTE


metadata = sa.MetaData()


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer, primary_key=True)


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
    _id(),
    sa.Column("created_at", UTCDateTime),
    sa.Column("updated_at", UTCDateTime),
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
    _id(),
    sa.Column("type", sa.String),
    sa.Column("direction", sa.String),
    sa.Column("occurred_at", UTCDateTime),
    sa.Column("contact_id", sa.Integer),
    sa.Column("company_id", sa.Integer),
    sa.Column("deal_id", sa.Integer),
)

followup = sa.Table(
    "followup",
    metadata,
    _id(),
    sa.Column("created_at", UTCDateTime),
    sa.Column("done_at", UTCDateTime),
)

meeting = sa.Table(
    "meeting",
    metadata,
    _id(),
    sa.Column("starts_at", UTCDateTime),
)

contact = sa.Table(
    "contact",
    metadata,
    _id(),
    sa.Column("created_at", UTCDateTime),
    sa.Column("display_name", sa.String),
    sa.Column("source", sa.String),
    sa.Column("campaign", sa.String),
    sa.Column("do_not_contact", sa.Boolean),
    sa.Column("archived", sa.Boolean),
)

company = sa.Table(
    "company",
    metadata,
    _id(),
    sa.Column("name", sa.String),
)
