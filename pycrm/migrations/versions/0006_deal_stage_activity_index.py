"""open deals' idle dates and people read from one index

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 03:10:00

``ix_deal_stage_activity`` on deal (stage_id, stage_entered_at, updated_at, contact_id) holds
everything two of Today's passes read about the open deals, so neither reads the wide deal rows
(13,000 open deals at 100,000 contacts):

- the stale-deal rule (pycrm.services.agenda.stale_deal_query, shared by ``report pipeline``):
  each open deal's stage date and edit date, beside its newest linked interaction from
  ``ix_interaction_deal_occurred`` (on SQLite ~85 → ~40 ms);
- the due-touch pass's "people with an open deal" (stage → contact).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ["stage_id", "stage_entered_at", "updated_at", "contact_id"]


def upgrade() -> None:
    op.create_index("ix_deal_stage_activity", "deal", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_deal_stage_activity", table_name="deal")
