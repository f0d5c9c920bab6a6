"""Lossless JSON backup: every record of every entity, as the ChangeLog snapshots them.

Format (``pycrm-backup``, version 1)::

    {"format": "pycrm-backup", "version": 1, "schema": "0001", "exported_at": "…",
     "stages": [...], "tags": [...], "companies": [...], "contacts": [...], "deals": [...],
     "interactions": [...], "meetings": [...], "followups": [...]}

Each record is the whole aggregate (columns plus owned rows such as a contact's e-mails, phones
and tag links, a deal's stage history, a meeting's attendees), datetimes as ISO-8601 in UTC.
Import matches records by UUID: into an empty database it recreates the same data (ids included),
and importing the same file again changes nothing.

Each record is written on a line of its own as compact JSON with sorted keys. On SQLite, SQLite
spells the records' text itself (:func:`_sqlite_texts`), byte for byte what Python writes for the
snapshot (tests/io/test_export_streaming.py checks it), at about twice the speed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pycrm import models as m
from pycrm.services.changelog import aggregates, json_to_row, log_change, snapshot

FORMAT = "pycrm-backup"
VERSION = 1
# Order matters: parents before the records that point at them.
SECTIONS: list[tuple[str, str]] = [
    ("stages", "stage"),
    ("tags", "tag"),
    ("companies", "company"),
    ("contacts", "contact"),
    ("deals", "deal"),
    ("interactions", "interaction"),
    ("meetings", "meeting"),
    ("followups", "followup"),
]
WHAT = {section: entity for section, entity in SECTIONS}


class BackupError(ValueError):
    """A file that is not a pycrm JSON backup, or a record that cannot be restored."""


def _is_time(column: sa.Column[Any]) -> bool:
    kind = column.type
    if isinstance(kind, sa.types.TypeDecorator):
        kind = kind.impl_instance
    try:
        return issubclass(kind.python_type, date)  # datetime is a date too
    except NotImplementedError:
        return False


_SQLITE_UTC = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?$")


def _iso(value: Any) -> str:
    """A datetime or date as ISO text; SQLite's stored UTC text is rewritten without parsing.

    ``2026-11-20 13:00:00.000000`` gives ``2026-11-20T13:00:00+00:00`` — what the aware
    datetime's ``isoformat()`` gives — and anything else goes through ``datetime``.
    """
    if isinstance(value, str):
        if _SQLITE_UTC.match(value):
            frac = value[19:]
            return f"{value[:10]}T{value[11:19]}{'' if frac in ('', '.000000') else frac}+00:00"
        parsed = datetime.fromisoformat(value)
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    return str(value.isoformat())


def _columns(table: sa.Table, raw_utc: bool) -> list[Any]:
    """The table's columns; on SQLite the UTC datetimes come back as their stored text."""
    if not raw_utc:
        return list(table.columns)
    return [
        sa.type_coerce(c, sa.String).label(c.name) if isinstance(c.type, m.UTCDateTime) else c
        for c in table.columns
    ]


def _converter(table: sa.Table) -> Any:
    """Row tuple → JSON-safe dict, as ``row_to_json`` gives (NULLs left out, ISO datetimes)."""
    names = tuple(c.name for c in table.columns)
    timed = tuple(c.name for c in table.columns if _is_time(c))

    def convert(row: Any) -> dict[str, Any]:
        out = {n: v for n, v in zip(names, row, strict=True) if v is not None}
        for name in timed:
            value = out.get(name)
            if value is not None:
                out[name] = _iso(value)
        return out

    return convert


