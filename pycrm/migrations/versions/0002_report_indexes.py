"""indexes for the reports

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 18:45:00

The reports aggregate whole tables; these indexes let them read a narrow index in the order of
their GROUP BY instead of sorting the wide rows (measured on the 100,000-contact demo database,
see docs/reports.md):

- activity, interactions per week by type and direction: on SQLite an index on exactly those
  three expressions (plus the time, for the period filter), so the weekly counts are one pass
  over the index with no sort of 200,000 rows. PostgreSQL cannot index its week expression (it
  depends on the session time zone) and hashes the groups instead; it gets a covering
  (occurred_at, type, direction) index for the period filter.
- pipeline, stale deals (also `pycrm today`): the last interaction of each deal from
  (deal_id, occurred_at) alone.
- customers, preferred channel: interactions counted by (contact_id, type) and
  (company_id, type) from the index alone.
- sources, contacts by source and campaign: (source, campaign, created_at) instead of a sort of
  every contact row.

Only indexes: nothing is rewritten, and the upgrade of an existing file takes a few seconds at
100,000 contacts.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: Union[str, None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# Must match, character for character, what pycrm.reports.common.week_of and the activity report
# group by on SQLite (a test checks that SQLite uses this index).
SQLITE_WEEK = "date(occurred_at, 'weekday 0', '-6 days')"
SQLITE_DIRECTION = "coalesce(direction, '-')"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.create_index(
            "ix_interaction_week",
            "interaction",
            [sa.text(SQLITE_WEEK), "type", sa.text(SQLITE_DIRECTION), "occurred_at"],
        )
    else:
        op.create_index(
            "ix_interaction_occurred_type", "interaction", ["occurred_at", "type", "direction"]
        )
    op.create_index("ix_interaction_deal_occurred", "interaction", ["deal_id", "occurred_at"])
    op.create_index("ix_interaction_contact_type", "interaction", ["contact_id", "type"])
    op.create_index("ix_interaction_company_type", "interaction", ["company_id", "type"])
    op.create_index("ix_contact_source_campaign", "contact", ["source", "campaign", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_contact_source_campaign", table_name="contact")
    op.drop_index("ix_interaction_company_type", table_name="interaction")
    op.drop_index("ix_interaction_contact_type", table_name="interaction")
    op.drop_index("ix_interaction_deal_occurred", table_name="interaction")
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index("ix_interaction_week", table_name="interaction")
    else:
        op.drop_index("ix_interaction_occurred_type", table_name="interaction")
