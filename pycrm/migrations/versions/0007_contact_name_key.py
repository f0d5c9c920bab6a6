"""contacts sort by their folded name (accents and case ignored): contact.name_key

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 06:10:00

Lists sorted by name put "Álvaro" and "Élodie" after "Zoe": SQLite (and a PostgreSQL database with
the C collation, the server default here) compare names code point by code point, and every
accented capital sorts after "z". ``contact.name_key`` holds the name folded as
pycrm.services.text.fold folds it (accents stripped, case folded, spaces squeezed), the key
companies already sort by (``company.name_key``); ``ix_contact_name_key`` (name_key, id) serves
the pages of ``contact list`` and the app's contact list in that order.

The key is written by pycrm on every write of a contact (the ORM, the bulk writers, undo and JSON
restores derive it from the name), as ``company.name_key`` is. Existing rows are filled here with a
frozen copy of that fold: a migration never imports live code.
"""

import re
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SPACES = re.compile(r"\s+")


def _fold(text: str) -> str:
    """pycrm.services.text.fold as of this revision."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.casefold()).strip()


def upgrade() -> None:
    op.add_column(
        "contact",
        sa.Column("name_key", sa.String(300), nullable=False, server_default=""),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, display_name FROM contact")).all()
    # One UPDATE … FROM (VALUES …) per 2,000 people: a statement per person took PostgreSQL
    # 36 s at 100,000 contacts. SQLite (3.33+) names the VALUES columns column1, column2.
    if bind.dialect.name == "postgresql":
        source = "(VALUES {rows}) AS v(id, name_key)"
        row = "(CAST(:i{n} AS integer), CAST(:k{n} AS text))"
        columns = "v.id", "v.name_key"
    else:
        source, row, columns = "(VALUES {rows}) AS v", "(:i{n}, :k{n})", ("v.column1", "v.column2")
    for start in range(0, len(rows), 2_000):
        chunk = rows[start : start + 2_000]
        values = ", ".join(row.format(n=n) for n in range(len(chunk)))
        params: dict[str, object] = {}
        for n, (cid, name) in enumerate(chunk):
            params[f"i{n}"], params[f"k{n}"] = cid, _fold(name or "")
        bind.execute(
            sa.text(
                f"UPDATE contact SET name_key = {columns[1]} FROM {source.format(rows=values)} "
                f"WHERE contact.id = {columns[0]}"
            ),
            params,
        )
    op.create_index("ix_contact_name_key", "contact", ["name_key", "id"])


def downgrade() -> None:
    op.drop_index("ix_contact_name_key", table_name="contact")
    op.drop_column("contact", "name_key")
