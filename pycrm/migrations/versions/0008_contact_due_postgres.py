"""PostgreSQL: ix_contact_due, the index Today's due-touch pass reads per cadence

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 08:10:00

SQLite has had ``ix_contact_due`` since 0006. PostgreSQL ranked everyone due a touch in one pass
with a window count instead, ~290 ms at 100,000 contacts: most of `pycrm today` there. Both now
run the same per-cadence pass (pycrm.services.agenda._due_touch_by_cadence): per cadence, the
people due are one range of this partial index (reachable people only, ordered by cadence, then
last touch or creation, then name), counted and ranked without reading the wide contact rows.
Nothing changes on SQLite.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every column the pass reads is in the index, so PostgreSQL counts and ranks from it alone (an
# index-only scan; it does not match the coalesce() against the indexed expression for that, so
# the two columns are included too): ~12 -> ~4 ms per cadence at 100,000 contacts.
CONTACT_DUE = (
    "CREATE INDEX ix_contact_due ON contact (cadence_days, (coalesce(last_touch_at, created_at)), "
    "display_name) INCLUDE (id, last_touch_at, created_at, archived, do_not_contact) "
    "WHERE archived = false AND do_not_contact = false"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CONTACT_DUE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_contact_due")