def iter_records(
    session: Session, entity: str, batch: int = 2000, *, after: int = 0
) -> Iterator[dict[str, Any]]:
    """Every record of one entity (with an id above ``after``) as a snapshot, streamed in id
    order.

    Keyset batches of plain row tuples; each batch's child rows are fetched by parent-id range.
    """
    agg = aggregates()[entity]
    raw_utc = session.get_bind().dialect.name == "sqlite"
    convert = _converter(agg.table)
    kids = [(child, _converter(child.table), list(child.table.columns).index(child.table.c[child.fk]))
            for child in agg.children]  # fmt: skip
    query = sa.select(*_columns(agg.table, raw_utc)).order_by(agg.table.c.id).limit(batch)
    last = after
    while True:
        rows = session.execute(query.where(agg.table.c.id > last)).all()
        if not rows:
            return
        lo, hi = rows[0].id, rows[-1].id
        children: list[tuple[str, dict[int, list[dict[str, Any]]]]] = []
        for child, child_convert, fk_index in kids:
            per: dict[int, list[dict[str, Any]]] = {}
            for c in session.execute(
                sa.select(*_columns(child.table, raw_utc))
                .where(child.table.c[child.fk].between(lo, hi))
                .order_by(*child.table.primary_key.columns)  # stable order on every backend
            ).all():
                per.setdefault(c[fk_index], []).append(child_convert(c))
            children.append((child.key, per))
        for r in rows:
            data = convert(r)
            for key, per in children:
                data[key] = per.get(r.id, [])
            yield data
        last = hi


def write_backup(
    session: Session, out: IO[str], *, what: list[str] | None = None
) -> dict[str, int]:
    """Stream the backup as JSON to ``out``; returns how many records of each kind were written.

    One record a line, compact, keys sorted. On SQLite each record's JSON text is built by
    SQLite itself (:func:`_sqlite_texts`): ~2× faster than converting and encoding the rows
    in Python, which remains the way on PostgreSQL and for any record SQLite cannot spell the
    same way (a stored time in an unexpected form).
    """
    from pycrm.db import SCHEMA_HEAD

    sections = [s for s in SECTIONS if what is None or s[0] in what]
    counts: dict[str, int] = {}
    header = {
        "format": FORMAT,
        "version": VERSION,
        "schema": SCHEMA_HEAD,
        "exported_at": datetime.now(UTC).isoformat(),
    }
    out.write(json.dumps(header)[:-1])  # the sections follow inside the same object
    sqlite = session.get_bind().dialect.name == "sqlite"
    for section, entity in sections:
        out.write(f',\n "{section}": [')
        n = 0
        pending: list[str] = []
        texts = (
            _sqlite_texts(session, entity)
            if sqlite
            else map(encode_record, iter_records(session, entity))
        )
        for text in texts:
            pending.append(("\n  " if n == 0 else ",\n  ") + text)
            n += 1
            if len(pending) >= 500:
                out.write("".join(pending))
                pending.clear()
        out.write("".join(pending))
        out.write("\n ]")
        counts[section] = n
    out.write("\n}\n")
    return counts


encode_record = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode


