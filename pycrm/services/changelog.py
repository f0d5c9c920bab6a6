"""The append-only ChangeLog: recording writes, per-record history, and reverting a batch.

A *record* is an aggregate: a row plus the child rows it owns (a contact's e-mails, phones and tags;
a deal's stage history; a meeting's attendees). Snapshots hold the whole aggregate as JSON, so
reverting needs nothing but the log.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pycrm import models as m
from pycrm.services.errors import Conflict, NotFound
from pycrm.services.text import fold


@dataclass(frozen=True)
class Child:
    key: str
    table: sa.Table
    fk: str


@dataclass(frozen=True)
class Aggregate:
    entity: str
    table: sa.Table
    children: tuple[Child, ...] = ()


def _t(model: Any) -> sa.Table:
    return model.__table__  # type: ignore[no-any-return]


@cache
def aggregates() -> dict[str, Aggregate]:
    """Every entity the ChangeLog knows, with the child rows it owns."""
    return {
        "tag": Aggregate("tag", _t(m.Tag)),
        "stage": Aggregate("stage", _t(m.Stage)),
        "company": Aggregate(
            "company", _t(m.Company), (Child("tags", _t(m.CompanyTag), "company_id"),)
        ),
        "contact": Aggregate(
            "contact",
            _t(m.Contact),
            (
                Child("emails", _t(m.ContactEmail), "contact_id"),
                Child("phones", _t(m.ContactPhone), "contact_id"),
                Child("tags", _t(m.ContactTag), "contact_id"),
            ),
        ),
        "deal": Aggregate(
            "deal", _t(m.Deal), (Child("stage_history", _t(m.DealStageHistory), "deal_id"),)
        ),
        "interaction": Aggregate("interaction", _t(m.Interaction)),
        "meeting": Aggregate(
            "meeting", _t(m.Meeting), (Child("attendees", _t(m.MeetingAttendee), "meeting_id"),)
        ),
        "followup": Aggregate("followup", _t(m.FollowUp)),
    }


@cache
def _column_names(table: sa.Table) -> tuple[str, ...]:
    return tuple(c.name for c in table.columns)


def row_to_json(table: sa.Table, row: Any) -> dict[str, Any]:
    """A row mapping as JSON-safe values (datetimes and dates as ISO text); NULLs are left out."""
    out = {}
    getter = row.get if isinstance(row, dict) else row.__getitem__
    for name in _column_names(table):
        value = getter(name)
        if value is not None:
            out[name] = value.isoformat() if isinstance(value, datetime | date) else value
    return out


def _decode(column: sa.Column[Any], value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column.type, m.UTCDateTime):
        return datetime.fromisoformat(value)
    if isinstance(column.type, sa.Date):
        return date.fromisoformat(value)
    return value


def json_to_row(table: sa.Table, data: dict[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`row_to_json`: every column, absent ones as NULL (unknown keys ignored).

    A contact's sort key is derived from its name, never taken from the data: snapshots and
    backups older than the key lack it."""
    row = {c.name: _decode(c, data.get(c.name)) for c in table.columns}
    return derive_keys(table, row)


