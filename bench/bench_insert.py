"""Bulk insert of N contacts through services vs raw sqlite3 executemany of the same rows.

Both write into a fresh pycrm database and end with the same rows and search index. The baseline is
the best a raw script can do: ``sqlite3`` executemany with the search triggers paused, then one
set-based statement filling the FTS5 index. The services path is ``bulk_create_contacts`` in one
write transaction, ChangeLog included; validation (e-mail syntax, phone parsing) is timed apart.
Target (issue 2): services write ≤ 3× raw.

    python bench/bench_insert.py [--contacts 100000]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pycrm.db import open_database
from pycrm.services import contacts


def make_rows(n: int) -> list[tuple[str, str, str]]:
    """Deterministic (name, email, phone) triples."""
    return [
        (f"Person {i:06d} Silva", f"person{i}@example.com", f"+1 212 555 {i % 10000:04d}")
        for i in range(n)
    ]


def bench_services(path: Path, rows: list[tuple[str, str, str]]) -> tuple[float, float]:
    database = open_database(str(path))
    start = time.perf_counter()
    validated = [
        contacts.validate_new_contact(name, emails=[email], phones=[phone], region="US")
        for name, email, phone in rows
    ]
    validate_s = time.perf_counter() - start
    start = time.perf_counter()
    with database.write("bench insert") as session:
        contacts.bulk_create_contacts(session, validated)
    write_s = time.perf_counter() - start
    database.close()
    return validate_s, write_s


def bench_raw(path: Path, rows: list[tuple[str, str, str]]) -> float:
    open_database(str(path)).close()  # same schema and triggers
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    start = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE search_sync SET enabled = 0")
    now = "2026-11-22 10:00:00.000000"
    conn.executemany(
        "INSERT INTO contact (id, uuid, created_at, updated_at, display_name, do_not_contact, archived)"
        " VALUES (?, ?, ?, ?, ?, 0, 0)",
        [
            (i + 1, f"00000000-0000-0000-0000-{i:012d}", now, now, name)
            for i, (name, _, _) in enumerate(rows)
        ],
    )
    conn.executemany(
        "INSERT INTO contact_email (contact_id, email, email_key, position) VALUES (?, ?, ?, 0)",
        [(i + 1, email, email.lower()) for i, (_, email, _) in enumerate(rows)],
    )
    conn.executemany(
        "INSERT INTO contact_phone (contact_id, number, raw, normalized, position) VALUES (?, ?, ?, 1, 0)",
        [(i + 1, phone, phone) for i, (_, _, phone) in enumerate(rows)],
    )
    conn.execute("UPDATE search_sync SET enabled = 1")
    conn.execute(
        "INSERT INTO search_index(rowid, name, emails, phones, tags, notes) "
        "SELECT c.id * 4, c.display_name, "
        "(SELECT group_concat(e.email, ' ') FROM contact_email e WHERE e.contact_id = c.id), "
        "(SELECT group_concat(p.number || ' ' || coalesce(p.raw, ''), ' ') "
        " FROM contact_phone p WHERE p.contact_id = c.id), '', '' FROM contact c"
    )
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    args = parser.parse_args()
    rows = make_rows(args.contacts)
    with tempfile.TemporaryDirectory() as tmp:
        raw_s = bench_raw(Path(tmp) / "raw.db", rows)
        validate_s, write_s = bench_services(Path(tmp) / "services.db", rows)
    print(f"contacts: {args.contacts:,}")
    print(f"raw sqlite3 executemany (baseline):   {raw_s:7.2f} s")
    print(
        f"services bulk write:                  {write_s:7.2f} s   ratio {write_s / raw_s:5.2f}x  (target <= 3x)"
    )
    print(f"services validation (e-mail, phone):  {validate_s:7.2f} s")
    total = validate_s + write_s
    print(f"services total:                       {total:7.2f} s   ratio {total / raw_s:5.2f}x")


if __name__ == "__main__":
    main()
