"""PostgreSQL search: word indexes on names, and the real cost of folding a row

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 21:20:00

Measured on the 100,000-contact demo database (docs/performance.md):

- Names get a GIN index of their words (``to_tsvector('simple', pycrm_fold(name))``), so search's
  first passes, "every word typed is a word of the name" and "…starts a word of the name", and
  the typo pass's near spellings are exact index look-ups. Through the trigram indexes the same
  questions re-read and re-fold every row that merely shares the letters: "jo" as a whole word
  re-checked 5,077 names to find 11 (50-90 ms); the word index answers in 0.1 ms.
- ``pycrm_fold()`` runs ``unaccent`` through a SQL function that cannot be inlined, a few µs a
  row, where the planner assumed the default 100 × ``cpu_operator_cost``. With that estimate a
  sequential scan of the companies looked cheaper than their trigram index, and search folded
  every company for a word that matched none. Declaring a realistic cost keeps the trigram
  indexes in use, with custom and generic (prepared) plans alike.

The word indexes are written through (``fastupdate = off``): with GIN's default pending list,
rows inserted since the last (auto)vacuum are compared with every word of every look-up, and
the typo pass's hundreds of near spellings took ~1 s per search for the minute after a 10,000-row
import. Writing through costs inserts a little (~0.2-1 s more per 10,000 contacts, measured
noisily on 2 cores); the trigram indexes of 0003 keep their pending lists.

Only indexes and a planner hint: nothing is rewritten (the three indexes build in ~2 s at
100,000 contacts). SQLite has FTS5 for all this: the revision changes nothing there.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name -> (table, expression). Each expression must match, character for character, the one
# pycrm.services.search queries (PG_WORDS; a test checks).
WORD_INDEXES = {
    "ix_contact_name_words": ("contact", "to_tsvector('simple', pycrm_fold(display_name))"),
    "ix_company_name_words": ("company", "to_tsvector('simple', pycrm_fold(name))"),
    "ix_deal_name_words": ("deal", "to_tsvector('simple', pycrm_fold(title))"),
}

# In units of cpu_operator_cost (0.0025): one call costs 2.5, a little more than reading a page,
# which is roughly what folding a long row measures against a cached page read.
FOLD_COST = 1000


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER FUNCTION pycrm_fold(text) COST {FOLD_COST}")
    for name, (table, expression) in WORD_INDEXES.items():
        op.execute(
            f"CREATE INDEX {name} ON {table} USING gin (({expression})) WITH (fastupdate = off)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in WORD_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute("ALTER FUNCTION pycrm_fold(text) COST 100")
