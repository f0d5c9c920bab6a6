"""A long all-or-nothing bulk write run as a separate process by the fault tests.

    python tests/reliability/bulk_writer.py DB N [--ready FILE]

Writes N contacts in one transaction through the services' bulk path (the import path) and
touches FILE, if given, just before it takes the write lock.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pycrm.db import open_database
from pycrm.services import contacts
from pycrm.services.validation import Phone


def main() -> None:
    db, count = sys.argv[1], int(sys.argv[2])
    ready = Path(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--ready" else None
    rows = [
        contacts.NewContact(
            display_name=f"Bulk Person {i:06d}",
            emails=[(f"bulk{i}@example.org", None)],
            phones=[(Phone(f"+1212555{i % 10000:04d}", f"212 555 {i % 10000:04d}", True), "work")],
            tags=["bulk"],
        )
        for i in range(count)
    ]
    database = open_database(db)
    if ready is not None:
        ready.write_text("writing")
    with database.write("bulk import", source="import") as session:
        contacts.bulk_create_contacts(session, rows)
    print("committed", flush=True)


if __name__ == "__main__":
    main()