def _sqlite_texts(session: Session, entity: str, batch: int = 2000) -> Iterator[str]:
    """Every record of ``entity`` as compact JSON text spelt by SQLite, in id order.

    The record's plain columns come as text segments, split where its child lists and JSON
    columns go (keys stay sorted). Each child table is read once per batch, grouped by parent;
    JSON columns are re-encoded by Python (SQLite would keep their stored escapes and key
    order). A record SQLite cannot spell as Python would is taken from :func:`iter_records`.
    """
    agg = aggregates()[entity]
    table = agg.table.name
    json_columns = [c.name for c in agg.table.columns if _column_kind(c) == "json"]
    # What goes between the segments, in key order: ("child", index) or ("json", index).
    slots = sorted(
        [(child.key, "child", i) for i, child in enumerate(agg.children)]
        + [(name, "json", i) for i, name in enumerate(json_columns)]
    )
    segments, check = _sqlite_members(agg.table, f'"{table}"', [key for key, _, _ in slots])
    raw_json = [f'"{table}"."{name}"' for name in json_columns]
    parent_sql = (
        f'SELECT "{table}".id, {check}, {", ".join(segments + raw_json)} FROM "{table}" '
        f'WHERE "{table}".id > ? ORDER BY "{table}".id LIMIT {int(batch)}'
    )
    kid_sqls = []
    for child in agg.children:
        kid = child.table
        if any(_column_kind(c) == "json" for c in kid.columns):
            raise NotImplementedError(f"{kid.name}: JSON columns in child rows")
        (members,), kid_check = _sqlite_members(kid, "k", [])
        order = ", ".join(f'k."{c.name}"' for c in kid.primary_key.columns)
        kid_sqls.append(
            f"SELECT k.\"{child.fk}\", iif({kid_check}, '{{' || substr({members}, 2) || '}}', NULL) "
            f'FROM "{kid.name}" AS k WHERE k."{child.fk}" BETWEEN ? AND ? '
            f'ORDER BY k."{child.fk}", {order}'
        )
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    prefixes = [f",{json.dumps(key, ensure_ascii=False)}:" for key, _, _ in slots]
    n_segments = len(segments)
    last = 0
    while True:
        rows = cursor.execute(parent_sql, (last,)).fetchall()
        if not rows:
            return
        lo, hi = rows[0][0], rows[-1][0]
        lists: list[dict[int, list[str | None]]] = []
        for sql in kid_sqls:
            per: dict[int, list[str | None]] = {}
            for parent_id, text in cursor.execute(sql, (lo, hi)).fetchall():
                per.setdefault(parent_id, []).append(text)
            lists.append(per)
        for row in rows:
            record_id, ok = row[0], row[1]
            parts = [row[2]]
            for (_key, kind, index), prefix, segment in zip(
                slots, prefixes, row[3 : 2 + n_segments], strict=True
            ):
                if kind == "child":
                    kids = lists[index].get(record_id, [])
                    if None in kids:
                        ok = 0
                        break
                    parts += (prefix, "[", ",".join(kids), "]")  # type: ignore[arg-type]
                else:
                    raw = row[2 + n_segments + index]
                    value = json.loads(raw) if raw is not None else None
                    if value is not None:
                        parts += (prefix, encode_record(value))
                parts.append(segment)
            if ok:
                yield "{" + "".join(parts)[1:] + "}"
            else:  # not spelt by SQLite: the Python snapshot instead
                yield encode_record(next(iter_records(session, entity, 1, after=record_id - 1)))
        last = hi


_DIGITS_DATE = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"
_DIGITS_TIME = f"{_DIGITS_DATE} [0-9][0-9]:[0-9][0-9]:[0-9][0-9]"


