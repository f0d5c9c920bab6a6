"""The writing half of a CSV import: ``apply_import`` writes a :class:`~pycrm.io.csv_import.Plan`
(companies, new contacts with their search documents and ChangeLog entries, updates) in the
caller's transaction, and the writing process of ``csv_write_ahead`` uses the same writer.

Kept apart from the planning half (``csv_import``), which must load without SQLAlchemy or the
models: a first import into a new contact book plans while its writing process loads them.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pycrm.io import csv_import
from pycrm.io.csv_import import (
    COMPANY_ID,
    FIELDS,
    Plan,
    Record,
    _from_record,
)
from pycrm.services import contacts as contact_service
from pycrm.services.text import fold

_FIXED_COLUMNS = ("id", "uuid", "created_at", "updated_at", "display_name", "company_id",
                  "do_not_contact", "archived")  # fmt: skip
_JSON_FIELDS = frozenset(("custom_fields", "extra"))
# The import binds '' for NULL in the columns that may be NULL: Python's sqlite3 binds None
# and bool ~5x slower than str and int (it looks for an adapter for them, raising and clearing
# an AttributeError each time): ~7 such values a row were ~8% of the writing.
_NULL = "NULLIF(?, '')"


class _Prepared(list[Record]):
    """One chunk of records with the rows the writer inserts for them, built ahead of time."""

    first: int  # the first contact's id; the others follow
    columns: tuple[str, ...]
    contact_rows: list[tuple[Any, ...]]
    email_rows: list[tuple[Any, ...]]
    phone_rows: list[tuple[Any, ...]]
    tags: list[tuple[int, str]]  # (contact id, folded tag name)
    tag_names: dict[str, str]  # folded → as written, every tag of the chunk
    # Each contact's search document but its tags: (rowid, name, emails, phones, notes).
    documents: list[tuple[Any, ...]]


class _ImportWriter(contact_service.BulkContactWriter):
    """The bulk contact writer with the import's leaner SQLite path.

    Contacts go to ``executemany`` as plain tuples (one column list per chunk: the fixed columns
    plus every field some row of the chunk sets), which SQLite binds a third faster than dicts;
    the creations are logged compactly, set-wise (``changelog.log_created_range``: no snapshot
    per contact, the state they were created in stays recoverable from the log), and each
    chunk's search documents are built from the rows it inserts, as the triggers would build
    them from the tables (``_index_and_log``; a test compares both).
    It takes the planner's records (``add(records)``), not ``NewContact`` objects.

    ``add_chunks`` builds the next chunk's rows in a second thread while SQLite builds this
    chunk's search documents and log entries (long C calls that release the GIL): a second
    core takes the Python half of the work.
    """

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self._tag_name_of: dict[int, str] = {}
        self._tag_rows: list[tuple[int, int]] = []
        self._written = _Prepared()
        # Set by ``_import_writer``: the indexes to build again before the block ends.
        self.dropped_indexes: _DroppedIndexes | None = None

    def _prepare(self, records: list[Record], first: int) -> _Prepared:
        """The chunk's rows, its contacts numbered from ``first`` (touches no database)."""
        chunk = _Prepared(records)
        present: set[str] = set()
        for row in records:
            present.update(row[FIELDS])
        fields = [k for k in _contact_field_columns() if k in present]
        encode = contact_service._JSON.encode
        now_text, next_uuid = self.now_text, self._uuids.__next__
        contact_rows: list[tuple[Any, ...]] = []
        email_rows: list[tuple[Any, ...]] = []
        phone_rows: list[tuple[Any, ...]] = []
        tags: list[tuple[int, str]] = []
        tag_names: dict[str, str] = {}
        folded: dict[str, str] = {}
        documents: list[tuple[Any, ...]] = []
        cid = first
        for name, values, emails, phones, row_tags, company_id, uuid in records:
            get = values.get
            # No None nor bool is bound (see _NULL): '' stands for NULL, 1 and 0 for flags.
            documents.append(
                (cid * 4, name, " ".join([e for e, _ in emails]) if emails else "",
                 " ".join([f"{n} {r or ''}" for n, r, _, _ in phones]) if phones else "",
                 f"{get('notes') or ''} {get('title') or ''}")
            )  # fmt: skip
            contact_rows.append(
                (cid, uuid or next_uuid(), now_text, now_text, name,
                 "" if company_id is None else company_id,
                 1 if get("do_not_contact") else 0, 1 if get("archived") else 0,
                 *[("" if v is None else encode(v) if k in _JSON_FIELDS else v)
                   for k in fields for v in (get(k),)])
            )  # fmt: skip
            for pos, (email, label) in enumerate(emails):
                email_rows.append((cid, email, email.lower(), label or "", pos))
            for pos, (number, raw, normalized, label) in enumerate(phones):
                phone_rows.append(
                    (cid, number, raw or "", 1 if normalized else 0, label or "", pos)
                )
            for t in row_tags:
                key = folded.get(t)
                if key is None:
                    folded[t] = key = fold(t)
                    tag_names.setdefault(key, t)
                tags.append((cid, key))
            cid += 1
        chunk.first, chunk.columns = first, (*_FIXED_COLUMNS, *fields)
        chunk.contact_rows, chunk.email_rows, chunk.phone_rows = (
            contact_rows,
            email_rows,
            phone_rows,
        )
        chunk.tags, chunk.tag_names, chunk.documents = tags, tag_names, documents
        return chunk

    def _next_id(self) -> int:
        if self.next_id is None:
            self.session.flush()
            self.next_id = (
                int(
                    self.session.connection()
                    .exec_driver_sql("SELECT coalesce(max(id), 0) FROM contact")
                    .scalar_one()
                )
                + 1
            )
        return self.next_id

    def _add_sqlite(self, rows: Sequence[Any]) -> list[int]:
        session = self.session
        session.flush()
        execute = session.connection().exec_driver_sql
        chunk = rows if isinstance(rows, _Prepared) else self._prepare(list(rows), self._next_id())
        if chunk.first != self._next_id():  # rows numbered elsewhere (``write_prepared``)
            raise RuntimeError(f"contact ids moved: {chunk.first} planned, {self._next_id()} next")
        # Tags are looked up (or created) here, in the writing thread, by their folded names.
        known = self._ensure_tag_ids(
            name for key, name in chunk.tag_names.items() if key not in self.tag_ids
        )
        tag_rows = [(cid, known[key]) for cid, key in chunk.tags]
        self._tag_rows = tag_rows
        names = ", ".join(f'"{c}"' for c in chunk.columns)
        nullable = _nullable_columns()
        marks = ", ".join(_NULL if c in nullable else "?" for c in chunk.columns)
        execute(f"INSERT INTO contact ({names}) VALUES ({marks})", chunk.contact_rows)
        contact_service.insert_contact_children(
            execute, chunk.email_rows, chunk.phone_rows, tag_rows
        )
        self.next_id = chunk.first + len(chunk.contact_rows)
        self._written = chunk
        if not isinstance(rows, _Prepared):
            self._index_and_log(chunk.first, self.next_id - 1)
        return list(range(chunk.first, self.next_id))

    def _index_and_log(self, low: int, high: int) -> None:
        """The search documents and ChangeLog entries of the contacts ``low..high`` (the chunk
        just written)."""
        from pycrm.services.changelog import log_created_range

        chunk = self._written
        assert chunk.first == low and chunk.first + len(chunk.contact_rows) - 1 == high
        execute = self.session.connection().exec_driver_sql
        # Tags by id, as the triggers' join over contact_tag's key gives them, with their
        # stored names (an existing tag keeps its spelling).
        names = self._tag_names(tag_id for _, tag_id in self._tag_rows)
        tags: dict[int, list[int]] = {}
        for cid, tag_id in self._tag_rows:
            tags.setdefault(cid, []).append(tag_id)
        execute(
            "INSERT INTO search_index(rowid, name, emails, phones, tags, notes) "
            f"VALUES (?, ?, {_NULL}, {_NULL}, {_NULL}, ?)",
            [
                (rowid, name, emails, phones,
                 " ".join([names[t] for t in sorted(ids)]) if (ids := tags.get(rowid // 4))
                 else "", notes)
                for rowid, name, emails, phones, notes in chunk.documents
            ],
        )  # fmt: skip
        log_created_range(self.session, "contact", low, high)

    def _tag_names(self, ids: Iterable[int]) -> dict[int, str]:
        """Stored name of each tag id (looked up once per tag)."""
        known = self._tag_name_of
        missing = sorted({i for i in ids if i not in known})
        if missing:
            rows = self.session.connection().exec_driver_sql(
                "SELECT id, name FROM tag WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(missing),),
            )
            known.update((tag_id, name) for tag_id, name in rows)
        return known

    def write_prepared(self, chunk: _Prepared) -> None:
        """Write a chunk from ``_prepare`` (its ids must be the next ones), with its search
        documents and log entries."""
        if chunk.contact_rows:
            ids = self._add_sqlite(chunk)
            self._index_and_log(ids[0], ids[-1])

    def add_chunks(self, chunks: Iterator[list[Record]]) -> None:
        """Write every chunk, each one's rows built while the previous one is indexed."""
        from concurrent.futures import ThreadPoolExecutor

        first = self._next_id()

        def prepare(first: int) -> _Prepared | None:
            records = next(chunks, None)
            return None if records is None else self._prepare(records, first)

        with ThreadPoolExecutor(1, thread_name_prefix="pycrm-import") as pool:
            future = pool.submit(prepare, first)
            while (chunk := future.result()) is not None:
                if not chunk:
                    future = pool.submit(prepare, first)
                    continue
                ids = self.add(chunk)
                first = ids[-1] + 1
                future = pool.submit(prepare, first)
                self._index_and_log(ids[0], ids[-1])


@lru_cache(maxsize=1)
def _nullable_columns() -> frozenset[str]:
    from pycrm import models as m

    return frozenset(c.name for c in m.Contact.__table__.columns if c.nullable)


@lru_cache(maxsize=1)
def _contact_field_columns() -> tuple[str, ...]:
    from pycrm import models as m

    return tuple(c.name for c in m.Contact.__table__.columns if c.name not in _FIXED_COLUMNS)


@contextmanager
def _import_writer(session: Session) -> Iterator[contact_service.BulkContactWriter]:
    """``contacts.bulk_contact_writer`` with the import's writer on SQLite (triggers dropped
    for the block, search documents built set-wise a chunk at a time)."""
    from pycrm.services import fts

    tables = ("contact", "contact_email", "contact_phone", "contact_tag")
    if session.get_bind().dialect.name != "sqlite":
        with (
            _indexes_built_after(session, tables),
            contact_service.bulk_contact_writer(session) as writer,
        ):
            writer.compact_log = True  # no snapshot per contact, as on SQLite
            yield writer
        return
    writer = _ImportWriter(session)
    with (
        fts.triggers_paused(session),
        fts.insert_triggers_dropped(session, tables),
        _indexes_built_after(session, tables) as writer.dropped_indexes,
    ):
        yield writer  # it builds the search documents of what it writes


@contextmanager
def _indexes_built_after(session: Session, tables: Sequence[str]) -> Iterator[_DroppedIndexes]:
    """Drop the secondary indexes of those of ``tables`` that are empty; build them at the end.

    Filling an empty table and then building each index in one sorted pass costs less than
    growing every index a row at a time, in random key order for most of them (100k contacts
    into contact alone: 3.3 s with its six indexes, 2.1 s without plus 0.7 s to build them). Only
    for empty tables: rebuilding the indexes of a large table would cost more than it saves.
    Nothing in the block reads through them (ids come from the primary keys). DDL is
    transactional in SQLite and PostgreSQL: other connections never see them missing, and when
    the block fails the caller's rollback brings them back (rebuilding here could mask the
    error). On PostgreSQL, where the trigram GIN indexes make each insert dearer (10k contacts:
    1.6 s with the indexes, 0.2 s without plus 0.8 s to build them), dropping an index locks
    its table until the import commits: readers of an empty table wait instead of seeing it
    empty. Indexes that back a constraint (primary keys, UNIQUE constraints) stay.

    The block may build some of them early (``build_one``): a writer with time to spare builds
    them while it waits for rows, and the rows that follow keep them current.
    """
    execute = session.connection().exec_driver_sql
    session.flush()
    sqlite = session.get_bind().dialect.name == "sqlite"
    saved: list[tuple[str, str]] = []
    for table in tables:
        if execute(f'SELECT 1 FROM "{table}" LIMIT 1').first() is not None:
            continue
        found: Iterable[Any]
        if sqlite:
            found = execute(
                "SELECT '\"' || name || '\"', sql FROM sqlite_master WHERE type = 'index' "
                "AND tbl_name = ? AND sql IS NOT NULL ORDER BY name",
                (table,),
            )
        else:
            found = session.execute(
                sa.text(
                    "SELECT x.indexrelid::regclass::text, pg_get_indexdef(x.indexrelid) "
                    "FROM pg_index x WHERE x.indrelid = CAST(:table AS regclass) AND NOT EXISTS "
                    "(SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) "
                    "ORDER BY 1"
                ),
                {"table": f'"{table}"'},
            )
        saved.extend((name, sql) for name, sql in found)
    for name, _sql in saved:
        execute(f"DROP INDEX {name}")
    dropped = _DroppedIndexes(session, saved)
    yield dropped
    while dropped.build_one():
        pass


class _DroppedIndexes:
    """The indexes ``_indexes_built_after`` dropped and has not built again yet."""

    def __init__(self, session: Session, saved: list[tuple[str, str]]) -> None:
        self._session = session
        self._left = list(saved)

    def build_one(self) -> bool:
        """Build the next one; False when none is left."""
        if not self._left:
            return False
        _name, sql = self._left.pop(0)
        self._session.flush()
        self._session.connection().exec_driver_sql(sql)
        return True


def apply_import(session: Session, plan: Plan, *, region: str = "US") -> dict[str, int]:
    """Write a plan in the current transaction (companies, new contacts, updates).

    The spooled contacts are streamed a chunk at a time, so memory stays flat in the file's size.
    When the plan was made with ``write_ahead`` and its new contacts are already written, this
    finishes and commits that transaction instead (``session`` itself then writes nothing and
    takes its batch id, ``session.info["batch_id"]``).
    """
    if plan._ahead is not None:
        try:
            return plan._ahead.apply(session, plan, region)
        finally:
            plan.close()
    with _import_page_cache(session):
        return _apply_import(session, plan, region)


IMPORT_CACHE_KIB = 16_384


@contextmanager
def _import_page_cache(session: Session, kib: int | None = None) -> Iterator[None]:
    """A 16 MiB SQLite page cache for the import's writing, the connection's own size after.

    The 64 MiB every connection gets (``db._install_sqlite_pragmas``) was the largest part of an
    import's peak memory and bought no speed: the import appends to its tables and indexes, and
    pages that leave the cache stay in the OS's. Measured on the writing of 100k rows: 8.6 s CPU
    at 64 MiB, 8.3-8.7 s at 16 MiB, peak 171 → 112 MB; at 1M rows 115 → 111 s, 198 → 141 MB.
    """
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    driver = session.connection().connection.driver_connection
    assert driver is not None
    previous = driver.execute("PRAGMA cache_size").fetchone()[0]
    driver.execute(f"PRAGMA cache_size = -{kib or IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        driver.execute(f"PRAGMA cache_size = {int(previous)}")


def _apply_import(session: Session, plan: Plan, region: str) -> dict[str, int]:
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        new_ids = create_companies(session, plan.new_companies)

        def creates() -> Iterator[list[Record]]:
            for chunk in plan._creates.chunks():
                for record in chunk:
                    key = record[FIELDS].pop("_company_key", None)
                    if key is not None:
                        record[COMPANY_ID] = new_ids.get(key)
                yield chunk

        with _import_writer(session) as writer:
            if isinstance(writer, _ImportWriter):
                writer.add_chunks(creates())
            else:
                for chunk in creates():
                    writer.add([_from_record(r) for r in chunk])
        for updates in plan._updates.chunks():
            apply_updates(session, updates, new_ids, region)
    finally:
        plan.close()
        if gc_was_enabled:
            gc.enable()
    return {
        "created": len(plan.create),
        "updated": len(plan.update),
        "skipped": len(plan.skipped),
        "rejected": len(plan.rejected),
    }


def create_companies(session: Session, names: Sequence[str]) -> dict[str, int]:
    """Create these companies (logged, indexed), a chunk at a time; folded name → new id."""
    from pycrm.services.changelog import bulk_insert

    # A chunk at a time: each company's row, snapshot and ChangeLog entry are built in Python
    # (~1 KB each while in flight), and a file may name as many companies as contacts.
    new_ids: dict[str, int] = {}
    for start in range(0, len(names), csv_import.CHUNK_ROWS):
        company_rows = [
            {"name": n, "name_key": fold(n)} for n in names[start : start + csv_import.CHUNK_ROWS]
        ]
        new_ids.update(
            zip(
                [r["name_key"] for r in company_rows],
                bulk_insert(session, "company", company_rows, compact=True),
                strict=True,
            )
        )
    return new_ids


def apply_updates(
    session: Session, updates: list[Any], new_ids: dict[str, int], region: str
) -> None:
    """Apply one spooled chunk of updates ``(existing id, record, extra)``; ``new_ids`` gives
    the id of each company created by the import (by folded name)."""
    for existing, record, _extra in updates:
        contact = _from_record(record)
        key = contact.fields.pop("_company_key", None)
        company_id = contact.company_id or (new_ids.get(key) if key else None)
        fields = {k: v for k, v in contact.fields.items() if v is not None}
        changes: dict[str, Any] = {"display_name": contact.display_name, **fields}
        if company_id is not None:
            changes["company_id"] = company_id
        contact_service.update_contact(
            session, existing,
            add_emails=[(e, label) for e, label in contact.emails],
            add_phones=[(p.raw, label) for p, label in contact.phones],
            add_tags=contact.tags, region=region, **changes,
        )  # fmt: skip