def derive_keys(table: sa.Table, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with the columns derived from others set (a contact's ``name_key``)."""
    if table.name == "contact" and "name_key" in table.c and row.get("display_name") is not None:
        row["name_key"] = fold(row["display_name"])
    return row


def snapshot(session: Session, entity: str, record_id: int) -> dict[str, Any] | None:
    """The whole record as JSON, or None if it does not exist."""
    agg = aggregates()[entity]
    session.flush()
    row = (
        session.execute(sa.select(agg.table).where(agg.table.c.id == record_id)).mappings().first()
    )
    if row is None:
        return None
    data = row_to_json(agg.table, row)
    for child in agg.children:
        rows = session.execute(
            sa.select(child.table).where(child.table.c[child.fk] == record_id)
        ).mappings()
        data[child.key] = [row_to_json(child.table, r) for r in rows]
    return data


def _ensure_batch(session: Session) -> str:
    batch_id: str = session.info["batch_id"]
    if not session.info.get("batch_written"):
        session.execute(
            sa.insert(_t(m.ChangeBatch)).values(
                id=batch_id,
                at=m.utcnow(),
                label=session.info.get("batch_label", "")[:500],
                source=session.info.get("batch_source", "cli"),
                reverts=session.info.get("batch_reverts"),
            )
        )
        session.info["batch_written"] = True
    return batch_id


def log_change(
    session: Session,
    entity: str,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Append one change to the current batch (the session must come from ``Database.write``)."""
    if "batch_id" not in session.info:
        raise RuntimeError("writes must happen inside Database.write(label)")
    record = after or before
    assert record is not None
    batch_id = _ensure_batch(session)
    session.execute(
        sa.insert(_t(m.ChangeLog)).values(
            at=m.utcnow(),
            batch_id=batch_id,
            entity=entity,
            record_uuid=record["uuid"],
            record_id=record.get("id"),
            action=action,
            before=before,
            after=after,
        )
    )


def _json_value_sql(column: sa.Column[Any], ref: str) -> str:
    """SQLite expression giving the JSON value ``row_to_json`` would give for this stored column."""
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return f"json(CASE WHEN {ref} IS NULL THEN NULL WHEN {ref} THEN 'true' ELSE 'false' END)"
    if isinstance(kind, sa.JSON):
        return f"json({ref})"
    if isinstance(kind, m.UTCDateTime):
        # Stored as 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC; isoformat() drops zero microseconds.
        return (
            f"CASE WHEN {ref} IS NULL THEN NULL WHEN substr({ref}, 20) IN ('', '.000000') "
            f"THEN replace(substr({ref}, 1, 19), ' ', 'T') || '+00:00' "
            f"ELSE replace({ref}, ' ', 'T') || '+00:00' END"
        )
    return ref


@cache
def _snapshot_sql(entity: str, columns: tuple[str, ...]) -> str:
    """SQLite expression building the JSON snapshot of the row aliased ``r`` (children included),
    in the shape ``snapshot`` gives (a listed NULL column shows as ``null``)."""
    agg = aggregates()[entity]
    table = agg.table
    parts = []
    for name in columns:
        parts.append(f"'{name}', {_json_value_sql(table.c[name], f'r.{name}')}")
    for child in agg.children:
        fields = ", ".join(
            f"'{c.name}', {_json_value_sql(c, f'x.{c.name}')}" for c in child.table.columns
        )
        parts.append(
            f"'{child.key}', (SELECT json_group_array(json_object({fields})) "
            f"FROM {child.table.name} x WHERE x.{child.fk} = r.id)"
        )
    return f"json_object({', '.join(parts)})"


def _log_time() -> str:
    """Now, as the ChangeLog's ``at`` column stores it (for SQL written by hand)."""
    return m.utcnow().astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def log_created_range(session: Session, entity: str, low: int, high: int) -> None:
    """Log the creation of the just-inserted records with ids ``low..high``, set-based (SQLite).

    Bulk imports log each creation *compactly*: the entry names the record (entity, uuid, id)
    but its ``after`` is left NULL instead of holding a snapshot. The state a record was created
    in is never lost: every later write to it is logged with its whole ``before``, so that is
    the first later entry's ``before``, or the record itself while nothing changed it; readers
    of the log (``history``, ``revert_batch``) rebuild it from there (``created_state``).
    A snapshot per row was half the database (84 of 174 MB at 100k contacts) and ~2.4 s of an
    import's writing.
    """
    table = aggregates()[entity].table
    batch_id = _ensure_batch(session)
    session.connection().exec_driver_sql(
        'INSERT INTO change_log (at, batch_id, entity, record_uuid, record_id, action, "before", '
        f"\"after\") SELECT ?, ?, ?, r.uuid, r.id, 'create', NULL, NULL FROM {table.name} r "
        "WHERE r.id BETWEEN ? AND ? ORDER BY r.id",
        (_log_time(), batch_id, entity, low, high),
    )


def log_created_ids(session: Session, entity: str, ids: Sequence[int]) -> None:
    """:func:`log_created_range` on PostgreSQL, for the ids its bulk writer got back (not
    necessarily one range): compact entries built by the server from the inserted rows, instead
    of a snapshot per record built in Python and copied in (~1.2 s per 20,000 contacts)."""
    table = aggregates()[entity].table
    batch_id = _ensure_batch(session)
    at = m.utcnow()
    for start in range(0, len(ids), 10_000):
        session.execute(
            sa.text(
                "INSERT INTO change_log (at, batch_id, entity, record_uuid, record_id, action, "
                '"before", "after") SELECT :at, :batch, :entity, r.uuid, r.id, \'create\', NULL, '
                f"NULL FROM {table.name} r WHERE r.id = ANY(:ids) ORDER BY r.id"
            ).bindparams(sa.bindparam("at", type_=_t(m.ChangeLog).c.at.type)),
            {
                "at": at,
                "batch": batch_id,
                "entity": entity,
                "ids": list(ids[start : start + 10_000]),
            },
        )


def created_state(session: Session, entry: Any, later: Iterable[Any] = ()) -> dict[str, Any] | None:
    """The ``after`` of a logged creation: its snapshot, or for a compact entry (``after`` NULL,
    see ``log_created_range``) the ``before`` of the first of ``later`` entries (the record's
    entries after this one, oldest first) of the same entity, else the record as it is now
    (None when it no longer exists)."""
    if entry["after"] is not None:
        return entry["after"]  # type: ignore[no-any-return]
    for other in later:
        if other["entity"] == entry["entity"] and other["id"] > entry["id"]:
            return other["before"]  # type: ignore[no-any-return]
    return snapshot(session, entry["entity"], entry["record_id"])


def log_many(
    session: Session,
    entries: Iterable[tuple[str, str, dict[str, Any] | None, dict[str, Any] | None]],
) -> int:
    """Append many changes at once (bulk imports): ``(entity, action, before, after)`` tuples."""
    batch_id = _ensure_batch(session)
    now = m.utcnow()
    rows = [
        {
            "at": now,
            "batch_id": batch_id,
            "entity": entity,
            "record_uuid": (after or before or {})["uuid"],
            "record_id": (after or before or {}).get("id"),
            "action": action,
            "before": before,
            "after": after,
        }
        for entity, action, before, after in entries
    ]
    from pycrm.services.bulk import insert_rows

    insert_rows(session, _t(m.ChangeLog), rows)
    return len(rows)


class Tracker:
    """Snapshot a record before a change and log the change after it (``with Tracker(...)``).

    With ``stamp`` (the record's ORM object), its ``updated_at`` is set only when something
    else changed: an edit or re-import that changes nothing leaves no trace in the history.
    ``changed`` says afterwards whether anything was logged.
    """

    def __init__(self, session: Session, entity: str, record_id: int, stamp: Any = None) -> None:
        self.session = session
        self.entity = entity
        self.record_id = record_id
        self.stamp = stamp
        self.before: dict[str, Any] | None = None
        self.changed = False

    def __enter__(self) -> Tracker:
        self.before = snapshot(self.session, self.entity, self.record_id)
        if self.before is None:
            raise NotFound(self.entity, self.record_id)
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is not None:
            return
        after = snapshot(self.session, self.entity, self.record_id)
        if after == self.before:
            return
        self.changed = True
        if after is not None and self.stamp is not None:
            self.stamp.updated_at = m.utcnow()
            self.session.flush()
            after["updated_at"] = self.stamp.updated_at.isoformat()
        log_change(self.session, self.entity, "update" if after else "delete", self.before, after)


def log_created(session: Session, entity: str, record_id: int) -> dict[str, Any]:
    """Log the creation of a record that was just inserted; returns its snapshot."""
    after = snapshot(session, entity, record_id)
    assert after is not None
    log_change(session, entity, "create", None, after)
    return after


def delete_record(session: Session, entity: str, record_id: int) -> dict[str, Any]:
    """Delete one record and its owned children, logging the whole snapshot."""
    agg = aggregates()[entity]
    before = snapshot(session, entity, record_id)
    if before is None:
        raise NotFound(entity, record_id)
    for child in agg.children:
        session.execute(sa.delete(child.table).where(child.table.c[child.fk] == record_id))
    session.execute(sa.delete(agg.table).where(agg.table.c.id == record_id))
    log_change(session, entity, "delete", before, None)
    return before


def _restore(session: Session, entity: str, data: dict[str, Any]) -> int:
    """Make the record look exactly like ``data`` (insert or overwrite, children included);
    returns its id.

    SQLite gives a new row the highest id plus one, so deleting the newest record frees its id
    for the next one. A deleted record whose id another record holds now comes back under a new
    id instead of overwriting that one, and child rows whose ids are taken get new ids.
    """
    agg = aggregates()[entity]
    record_id = data["id"]
    values = json_to_row(agg.table, data)
    if "uuid" in agg.table.c:
        holder = session.execute(
            sa.select(agg.table.c.uuid).where(agg.table.c.id == record_id)
        ).first()
        mine = holder is not None and holder[0] == data.get("uuid")
    else:
        holder = session.execute(
            sa.select(agg.table.c.id).where(agg.table.c.id == record_id)
        ).first()
        mine = holder is not None
    if mine:
        session.execute(sa.update(agg.table).where(agg.table.c.id == record_id).values(values))
    elif holder is None:
        session.execute(sa.insert(agg.table).values(values))
    else:
        values.pop("id")
        inserted = session.execute(sa.insert(agg.table).values(values)).inserted_primary_key
        assert inserted is not None
        record_id = int(inserted[0])
    for child in agg.children:
        session.execute(sa.delete(child.table).where(child.table.c[child.fk] == record_id))
        rows = [
            {**json_to_row(child.table, r), child.fk: record_id} for r in data.get(child.key, [])
        ]
        if "id" in child.table.c:
            wanted = [r["id"] for r in rows if r.get("id") is not None]
            taken = set(
                session.execute(
                    sa.select(child.table.c.id).where(child.table.c.id.in_(wanted))
                ).scalars()
            ) if wanted else set()  # fmt: skip
            for r in rows:
                if r.get("id") in taken:
                    r["id"] = None
        # Bulk writers' snapshots may leave child ids out: the database assigns new ones
        # (an explicit NULL id is refused by PostgreSQL).
        with_ids = [r for r in rows if r.get("id", 0) is not None]
        without_ids = [
            {k: v for k, v in r.items() if k != "id"} for r in rows if r.get("id", 0) is None
        ]
        for group in (with_ids, without_ids):
            if group:
                session.execute(sa.insert(child.table), group)
    return int(record_id)


def _remap_references(
    entity: str, data: dict[str, Any], moved: dict[str, dict[int, int]]
) -> dict[str, Any]:
    """``data`` with references to records that came back under new ids (``moved``: entity →
    old id → new id) pointing at the new ids, in its own columns and its child rows."""
    if not moved:
        return data
    by_table = {agg.table.name: name for name, agg in aggregates().items()}
    agg = aggregates()[entity]

    def fix(table: sa.Table, row: dict[str, Any]) -> dict[str, Any]:
        out = dict(row)
        for fk in table.foreign_keys:
            target = moved.get(by_table.get(fk.column.table.name, ""), {})
            if out.get(fk.parent.name) in target:
                out[fk.parent.name] = target[out[fk.parent.name]]
        return out

    fixed = fix(agg.table, data)
    for child in agg.children:
        if child.key in fixed:
            fixed[child.key] = [fix(child.table, r) for r in fixed[child.key]]
    return fixed


class _GoneRecords:
    """Which records a batch's snapshots point at are gone since: deleted, or their id now held
    by a record created after the batch (SQLite reuses the highest id; ``contact forget`` erases
    a person's log entries). Restoring such a link would fail on the foreign key, or silently
    tie the record to a stranger."""

    def __init__(
        self, session: Session, last_entry_id: int, moved: dict[str, dict[int, int]]
    ) -> None:
        self.session = session
        self.last_entry_id = last_entry_id
        self.moved = moved  # where this undo put records back: present, whatever their age
        self.by_table = {agg.table.name: name for name, agg in aggregates().items()}
        self.present: set[tuple[str, int]] = set()  # the undo may bring back the others

    def is_gone(self, entity: str, record_id: int) -> bool:
        key = (entity, record_id)
        if key in self.present or record_id in self.moved.get(entity, {}).values():
            return False
        table = aggregates()[entity].table
        holder = self.session.execute(
            sa.select(table.c.uuid).where(table.c.id == record_id)
        ).scalar()
        if holder is None:
            return True
        c = _t(m.ChangeLog)
        first = self.session.execute(
            sa.select(sa.func.min(c.c.id)).where(c.c.record_uuid == holder)
        ).scalar()
        if first is not None and first > self.last_entry_id:
            return True
        self.present.add(key)
        return False

    def _target(self, fk: sa.ForeignKey, row: dict[str, Any]) -> str | None:
        """The entity the foreign key points at when that record is gone, else None."""
        entity = self.by_table.get(fk.column.table.name)
        value = row.get(fk.parent.name)
        if entity is None or value is None or not self.is_gone(entity, int(value)):
            return None
        return entity

    def unlinked(self, entity: str, data: dict[str, Any]) -> dict[str, Any]:
        """``data`` with links to gone records dropped as the database drops them on delete
        (SET NULL: the link is cleared; an owned row such as an attendance goes). Raises
        Conflict when the record itself cannot exist without the gone one."""
        agg = aggregates()[entity]
        out = dict(data)
        for fk in agg.table.foreign_keys:
            target = self._target(fk, out)
            if target is None:
                continue
            if fk.ondelete != "SET NULL":
                raise Conflict(
                    f"cannot bring back {entity} {out.get('uuid', '')[:8]}: the {target} it "
                    "belongs to was deleted later"
                )
            out[fk.parent.name] = None
        for child in agg.children:
            rows = []
            for row in out.get(child.key, []):
                row = dict(row)
                keep = True
                for fk in child.table.foreign_keys:
                    if fk.parent.name == child.fk or self._target(fk, row) is None:
                        continue
                    if fk.ondelete == "SET NULL":
                        row[fk.parent.name] = None
                    else:
                        keep = False
                if keep:
                    rows.append(row)
            if child.key in out:
                out[child.key] = rows
        return out


@dataclass(frozen=True)
class BatchInfo:
    """One batch of changes as listed by ``pycrm undo --list``."""

    id: str
    at: datetime
    label: str
    source: str
    changes: int
    reverted_at: datetime | None
    reverts: str | None


def list_batches(
    session: Session, limit: int = 20, *, include_reverted: bool = True
) -> list[BatchInfo]:
    """Most recent batches first, with how many records each changed."""
    b, c = _t(m.ChangeBatch), _t(m.ChangeLog)
    count = sa.select(sa.func.count()).where(c.c.batch_id == b.c.id).scalar_subquery()
    query = sa.select(b, count.label("changes")).order_by(b.c.at.desc(), b.c.id.desc()).limit(limit)
    if not include_reverted:
        query = query.where(b.c.reverted_at.is_(None))
    out = []
    for row in session.execute(query).mappings():
        out.append(
            BatchInfo(
                id=row["id"],
                at=row["at"],
                label=row["label"],
                source=row["source"],
                changes=row["changes"],
                reverted_at=row["reverted_at"],
                reverts=row["reverts"],
            )
        )
    return out


def get_batch(session: Session, batch_ref: str) -> BatchInfo:
    """A batch by id or unique id prefix."""
    b = _t(m.ChangeBatch)
    rows = session.execute(
        sa.select(b.c.id).where(b.c.id.like(f"{_like_escape(batch_ref)}%", escape="\\")).limit(2)
    ).all()
    if not rows:
        raise NotFound("batch", batch_ref)
    if len(rows) > 1:
        raise Conflict(f"batch {batch_ref!r} is ambiguous; give more characters")
    for info in list_batches(session, limit=1_000_000):
        if info.id == rows[0][0]:
            return info
    raise NotFound("batch", batch_ref)  # pragma: no cover


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def last_batch(session: Session, *, source: str | None = None) -> BatchInfo | None:
    """The most recent batch that has not been reverted (and is not itself an undo)."""
    for info in list_batches(session, limit=50, include_reverted=False):
        if (
            info.reverts is None
            and info.source != "system"
            and info.changes  # emptied by `contact forget`: nothing left to undo
            and (source is None or info.source == source)
        ):
            return info
    return None


def batch_conflicts(session: Session, batch_id: str) -> list[str]:
    """Descriptions of later, still-live changes to the records this batch touched."""
    c, b = _t(m.ChangeLog), _t(m.ChangeBatch)
    entries = session.execute(sa.select(c).where(c.c.batch_id == batch_id)).mappings().all()
    if not entries:
        return []
    last_id = max(e["id"] for e in entries)
    uuids = {e["record_uuid"] for e in entries}
    later = session.execute(
        sa.select(c.c.entity, c.c.record_uuid, b.c.label, b.c.at)
        .join(b, b.c.id == c.c.batch_id)
        .where(c.c.id > last_id, c.c.batch_id != batch_id, b.c.reverted_at.is_(None))
        .where(b.c.reverts.is_(None) | (b.c.reverts != batch_id))
        .where(c.c.record_uuid.in_(uuids) if len(uuids) < 900 else sa.true())
    ).all()
    problems = [
        f"{entity} {uuid[:8]} was changed later by '{label}' ({at:%Y-%m-%d %H:%M})"
        for entity, uuid, label, at in later
        if uuid in uuids
    ]
    return problems + _later_references(session, entries, uuids)


def _later_references(session: Session, entries: Any, uuids: set[str]) -> list[str]:
    """Records outside the batch that point at records the batch created (undo would orphan them)."""
    created: dict[str, list[int]] = {}
    for e in entries:
        if e["action"] == "create":
            created.setdefault(e["entity"], []).append(_created_id(e))
    problems: list[str] = []
    for entity, ids in created.items():
        if entity == "tag":
            continue  # a tag others use now is kept by the undo (``_delete_created``)
        target = aggregates()[entity].table
        for other in aggregates().values():
            if "uuid" not in other.table.c:
                continue
            # The other record's own columns, and the rows it owns (a meeting's attendees):
            # deleting the created record would silently change it.
            links: list[tuple[sa.Column[Any], sa.Column[Any]]] = [
                (fk.parent, other.table.c.id)
                for fk in other.table.foreign_keys
                if fk.column.table is target
            ]
            links += [
                (fk.parent, child.table.c[child.fk])
                for child in other.children
                for fk in child.table.foreign_keys
                if fk.column.table is target and fk.parent.name != child.fk
            ]
            for column, owner in links:
                for start in range(0, len(ids), 500):
                    query = sa.select(other.table.c.uuid).where(
                        other.table.c.id.in_(
                            sa.select(owner).where(column.in_(ids[start : start + 500]))
                        )
                    )
                    outside = [u for u in session.execute(query).scalars() if u not in uuids]
                    if outside:
                        problems.append(
                            f"{len(outside)} later {other.entity} record(s) refer to {entity}s "
                            "this batch created"
                        )
                        break
    return problems


def revert_batch(session: Session, batch_id: str) -> int:
    """Undo every change of one batch, newest first; the undo is itself logged as a new batch.
    Returns how many records it deleted or restored.

    Raises Conflict (and changes nothing) when later batches touched the same records.
    """
    b, c = _t(m.ChangeBatch), _t(m.ChangeLog)
    batch = session.execute(sa.select(b).where(b.c.id == batch_id)).mappings().first()
    if batch is None:
        raise NotFound("batch", batch_id)
    if batch["reverted_at"] is not None:
        raise Conflict(f"batch {batch_id[:8]} ('{batch['label']}') was already undone")
    problems = batch_conflicts(session, batch_id)
    if problems:
        raise Conflict(
            f"cannot undo '{batch['label']}': {problems[0]}"
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
        )
    if session.execute(
        sa.select(c.c.id).where(c.c.batch_id == batch_id, c.c.action == "forget").limit(1)
    ).first():
        raise Conflict("a forgotten person cannot be brought back: their data was erased")
    session.info["batch_reverts"] = batch_id
    entries = (
        session.execute(sa.select(c).where(c.c.batch_id == batch_id).order_by(c.c.id.desc()))
        .mappings()
        .all()
    )
    if not entries:
        # `contact forget` empties batches: it erases the person's entries everywhere.
        raise Conflict(
            f"nothing to undo in '{batch['label']}': no change of it is left "
            "(a forgotten person's changes are erased)"
        )
    run: list[dict[str, Any]] = []  # consecutive creations of one entity, undone together
    changed = 0  # records deleted or restored (a kept tag or a re-made one is neither)
    moved: dict[str, dict[int, int]] = {}  # records brought back under new ids
    gone = _GoneRecords(session, max(e["id"] for e in entries), moved) if entries else None
    for entry in entries:
        entity, before = entry["entity"], entry["before"]
        agg = aggregates()[entity]
        if entry["action"] == "create":
            if run and run[0]["entity"] != entity:
                changed += _delete_created(session, run)
                run = []
            run.append(entry)
            continue
        if run:
            changed += _delete_created(session, run)
            run = []
        data = _remap_references(entity, before, moved)
        assert gone is not None
        data = gone.unlinked(entity, data)
        if entity == "tag":
            same_name = _tag_named_like(session, data)
            if same_name is not None:
                # The tag was made again since (a new one, same name): the records coming back
                # carry that one; a second tag of the name would break its uniqueness.
                moved.setdefault(entity, {})[data["id"]] = same_name
                continue
        current = snapshot(session, entity, data["id"])
        if current is not None and current.get("uuid") != data.get("uuid"):
            current = None  # that id is another record's now: this one comes back beside it
        restored_id = _restore(session, entity, data)
        if restored_id != data["id"]:
            moved.setdefault(entity, {})[data["id"]] = restored_id
        restored = snapshot(session, entity, restored_id)
        log_change(session, agg.entity, "update" if current else "create", current, restored)
        changed += 1
    if run:
        changed += _delete_created(session, run)
    session.execute(sa.update(b).where(b.c.id == batch_id).values(reverted_at=m.utcnow()))
    return changed


def _tag_named_like(session: Session, data: dict[str, Any]) -> int | None:
    """The id of another tag (not ``data``'s uuid) with the same name key, if there is one."""
    tag = _t(m.Tag)
    found = session.execute(
        sa.select(tag.c.id).where(tag.c.name_key == data["name_key"], tag.c.uuid != data["uuid"])
    ).scalar()
    return None if found is None else int(found)


def _created_id(entry: Any) -> int:
    after = entry["after"]
    return int(after["id"] if after is not None else entry["record_id"])


def _delete_created(session: Session, entries: list[Any]) -> int:
    """Delete records a batch created, in chunks (an import of 100k rows reverts in seconds).

    The conflict check has already shown nothing changed them since, so each record is still
    exactly its logged ``after`` snapshot, which becomes the ``before`` of the logged deletion.
    A compact entry (``log_created_range``) has no snapshot: the record's, taken just before it
    is deleted, is logged instead (on SQLite built by SQLite, set-wise).
    """
    from pycrm.services import fts

    agg = aggregates()[entries[0]["entity"]]
    ids = [_created_id(e) for e in entries]
    if agg.entity == "tag":
        # A tag the batch created that other people or companies carry by now stays: deleting
        # it would silently strip it from them (the link rows cascade, unlogged).
        used = set(
            session.scalars(
                sa.select(_t(m.ContactTag).c.tag_id).union(sa.select(_t(m.CompanyTag).c.tag_id))
            )
        )
        entries = [e for e in entries if _created_id(e) not in used]
        ids = [i for i in ids if i not in used]
        if not ids:
            return 0
    compact = {_created_id(e) for e in entries if e["after"] is None}
    sqlite = session.get_bind().dialect.name == "sqlite"
    existing: set[int] = set()
    with fts.triggers_paused(session):
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            existing.update(
                session.scalars(sa.select(agg.table.c.id).where(agg.table.c.id.in_(chunk)))
            )
            unlogged = [i for i in chunk if i in compact and i in existing]
            if unlogged and sqlite:
                _log_deleted_set(session, agg.entity, unlogged)
            elif unlogged:
                log_many(
                    session,
                    [
                        (agg.entity, "delete", snapshot(session, agg.entity, i), None)
                        for i in unlogged
                    ],
                )
            for child in agg.children:
                session.execute(sa.delete(child.table).where(child.table.c[child.fk].in_(chunk)))
            session.execute(sa.delete(agg.table).where(agg.table.c.id.in_(chunk)))
    log_many(
        session,
        [
            (agg.entity, "delete", e["after"], None)
            for e in entries
            if e["after"] is not None and e["after"]["id"] in existing
        ],
    )
    return len(existing)


def _log_deleted_set(session: Session, entity: str, ids: list[int]) -> None:
    """Log the deletion of these records (about to be deleted) with their whole snapshots as
    ``before``, built by SQLite from the stored rows (SQLite only)."""
    table = aggregates()[entity].table
    columns = tuple(c.name for c in table.columns)
    marks = ", ".join("?" for _ in ids)
    session.connection().exec_driver_sql(
        'INSERT INTO change_log (at, batch_id, entity, record_uuid, record_id, action, "before", '
        f"\"after\") SELECT ?, ?, ?, r.uuid, r.id, 'delete', {_snapshot_sql(entity, columns)}, "
        f"NULL FROM {table.name} r WHERE r.id IN ({marks}) ORDER BY r.id",
        (_log_time(), _ensure_batch(session), entity, *ids),
    )


@dataclass(frozen=True)
class HistoryEntry:
    """One change to one record: when, what kind, and the fields that changed."""

    at: datetime
    action: str
    batch_id: str
    batch_label: str
    changes: dict[str, tuple[Any, Any]]


def _diff(
    before: dict[str, Any] | None, after: dict[str, Any] | None
) -> dict[str, tuple[Any, Any]]:
    before, after = before or {}, after or {}
    # name_key is the name folded (contacts, companies, tags): it changes with the name.
    skip = {"updated_at", "created_at", "id", "name_key"}
    keys = [k for k in {**before, **after} if k not in skip]
    return {k: (before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)}


def history(session: Session, record_uuid: str) -> list[HistoryEntry]:
    """Every logged change to one record, oldest first."""
    c, b = _t(m.ChangeLog), _t(m.ChangeBatch)
    rows = (
        session.execute(
            sa.select(c, b.c.label)
            .join(b, b.c.id == c.c.batch_id)
            .where(c.c.record_uuid == record_uuid)
            .order_by(c.c.id)
        )
        .mappings()
        .all()
    )
    return [
        HistoryEntry(
            at=r["at"],
            action=r["action"],
            batch_id=r["batch_id"],
            batch_label=r["label"],
            changes=_diff(
                r["before"],
                created_state(session, r, rows[i + 1 :]) if r["action"] == "create" else r["after"],
            ),
        )
        for i, r in enumerate(rows)
    ]


def _full_row(table: sa.Table, values: dict[str, Any], now: datetime) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for column in table.columns:
        if column.name == "id" and "id" not in values:
            continue
        if column.name in values:
            row[column.name] = values[column.name]
        elif column.name == "uuid":
            row["uuid"] = m.new_uuid()
        elif column.name in ("created_at", "updated_at"):
            row[column.name] = now
        elif column.default is not None and getattr(column.default, "is_scalar", False):
            row[column.name] = column.default.arg  # type: ignore[attr-defined]
        else:
            row[column.name] = None
    return derive_keys(table, row)


def bulk_insert(
    session: Session,
    entity: str,
    rows: list[dict[str, Any]],
    children: dict[str, list[list[dict[str, Any]]]] | None = None,
    *,
    compact: bool = False,
) -> list[int]:
    """Insert many already-validated records with Core executemany and log each creation.

    ``children`` maps a child key (e.g. ``"stage_history"``) to one list of child rows per record;
    the foreign key to the parent is filled in. Used by imports and demo data, where per-row ORM
    work would dominate. ``compact``: log the creations without snapshots, as ``import csv`` logs
    its contacts (``log_created_range``), when no children are given.
    """
    if not rows:
        return []
    from pycrm.services import fts

    with fts.triggers_paused(session):
        ids = _bulk_insert(session, entity, rows, children, compact=compact)
    fts.refresh(session, entity, ids)
    return ids


def _bulk_insert(
    session: Session,
    entity: str,
    rows: list[dict[str, Any]],
    children: dict[str, list[list[dict[str, Any]]]] | None,
    *,
    compact: bool = False,
) -> list[int]:
    agg = aggregates()[entity]
    now = m.utcnow()
    full = [_full_row(agg.table, r, now) for r in rows]
    from pycrm.services.bulk import insert_rows

    ids = insert_rows(session, agg.table, full, want_ids=True)
    if compact and not children and ids:
        # No snapshot, JSON or entry built in Python per record (~40 us each): 5,000 companies
        # of a 100k-row import, 0.5 -> 0.2 s.
        if session.get_bind().dialect.name == "sqlite":
            log_created_range(session, entity, ids[0], ids[-1])  # SQLite's ids follow on
        else:
            log_created_ids(session, entity, ids)
        return ids
    snaps = [row_to_json(agg.table, {**r, "id": i}) for r, i in zip(full, ids, strict=True)]
    for child in agg.children:
        per_record = (children or {}).get(child.key) or [[] for _ in rows]
        child_rows = []
        for snap, rid, lst in zip(snaps, ids, per_record, strict=True):
            filled = [_full_row(child.table, {**c, child.fk: rid}, now) for c in lst]
            child_rows.extend(filled)
            snap[child.key] = [row_to_json(child.table, {"id": None, **c}) for c in filled]
        insert_rows(session, child.table, child_rows)
    log_many(session, [(entity, "create", None, s) for s in snaps])
    return ids