def _sql_text(value: str) -> str:
    """``value`` as an SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _column_kind(column: sa.Column[Any]) -> str:
    kind = column.type
    if isinstance(kind, m.UTCDateTime):
        return "utc"
    if isinstance(kind, sa.types.TypeDecorator):
        kind = kind.impl_instance
    if isinstance(kind, sa.JSON):
        return "json"
    if isinstance(kind, sa.Boolean):
        return "bool"
    if isinstance(kind, sa.Date) and not isinstance(kind, sa.DateTime):
        return "date"
    if isinstance(kind, sa.Integer | sa.String):
        return "plain"
    return "other"


def _sqlite_members(table: sa.Table, ref: str, splits: list[str]) -> tuple[list[str], str]:
    """SQL for one row of ``table`` (named ``ref`` in the query) as the members of the compact,
    key-sorted JSON object :func:`encode_record` writes for its snapshot, each member starting
    with a comma, JSON columns left out; cut into ``len(splits) + 1`` segments at the (sorted)
    keys ``splits``, where the caller puts its child lists and JSON columns. Also SQL that is false when a value is stored in a form
    this SQL would not spell as Python does (the caller then asks Python).
    """
    members: list[tuple[str, str]] = []  # (key, SQL giving ',"key":value' or '')
    valid: list[str] = []
    for column in table.columns:
        col = f'{ref}."{column.name}"'
        prefix = _sql_text("," + json.dumps(column.name, ensure_ascii=False) + ":")
        kind = _column_kind(column)
        if kind == "json":
            continue  # spliced in by the caller
        if kind == "utc":
            frac = f"substr({col}, 20)"
            value = (
                f"""'"' || substr({col}, 1, 10) || 'T' || substr({col}, 12, 8) """
                f"""|| iif({frac} IN ('', '.000000'), '', {frac}) || '+00:00"'"""
            )
            valid.append(
                f"({col} GLOB '{_DIGITS_TIME}' "
                f"OR {col} GLOB '{_DIGITS_TIME}.[0-9][0-9][0-9][0-9][0-9][0-9]')"
            )
        elif kind == "date":
            value = f"json_quote({col})"
            valid.append(f"{col} GLOB '{_DIGITS_DATE}'")
        elif kind == "bool":
            value = f"iif({col}, 'true', 'false')"
            valid.append(f"{col} IN (0, 1)")
        elif kind == "plain":
            value = f"json_quote({col})"
        else:
            value = "NULL"  # a type this SQL does not know: always Python
            valid.append(f"{col} IS NULL")
        if column.nullable:
            if valid and kind in ("utc", "date", "bool"):
                valid[-1] = f"({col} IS NULL OR {valid[-1]})"
            members.append((column.name, f"iif({col} IS NULL, '', {prefix} || {value})"))
        else:
            members.append((column.name, f"{prefix} || {value}"))
    segments: list[list[str]] = [[] for _ in range(len(splits) + 1)]
    for key, sql in sorted(members):
        segments[sum(key > split for split in splits)].append(sql)
    check = " AND ".join(valid) or "1"
    return [" || ".join(part) if part else "''" for part in segments], check


def read_backup(text: str, source: str = "backup") -> dict[str, Any]:
    """Parse and check a backup document."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BackupError(f"{source}: line {exc.lineno}: not JSON ({exc.msg})") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BackupError(f'{source}: not a pycrm JSON backup (no "format": "{FORMAT}")')
    if data.get("version") != VERSION:
        raise BackupError(f"{source}: backup version {data.get('version')!r} is not supported")
    for section, _entity in SECTIONS:
        if section in data and not isinstance(data[section], list):
            raise BackupError(f'{source}: "{section}" must be a list')
    return data


def restore_backup(
    session: Session, data: dict[str, Any], source: str = "backup"
) -> dict[str, dict[str, int]]:
    """Create or update every record of a backup, matching by UUID (one transaction, logged).

    Returns ``{section: {"created": n, "updated": n, "unchanged": n}}``.
    """
    summary: dict[str, dict[str, int]] = {}
    id_maps: dict[str, dict[int, int]] = {}
    for section, entity in SECTIONS:
        records = data.get(section) or []
        agg = aggregates()[entity]
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        id_maps[entity] = {}
        for index, record in enumerate(records, 1):
            if not isinstance(record, dict) or not record.get("uuid"):
                raise BackupError(f"{source}: {section}[{index}]: a record needs a uuid")
            record = _remap(entity, record, id_maps)
            existing = session.execute(
                sa.select(agg.table.c.id).where(agg.table.c.uuid == record["uuid"])
            ).scalar()
            if existing is None and entity in ("stage", "tag"):
                existing = _natural_match(session, entity, record)
            old_id = int(record["id"]) if record.get("id") is not None else None
            if existing is None:
                taken = (
                    old_id is not None
                    and session.execute(
                        sa.select(agg.table.c.id).where(agg.table.c.id == old_id)
                    ).first()
                )
                values = dict(record)
                if taken or old_id is None:
                    values.pop("id", None)
                new_id = _insert(session, entity, values)
                counts["created"] += 1
                log_change(session, entity, "create", None, snapshot(session, entity, new_id))
            else:
                new_id = int(existing)
                before = snapshot(session, entity, new_id)
                values = {**record, "id": new_id}
                after_candidate = {k: v for k, v in values.items()}
                if _same(before, after_candidate, agg):
                    counts["unchanged"] += 1
                else:
                    _overwrite(session, entity, values)
                    counts["updated"] += 1
                    log_change(session, entity, "update", before, snapshot(session, entity, new_id))
            if old_id is not None:
                id_maps[entity][old_id] = new_id
        summary[section] = counts
    return summary


