"""indexes for Today: open deals' idle dates and people, open follow-ups by due date

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 03:10:00

- ``ix_deal_stage_activity`` on deal (stage_id, stage_entered_at, updated_at, contact_id) holds
  everything two of Today's passes read about the open deals, so neither reads the wide deal
  rows (13,000 open deals at 100,000 contacts): the stale-deal rule
  (pycrm.services.agenda.stale_deal_query, shared by ``report pipeline``: each open deal's stage
  and edit dates beside its newest interaction from ``ix_interaction_deal_occurred``; SQLite
  ~85 → ~40 ms) and the due-touch pass's "people with an open deal".
- ``ix_followup_open_due``, partial (open follow-ups only), in the order Today lists them
  (due_at, priority DESC, id): the overdue and due-today counts and lists read a range of it
  (SQLite ~40 → ~1 ms for the four). It does not lead with ``done_at``: SQLite's planner (no
  statistics) would then prefer it to ix_followup_contact_id for one person's open follow-ups
  (``contact show``) and read all 18,000 of them; being partial, it is only taken when named
  (pycrm.services.views.open_followups_by_due) or, on PostgreSQL, by the planner's statistics.
- SQLite: ``ix_contact_due``, partial (people neither archived nor do-not-contact), ordered by
  cadence, then last touch (or creation), then name, and holding every column the due-touch
  pass reads (pycrm.services.agenda._due_touch_sqlite): per cadence, the people due are one
  range of it, counted and ranked without reading a contact row (~150 → ~50 ms at 100k
  contacts). Its expression and WHERE must match that query's text, or SQLite ignores it.
  PostgreSQL ranks everyone in one pass with a window count and does not need it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEAL_COLUMNS = ["stage_id", "stage_entered_at", "updated_at", "contact_id"]
OPEN_FOLLOWUP = "done_at IS NULL"
CONTACT_DUE = (
    "CREATE INDEX ix_contact_due ON contact (cadence_days, coalesce(last_touch_at, created_at), "
    "display_name, last_touch_at, created_at, archived, do_not_contact) "
    "WHERE archived = 0 AND do_not_contact = 0"
)


def upgrade() -> None:
    op.create_index("ix_deal_stage_activity", "deal", DEAL_COLUMNS)
    op.create_index(
        "ix_followup_open_due",
        "followup",
        ["due_at", sa.text("priority DESC"), "id"],
        sqlite_where=sa.text(OPEN_FOLLOWUP),
        postgresql_where=sa.text(OPEN_FOLLOWUP),
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute(CONTACT_DUE)


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_contact_due")
    op.drop_index("ix_followup_open_due", table_name="followup")
    op.drop_index("ix_deal_stage_activity", table_name="deal")
