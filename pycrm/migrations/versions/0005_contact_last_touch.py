"""contacts remember when they were last touched (kept by triggers on interaction)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 00:10:00

``contact.last_touch_at`` is the newest ``interaction.occurred_at`` of the person, or null. It is
derived data, written only by the database: triggers on ``interaction`` keep it right whoever
writes (services, bulk loads, imports, merges, undo), so no Python writer can forget it. The ORM
model does not map it, so ChangeLog snapshots, undo and JSON backups never carry it.

Two indexes: ``ix_contact_touch`` (newest touch first, then name, and everything the due-touch
pass reads) serves ``contact list --sort recent`` and Today; ``ix_contact_birthday`` (birth
month and day) this week's birthdays.

Why: ``pycrm today`` and the Today screen rank everyone whose stay-in-touch cadence has run out.
Finding each candidate's last interaction was one index probe per candidate, ~0.3 s of the
command's time at 100,000 contacts (72,000 candidates); reading a column of the same rows costs a
tenth of that.

SQLite's ``contact_au`` trigger, which refreshes the person's search document, fired on an update
of any column; it now fires only for the columns that document holds (name, notes, title), so a
new interaction does not rewrite the search index.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The person's search document (0001's _CONTACT_DOC, frozen): rewritten on a change of the
# columns it reads.
_CONTACT_DOC = """
DELETE FROM search_index WHERE rowid = new.id * 4;
INSERT INTO search_index(rowid, name, emails, phones, tags, notes)
SELECT c.id * 4, c.display_name,
  (SELECT group_concat(e.email, ' ') FROM contact_email e WHERE e.contact_id = c.id),
  (SELECT group_concat(p.number || ' ' || coalesce(p.raw, ''), ' ')
     FROM contact_phone p WHERE p.contact_id = c.id),
  (SELECT group_concat(t.name, ' ') FROM contact_tag ct JOIN tag t ON t.id = ct.tag_id
     WHERE ct.contact_id = c.id),
  coalesce(c.notes, '') || ' ' || coalesce(c.title, '')
FROM contact c WHERE c.id = new.id;
"""
_SEARCH_ON = "WHEN (SELECT enabled FROM search_sync WHERE id = 1)"

_LAST_OF = "(SELECT max(i.occurred_at) FROM interaction i WHERE i.contact_id = {who})"

SQLITE_TRIGGERS = [
    # A new interaction can only move the date forward: no look-up needed.
    "CREATE TRIGGER interaction_touch_ai AFTER INSERT ON interaction "
    "WHEN new.contact_id IS NOT NULL BEGIN "
    "UPDATE contact SET last_touch_at = new.occurred_at WHERE id = new.contact_id "
    "AND (last_touch_at IS NULL OR last_touch_at < new.occurred_at); END",
    "CREATE TRIGGER interaction_touch_ad AFTER DELETE ON interaction "
    "WHEN old.contact_id IS NOT NULL BEGIN "
    f"UPDATE contact SET last_touch_at = {_LAST_OF.format(who='old.contact_id')} "
    "WHERE id = old.contact_id; END",
    "CREATE TRIGGER interaction_touch_au AFTER UPDATE OF contact_id, occurred_at ON interaction "
    "BEGIN "
    f"UPDATE contact SET last_touch_at = {_LAST_OF.format(who='contact.id')} "
    "WHERE id IN (old.contact_id, new.contact_id); END",
]

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION pycrm_interaction_touch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE contact SET last_touch_at = NEW.occurred_at
      WHERE id = NEW.contact_id
        AND (last_touch_at IS NULL OR last_touch_at < NEW.occurred_at);
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE contact SET last_touch_at =
        (SELECT max(i.occurred_at) FROM interaction i WHERE i.contact_id = OLD.contact_id)
      WHERE id = OLD.contact_id;
  ELSE
    UPDATE contact SET last_touch_at =
        (SELECT max(i.occurred_at) FROM interaction i WHERE i.contact_id = contact.id)
      WHERE id IN (OLD.contact_id, NEW.contact_id);
  END IF;
  RETURN NULL;
END $$
"""

PG_TRIGGER = (
    "CREATE TRIGGER interaction_touch AFTER INSERT OR DELETE OR UPDATE OF contact_id, occurred_at "
    "ON interaction FOR EACH ROW EXECUTE FUNCTION pycrm_interaction_touch()"
)


# Newest touch first, then name: ``contact list --sort recent`` (and the TUI's "go to contact"
# suggestions) read it in order and stop after a page instead of sorting everyone (~1.5 s at
# 100,000 contacts). It also holds every column the due-touch pass reads
# (pycrm.services.agenda.due_touch), which then never reads the wide contact rows (~17 ms
# through it against ~90 ms through the table). It must not start with ``archived``: without
# statistics SQLite's planner would then take it for every "not archived" query and sort the
# whole table for ``contact list`` (the trap 0003 removed ix_contact_archived for).
TOUCH_INDEX_REST = "display_name, archived, do_not_contact, cadence_days, created_at"
TOUCH_INDEX = {
    "sqlite": f"CREATE INDEX ix_contact_touch ON contact (last_touch_at DESC, {TOUCH_INDEX_REST})",
    "postgresql": (
        "CREATE INDEX ix_contact_touch ON contact "
        f"(last_touch_at DESC NULLS LAST, {TOUCH_INDEX_REST})"
    ),
}


def _create_indexes() -> None:
    op.execute(TOUCH_INDEX[op.get_bind().dialect.name])
    # This week's birthdays (agenda.birthdays) are a few hundred of 100,000 people: found through
    # this index in ~2 ms where the table scan took 40-130 ms.
    op.create_index("ix_contact_birthday", "contact", ["birth_month", "birth_day"])


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.add_column("contact", sa.Column("last_touch_at", sa.DateTime(timezone=True)))
    if postgres:
        op.execute(
            "UPDATE contact c SET last_touch_at = last.at FROM "
            "(SELECT contact_id, max(occurred_at) AS at FROM interaction "
            "WHERE contact_id IS NOT NULL GROUP BY contact_id) AS last "
            "WHERE c.id = last.contact_id"
        )
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
        _create_indexes()
        return
    op.execute("DROP TRIGGER contact_au")
    op.execute(
        f"CREATE TRIGGER contact_au AFTER UPDATE OF display_name, notes, title ON contact "
        f"{_SEARCH_ON} BEGIN {_CONTACT_DOC} END"
    )
    op.execute(
        "UPDATE contact SET last_touch_at = last.at FROM "
        "(SELECT contact_id, max(occurred_at) AS at FROM interaction "
        "WHERE contact_id IS NOT NULL GROUP BY contact_id) AS last "
        "WHERE contact.id = last.contact_id"
    )
    for ddl in SQLITE_TRIGGERS:
        op.execute(ddl)
    _create_indexes()


def downgrade() -> None:
    op.drop_index("ix_contact_birthday", table_name="contact")
    op.drop_index("ix_contact_touch", table_name="contact")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS interaction_touch ON interaction")
        op.execute("DROP FUNCTION IF EXISTS pycrm_interaction_touch()")
    else:
        for name in ("interaction_touch_ai", "interaction_touch_ad", "interaction_touch_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TRIGGER contact_au")
        op.execute(
            f"CREATE TRIGGER contact_au AFTER UPDATE ON contact {_SEARCH_ON} "
            f"BEGIN {_CONTACT_DOC} END"
        )
    op.drop_column("contact", "last_touch_at")