_FKS = {
    "company_id": "company", "contact_id": "contact", "deal_id": "deal", "stage_id": "stage",
    "tag_id": "tag", "meeting_id": "meeting",
}  # fmt: skip


def _remap(
    entity: str, record: dict[str, Any], id_maps: dict[str, dict[int, int]]
) -> dict[str, Any]:
    """Point foreign keys at the ids the referenced records got in this database."""
    out = dict(record)
    for key, target in _FKS.items():
        if key in out and out[key] is not None and target != entity:
            out[key] = id_maps.get(target, {}).get(out[key], out[key])
    agg = aggregates()[entity]
    for child in agg.children:
        rows = []
        for row in out.get(child.key) or []:
            row = dict(row)
            for key, target in _FKS.items():
                if key in row and row[key] is not None and key != child.fk:
                    row[key] = id_maps.get(target, {}).get(row[key], row[key])
            rows.append(row)
        out[child.key] = rows
    return out


def _natural_match(session: Session, entity: str, record: dict[str, Any]) -> int | None:
    table = aggregates()[entity].table
    if entity == "stage":
        return session.execute(
            sa.select(table.c.id).where(table.c.name == record.get("name"))
        ).scalar()
    return session.execute(
        sa.select(table.c.id).where(table.c.name_key == record.get("name_key"))
    ).scalar()


def _same(before: dict[str, Any] | None, record: dict[str, Any], agg: Any) -> bool:
    if before is None:
        return False
    # name_key is derived from the name (backups older than a contact's key lack it).
    keys = [c.name for c in agg.table.columns if c.name not in ("id", "name_key")]
    for key in keys:
        if before.get(key) != record.get(key):
            return False
    for child in agg.children:

        def norm(rows: list[dict[str, Any]], fk: str = child.fk) -> list[tuple[Any, ...]]:
            return sorted(
                tuple(
                    sorted(
                        (k, json.dumps(v, sort_keys=True))
                        for k, v in r.items()
                        if k not in ("id", fk)
                    )
                )
                for r in rows
            )

        if norm(before.get(child.key, [])) != norm(record.get(child.key, [])):
            return False
    return True


def _insert(session: Session, entity: str, values: dict[str, Any]) -> int:
    agg = aggregates()[entity]
    row = json_to_row(agg.table, values)
    if values.get("id") is None:
        row.pop("id", None)
    try:
        new_id = session.execute(
            sa.insert(agg.table).values(row).returning(agg.table.c.id)
        ).scalar_one()
    except (sa.exc.IntegrityError, sa.exc.StatementError, ValueError, TypeError) as exc:
        raise BackupError(
            f"{entity} {values.get('uuid')}: cannot be restored ({_reason(exc)})"
        ) from exc
    _replace_children(session, entity, new_id, values)
    return int(new_id)


def _overwrite(session: Session, entity: str, values: dict[str, Any]) -> None:
    agg = aggregates()[entity]
    row = json_to_row(agg.table, values)
    try:
        session.execute(sa.update(agg.table).where(agg.table.c.id == values["id"]).values(row))
    except (sa.exc.IntegrityError, sa.exc.StatementError, ValueError, TypeError) as exc:
        raise BackupError(
            f"{entity} {values.get('uuid')}: cannot be restored ({_reason(exc)})"
        ) from exc
    _replace_children(session, entity, values["id"], values)


def _replace_children(
    session: Session, entity: str, record_id: int, values: dict[str, Any]
) -> None:
    agg = aggregates()[entity]
    for child in agg.children:
        session.execute(sa.delete(child.table).where(child.table.c[child.fk] == record_id))
        rows = []
        for r in values.get(child.key) or []:
            row = json_to_row(child.table, {**r, child.fk: record_id})
            if "id" in row and row["id"] is None:
                row.pop("id")
            if "id" in child.table.c:
                row.pop("id", None)  # child ids are local; let the database number them
            rows.append(row)
        if rows:
            session.execute(sa.insert(child.table), rows)


def _reason(exc: Exception) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig or exc).splitlines()[0][:200]
