"""SQLite: the search index without its 2- and 3-letter prefix indexes

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 09:35:00

0001 created the FTS5 ``search_index`` with ``prefix = '2 3'``: extra indexes of every word's
first two and three letters, for prefix queries ("jo"*). Measured at 100,000 contacts (132,500
documents), they make the index 49.5 MB instead of 32.1 MB and inserting its documents 2.15 s
instead of 1.40 s: a tenth of an import's time. The search service (1,000 varied queries, 2-letter
prefixes among them) answered at the same p50 with or without them (2.6 against 2.5-2.8 ms), at
worst +0.7 ms for "jo": its passes read at most a few hundred matches, which FTS5 finds by
scanning the term range just as fast. The documents are kept: they are copied out, the table is
made again without the option, and they are copied back (~2 s at 100k contacts). PostgreSQL has
no such table.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = "name, emails, phones, tags, notes"
_TOKENIZE = "tokenize = 'unicode61 remove_diacritics 2'"


def _remake(options: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        f"CREATE TEMP TABLE search_documents AS SELECT rowid AS rid, {_COLUMNS} FROM search_index"
    )
    op.execute("DROP TABLE search_index")
    op.execute(f"CREATE VIRTUAL TABLE search_index USING fts5({_COLUMNS}, {options})")
    op.execute(
        f"INSERT INTO search_index(rowid, {_COLUMNS}) "
        f"SELECT rid, {_COLUMNS} FROM search_documents ORDER BY rid"
    )
    op.execute("DROP TABLE temp.search_documents")


def upgrade() -> None:
    _remake(_TOKENIZE)


def downgrade() -> None:
    _remake(f"{_TOKENIZE}, prefix = '2 3'")
